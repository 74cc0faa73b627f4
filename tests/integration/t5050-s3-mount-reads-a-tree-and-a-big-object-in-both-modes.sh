#!/usr/bin/env bash
# t5050 — owns the read-only mount of an S3 prefix: a nested 300-file tree and a
# 40 MiB object read back identical through `ferry mount s3://...`, in whole-file
# mode and in block mode (ranged GetObject per block, prefetch); listings come from
# ListObjectsV2 with delimiter '/', paged 100 keys at a time; a job's ro_mount
# s3:// inputs read through the mount; no mount is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_s3
need_fuse
s3_env
export FERRY_LIST_PAGE_SIZE=100

src=$TEST_TMP/src
mk_small_tree "$src" 300 1 24
mkdata_random "$src/big/model.bin" 40M
b=$(new_bucket)
expect_ok ferry upload "$src" "s3://$b/data/"

for mode in whole-file block; do
	mnt=$TEST_TMP/mnt-$mode
	sets=()
	[[ $mode == block ]] && sets=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MB)

	step "$mode mode: ferry mount of s3://bucket/prefix/ answers"
	mount_at "s3://$b/data/" "$mnt" "${sets[@]}"

	step "$mode mode: the tree and the big object read back identical"
	assert_tree_same "$src" "$mnt"

	step "$mode mode: writes fail with EROFS"
	if touch "$mnt/new" 2>"$TEST_TMP/w.err"; then fail "touch succeeded on a read-only mount"; fi
	assert_contains "$TEST_TMP/w.err" "Read-only file system"

	step "$mode mode: ferry unmount removes the mount"
	unmount_at "$mnt"
done

step "a job's ro_mount s3:// inputs (a folder and a file) read through the mount"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<YML
command: >-
  diff -r $src \${{inputs.tree}} && cmp $src/big/model.bin \${{inputs.model}} && echo mounted-ok
inputs:
  tree: {type: uri_folder, path: "s3://$b/data/", mode: ro_mount}
  model: {type: uri_file, path: "s3://$b/data/big/model.bin", mode: ro_mount}
YML
FERRY_CMD_TIMEOUT=300 expect_ok ferry run "$TEST_TMP/job/job.yml" --name s3mount
assert_contains "$TEST_TMP/last.stdout" "mounted-ok"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
