#!/usr/bin/env bash
# t4180 — owns FERRY_READ_TIMEOUT_SECONDS: a server that freezes mid-answer (the fault
# proxy sends part of a blob, then holds the socket) fails that read with EIO once the
# read timeout passes — far sooner than stall detection (set to 30 s here) and its
# retries would — and the runtime log names the blob and the setting; meanwhile a
# reader of another file through the same mount gets its bytes. In block mode the
# read fails; in whole-file mode the open (which downloads the file) does.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
injected() { curl -sf "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected_total"])'; }
at_exit 'fault clear 2>/dev/null'

export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
mkdata_random "$TEST_TMP/src/a.bin" 2M
mkdata_random "$TEST_TMP/src/b.bin" 64K
c=$(new_container)
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN FERRY_RETRY_BASE_DELAY_MS=10
log=$FERRY_HOME/logs/mount.log

for mode in block whole-file; do
	step "$mode mode: a frozen answer fails the reader with EIO; a reader of another file goes on"
	sets=(FERRY_READ_TIMEOUT_SECONDS=4 FERRY_STALL_TIMEOUT_SECONDS=30)
	[[ $mode == block ]] && sets+=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MB
		DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT=0) # no prefetch: the reader fetches, and is stalled
	mnt=$TEST_TMP/mnt-$mode
	fault clear
	mount_at "$(fault_uri "$c" data)" "$mnt" "${sets[@]}"
	ls -l "$mnt" >/dev/null
	# a.bin's first request freezes, b.bin's (one request) is answered, and so on
	# a.bin's next ones (the kernel asks again after a failed read-ahead)
	fault schedule stall,ok,stall,stall,stall,stall
	cat "$mnt/a.bin" >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
	reader=$!
	for _ in $(seq 1 100); do (($(injected) >= 1)) && break; sleep 0.1; done
	(($(injected) >= 1)) || fail "the read of a.bin was not stalled"
	# the other reader, while a.bin's read hangs
	cmp "$TEST_TMP/src/b.bin" "$mnt/b.bin" || fail "b.bin did not read back while a.bin's read hung"
	rc=0
	wait "$reader" || rc=$?
	((rc != 0)) || fail "the read of a.bin succeeded although its answer froze"
	assert_contains "$TEST_TMP/a.err" "Input/output error" "the reader's error"
	assert_contains "$log" "'data/a.bin'"
	assert_contains "$log" "no complete answer within FERRY_READ_TIMEOUT_SECONDS"
	step "$mode mode: once storage answers again, the same mount reads the file"
	fault clear
	cmp "$TEST_TMP/src/a.bin" "$mnt/a.bin" || fail "a.bin did not read back after the stall"
	unmount_at "$mnt"
	rm -f "$log"
done
echo ok
