#!/usr/bin/env bash
# t4201 — owns memory and thread safety of the mount's read-ahead (fs/ahead.c):
# build/tsan/ferry (ThreadSanitizer) and build/asan/ferry (AddressSanitizer +
# UBSan, leaks checked at exit) serve whole-file mounts while 8 threads walk
# shares of a folder of 300 small files in listing order (read-ahead on), one
# reader opens them shuffled (read-ahead cancelled), and, behind a slow server,
# the mount is unmounted with read-ahead queued and in flight. Every byte read
# must match, the read-ahead must have run, and no report may appear (see t4080
# for how the reports are collected).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=600

n=300
walk_folder "$n" 4201 512 16384
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log

# walk SRC MNT PLAN — "shares": 8 threads, each its share of walk/ in listing
# order; "shuffled": one reader, every file in a random order; "some:N": one
# reader, the first N files in order. Bytes must match the source.
walk() {
	$PY - "$@" <<-'PYEOF'
	import os, random, sys
	from concurrent.futures import ThreadPoolExecutor
	src, mnt, plan = sys.argv[1:4]
	names = os.listdir(os.path.join(mnt, "walk"))
	def same(name):
	    with open(os.path.join(src, "walk", name), "rb") as a, open(os.path.join(mnt, "walk", name), "rb") as b:
	        if a.read() != b.read():
	            sys.exit("walk/%s differs" % name)
	if plan == "shares":
	    k = len(names)
	    with ThreadPoolExecutor(8) as ex:
	        list(ex.map(lambda t: [same(x) for x in names[k * t // 8:k * (t + 1) // 8]], range(8)))
	elif plan == "shuffled":
	    random.Random(4201).shuffle(names)
	    for x in names:
	        same(x)
	else:
	    for x in names[:int(plan.split(":")[1])]:
	        same(x)
	PYEOF
}

# next_summary — sets SUMMARY to the read-ahead summary line of the mount just
# unmounted: its server writes it after the unmount, so wait until there is one
# more than `seen` (not in a subshell: it counts).
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
	local label=$1 bin=$2 mnt=$TEST_TMP/mnt-$1 ahead
	seen=$(grep -c "read-ahead summary:" "$log" 2>/dev/null || true)
	step "$label: 8 readers in listing order, then a shuffled reader: bytes right, no report"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	walk "$TEST_TMP/src" "$mnt" shares || fail "$label: bytes differ (shares)"
	FERRY=$bin unmount_at "$mnt"
	next_summary
	ahead=$(sed -E 's/.*: ([0-9]+) files read ahead.*/\1/' <<<"$SUMMARY")
	((ahead >= n / 4)) || fail "$label: only $ahead files read ahead while 8 readers walked in order: $SUMMARY"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	walk "$TEST_TMP/src" "$mnt" shuffled || fail "$label: bytes differ (shuffled)"
	FERRY=$bin unmount_at "$mnt"
	next_summary
	step "$label: unmounted behind a slow server with read-ahead queued and in flight, no report"
	fault every "1 delay"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt"
	walk "$TEST_TMP/src" "$mnt" some:24 || fail "$label: bytes differ (some)"
	FERRY=$bin unmount_at "$mnt"
	fault every 0
	next_summary
	sleep 1 # report files are written at exit
	no_reports "$label" "$SAN_LOGS" empty
}

with_sanitizers san_walks

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
