#!/usr/bin/env bash
# t4070 — owns mounting without root: a plain user (nobody, with a FERRY_HOME it
# owns) mounts a folder with `ferry mount` (libfuse goes through the setuid
# fusermount3), reads it, sees the mount as theirs and without allow_other, and
# removes it with `ferry unmount` (fusermount3 -u); a server of theirs killed
# outright is cleaned up by their next ferry start. Skips, saying why, where
# this machine cannot let a user mount: not root (cannot switch user), no
# fusermount3, or /dev/fuse not open to other users (libfuse 3 only falls back
# to fusermount3 when mount(2) is refused, not when /dev/fuse is).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fuse
[[ $(id -u) -eq 0 ]] || skip "not root: cannot run ferry as another user"
command -v runuser >/dev/null || skip "no runuser"
fm=$(command -v fusermount3) || skip "no fusermount3"
[[ -u $fm ]] || skip "$fm is not setuid root"
user=nobody
id "$user" >/dev/null 2>&1 || skip "no user '$user'"
as_user() { runuser -u "$user" -- env FERRY_HOME="$UHOME" "$@"; }
if ! runuser -u "$user" -- test -r /dev/fuse -a -w /dev/fuse; then
	# As on most distributions (/dev/fuse 0666), but only for this test: in a
	# private mount namespace, a node of the same device open to all is bound over
	# /dev/fuse. Nothing outside the namespace changes.
	[[ -z ${T4070_IN_NAMESPACE:-} ]] && command -v unshare >/dev/null && unshare -m --propagation private true ||
		skip "/dev/fuse is $(stat -c %A /dev/fuse) here: user '$user' cannot open it, and libfuse 3 then fails instead of using fusermount3"
	dev=$TEST_TMP/fuse-dev
	mknod "$dev" c "$((16#$(stat -c %t /dev/fuse)))" "$((16#$(stat -c %T /dev/fuse)))" && chmod 666 "$dev" ||
		skip "cannot make a /dev/fuse node open to '$user' for a private namespace"
	echo "# /dev/fuse is $(stat -c %A /dev/fuse): running in a private mount namespace where it is 0666"
	rc=0
	T4070_IN_NAMESPACE=1 unshare -m --propagation private \
		sh -c 'mount --bind "$1" /dev/fuse || { echo "skip: cannot bind a node over /dev/fuse"; exit 77; }; exec bash "$2"' sh "$dev" "$0" || rc=$?
	exit "$rc"
fi
# The user must reach the binary and the test's folders.
runuser -u "$user" -- test -x "$FERRY" || skip "user '$user' cannot run $FERRY (a folder on its path is closed)"

base=$TEST_TMP/user
UHOME=$base/home
mkdir -p "$base/src/sub" "$base/mnt" "$UHOME"
printf 'hello from a user mount\n' >"$base/src/a.txt"
mkdata_random "$base/src/sub/b.bin" 3M
chown -R "$user" "$base"
runuser -u "$user" -- test -w "$base/mnt" || skip "user '$user' cannot reach $base (a parent folder is closed)"
_MOUNTS+=("$base/mnt")

step "a plain user mounts a folder with ferry mount (through fusermount3) and reads it"
as_user "$FERRY" mount "$base/src" "$base/mnt" >"$TEST_TMP/m.out" 2>&1 || fail "ferry mount as $user: $(cat "$TEST_TMP/m.out")"
is_mounted "$base/mnt" || fail "not mounted after ferry mount as $user"
uid=$(id -u "$user")
line=$(grep -F " $base/mnt " /proc/self/mountinfo)
[[ $line == *"user_id=$uid"* ]] || fail "the mount is not $user's: $line"
[[ $line != *allow_other* ]] || fail "a user's mount must not ask for allow_other: $line"
assert_eq "hello from a user mount" "$(as_user cat "$base/mnt/a.txt")" "a.txt read by $user"
as_user cmp "$base/src/sub/b.bin" "$base/mnt/sub/b.bin" || fail "sub/b.bin differs through the user's mount"

step "ferry unmount as that user removes the mount"
as_user "$FERRY" unmount "$base/mnt" >"$TEST_TMP/u.out" 2>&1 || fail "ferry unmount as $user: $(cat "$TEST_TMP/u.out")"
is_mounted "$base/mnt" && fail "still mounted after ferry unmount as $user"

step "the user's server killed outright: their next ferry start removes the stale mount"
as_user "$FERRY" mount "$base/src" "$base/mnt" >"$TEST_TMP/m.out" 2>&1 || fail "ferry mount as $user: $(cat "$TEST_TMP/m.out")"
spid=$(tr '\0' '\n' <"$(ls "$UHOME"/mounts/*.mount | head -1)" | head -1)
kill -KILL "$spid"
for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
is_mounted "$base/mnt" || fail "expected a stale mount after SIGKILL"
as_user "$FERRY" job list >/dev/null 2>"$TEST_TMP/j.err" || fail "ferry job list as $user: $(cat "$TEST_TMP/j.err")"
is_mounted "$base/mnt" && fail "the stale mount is still there after $user's next ferry start"
assert_contains "$TEST_TMP/j.err" "unmounted its stale mount $base/mnt"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
