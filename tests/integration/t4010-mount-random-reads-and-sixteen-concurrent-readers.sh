#!/usr/bin/env bash
# t4010 — owns reads at any offset and concurrency: random-offset reads of a
# 1 GiB file through the mount match the source byte for byte in block mode
# (no prefetch for random access) and in whole-file mode; 16 concurrent readers
# of one big file (16 MiB at the start of each sixteenth: 256 MiB in all, four
# times block mode's 64 MB memory cache, so blocks are evicted while others are
# read) and of 16 different files all get the right bytes; a cache
# limit smaller than the data keeps the disk cache under it while reads stay
# correct.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

size=${T4010_SIZE:-1G} # the issue's size; the same data as t3070
big=$(cached_random "random-$size.bin" "$size")
c=$(new_container)
expect_ok ferry upload "$big" "$(az_uri "$c" data/big.bin)"
mkdir -p "$TEST_TMP/small"
for i in $(seq -w 1 16); do mkdata_random "$TEST_TMP/small/s$i.bin" 3M; done
expect_ok ferry upload "$TEST_TMP/small" "$(az_uri "$c" data/small)"

# random_reads SRC MOUNTED COUNT [MAX] — COUNT reads of random size (up to MAX, default
# 3 MiB) at random offsets agree.
random_reads() {
	$PY - "$1" "$2" "$3" "${4:-3145728}" <<-'PYEOF'
	import os, random, sys
	src, mnt, n, mx = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	size = os.path.getsize(src)
	assert os.path.getsize(mnt) == size, "sizes differ"
	rnd = random.Random(4010)
	a, b = os.open(src, os.O_RDONLY), os.open(mnt, os.O_RDONLY)
	for i in range(n):
	    off = rnd.randrange(0, size)
	    ln = min(mx, rnd.choice([1, 4096, 65536, 300000, 3 << 20]))
	    if os.pread(a, ln, off) != os.pread(b, ln, off):
	        sys.exit("read %d at %d differs" % (ln, off))
	print("ok")
	PYEOF
}

# concurrent_readers FILE... — one thread per (file, slice), each hashing its slice
# (of one big file: the first 16 MiB of each of 16 slices).
concurrent_readers() {
	$PY - "$@" <<-'PYEOF'
	import hashlib, os, sys, threading
	pairs = sys.argv[1:]
	errors = []
	def work(src, mnt, k, parts):
	    size = os.path.getsize(src)
	    lo, hi = size * k // parts, size * (k + 1) // parts
	    if parts > 1:
	        hi = min(hi, lo + (16 << 20))
	    h = []
	    for path in (mnt, src):
	        with open(path, "rb") as f:
	            f.seek(lo)
	            m, left = hashlib.md5(), hi - lo
	            while left:
	                b = f.read(min(left, 1 << 20))
	                if not b: break
	                m.update(b); left -= len(b)
	            h.append(m.hexdigest())
	    if h[0] != h[1]: errors.append("%s slice %d differs" % (mnt, k))
	def safe(*a):
	    try:
	        work(*a)
	    except Exception as e:
	        errors.append("%s: %s" % (a[1], e))
	jobs = []
	if len(pairs) == 2:
	    jobs = [(pairs[0], pairs[1], k, 16) for k in range(16)]
	else:
	    jobs = [(pairs[i], pairs[i + 1], 0, 1) for i in range(0, len(pairs), 2)]
	ts = [threading.Thread(target=safe, args=j) for j in jobs]
	for t in ts: t.start()
	for t in ts: t.join()
	if errors: sys.exit("; ".join(errors[:5]))
	print("ok")
	PYEOF
}

log=$FERRY_HOME/logs/mount.log
block_sets=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MB
	DATASET_MOUNT_MEMORY_CACHE_SIZE=64MB DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED=false)
# pairs MNT — "source mounted" path pairs of the 16 small files.
pairs() { for i in $(seq -w 1 16); do echo "$TEST_TMP/small/s$i.bin" "$1/small/s$i.bin"; done; }

