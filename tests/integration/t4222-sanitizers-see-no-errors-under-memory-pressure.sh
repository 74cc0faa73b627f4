#!/usr/bin/env bash
# t4222 — owns memory and thread safety of the memory budget's pressure paths
# (issue 15 item 4): build/tsan/ferry and build/asan/ferry serve a block-mode mount
# with FERRY_MEMORY_LIMIT=8MiB (four 2 MiB blocks) while 16 threads read 16 files
# through at once and 4 threads share one handle for random 4 KiB reads (range
# buffers); reads wait for the budget long enough that the reclaimer takes idle
# readers' blocks and ranges. Every byte must match, the memory line must show
# waits, and no sanitizer may report anything.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_CMD_TIMEOUT=600

src=$TEST_TMP/src
mkdir -p "$src"
for i in $(seq -w 1 16); do mkdata_random "$src/f$i.bin" $(((3 << 20) + 10#$i * 4099)); done
c=$(new_container)
expect_ok ferry upload "$src" "$(az_uri "$c" data)"
log=$FERRY_HOME/logs/mount.log

readers() {
	$PY - "$src" "$1" <<-'PYEOF'
	import os, random, sys, threading
	src, mnt = sys.argv[1], sys.argv[2]
	names = sorted(os.listdir(src))
	bad = []
	def whole(n):
	    with open(os.path.join(src, n), "rb") as a, open(os.path.join(mnt, n), "rb") as b:
	        while True:
	            x, y = a.read(128 << 10), b.read(128 << 10)
	            if x != y:
	                bad.append(n)
	                return
	            if not x:
	                return
	fs, fm = (os.open(os.path.join(r, names[0]), os.O_RDONLY) for r in (src, mnt))
	size = os.path.getsize(os.path.join(src, names[0]))
	def rand(k):
	    rnd = random.Random(k)
	    for _ in range(60):
	        o = rnd.randrange(size - 4096)
	        if os.pread(fs, 4096, o) != os.pread(fm, 4096, o):
	            bad.append("random %d" % o)
	th = [threading.Thread(target=whole, args=(n,)) for n in names]
	th += [threading.Thread(target=rand, args=(k,)) for k in range(4)]
	for t in th: t.start()
	for t in th: t.join()
	sys.exit("differ: " + " ".join(bad) if bad else 0)
	PYEOF
}

san_run() { # san_run LABEL BINARY
	step "$1: block mode under FERRY_MEMORY_LIMIT=8MiB, 16 readers + 4 random readers: bytes right, no report"
	local mnt=$TEST_TMP/mnt-$1
	FERRY=$2 mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true FERRY_MEMORY_LIMIT=8MiB
	readers "$mnt" || fail "$1: bytes differ"
	local m n0 i
	n0=$(grep -c "mount memory:" "$log" || true)
	FERRY=$2 unmount_at "$mnt"
	# The server writes its memory line (and its sanitizer report) as it exits.
	for i in $(seq 1 300); do
		(($(grep -c "mount memory:" "$log") > n0)) && break
		sleep 0.1
	done
	sleep 1
	m=$(grep "mount memory:" "$log" | tail -1)
	echo "# $1: $m"
	(($(sed -E 's/.* ([0-9]+) waits .*/\1/' <<<"$m") > 0)) || fail "$1: no read waited for the budget: $m"
	no_reports "$1" "$SAN_LOGS"
}

with_sanitizers san_run
