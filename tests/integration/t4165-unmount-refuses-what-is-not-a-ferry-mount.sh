#!/usr/bin/env bash
# t4165 — owns what `ferry unmount` may remove: only ferry's own FUSE mounts (type
# fuse.ferry, source "ferry"). A tmpfs (busy or idle) and a bind mount are refused
# at once with an error naming what they are, and stay mounted with their files;
# a ferry mount at the same kind of place still unmounts (issue 10 item 4).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ $(id -u) -eq 0 ]] || skip "not root: cannot mount a tmpfs"
export FERRY_CMD_TIMEOUT=60 DATASET_UNMOUNT_TIMEOUT_SECONDS=3

step "a busy tmpfs is refused and stays mounted"
tm=$TEST_TMP/tmpfs
mkdir -p "$tm"
mount -t tmpfs t4165-tmpfs "$tm" || skip "cannot mount a tmpfs here"
_MOUNTS+=("$tm")
echo "still here" >"$tm/file"
exec 7<"$tm/file" # busy: an open file
expect_fail "is not a ferry mount (it is a tmpfs mount of 't4165-tmpfs')" ferry unmount "$tm"
is_mounted "$tm" || fail "ferry unmount removed the tmpfs"
assert_eq "still here" "$(cat "$tm/file")" "the tmpfs's file"
exec 7<&-

step "an idle tmpfs is refused too"
expect_fail "is not a ferry mount" ferry unmount "$tm/"
is_mounted "$tm" || fail "ferry unmount removed the idle tmpfs"

step "a bind mount is refused"
mkdir -p "$TEST_TMP/bsrc" "$TEST_TMP/bind"
echo x >"$TEST_TMP/bsrc/x"
mount --bind "$TEST_TMP/bsrc" "$TEST_TMP/bind" || skip "cannot bind-mount here"
_MOUNTS+=("$TEST_TMP/bind")
(cd "$TEST_TMP" && expect_fail "is not a ferry mount" ferry unmount bind)
is_mounted "$TEST_TMP/bind" || fail "ferry unmount removed the bind mount"
umount "$TEST_TMP/bind" "$tm"

step "a ferry mount still unmounts"
c=$(new_container)
echo "blob" >"$TEST_TMP/b.txt"
azcli put "$c" data/b.txt "$TEST_TMP/b.txt"
az_datastore azstore "$c"
mount_at azureml://datastores/azstore/paths/data "$TEST_TMP/mnt"
assert_eq blob "$(cat "$TEST_TMP/mnt/b.txt")" "the mounted blob"
grep -F " $TEST_TMP/mnt " /proc/self/mountinfo | grep -q ' - fuse.ferry ferry ' ||
	fail "a ferry mount does not name itself fuse.ferry/ferry: $(grep -F " $TEST_TMP/mnt " /proc/self/mountinfo)"
unmount_at "$TEST_TMP/mnt"
echo "ok"
