#!/usr/bin/env bash
# t5040 — owns retries against S3: through the fault proxy in front of the S3 server
# (connection resets, 503 with Retry-After, stalled and truncated bodies) a 64 MiB
# object and a small tree still download byte for byte — each retry is signed
# again (SigV4 covers x-amz-date and the Range) and a cut ranged body resumes from
# the byte it reached; the proxy's counters prove faults were injected.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
[[ -n ${S3_FAULT_CTL:-} ]] || skip "S3 fault proxy not running"
s3_env
export FERRY_STALL_TIMEOUT_SECONDS=2 FERRY_RETRY_BASE_DELAY_MS=50
export AZUREML_DATASET_HTTP_RETRY_COUNT=7 FERRY_CMD_TIMEOUT=300

b=$(new_bucket)
big=$(cached_random random-64M.bin 64M)
mk_small_tree "$TEST_TMP/src" 40 1 48
expect_ok ferry upload "$big" "s3://$b/data/big.bin"
expect_ok ferry upload "$TEST_TMP/src" "s3://$b/tree/"
export AWS_ENDPOINT_URL=$S3_FAULT_ENDPOINT

FAULT_CTL=$S3_FAULT_CTL # fault() speaks to the S3 server's proxy
injected() { # injected KIND -> count
	curl -sf --max-time 5 "$S3_FAULT_CTL/stats" | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["injected"].get(sys.argv[1], 0))' "$1"
}

step "a 64 MiB object downloads intact through reset, 503, stall and truncate faults"
fault clear
fault schedule "reset,503,stall,truncate,ok,reset,503,truncate"
t0=$(date +%s)
expect_ok ferry download "s3://$b/data/big.bin" "$TEST_TMP/big"
echo "took $(seconds_since "$t0") s; stats: $(curl -s "$S3_FAULT_CTL/stats")"
assert_file_same "$big" "$TEST_TMP/big/big.bin"
assert_eq "big.bin" "$(ls -A "$TEST_TMP/big")" "DEST holds only the file"
for k in reset 503 stall truncate; do
	[[ $(injected "$k") -ge 1 ]] || fail "no '$k' fault was injected"
done
[[ $(seconds_since "$t0") -lt 55 ]] || fail "download took $(seconds_since "$t0") s: the stall was not detected"

step "a small tree downloads intact with every 3rd object GET failing"
fault clear
fault every "3 reset,503,stall,truncate"
expect_ok ferry download "s3://$b/tree" "$TEST_TMP/tree"
stats=$(curl -s "$S3_FAULT_CTL/stats")
echo "stats: $stats"
fault clear
assert_tree_same "$TEST_TMP/src" "$TEST_TMP/tree"
[[ $(echo "$stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected_total"])') -ge 5 ]] ||
	fail "expected at least 5 injected faults on the tree, stats: $stats"

step "with retries off, a fault fails the download cleanly: no partial files"
fault schedule "reset,reset,reset,reset"
AZUREML_DATASET_HTTP_RETRY_COUNT=0 expect_fail "gave up" ferry download "s3://$b/data/big.bin" "$TEST_TMP/noretry"
fault clear
[[ ! -d $TEST_TMP/noretry ]] || assert_no_temp_files "$TEST_TMP/noretry"
echo "ok"
