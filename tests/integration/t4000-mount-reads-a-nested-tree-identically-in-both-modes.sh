#!/usr/bin/env bash
# t4000 — owns the basic read-only mount contract on Azurite: every file of a
# nested 2,000-file tree reads back identical through `ferry mount`, in whole-file
# mode (the default) and in block mode; listings (ls -R, find, os.walk) show the
# same tree; every kind of write fails with EROFS; `ferry unmount` leaves no mount.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

src=$TEST_TMP/src
mk_small_tree "$src" 2000 1 24
c=$(new_container)
expect_ok ferry upload "$src" "$(az_uri "$c" data)"

for mode in whole-file block; do
	mnt=$TEST_TMP/mnt-$mode
	sets=()
	[[ $mode == block ]] && sets=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=64KB)

	step "$mode mode: ferry mount returns once the mount answers"
	mount_at "$(az_uri "$c" data)" "$mnt" "${sets[@]}"

	step "$mode mode: the tree lists and reads back identical (find, stat, cmp)"
	assert_tree_same "$src" "$mnt"

	step "$mode mode: os.walk sees the same folders and files"
	$PY - "$src" "$mnt" <<-'PYEOF' || fail "os.walk differs"
	import os, sys
	def walk(r):
	    return sorted((os.path.relpath(d, r), sorted(ds), sorted(fs)) for d, ds, fs in os.walk(r))
	sys.exit(0 if walk(sys.argv[1]) == walk(sys.argv[2]) else 1)
	PYEOF

	step "$mode mode: a second read of every file (from cache) is identical too"
	assert_tree_same "$src" "$mnt"

	step "$mode mode: writes, creates, deletes, renames and mkdir fail with EROFS"
	one=$(cd "$mnt" && find . -type f -print -quit)
	for cmd in "touch $mnt/new" "echo x >$mnt/new2" "echo x >>$mnt/$one" "rm -f $mnt/$one" \
		"mv $mnt/$one $mnt/moved" "mkdir $mnt/newdir" "truncate -s 0 $mnt/$one" "chmod 777 $mnt/$one"; do
		if bash -c "$cmd" 2>"$TEST_TMP/w.err"; then fail "'$cmd' succeeded on a read-only mount"; fi
		assert_contains "$TEST_TMP/w.err" "Read-only file system" "error of '$cmd'"
	done
	$PY -c 'import os,sys,errno
try:
    os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    sys.exit(0 if e.errno == errno.EROFS else 1)
sys.exit(1)' "$mnt/$one" || fail "open(O_WRONLY) did not fail with EROFS"

	step "$mode mode: ferry unmount removes the mount"
	unmount_at "$mnt"
done

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
