#!/usr/bin/env bash
# t4150 — owns "a blob is only ever committed complete": the rw mount server is
# killed (SIGKILL) while it stages the blocks of a 48 MiB file that replaces an
# existing 8 MiB blob (uploads slowed by 503s from the fault proxy, so the kill
# lands mid-upload; the test waits for block puts to have started, not for a time).
# Storage still holds the old blob, byte for byte, and no new name appears; the
# same for a new file: nothing under its name.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=300
writes() { curl -sf "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["write_requests"])'; }
at_exit 'fault clear 2>/dev/null'

c=$(new_container)
mkdata_random "$TEST_TMP/old.bin" 8M
mkdata_random "$TEST_TMP/new.bin" 48M
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/old.bin" "$(az_uri "$c" out/model.bin)"

step "SIGKILL of the mount server during a block upload leaves the old blob whole"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN FERRY_RETRY_BASE_DELAY_MS=10
fault clear
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "$(fault_uri "$c" out)" "$mnt" --set FERRY_UPLOAD_SINGLE_PUT_MAX=1MB \
	--set FERRY_TRANSFER_PART_SIZE=1MB --set RSLEX_DOWNLOADER_THREADS=2
pid=$(grep -o "served by process [0-9]*" "$FERRY_HOME/logs/mount.log" | tail -1 | awk '{print $4}')
[[ -n $pid ]] || fail "no mount server pid in the log"
fault every-write "2 503"
base=$(writes)
(cp "$TEST_TMP/new.bin" "$mnt/model.bin"; cp "$TEST_TMP/new.bin" "$mnt/brand-new.bin") 2>/dev/null &
cpid=$!
for _ in $(seq 1 600); do (($(writes) >= base + 6)) && break; sleep 0.1; done
(($(writes) >= base + 6)) || fail "the upload did not start"
kill -KILL "$pid"
wait "$cpid" 2>/dev/null || true
umount -l "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
fault clear
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry download "$(az_uri "$c" out)" "$TEST_TMP/got"
assert_file_same "$TEST_TMP/old.bin" "$TEST_TMP/got/model.bin"
[[ ! -e $TEST_TMP/got/brand-new.bin ]] || fail "a partial new blob appeared"
assert_eq 1 "$(find "$TEST_TMP/got" -type f | wc -l)" "files in storage"
echo ok
