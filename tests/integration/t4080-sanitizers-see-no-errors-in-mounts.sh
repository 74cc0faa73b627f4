#!/usr/bin/env bash
# t4080 — owns memory and thread safety of the mount: build/tsan/ferry
# (ThreadSanitizer) and build/asan/ferry (AddressSanitizer + UBSan) serve mounts in
# both open modes while 8 threads open, read and close 300 small files twice and
# 16 threads read slices of one big file; then a job mounts, reads and unmounts.
# Every mount server writes its sanitizer reports to files (their stderr is
# /dev/null); there must be none, and every byte read must match. Before the fix
# of op_release racing the tail of op_read, TSan reported that race here.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_CMD_TIMEOUT=600

big=$(cached_random random-64M.bin 64M)
mk_small_tree "$TEST_TMP/src/small" 300 1 32
cp "$big" "$TEST_TMP/src/big.bin"
c=$(new_container)
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"

# readers SRC MNT — 8 threads read every small file twice (a new open each
# time), 16 threads read 16 slices of big.bin, 8 threads share one open big.bin
# for random reads, then it is read through; all must match the source.
readers() {
	$PY - "$1" "$2" <<-'PYEOF'
	import hashlib, os, random, sys
	from concurrent.futures import ThreadPoolExecutor
	src, mnt = sys.argv[1], sys.argv[2]
	rel = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs]
	def same(r):
	    with open(os.path.join(src, r), "rb") as a, open(os.path.join(mnt, r), "rb") as b:
	        return a.read() == b.read()
	def slice_ok(k):
	    size = os.path.getsize(os.path.join(src, "big.bin"))
	    lo, hi = size * k // 16, size * (k + 1) // 16
	    h = []
	    for root in (src, mnt):
	        with open(os.path.join(root, "big.bin"), "rb") as f:
	            f.seek(lo)
	            h.append(hashlib.md5(f.read(hi - lo)).hexdigest())
	    return h[0] == h[1]
	with ThreadPoolExecutor(8) as ex:
	    ok = all(ex.map(same, rel * 2))
	with ThreadPoolExecutor(16) as ex:
	    ok = all(ex.map(slice_ok, range(16))) and ok
	# 8 threads share one open file for random 4 KiB reads (block mode's
	# per-handle random mode: small ranges, cancelled prefetch), then a pass.
	fs, fm = (os.open(os.path.join(r, "big.bin"), os.O_RDONLY) for r in (src, mnt))
	size = os.path.getsize(os.path.join(src, "big.bin"))
	def rand_ok(k):
	    rnd = random.Random(k)
	    offs = [rnd.randrange(size - 4096) for _ in range(40)]
	    return all(os.pread(fs, 4096, o) == os.pread(fm, 4096, o) for o in offs)
	with ThreadPoolExecutor(8) as ex:
	    ok = all(ex.map(rand_ok, range(8))) and ok
	ok = all(os.pread(fs, 1 << 20, o) == os.pread(fm, 1 << 20, o) for o in range(0, size, 1 << 20)) and ok
	sys.exit(0 if ok else 1)
	PYEOF
}

# san_mounts LABEL BINARY — both modes and a job with one sanitized binary.
san_mounts() {
	local label=$1 bin=$2 mode mnt
	for mode in whole-file block; do
		step "$label: $mode mode: concurrent opens, reads and closes match, no report"
		mnt=$TEST_TMP/mnt-$label-$mode
		local sets=()
		[[ $mode == block ]] && sets=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MB)
		FERRY=$bin mount_at "$(az_uri "$c" data)" "$mnt" "${sets[@]}"
		readers "$TEST_TMP/src" "$mnt" || fail "$label, $mode mode: bytes differ"
		FERRY=$bin unmount_at "$mnt"
	done
	step "$label: a job mounts an input, reads it and unmounts, no report"
	cat >"$TEST_TMP/job-$label.yml" <<-YML
	command: diff -r $TEST_TMP/src/small \${{inputs.tree}}
	inputs:
	  tree: {type: uri_folder, path: "$(az_uri "$c" data/small)"}
	YML
	FERRY=$bin expect_ok ferry run "$TEST_TMP/job-$label.yml" --name "san-$label"
	# Mount servers are gone once their folder is unmounted; give their report
	# files (written at exit) a moment to be complete.
	sleep 1
	no_reports "$label" "$SAN_LOGS" empty
	return 0
}

with_sanitizers san_mounts

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
