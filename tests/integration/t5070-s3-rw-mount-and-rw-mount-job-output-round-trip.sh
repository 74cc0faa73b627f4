#!/usr/bin/env bash
# t5070 — owns the read-write mount over S3: `ferry mount --rw s3://bucket/prefix/`
# takes the mixed workload of tests/tools/mixed_writes.py (nested files from 0
# bytes to a 12 MiB multipart object, overwrites, appends, a partial overwrite,
# renames by CopyObject + DeleteObject, deletes, a folder rename); after unmount
# the bucket holds exactly the reference tree. A job's rw_mount s3:// output lands
# too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_s3
need_fuse
s3_env
export FERRY_CMD_TIMEOUT=600

b=$(new_bucket)
script=$ROOT/tests/tools/mixed_writes.py
$PY "$script" "$TEST_TMP/ref" 5060 12 >/dev/null

step "ferry mount --rw s3://: the mixed workload, then storage equals the reference"
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "s3://$b/out/" "$mnt" --set FERRY_UPLOAD_SINGLE_PUT_MAX=5MiB
$PY "$script" "$mnt" 5060 12 >"$TEST_TMP/w.out" 2>&1 || fail "the workload failed on the mount: $(tail -5 "$TEST_TMP/w.out")"
assert_tree_same "$TEST_TMP/ref" "$mnt"
unmount_at "$mnt"
expect_ok ferry download "s3://$b/out/" "$TEST_TMP/got"
assert_tree_same "$TEST_TMP/ref" "$TEST_TMP/got"

step "a job's rw_mount s3:// output lands"
cat >"$TEST_TMP/job.yml" <<YML
command: mkdir -p \${{outputs.o}}/a/b && echo hi > \${{outputs.o}}/a/b/c.txt && mv \${{outputs.o}}/a/b/c.txt \${{outputs.o}}/d.txt
outputs:
  o: {type: uri_folder, mode: rw_mount, path: "s3://$b/job/"}
YML
expect_ok ferry run "$TEST_TMP/job.yml" --name s3rw
expect_ok ferry download "s3://$b/job/" "$TEST_TMP/got-job"
assert_eq hi "$(cat "$TEST_TMP/got-job/d.txt")" "job output"
[[ ! -e $TEST_TMP/got-job/a ]] || fail "the renamed file's old name is still in the bucket"
assert_no_mounts_under "$TEST_TMP"
echo ok
