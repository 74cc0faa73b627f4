#!/usr/bin/env bash
# t4100 — owns `ferry mount --rw` outside jobs: create, write, append, overwrite,
# truncate, read back what was written, mkdir/rmdir, unlink, rename of files and
# folders; existing content is visible and replaceable; after unmount, storage
# holds exactly what the folder showed (downloaded and compared byte for byte).
# A read-only mount still refuses every write with EROFS.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=180
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

c=$(new_container)
ref=$TEST_TMP/ref
for i in 1 2 3 4 5; do mkdata_random "$ref/old/f$i.bin" $((i * 7))K; done
mkdata_random "$ref/old/sub/keep.bin" 3K
mkdata_random "$ref/old/big.bin" 20M
expect_ok ferry upload "$ref" "$(az_uri "$c" out)"

mnt=$TEST_TMP/mnt
step "ferry mount --rw: existing files are visible"
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "$(az_uri "$c" out)" "$mnt" --set FERRY_TRANSFER_PART_SIZE=4MB \
	--set FERRY_UPLOAD_SINGLE_PUT_MAX=4MB
is_mounted "$mnt" || fail "not mounted"
assert_tree_same "$ref" "$mnt"

step "new files, nested folders, appends, overwrites and truncates read back at once"
# the same operations on the reference folder and on the mount
ops() {
	local d=$1
	mkdir -p "$d/new/deep/er"
	printf 'hello\n' >"$d/new/a.txt"
	printf 'world\n' >>"$d/new/a.txt"
	: >"$d/new/empty"
	head -c 5000000 "$ref/old/big.bin" >"$d/new/deep/er/five.bin"
	printf 'replaced' >"$d/old/f1.bin"
	printf 'XYZ' | dd of="$d/old/big.bin" bs=1 seek=1000000 conv=notrunc status=none
	truncate -s 300 "$d/old/f2.bin"
	truncate -s 7000 "$d/new/a.txt"
	mv "$d/new/empty" "$d/new/moved-empty"
	mv "$d/old/f3.bin" "$d/new/deep/moved.bin"
	rm "$d/old/f4.bin"
	mkdir "$d/gone" && rmdir "$d/gone"
	mkdir -p "$d/dir1/sub" && printf 1 >"$d/dir1/sub/one" && printf 2 >"$d/dir1/two"
	mv "$d/dir1" "$d/dir2"
}
cp -r "$ref" "$TEST_TMP/expect"
ops "$TEST_TMP/expect"
ops "$mnt"
assert_tree_same "$TEST_TMP/expect" "$mnt"
cmp "$mnt/new/a.txt" "$TEST_TMP/expect/new/a.txt" || fail "read back differs"
[[ ! -e $mnt/gone && ! -e $mnt/old/f4.bin && ! -e $mnt/dir1 ]] || fail "deleted names still there"
if rmdir "$mnt/new" 2>"$TEST_TMP/rmdir.err"; then fail "rmdir of a non-empty folder succeeded"; fi
assert_contains "$TEST_TMP/rmdir.err" "not empty"

step "after unmount, storage holds exactly the expected tree"
unmount_at "$mnt"
expect_ok ferry download "$(az_uri "$c" out)" "$TEST_TMP/got"
assert_tree_same "$TEST_TMP/expect" "$TEST_TMP/got"
assert_contains "$FERRY_HOME/logs/mount.log" "read-write"

step "a read-only mount of the same data still refuses writes with EROFS"
ro=$TEST_TMP/ro
mount_at "$(az_uri "$c" out)" "$ro"
if sh -c 'printf x >"$1"' sh "$ro/new-file" 2>"$TEST_TMP/ro.err"; then fail "write on a read-only mount succeeded"; fi
assert_contains "$TEST_TMP/ro.err" "Read-only file system"
if rm "$ro/new/a.txt" 2>"$TEST_TMP/ro.err"; then fail "rm on a read-only mount succeeded"; fi
assert_contains "$TEST_TMP/ro.err" "Read-only file system"
unmount_at "$ro"
assert_no_mounts_under "$TEST_TMP"
echo ok
