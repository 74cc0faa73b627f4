#!/usr/bin/env bash
# t4203 — owns memory and thread safety of the background listing that read-ahead
# makes for folders nobody lists (fs/ahead.c "Folders never listed"):
# build/tsan/ferry (ThreadSanitizer) and build/asan/ferry (AddressSanitizer +
# UBSan, leaks checked at exit) serve whole-file mounts while `xargs cat` opens a
# folder's files by name from a list, in name order (listing in the background,
# then read-ahead) and shuffled; then, behind a slow link, the mount is unmounted
# right after three opens in order, with the listing in flight. Every byte read
# must match, the folder must have been listed and read ahead, and no report may
# appear (see t4080 for how the reports are collected).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=600

n=120
walk_folder "$n" 4203 512 4096
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
(cd "$TEST_TMP/src/walk" && ls | LC_ALL=C sort) >"$TEST_TMP/sorted.txt"
$PY -c 'import random,sys; l=open(sys.argv[1]).read().split(); random.Random(4203).shuffle(l); print("\n".join(l))' \
	"$TEST_TMP/sorted.txt" >"$TEST_TMP/shuffled.txt"
head -3 "$TEST_TMP/sorted.txt" >"$TEST_TMP/three.txt"

# cat_list MNT LIST — `xargs cat` of walk/'s files named in LIST inside the
# mount (no readdir), compared with the source.
cat_list() {
	(cd "$1/walk" && xargs cat <"$2") >"$TEST_TMP/got" || fail "xargs cat through the mount failed"
	(cd "$TEST_TMP/src/walk" && xargs cat <"$2") | cmp -s - "$TEST_TMP/got" || fail "bytes differ ($2)"
}

# next_summary — sets SUMMARY to the read-ahead summary line of the mount just
# unmounted (its server writes it after the unmount: wait for one more than `seen`).
seen=0
next_summary() {
	local i
	for i in $(seq 1 150); do
		(($(grep -c "read-ahead summary:" "$log" 2>/dev/null || true) > seen)) && break
		sleep 0.2
	done
	seen=$((seen + 1))
	SUMMARY=$(grep "read-ahead summary:" "$log" | sed -n "${seen}p")
	echo "# $SUMMARY"
}

# san_walks LABEL BINARY
san_walks() {
	local label=$1 bin=$2 mnt=$TEST_TMP/mnt-$1 ahead listed
	seen=$(grep -c "read-ahead summary:" "$log" 2>/dev/null || true)
	step "$label: files opened by name in order, then shuffled, no readdir: bytes right, no report"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	cat_list "$mnt" "$TEST_TMP/sorted.txt"
	FERRY=$bin unmount_at "$mnt"
	next_summary
	ahead=$(sed -nE 's/.*: ([0-9]+) files read ahead.*/\1/p' <<<"$SUMMARY")
	listed=$(sed -nE 's/.* ([0-9]+) folders listed for opens in name order.*/\1/p' <<<"$SUMMARY")
	((${listed:-0} == 1)) || fail "$label: walk/ listed ${listed:-0} times for opens in name order: $SUMMARY"
	((${ahead:-0} >= n / 4)) || fail "$label: only ${ahead:-0} files read ahead for opens in name order: $SUMMARY"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	cat_list "$mnt" "$TEST_TMP/shuffled.txt"
	FERRY=$bin unmount_at "$mnt"
	next_summary
	step "$label: unmounted behind a slow link with the background listing in flight, no report"
	# The listing's XML (~80 KB) takes seconds through the link, three small
	# files less: the listing is usually still in flight when the unmount comes.
	fault throttle 30000
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	cat_list "$mnt" "$TEST_TMP/three.txt"
	local pid
	pid=$(grep -o "served by process [0-9]*" "$log" | tail -1 | grep -o "[0-9]*$")
	FERRY=$bin unmount_at "$mnt"
	next_summary
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done # report files are written at exit
	fault throttle 0
	no_reports "$label" "$SAN_LOGS" empty
}

with_sanitizers san_walks

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
