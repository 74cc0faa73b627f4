# lib-mount.sh — owns the helpers of the mount tests (t4NNN): mount a URI in the
# background with settings, unmount, and make sure no mount of this test is left
# behind whatever happens. Sourced after lib.sh.

# Every folder this test mounted, unmounted (lazily) when the test exits.
_MOUNTS=()
_BULK_DIRS=()
_SMALL_DISKS=()
_mount_cleanup() {
	local d
	for d in "${_MOUNTS[@]}"; do
		if mountpoint -q "$d" 2>/dev/null || grep -qF " $d " /proc/self/mountinfo; then
			umount -l "$d" 2>/dev/null || fusermount3 -uz "$d" 2>/dev/null || true
		fi
	done
	for d in "${_BULK_DIRS[@]}"; do $PY "$ROOT/tests/fixtures/bulk-blobs.py" stop "$d" || true; done
	for d in "${_SMALL_DISKS[@]}"; do umount -l "$d" 2>/dev/null || true; done
	_MOUNTS=() _BULK_DIRS=() _SMALL_DISKS=() # done: a second call has nothing left to do
}
at_exit _mount_cleanup

# mount_at URI DIR [NAME=VALUE]... — `ferry mount` in the background with settings.
mount_at() {
	local uri=$1 dir=$2 a
	shift 2
	local sets=()
	for a in "$@"; do sets+=(--set "$a"); done
	mkdir -p "$dir"
	_MOUNTS+=("$dir")
	expect_ok ferry mount "$uri" "$dir" "${sets[@]}"
	is_mounted "$dir" || fail "ferry mount returned but $dir is not a mount point"
}

# rw_mount_small_disk URI DIR — `ferry mount --rw URI DIR` staging on a fresh 24 MiB
# tmpfs ($TEST_TMP/small, cache folder $TEST_TMP/small/cache) of which
# DATASET_RESERVED_FREE_DISK_SPACE keeps 8 MiB: writers run out of room. Skips
# unless root; the tmpfs is unmounted when the test exits.
rw_mount_small_disk() {
	[[ $(id -u) -eq 0 ]] || skip "mounting a small tmpfs needs root"
	local small=$TEST_TMP/small
	mkdir -p "$small" "$2"
	mount -t tmpfs -o size=24m tmpfs "$small" || skip "cannot mount a tmpfs here"
	_SMALL_DISKS+=("$small")
	_MOUNTS+=("$2")
	expect_ok ferry mount --rw "$1" "$2" --cache-dir "$small/cache" --set DATASET_RESERVED_FREE_DISK_SPACE=8MiB
}

# unmount_at DIR — `ferry unmount`; then DIR must not be a mount point, and the
# server that served it must end.
unmount_at() {
	local pid i
	pid=$(server_pid "$(cd "$1" && pwd)") || pid=
	expect_ok ferry unmount "$1"
	is_mounted "$1" && fail "$1 is still mounted after ferry unmount"
	# `ferry unmount` returns once the kernel let go; the server then tears
	# down (caches emptied, registry entry removed) and logs its summary last:
	# wait for it to end, so that what follows sees all of that.
	[[ -n $pid ]] || return 0
	for i in $(seq 600); do
		alive "$pid" || return 0
		sleep 0.05
	done
	fail "the mount server of $1 (pid $pid) still runs 30 s after its unmount"
}

# server_pid DIR — the pid of the mount server registered for DIR (an absolute
# path) in $FERRY_HOME's registry; fails when none is.
server_pid() {
	local e
	for e in "$FERRY_HOME"/mounts/*.mount; do
		if [[ -e $e ]] && tr '\0' '\n' <"$e" | sed -n 3p | grep -qxF "$1"; then
			tr '\0' '\n' <"$e" | sed -n 1p
			return 0
		fi
	done
	return 1
}

# summary_count LOG — how many end-of-mount summary lines the runtime log LOG holds.
summary_count() { grep -c "mount summary:" "$1" 2>/dev/null || true; }

# nth_summary LOG N — the Nth end-of-mount summary line of LOG. A mount server
# writes it as it ends, which may be a moment after `ferry unmount` returns: this
# waits for it (10 s at most) instead of taking whatever line is last.
nth_summary() {
	local i
	for i in $(seq 40); do
		(($(summary_count "$1") >= $2)) && break
		sleep 0.25
	done
	grep "mount summary:" "$1" | sed -n "$2p"
}

# fault_injected KIND — how many responses the fault proxy gave fault KIND (corrupt,
# reset, ...) since its last clear.
fault_injected() {
	curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected"].get(sys.argv[1], 0))' "$1"
}

# read_fails_eio FILE — reading FILE whole (cat) must fail with EIO (a corrupted
# response the MD5 check caught).
read_fails_eio() {
	if cat "$1" >"$TEST_TMP/out.bin" 2>"$TEST_TMP/cat.err"; then
		fail "reading $1, corrupted in transit, succeeded ($(fault_injected corrupt) responses corrupted)"
	fi
	assert_contains "$TEST_TMP/cat.err" "Input/output error" "cat's error for $1"
}

is_mounted() { grep -qF " $(cd "$(dirname "$1")" && pwd)/$(basename "$1") " /proc/self/mountinfo; }

# assert_no_mounts_under DIR — nothing of this test is left mounted.
assert_no_mounts_under() {
	if grep -F " $1" /proc/self/mountinfo | grep -q fuse; then
		fail "mounts left behind under $1: $(grep -F " $1" /proc/self/mountinfo | head -3)"
	fi
}

# bulk_azurite CONTAINER PREFIX N [PREFIX N]... — a private Azurite holding N empty
# blobs PREFIX000000 … in CONTAINER for each PREFIX (tests/fixtures/bulk-blobs.py:
# written into its database, since Azurite spends ~7.5 ms of CPU on each Put Blob).
# Sets BULK_URL (the account URL) and BULK_CONN; stopped when the test exits.
bulk_azurite() {
	local d=$TEST_TMP/bulk-azurite-${#_BULK_DIRS[@]} out
	_BULK_DIRS+=("$d")
	out=$($PY "$ROOT/tests/fixtures/bulk-blobs.py" start "$d" "$@") || fail "bulk Azurite did not start"
	BULK_URL=$(sed -n 's/^AZURITE_BULK_URL=//p' <<<"$out")
	BULK_CONN="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=$BULK_URL;"
}

# need_fuse — skip when this machine cannot mount FUSE file systems.
need_fuse() {
	[[ -c /dev/fuse ]] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || [[ $(id -u) -eq 0 ]] || skip "no fusermount3 and not root"
}

# walk_folder N SEED MIN MAX — the read-ahead tests' folder: N files
# walk/f0000.bin… of MIN..MAX random bytes each (sizes from Random(SEED)) under
# $TEST_TMP/src, uploaded straight to Azurite into a new container, whose name
# is left in $c (the tests then read it through the fault proxy).
walk_folder() {
	mkdir -p "$TEST_TMP/src/walk"
	$PY - "$TEST_TMP/src/walk" "$@" <<-'PYEOF'
	import os, random, sys
	d, n, seed, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
	rnd = random.Random(seed)
	for i in range(n):
	    with open(os.path.join(d, "f%04d.bin" % i), "wb") as f:
	        f.write(os.urandom(rnd.randint(lo, hi)))
	PYEOF
	c=$(new_container)
	AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"
}
