#!/usr/bin/env bash
# t4090 — owns the mount's read-ahead window: run as root, `ferry mount` raises
# the kernel's read-ahead of its FUSE device (/sys/class/bdi/MAJ:MIN/read_ahead_kb)
# from the default 128 KiB to 512 KiB, so a sequential pass sends a quarter of the
# FUSE reads, also for a mount folder whose name has to be unescaped in
# /proc/self/mountinfo (a space); a file read through it stays identical, in both
# modes. Not root (or sysfs read-only): skipped, the mount keeps the kernel's value.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ $(id -u) -eq 0 ]] || skip "not root: the read-ahead window is the kernel's"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

big=$TEST_TMP/src/big.bin
mkdata_random "$big" 24M
c=$(new_container)
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"

# ra_kb DIR — the read-ahead window of the device mounted at DIR.
ra_kb() {
	local dev
	dev=$(stat -c '%d' "$1") || fail "cannot stat $1"
	local f=/sys/class/bdi/$((dev >> 8)):$((dev & 255))/read_ahead_kb
	[[ -w $f ]] || skip "$f is not writable here"
	cat "$f"
}

for mode in whole-file block; do
	sets=()
	[[ $mode == block ]] && sets=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true)
	mnt=$TEST_TMP/mnt-$mode

	step "$mode mode: the mount's read-ahead window is 512 KiB"
	mount_at "$(az_uri "$c" data)" "$mnt" "${sets[@]}"
	assert_eq 512 "$(ra_kb "$mnt")" "read_ahead_kb of $mnt"

	step "$mode mode: a sequential read through it is identical (dd bs=1M)"
	dd if="$mnt/big.bin" bs=1M status=none | cmp - "$big" || fail "sequential read differs ($mode)"
	unmount_at "$mnt"
done

step "a mount folder with a space in its name gets the window too (mountinfo escapes it)"
sp="$TEST_TMP/with space"
mkdir -p "$sp"
_MOUNTS+=("$sp")
expect_ok ferry mount "$(az_uri "$c" data)" "$sp"
assert_eq 512 "$(ra_kb "$sp")" "read_ahead_kb of '$sp'"
cmp "$sp/big.bin" "$big" || fail "read through '$sp' differs"
expect_ok ferry unmount "$sp"
mountpoint -q "$sp" && fail "'$sp' is still mounted"

echo "ok"