step "block mode: 300 random-offset reads (up to 300 kB) of a $size file match the source"
mnt=$TEST_TMP/mnt-block
mount_at "$(az_uri "$c" data)" "$mnt" "${block_sets[@]}"
random_reads "$big" "$mnt/big.bin" 300 300000 >/dev/null || fail "random reads differ (block mode)"
seen=$(summary_count "$log")
unmount_at "$mnt"

step "block mode: those random reads prefetched (almost) nothing (runtime log summary)"
# The kernel's own readahead can make one read look like a short stream now and
# then; a sequential-looking policy would prefetch hundreds of blocks here.
nth_summary "$log" $((seen + 1)) >"$TEST_TMP/summary"
npf=$(sed -E 's/.* ([0-9]+) blocks prefetched.*/\1/' "$TEST_TMP/summary")
echo "# blocks prefetched during 300 random reads: $npf"
((npf <= 3)) || fail "random reads prefetched $npf blocks: $(cat "$TEST_TMP/summary")"

step "block mode: random reads of up to 3 MiB match the source"
mount_at "$(az_uri "$c" data)" "$mnt" "${block_sets[@]}"
random_reads "$big" "$mnt/big.bin" 200 >/dev/null || fail "random reads differ (block mode)"

step "block mode: 16 threads reading 16 slices of the big file concurrently get the right bytes"
concurrent_readers "$big" "$mnt/big.bin" >/dev/null || fail "concurrent slices differ (block mode)"

step "block mode: 16 threads reading 16 different files concurrently get the right bytes"
concurrent_readers $(pairs "$mnt") >/dev/null || fail "concurrent files differ (block mode)"
seen=$(summary_count "$log")
unmount_at "$mnt"
nth_summary "$log" $((seen + 1)) >"$TEST_TMP/summary"
grep -qE " [1-9][0-9]* blocks prefetched" "$TEST_TMP/summary" || fail "sequential readers prefetched nothing: $(cat "$TEST_TMP/summary")"

step "whole-file mode: random reads of the big file and 16 concurrent readers match"
mnt=$TEST_TMP/mnt-file
mount_at "$(az_uri "$c" data)" "$mnt"
random_reads "$big" "$mnt/big.bin" 300 >/dev/null || fail "random reads differ (whole-file mode)"
concurrent_readers "$big" "$mnt/big.bin" >/dev/null || fail "concurrent slices differ (whole-file mode)"
concurrent_readers $(pairs "$mnt") >/dev/null || fail "concurrent files differ (whole-file mode)"
unmount_at "$mnt"

step "whole-file mode: a 20 MB cache limit keeps the cache under it; the big file is streamed"
mnt=$TEST_TMP/mnt-small-cache
cache=$TEST_TMP/cache-limited
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount "$(az_uri "$c" data)" "$mnt" --cache-dir "$cache" --set DATASET_MOUNT_CACHE_SIZE=20MB
maxkb=0
for i in $(seq -w 1 16); do
	cmp -s "$TEST_TMP/small/s$i.bin" "$mnt/small/s$i.bin" || fail "small/s$i.bin differs under a small cache"
	kb=$(du -sk "$cache" | cut -f1)
	((kb > maxkb)) && maxkb=$kb
done
random_reads "$big" "$mnt/big.bin" 50 >/dev/null || fail "random reads differ when the file cannot fit the cache"
kb=$(du -sk "$cache" | cut -f1)
((kb > maxkb)) && maxkb=$kb
echo "# largest cache folder seen: $maxkb KiB (limit 19531 KiB)"
((maxkb <= 19600)) || fail "cache folder grew to $maxkb KiB, over the 20 MB limit"
assert_contains "$log" "does not fit" "runtime log"
assert_contains "$log" "file cache: evicted" "runtime log"
unmount_at "$mnt"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
