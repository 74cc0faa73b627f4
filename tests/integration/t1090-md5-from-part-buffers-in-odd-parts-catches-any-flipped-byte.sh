#!/usr/bin/env bash
# t1090 — owns the download's MD5 check with bytes hashed from the part buffers
# (issue 15 item 1): parts of 1,000,000 bytes (not a multiple of a page, so the
# cursor stops inside pages and what is left of a part is mapped from inside one),
# 4 at a time, of a 20,000,123-byte blob with a stored Content-MD5: the bytes are
# right; a byte flipped by the fault proxy in the first part (hashed from memory as
# it streams), in the last part, or in a part of adaptive size fails the download
# with "MD5 mismatch" and publishes nothing; FERRY_VERIFY_MD5=off lets the same
# corruption through (the check is what caught it).
source "$(dirname "$0")/lib.sh"
need_fixtures
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50 FERRY_CMD_TIMEOUT=120 AZUREML_DATASET_HTTP_RETRY_COUNT=0

c=$(new_container)
src=$TEST_TMP/odd.bin
mkdata_random "$src" 20000123
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$src" "$(az_uri "$c" odd.bin)"
[[ -n $(azcli md5 "$c" odd.bin) ]] || fail "the upload stored no Content-MD5"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
odd=(FERRY_TRANSFER_PART_SIZE=1000000 FERRY_TRANSFER_PART_SIZE_MAX=1000000 RSLEX_DOWNLOADER_THREADS=4)
corrupted() { curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected"].get("corrupt", 0))'; }
# with NAME=VALUE... -- CMD... — CMD (a lib.sh function too) with those settings exported
with() { (while [[ $1 != -- ]]; do export "$1"; shift; done; shift; "$@"); }
data_requests() { curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])'; }

step "21 parts of 1,000,000 bytes: checked and byte for byte right"
fault clear
with "${odd[@]}" -- expect_ok ferry download "$(fault_uri "$c" odd.bin)" "$TEST_TMP/ok"
assert_file_same "$src" "$TEST_TMP/ok/odd.bin"
assert_eq 21 "$(data_requests)" "data GETs"

# bad LABEL SCHEDULE [SETTING]... — the download fails its MD5 check, nothing published
bad() {
	local label=$1 sched=$2
	shift 2
	step "a byte flipped in $label fails the download; nothing is published"
	fault clear
	fault schedule "$sched"
	with "$@" -- expect_fail "MD5 mismatch" ferry download "$(fault_uri "$c" odd.bin)" "$TEST_TMP/bad-$label"
	assert_eq 1 "$(corrupted)" "responses corrupted"
	assert_contains "$LAST_STDERR" "odd.bin" "error names the blob"
	assert_no_temp_files "$TEST_TMP/bad-$label"
	[[ ! -e $TEST_TMP/bad-$label/odd.bin ]] || fail "a corrupted odd.bin was published"
}
bad first-part "corrupt" "${odd[@]}"
bad last-part "$(printf 'ok,%.0s' $(seq 20))corrupt" "${odd[@]}"
bad adaptive-part "ok,ok,ok,ok,ok,corrupt" FERRY_TRANSFER_PART_SIZE=1MiB RSLEX_DOWNLOADER_THREADS=4

step "FERRY_VERIFY_MD5=off: the same flipped byte goes unnoticed"
fault clear
fault schedule "corrupt"
with "${odd[@]}" FERRY_VERIFY_MD5=off -- expect_ok ferry download "$(fault_uri "$c" odd.bin)" "$TEST_TMP/off"
cmp -s "$src" "$TEST_TMP/off/odd.bin" && fail "the proxy's corruption did not reach the file"
echo "ok"
