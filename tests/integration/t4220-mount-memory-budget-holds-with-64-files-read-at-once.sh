#!/usr/bin/env bash
# t4220 — owns the memory budget of the mount (issue 15 item 4, FERRY_MEMORY_LIMIT):
# 64 files opened and read at once through a block-mode mount with the budget at
# 64 MiB read back byte for byte (MD5 of each against the source) with no error,
# the mount server's peak RSS (VmHWM of /proc/<pid>/status, read while mounted)
# stays under the budget plus a fixed overhead, and the mount's memory line shows
# the budget was reached (reads waited or prefetches were refused) while its peak
# of reserved bytes never passed the limit. Then a prefetch window larger than the
# budget (DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT × block size) is lowered with a
# warning, not refused. Whole-file mode keeps file bytes on disk, not in RAM: the
# same 64 readers stay under the same bound there too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse

n=64
limit=$((64 << 20))
# The mount server's memory outside the budget: the binary and its libraries,
# libcurl's connections, 64 FUSE threads (stacks, request buffers, the 512 KiB
# reply buffer of a block-mode read each), the prefetch and disk-write threads.
# Measured here with the same 64 readers: 19-21 MiB (peak RSS 83-85 MiB; 147 MiB
# with the budget's checks disabled).
overhead=$((36 << 20))

src=$TEST_TMP/src
mkdir -p "$src"
$PY - "$src" "$n" <<-'PYEOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%02d.bin" % i), "wb") as f:
        f.write(os.urandom((4 << 20) + i * 4099)) # 4 MiB and a bit: blocks of every shape
PYEOF
c=$(new_container)
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$src" "$(az_uri "$c" data)"
log=$FERRY_HOME/logs/mount.log
mnt=$TEST_TMP/mnt


# read_all DIR — open every file of DIR, then read them all at once (one thread
# each, 128 KiB reads) and compare each file's MD5 with its source's.
read_all() {
	$PY - "$src" "$1" <<-'PYEOF'
	import hashlib, os, sys, threading
	src, mnt = sys.argv[1], sys.argv[2]
	names = sorted(os.listdir(src))
	fds = [os.open(os.path.join(mnt, x), os.O_RDONLY) for x in names] # all open at once
	go = threading.Barrier(len(names))
	bad = []
	def run(i):
	    h = hashlib.md5()
	    go.wait()
	    while True:
	        b = os.read(fds[i], 128 << 10)
	        if not b:
	            break
	        h.update(b)
	    with open(os.path.join(src, names[i]), "rb") as f:
	        if hashlib.md5(f.read()).hexdigest() != h.hexdigest():
	            bad.append(names[i])
	th = [threading.Thread(target=run, args=(i,)) for i in range(len(names))]
	for t in th: t.start()
	for t in th: t.join()
	if bad:
	    sys.exit("bytes differ: " + " ".join(bad))
	print(len(names))
	PYEOF
}
# hwm PID — the peak resident set of PID in bytes.
hwm() { awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$1/status"; }
# memline N — the mount's memory line once there are more than N in the log (the
# server writes it as it exits, which may be a while after the unmount returned).
memline() {
	local i
	for i in $(seq 1 300); do
		(($(grep -c "mount memory:" "$log") > $1)) && break
		sleep 0.1
	done
	grep "mount memory:" "$log" | tail -1
}
# lines — how many memory lines the log holds now.
lines() { grep -c "mount memory:" "$log" || true; }
mib() { echo "$(($1 >> 20)) MiB"; }

step "block mode, FERRY_MEMORY_LIMIT=64MiB: $n files read at once match their sources, peak RSS under budget + $(mib $overhead)"
mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true FERRY_MEMORY_LIMIT=64MiB
pid=$(server_pid "$(cd "$TEST_TMP" && pwd)/mnt") || fail "no mount server registered for $mnt"
got=$(read_all "$mnt") || fail "reading $n files at once through the mount failed"
assert_eq "$n" "$got" "files read"
peak=$(hwm "$pid")
n0=$(lines)
unmount_at "$mnt"
m=$(memline "$n0")
echo "# $m"; grep "mount summary:" "$log" | tail -1 | sed "s/^/# /"
echo "# mount server peak RSS (VmHWM): $(mib "$peak"); budget $(mib $limit) + overhead $(mib $overhead)"
grep "mount summary:" "$log" | tail -1 | grep -q " 0 read errors" || fail "the mount reported read errors"
((peak <= limit + overhead)) || fail "peak RSS $(mib "$peak") is over the budget $(mib $limit) + $(mib $overhead)"
reserved=$(sed -E 's/.*memory: peak ([0-9.]+) of.*/\1/' <<<"$m")
awk -v p="$reserved" 'BEGIN { exit !(p <= 64.0) }' || fail "reserved peak $reserved MiB passed the 64 MiB limit: $m"
waits=$(sed -E 's/.* ([0-9]+) waits .*/\1/' <<<"$m")
refused=$(sed -E 's/.* ([0-9]+) prefetches refused by the budget.*/\1/' <<<"$m")
reclaimed=$(sed -E 's/.* ([0-9]+) blocks reclaimed for it.*/\1/' <<<"$m")
echo "# reads waited $waits times, $refused prefetches refused, $reclaimed blocks reclaimed"
# 64 readers of 4 MiB against 64 MiB: without a budget they hold far more than
# that (blocks in flight, each reader's current block, prefetched blocks), so a
# budget in force must have made some of them wait or give way.
((waits + refused + reclaimed > 0)) || fail "the budget was never reached: $m"

step "a prefetch window larger than the budget is lowered with a warning, not refused"
expect_ok ferry mount "$(az_uri "$c" data)" "$mnt" --set DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	--set FERRY_MEMORY_LIMIT=16MiB --set DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT=64
cmp "$src/f07.bin" "$mnt/f07.bin" || fail "f07.bin differs with a clamped prefetch window"
unmount_at "$mnt"
grep -q "DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT (64) .* is more than half of FERRY_MEMORY_LIMIT (16.0 MiB): prefetching at most 4 blocks ahead" "$log" ||
	fail "no warning about the prefetch window lowered to the budget in $log"

step "whole-file mode, FERRY_MEMORY_LIMIT=64MiB: $n files read at once match, peak RSS under the same bound"
mount_at "$(az_uri "$c" data)" "$mnt" FERRY_MEMORY_LIMIT=64MiB
pid=$(server_pid "$(cd "$TEST_TMP" && pwd)/mnt") || fail "no mount server registered for $mnt"
got=$(read_all "$mnt") || fail "reading $n files at once through the whole-file mount failed"
assert_eq "$n" "$got" "files read"
peak=$(hwm "$pid")
unmount_at "$mnt"
echo "# whole-file mode: mount server peak RSS $(mib "$peak")"
((peak <= limit + overhead)) || fail "whole-file mode: peak RSS $(mib "$peak") is over $(mib $limit) + $(mib $overhead)"
