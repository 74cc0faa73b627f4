#!/usr/bin/env bash
# t4050 — owns the seed's five recommended mount settings (docs/architecture.md, "The read-only mount"): each one
# mounts, reads its workload correctly, and is recorded in the runtime log as the
# settings in force; the block cache with disk serves a second epoch from disk.
#   1 big file read once sequentially: block mode, no disk, no RAM cache, 80 prefetch blocks
#   2 big file read once by many threads: block mode, 16 prefetch threads
#   3 many small files read once by many threads: block mode, no disk cache
#   4 small files over many epochs: block mode with the disk block cache
#   5 random reads of a big file: whole-file cache
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

big=$(cached_random big-64m 64M)
c=$(new_container)
mkdir -p "$TEST_TMP/src"
cp "$big" "$TEST_TMP/src/big.bin"
mk_small_tree "$TEST_TMP/src/small" 300 1 16
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"
log=$FERRY_HOME/logs/mount.log
mnt=$TEST_TMP/mnt

# read_threads DIR N — read every file under DIR with N threads, compare to the source.
read_threads() {
	$PY - "$TEST_TMP/src/small" "$1" "$2" <<-'PYEOF'
	import os, sys
	from concurrent.futures import ThreadPoolExecutor
	src, mnt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
	rels = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs]
	def same(r):
	    return open(os.path.join(src, r), "rb").read() == open(os.path.join(mnt, r), "rb").read()
	with ThreadPoolExecutor(n) as ex:
	    bad = [r for r, ok in zip(rels, ex.map(same, rels)) if not ok]
	sys.exit("differ: %s" % bad[:5] if bad else 0)
	PYEOF
}
# last_summary — the summary of the mount unmount_at just ended (it waits for the server).
last_summary() { grep "mount summary:" "$log" | tail -1; }

step "1: big file read once sequentially (block, no disk, no RAM cache, 80 prefetch blocks)"
mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED=false DATASET_MOUNT_MEMORY_CACHE_SIZE=0 \
	DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT=80
assert_file_same "$big" "$mnt/big.bin"
unmount_at "$mnt"
assert_contains "$log" "DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT=80" "settings in force"
last_summary >"$TEST_TMP/s1"
grep -qE " [1-9][0-9]* blocks prefetched \([1-9]" "$TEST_TMP/s1" || fail "no prefetch used: $(cat "$TEST_TMP/s1")"

step "2: big file read once by many threads (block, 16 prefetch threads)"
mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	DATASET_MOUNT_READ_THREADS=16 DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED=false
$PY - "$big" "$mnt/big.bin" <<-'PYEOF' || fail "threaded slices differ"
import os, sys
from concurrent.futures import ThreadPoolExecutor
src, mnt = sys.argv[1], sys.argv[2]
size = os.path.getsize(src); step = size // 8
def same(k):
    a, b = os.open(src, os.O_RDONLY), os.open(mnt, os.O_RDONLY)
    ok = all(os.pread(a, 1 << 20, o) == os.pread(b, 1 << 20, o) for o in range(k * step, (k + 1) * step, 1 << 20))
    os.close(a); os.close(b)
    return ok
with ThreadPoolExecutor(8) as ex:
    sys.exit(0 if all(ex.map(same, range(8))) else 1)
PYEOF
unmount_at "$mnt"

step "3: many small files read once by 8 threads (block, no disk cache)"
mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED=false
read_threads "$mnt/small" 8 || fail "small files differ"
unmount_at "$mnt"

step "4: small files over two epochs (block with disk, no RAM cache): epoch 2 comes from disk"
# A TTL makes every open drop the kernel's page cache, so epoch 2 reaches ferry.
mount_at "$(az_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED=true DATASET_MOUNT_MEMORY_CACHE_SIZE=0 \
	DATASET_MOUNT_ATTRIBUTE_CACHE_TTL=600000
read_threads "$mnt/small" 8 || fail "small files differ (epoch 1)"
sleep 0.5 # let the write threads finish
read_threads "$mnt/small" 8 || fail "small files differ (epoch 2)"
unmount_at "$mnt"
last_summary >"$TEST_TMP/s4"
n=$(sed -E 's/.*\), ([0-9]+) from disk.*/\1/' "$TEST_TMP/s4")
echo "# epoch 2: $n blocks from the disk cache"
((n >= 250)) || fail "epoch 2 did not come from the disk cache: $(cat "$TEST_TMP/s4")"

step "5: random reads of a big file (whole-file cache)"
mount_at "$(az_uri "$c" data)" "$mnt"
$PY - "$big" "$mnt/big.bin" <<-'PYEOF' || fail "random reads differ"
import os, random, sys
a, b = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
size = os.fstat(a).st_size; rnd = random.Random(5)
for _ in range(2000):
    o = rnd.randrange(size)
    if os.pread(a, 4096, o) != os.pread(b, 4096, o): sys.exit(1)
PYEOF
unmount_at "$mnt"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
