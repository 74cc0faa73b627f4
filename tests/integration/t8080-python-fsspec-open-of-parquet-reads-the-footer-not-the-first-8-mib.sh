#!/usr/bin/env bash
# t8080 — owns how much open("rb") fetches for readers that start at the end
# (python/ferry/fsspec.py FerryFile and open_head; the head reuse in ferry_api_file_read and
# the empty object's 416 in src/store/httpc.c) under Debian's python3 and pytest
# (tests/python/test_fsspec_open_footer.py), through the fault proxy's request and byte
# counts: a Parquet footer read (pyarrow's and fastparquet's patterns) of a 64 MiB file moves
# ~1 MiB, not 8; read_row_group and pandas.read_parquet of one column move about its chunks;
# a small Parquet file and an empty blob are one request; byte-exact seeks from the end and
# the start; the open's head never fetched twice; block_size sets the head; a blob replaced
# while open raises; one handle read from 8 threads; all of it again under ASan/UBSan
# (make asan's libferry.so). T8_FERRY_LIB and T8_PYTHONPATH run the same checks on another build
# (how the old code's failures were shown).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py_fault fsspec
command -v node >/dev/null && [[ -d $ROOT/tests/fixtures/parquet/node_modules/hyparquet-writer ]] ||
	skip "node and tests/fixtures/parquet's npm packages are not installed"

step "a 64 MiB Parquet file (6 row groups), a small one, empty blobs, a 20 MiB file on Azurite"
mkdir -p "$TEST_TMP/tree/sub.parquet"
(cd "$ROOT/tests/fixtures/parquet" && node gen-big.mjs "$TEST_TMP/tree/big.parquet" 1400000 6 &&
	node gen-big.mjs "$TEST_TMP/tree/small.parquet" 12000 2) || fail "writing the Parquet files failed"
mv "$TEST_TMP/tree/big.parquet.json" "$TEST_TMP/"
rm "$TEST_TMP/tree/small.parquet.json"
head -c $((20 << 20)) /dev/urandom >"$TEST_TMP/tree/twenty.bin"
head -c 1000 /dev/urandom >"$TEST_TMP/tree/sub.parquet/part-0.bin"
: >"$TEST_TMP/tree/empty.parquet"
: >"$TEST_TMP/tree/empty.bin"
c=$(new_container)
az_datastore pds "$c"
az_datastore pdsfault "$c" "$FAULT_URL"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/pds/paths/tree/"

step "pytest: footer reads, column reads, small and empty files, seeks, a replaced blob"
export T8_TMP=$TEST_TMP T8_FAULT_CTL=$FAULT_CTL
run_pytest test_fsspec_open_footer.py --durations=5 ${T8_MEASURE:+-s}

if [[ -n ${S3_ENDPOINT:-} && -n ${S3_FAULT_CTL:-} ]]; then
	step "S3 (s3rver) through its fault proxy: a Parquet footer read, an empty object"
	s3_env
	b=$(new_bucket)
	expect_ok ferry upload "$TEST_TMP/tree/big.parquet" "s3://$b/big.parquet"
	expect_ok ferry upload "$TEST_TMP/tree/empty.bin" "s3://$b/empty.bin"
	export AWS_ENDPOINT_URL=$S3_FAULT_ENDPOINT
	timeout -k 5 120 $PY - "$b" "$TEST_TMP/tree/big.parquet" "$S3_FAULT_CTL" <<-'PY' || fail "S3 open checks failed"
	import json, sys, urllib.request, ferry
	b, src, ctl = sys.argv[1:4]
	def clear():
	    urllib.request.urlopen(urllib.request.Request(ctl + "/clear", data=b"", method="POST"), timeout=5).read()
	def stats():
	    return json.load(urllib.request.urlopen(ctl + "/stats", timeout=5))
	want = open(src, "rb").read()
	fs = ferry.filesystem()
	clear()
	with fs.open("s3://%s/big.parquet" % b, "rb") as f:
	    f.seek(-65536, 2)
	    assert f.read() == want[-65536:]
	st = stats()
	assert st["requests"] == 2 and st["body_bytes"] <= 2 << 20, st
	clear()
	with fs.open("s3://%s/empty.bin" % b, "rb") as f:  # s3rver answers its range 206 "bytes 0-0/0"
	    assert f.size == 0 and f.read() == b""      # with a Content-Length of 1: one GET, then a stat
	print("s3: footer read %d requests, %d bytes; empty object %d requests" % (2, st["body_bytes"], stats()["requests"]))
	PY
fi

ASAN_LIB=$ROOT/build/asan/libferry.so
if [[ -f $ASAN_LIB && -z ${T8_FERRY_LIB:-} ]]; then
	step "the same under ASan/UBSan (make asan's libferry.so in Debian's python3; leak checks off)"
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" FERRY_LIB=$ASAN_LIB \
		timeout -k 5 300 $PY -m pytest -q -p no:cacheprovider "$ROOT/tests/python/test_fsspec_open_footer.py" \
		>"$TEST_TMP/asan.out" 2>&1 || { cat "$TEST_TMP/asan.out"; fail "pytest under ASan/UBSan failed"; }
	tail -3 "$TEST_TMP/asan.out"
	assert_not_contains "$TEST_TMP/asan.out" "runtime error" "UBSan"
	assert_not_contains "$TEST_TMP/asan.out" "ERROR: AddressSanitizer" "ASan"
	grep -q " passed" "$TEST_TMP/asan.out" || fail "pytest under ASan ran no test"
else
	echo "(build/asan/libferry.so not built: the sanitizer pass is skipped)"
fi
echo "ok"
