#!/usr/bin/env bash
# t4251 — owns memory and thread safety of block mode's MD5 check (t4250):
# build/tsan/ferry (ThreadSanitizer) and build/asan/ferry (AddressSanitizer + UBSan)
# serve a block-mode mount while four readers stream one file at once (one check
# shared by their handles, blocks hashed by prefetch workers and reading threads):
# with a byte flipped in a prefetched block every reader fails with EIO (the
# mismatch path: reads failed, blocks dropped while handles are open); after `fault
# clear` four readers at once read it right (the match path) and a reader that jumps
# is not failed. The servers must write no report.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50 FERRY_CMD_TIMEOUT=300

src=$TEST_TMP/big.bin
mkdata_random "$src" 12M
c=$(new_container)
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$src" "$(az_uri "$c" data/big.bin)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
block=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MiB
	DATASET_MOUNT_MEMORY_CACHE_SIZE=4MiB)

# san_md5 LABEL BINARY — the mismatch and the match path with one sanitized binary.
san_md5() {
	local label=$1 bin=$2 mnt=$TEST_TMP/mnt-$1 i pids=() bad=0
	step "$label: four readers of a file corrupted in a prefetched block all get EIO"
	fault clear
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt" "${block[@]}"
	ls -l "$mnt" >/dev/null
	fault schedule "ok,ok,ok,corrupt"
	for i in 1 2 3 4; do
		cat "$mnt/big.bin" >"$TEST_TMP/out$i.bin" 2>"$TEST_TMP/err$i" &
		pids+=($!)
	done
	for i in 0 1 2 3; do wait "${pids[$i]}" && bad=$((bad + 1)); done
	((bad == 0)) || fail "$label: $bad of 4 readers read a corrupted file without an error"
	assert_contains "$TEST_TMP/err1" "Input/output error" "$label: cat's error"
	assert_contains "$log" "read of blob 'data/big.bin': MD5 mismatch" "$label: runtime log"
	step "$label: after fault clear, four readers at once read it right; a jumping reader is not failed"
	fault clear
	pids=()
	for i in 1 2 3 4; do
		cmp "$src" "$mnt/big.bin" &
		pids+=($!)
	done
	$PY - "$src" "$mnt/big.bin" <<-'PYEOF' || fail "$label: a reader that jumps read wrong bytes"
		import os, random, sys
		a, b = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
		size = os.fstat(a).st_size
		rnd = random.Random(4251)
		for off in [0, size - 4096] + [rnd.randrange(size - 4096) for _ in range(16)]:
		    if os.pread(a, 4096, off) != os.pread(b, 4096, off):
		        sys.exit("4096 bytes at %d differ" % off)
		PYEOF
	for i in 0 1 2 3; do wait "${pids[$i]}" || fail "$label: a reader read wrong bytes after fault clear"; done
	FERRY=$bin unmount_at "$mnt"
	sleep 1 # report files are written as the server exits
	no_reports "$label" "$SAN_LOGS"
}

with_sanitizers san_md5
echo "ok"
