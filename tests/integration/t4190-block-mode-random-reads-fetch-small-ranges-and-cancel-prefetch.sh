#!/usr/bin/env bash
# t4190 — owns block mode's random-access adaptation (issue 15 item 3): random
# 4 KiB reads of a file through a block-mode mount (default 2 MiB blocks) match
# the source byte for byte and fetch small ranges, not blocks (storage bytes far
# below N × block size); a jump away from a sequential stream cancels its queued
# prefetches; a sequential pass on the same handle after random reads reads
# everything correctly with prefetch back on; a plain `cat`, whose reads reach
# the mount slightly out of order, never turns random (1 MiB and 256 KiB
# blocks). Figures come from the mount's end-of-mount summary in the runtime log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse

big=$(cached_random "random-96M.bin" 96M)
size=$(stat -c %s "$big")
bs=$((2 << 20)) # DATASET_MOUNT_READ_BLOCK_SIZE's default, the block size in force
c=$(new_container)
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$big" "$(az_uri "$c" data/big.bin)"
log=$FERRY_HOME/logs/mount.log
block=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true)

# reads MNT_FILE PLAN — run PLAN against the mounted file and the source, on one
# handle each: "seq:N" reads the first N bytes in 128 KiB reads, "rand:N" makes N
# 4 KiB reads at seeded random offsets, "pass" reads the whole file in 1 MiB reads;
# every read must match the source.
reads() {
	$PY - "$big" "$1" "$2" <<-'PYEOF'
	import os, random, sys
	src, mnt, plan = sys.argv[1], sys.argv[2], sys.argv[3].split()
	size = os.path.getsize(src)
	a, b = os.open(src, os.O_RDONLY), os.open(mnt, os.O_RDONLY)
	rnd = random.Random(4190)
	def same(off, n, what):
	    if os.pread(a, n, off) != os.pread(b, n, off):
	        sys.exit("%s: %d bytes at %d differ" % (what, n, off))
	for p in plan:
	    kind, _, arg = p.partition(":")
	    if kind == "seq":
	        for off in range(0, int(arg), 128 << 10):
	            same(off, 128 << 10, "sequential read")
	    elif kind == "rand":
	        for _ in range(int(arg)):
	            same(rnd.randrange(size - 4096), 4096, "random read")
	    elif kind == "pass":
	        for off in range(0, size, 1 << 20):
	            same(off, 1 << 20, "sequential pass")
	print("ok")
	PYEOF
}
# unmount_summary DIR — unmount DIR and print its mount's summary line (runtime log).
unmount_summary() {
	local seen
	seen=$(summary_count "$log")
	unmount_at "$1" >&2
	nth_summary "$log" $((seen + 1))
}
# field LINE REGEX — the number in LINE before REGEX.
field() { sed -E "s/.* ([0-9]+) $2.*/\\1/" <<<"$1"; }

n=200
step "block mode: $n random 4 KiB reads of a 96 MiB file match the source and fetch small ranges"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
mnt=$TEST_TMP/mnt
mount_at "$(az_uri "$c" data)" "$mnt" "${block[@]}"
reads "$mnt/big.bin" "rand:$n" >/dev/null || fail "random reads differ"
s=$(unmount_summary "$mnt")
echo "# $s"
bytes=$(field "$s" "bytes from storage") ranged=$(field "$s" "random reads by small ranges")
echo "# $n random 4 KiB reads: $bytes bytes from storage ($((bytes / n)) per read; a block is $bs), $ranged by small ranges"
# Whole blocks would be ~ min(N × block, file) = 96 MiB here; ranges are 128 KiB,
# two where a read straddles a boundary.
((bytes <= n * 256 * 1024)) || fail "$n random reads fetched $bytes bytes (> $n × 256 KiB): $s"
((bytes * 8 < n * bs)) || fail "not far below N × block size: $bytes bytes"
((ranged >= n * 3 / 4)) || fail "only $ranged of $n random reads were served by small ranges: $s"

step "block mode: a sequential pass after random reads, same handle, reads everything right with prefetch back on"
mount_at "$(az_uri "$c" data)" "$mnt" "${block[@]}"
reads "$mnt/big.bin" "rand:$n pass" >/dev/null || fail "reads differ"
s=$(unmount_summary "$mnt")
echo "# $s"
pf=$(field "$s" "blocks prefetched") ranged=$(field "$s" "random reads by small ranges")
# Random reads prefetch nothing (t4010); the pass over 48 blocks must, and must not
# be served range by range.
((pf >= 16)) || fail "the sequential pass after random reads prefetched only $pf blocks: $s"
((ranged <= n + 8)) || fail "the sequential pass was served by small ranges ($ranged): $s"

step "block mode: jumping away from a sequential stream cancels its queued prefetches"
# One prefetch thread behind a slow server (every GET waits 0.3 s): when the reader
# jumps, most of its window is still queued.
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
fault clear
fault every "1 delay"
mount_at "$(fault_uri "$c" data)" "$mnt" "${block[@]}" DATASET_MOUNT_READ_THREADS=1
reads "$mnt/big.bin" "seq:$((12 << 20)) rand:20" >/dev/null || fail "reads differ"
fault every 0
s=$(unmount_summary "$mnt")
echo "# $s"
cancelled=$(field "$s" "cancelled") pf=$(field "$s" "blocks prefetched")
bytes=$(field "$s" "bytes from storage")
echo "# after 12 MiB read sequentially and a jump: $pf blocks prefetched, $cancelled cancelled, $bytes bytes from storage"
((cancelled >= 1)) || fail "no queued prefetch was cancelled by random access: $s"
# Without cancelling, the whole 32-block window (64 MiB) past 12 MiB would be fetched.
((bytes < 48 << 20)) || fail "$bytes bytes fetched: the prefetch window was not cancelled: $s"

step "block mode: a plain cat (its reads reach the mount slightly out of order) never turns random and uses every block it prefetched"
# The kernel sends a buffered reader's read-ahead as several requests served by
# several threads: with 1 MiB blocks a read arrived 2 MiB behind the last one
# every ~16 MiB, with 256 KiB blocks one 1 MiB ahead, and each turned the
# reader random, cancelling its prefetch (54-68 times per GiB).
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
for rbs in 1MiB 256KiB; do
	before=$(grep -c "read at random" "$log" || true)
	mount_at "$(az_uri "$c" data)" "$mnt" "${block[@]}" DATASET_MOUNT_READ_BLOCK_SIZE=$rbs
	cat "$mnt/big.bin" | cmp -s - "$big" || fail "$rbs: cat read wrong bytes"
	s=$(unmount_summary "$mnt")
	echo "# $rbs: $s"
	switches=$(($(grep -c "read at random" "$log" || true) - before))
	pf=$(field "$s" "blocks prefetched") used=$(sed -E 's/.*prefetched \(([0-9]+) used.*/\1/' <<<"$s")
	cancelled=$(field "$s" "cancelled")
	((switches == 0)) || fail "$rbs: a sequential cat turned random $switches times: $(grep "read at random" "$log" | tail -2)"
	((pf >= 32 && used == pf && cancelled == 0)) ||
		fail "$rbs: $pf blocks prefetched, $used used, $cancelled cancelled (all used, none cancelled expected): $s"
done
echo "ok"
