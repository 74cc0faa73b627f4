#!/usr/bin/env bash
# t4211 — owns memory and thread safety of whole-file mode's reads during the
# download: build/tsan/ferry (ThreadSanitizer) and build/asan/ferry (AddressSanitizer
# + UBSan) serve a mount behind the slow fault proxy (every data GET waits 0.3 s)
# while a sequential reader and 7 random readers share the download of one file
# (waits at the front, ranged GETs ahead of it), then a download fails mid-file
# (EIO to its reader, the entry dropped while its handle is open) and a re-open
# reads right. Every byte must match; the servers must write no report.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
need_fuse
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50 FERRY_CMD_TIMEOUT=300

big=$(cached_random random-32M.bin 32M)
c=$(new_container)
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$big" "$(az_uri "$c" data/big.bin)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
slow=(FERRY_TRANSFER_PART_SIZE=1MiB RSLEX_DOWNLOADER_THREADS=2)
readers() { $PY "$ROOT/tests/fixtures/wholefile-readers.py" "$big" "$@"; }

# san_reads LABEL BINARY — the readers and the failure with one sanitized binary.
san_reads() {
	local label=$1 bin=$2 mnt=$TEST_TMP/mnt-$1
	step "$label: sequential and random readers share a slow download, bytes right"
	fault clear
	fault every "1 delay"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}"
	out=$(readers "$mnt/big.bin" first far "mixed:8") || fail "$label: reads differ: $out"
	fault clear
	step "$label: a download that fails mid-file gives EIO, a re-open reads right"
	FERRY=$bin unmount_at "$mnt"
	FERRY=$bin mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}" AZUREML_DATASET_HTTP_RETRY_COUNT=0
	fault schedule "ok,ok,ok,500"
	$PY - "$mnt/big.bin" <<-'PYEOF' || fail "$label: a failed download was not reported as EIO"
		import errno, os, sys
		fd = os.open(sys.argv[1], os.O_RDONLY)
		try:
		    for off in range(0, 32 << 20, 1 << 20):
		        os.pread(fd, 1 << 20, off)
		    sys.exit("read the whole file through a failed download")
		except OSError as e:
		    assert e.errno == errno.EIO, e
		PYEOF
	fault clear
	readers "$mnt/big.bin" whole >/dev/null || fail "$label: the re-open read wrong bytes"
	FERRY=$bin unmount_at "$mnt"
	sleep 1 # report files are written as the server exits
	no_reports "$label" "$SAN_LOGS"
}

with_sanitizers san_reads
echo "ok"
