#!/usr/bin/env bash
# t1088 — owns resending a request body: when a server drops a kept-alive
# connection just as ferry reuses it for a PUT (tests/fixtures/dropproxy.py makes the
# race certain: the 2nd request on every connection is cut off mid-body), libcurl
# sends the request again on a new connection and must rewind the body. Uploads of
# single-put files and of blocks land byte for byte, even with ferry's own retries
# off. (Before: "Send failed since rewinding of the data stream failed".)
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
az=${AZURITE_URL#http://}
az=${az%%/*}
setsid $PY "$ROOT/tests/fixtures/dropproxy.py" --listen "127.0.0.1:$port" --upstream "$az" \
	--count-file "$TEST_TMP/drops" >"$TEST_TMP/dropproxy.log" 2>&1 &
proxy=$!
at_exit "kill $proxy 2>/dev/null"
for _ in $(seq 50); do [[ -s $TEST_TMP/drops ]] && break; sleep 0.1; done
[[ -s $TEST_TMP/drops ]] || fail "dropproxy did not start: $(cat "$TEST_TMP/dropproxy.log")"
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
export AZUREML_DATASET_HTTP_RETRY_COUNT=0

step "twelve single-put files through a proxy that drops every reused connection land byte for byte"
mk_small_tree "$TEST_TMP/src" 12 3 300 # 3 to 300 KiB: single puts
expect_ok ferry upload "$TEST_TMP/src" "http://127.0.0.1:$port/devstoreaccount1/$c/small"
drops=$(cat "$TEST_TMP/drops")
((drops >= 1)) || fail "no connection was reused and dropped: the test shows nothing"
echo "# connections dropped mid-request: $drops"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry download "$(az_uri "$c" small)" "$TEST_TMP/back"
assert_tree_same "$TEST_TMP/src" "$TEST_TMP/back"

step "a file sent in blocks (Put Block over reused connections) lands byte for byte"
mkdata_random "$TEST_TMP/big.bin" 12M
before=$drops
FERRY_UPLOAD_SINGLE_PUT_MAX=4MiB FERRY_TRANSFER_PART_SIZE=4MiB RSLEX_DOWNLOADER_THREADS=2 \
	expect_ok ferry upload "$TEST_TMP/big.bin" "http://127.0.0.1:$port/devstoreaccount1/$c/big.bin"
(($(cat "$TEST_TMP/drops") > before)) || fail "no block request was dropped: the step shows nothing"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry download "$(az_uri "$c" big.bin)" "$TEST_TMP/bigback"
assert_file_same "$TEST_TMP/big.bin" "$TEST_TMP/bigback/big.bin"
