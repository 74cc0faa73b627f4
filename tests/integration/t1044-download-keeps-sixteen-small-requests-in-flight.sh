#!/usr/bin/env bash
# t1044 — owns the download engine's concurrency: small files keep at least 16
# requests in flight whatever RSLEX_DOWNLOADER_THREADS says (a small file's time is
# the server's latency, not bandwidth), while the parts of a large file still run at
# most RSLEX_DOWNLOADER_THREADS at once. The fault proxy delays every data request
# by 0.3 s and reports the most it saw open at once.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_fault
max_inflight() { curl -sf --max-time 5 "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["max_inflight"])'; }
export FERRY_CMD_TIMEOUT=120 RSLEX_DOWNLOADER_THREADS=2

c=$(new_container)
mk_small_tree "$TEST_TMP/small" 64 4 8
mkdata_random "$TEST_TMP/big/big.bin" 48M
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/small" "$(az_uri "$c" small)"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/big/big.bin" "$(az_uri "$c" big/big.bin)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN

step "64 small files with RSLEX_DOWNLOADER_THREADS=2: at least 16 requests open at once"
fault clear
fault every "1 delay"
expect_ok ferry download "$(fault_uri "$c" small)" "$TEST_TMP/got-small"
assert_tree_same "$TEST_TMP/small" "$TEST_TMP/got-small"
n=$(max_inflight)
echo "  most data requests open at once: $n"
[[ $n -ge 16 ]] || fail "only $n small-file requests were in flight at once (want >= 16)"

step "a 48 MiB file (6 parts) with RSLEX_DOWNLOADER_THREADS=2: at most 2 parts at once"
fault clear
fault every "1 delay"
expect_ok ferry download "$(fault_uri "$c" big/big.bin)" "$TEST_TMP/got-big"
assert_file_same "$TEST_TMP/big/big.bin" "$TEST_TMP/got-big/big.bin"
n=$(max_inflight)
echo "  most data requests open at once: $n"
[[ $n -ge 1 && $n -le 2 ]] || fail "$n parts were in flight at once (want 1-2: RSLEX_DOWNLOADER_THREADS=2)"
echo "ok"
