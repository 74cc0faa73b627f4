#!/usr/bin/env bash
# t1040 — owns retry behaviour: through the fault proxy (connection resets, 503
# ServerBusy with Retry-After, stalled bodies, truncated bodies) a 64 MiB file and a
# small tree still download with identical bytes, with FERRY_STALL_TIMEOUT_SECONDS=2
# so stalls are noticed quickly; the proxy's counters prove faults were injected.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
export FERRY_STALL_TIMEOUT_SECONDS=2 FERRY_RETRY_BASE_DELAY_MS=50
export AZUREML_DATASET_HTTP_RETRY_COUNT=7 FERRY_CMD_TIMEOUT=300

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
azcli put "$c" data/big.bin "$big"
mk_small_tree "$TEST_TMP/src" 40 1 48
(cd "$TEST_TMP/src" && find . -type f -printf '%P\n') | while IFS= read -r f; do
	azcli put "$c" "tree/$f" "$TEST_TMP/src/$f"
done

injected() { # injected KIND -> count
	curl -sf --max-time 5 "$FAULT_CTL/stats" | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["injected"][sys.argv[1]] if sys.argv[1] in s["injected"] else s[sys.argv[1]])' "$1"
}

step "a 64 MiB file downloads intact through reset, 503, stall and truncate faults"
fault clear
fault schedule "reset,503,stall,truncate,ok,reset,503,truncate"
t0=$(date +%s)
expect_ok ferry download "$(fault_uri "$c" data/big.bin)" "$TEST_TMP/big"
echo "took $(seconds_since "$t0") s; stats: $(curl -s "$FAULT_CTL/stats")"
assert_file_same "$big" "$TEST_TMP/big/big.bin"
assert_eq "big.bin" "$(ls -A "$TEST_TMP/big")" "DEST holds only the file"
for k in reset 503 stall truncate; do
	[[ $(injected "$k") -ge 1 ]] || fail "no '$k' fault was injected"
done

step "a stall is abandoned after FERRY_STALL_TIMEOUT_SECONDS, not after the server gives up"
# The proxy holds a stalled socket for 60 s; finishing well under that shows detection.
[[ $(seconds_since "$t0") -lt 55 ]] || fail "download took $(seconds_since "$t0") s: the stall was not detected"

step "a small tree downloads intact with every 3rd data request failing"
fault clear
fault every "3 reset,503,stall,truncate"
expect_ok ferry download "$(fault_uri "$c" tree)" "$TEST_TMP/tree"
stats=$(curl -s "$FAULT_CTL/stats")
echo "stats: $stats"
fault clear
assert_tree_same "$TEST_TMP/src" "$TEST_TMP/tree"
[[ $(echo "$stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected_total"])') -ge 5 ]] ||
	fail "expected at least 5 injected faults on the tree, stats: $stats"
echo "ok"
