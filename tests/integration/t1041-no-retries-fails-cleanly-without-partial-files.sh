#!/usr/bin/env bash
# t1041 — owns failure hygiene: with AZUREML_DATASET_HTTP_RETRY_COUNT=0 a single
# injected fault (reset, 503, stall, truncate) makes the download fail with a clear
# error naming the blob, and DEST holds no partial or temporary file.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
export FERRY_STALL_TIMEOUT_SECONDS=2 FERRY_RETRY_BASE_DELAY_MS=50
export AZUREML_DATASET_HTTP_RETRY_COUNT=0 FERRY_CMD_TIMEOUT=120

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
azcli put "$c" data/big.bin "$big"

for kind in reset 503 stall truncate; do
	step "with retries off, a '$kind' fails the download and leaves nothing in DEST"
	fault clear
	# Every data request fails, so whichever part ferry fetches first hits a fault.
	fault every "1 $kind"
	dest=$TEST_TMP/dest-$kind
	mkdir -p "$dest"
	expect_fail "big.bin" ferry download "$(fault_uri "$c" data/big.bin)" "$dest"
	echo "  stderr: $(tail -n 2 "$LAST_STDERR")"
	grep -q '^ferry: error:' "$LAST_STDERR" || fail "no 'ferry: error:' line: $(tail -c 400 "$LAST_STDERR")"
	if [[ $kind == 503 ]]; then assert_contains "$LAST_STDERR" 503 "stderr"; fi
	assert_no_temp_files "$dest"
done
fault clear

step "with retries off, a tree download that hits a fault leaves only complete files"
mk_small_tree "$TEST_TMP/src" 30 8 64
(cd "$TEST_TMP/src" && find . -type f -printf '%P\n') | while IFS= read -r f; do
	azcli put "$c" "tree/$f" "$TEST_TMP/src/$f"
done
fault every "7 truncate,reset"
expect_fail "error" ferry download "$(fault_uri "$c" tree)" "$TEST_TMP/tree"
fault clear
if [[ -d $TEST_TMP/tree ]]; then
	(cd "$TEST_TMP/tree" && find . -mindepth 1 ! -type d -printf '%P\n') | while IFS= read -r f; do
		[[ -f $TEST_TMP/src/$f ]] || fail "unexpected file in DEST: $f"
		cmp -s "$TEST_TMP/src/$f" "$TEST_TMP/tree/$f" || fail "partial file left in DEST: $f"
	done
fi
echo "ok"
