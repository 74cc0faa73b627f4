#!/usr/bin/env bash
# t5010 — owns S3 multipart upload: a 256 MiB file with FERRY_UPLOAD_SINGLE_PUT_MAX
# small goes up as 8 MiB parts staged in parallel (the upload id made once, by
# the first part to arrive), completes with every ETag, lists at its full size,
# downloads as parallel ranged GETs byte for byte, and leaves no multipart upload
# open; Ctrl-C midway aborts the upload (AbortMultipartUpload is sent even then);
# a part size under S3's 5 MiB minimum is raised to it; the ASan and TSan
# builds stage two objects' parts at once without a report.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env

big=$(cached_random s3-256m.bin 256M)
b=$(new_bucket)

step "a 256 MiB upload goes through multipart (32 parts of 8 MiB)"
FERRY_UPLOAD_SINGLE_PUT_MAX=16M expect_ok ferry -v upload "$big" "s3://$b/big/model.bin"
etag=$(s3cli etag "$b" big/model.bin)
[[ $etag == *-32 ]] || fail "expected a multipart ETag of 32 parts, got '$etag'"
expect_ok ferry ls "s3://$b/big/"
assert_eq "$((256 * 1024 * 1024))	model.bin" "$(cat "$TEST_TMP/last.stdout")" "listed size"
assert_eq 0 "$(s3cli uploads "$b")" "open multipart uploads after completion"

step "the download (parallel ranged GETs) is byte for byte the file"
expect_ok ferry download "s3://$b/big/model.bin" "$TEST_TMP/out"
assert_file_same "$big" "$TEST_TMP/out/model.bin"

step "parts below S3's 5 MiB minimum are raised to it"
small=$TEST_TMP/small.bin
mkdata_random "$small" 12M
FERRY_UPLOAD_SINGLE_PUT_MAX=1M FERRY_TRANSFER_PART_SIZE=1M expect_ok ferry upload "$small" "s3://$b/small.bin"
expect_ok ferry download "s3://$b/small.bin" "$TEST_TMP/out2"
assert_file_same "$small" "$TEST_TMP/out2/small.bin"
etag=$(s3cli etag "$b" small.bin)
[[ $etag == *-3 ]] || fail "expected 3 parts of 5 MiB (12 MiB), got ETag '$etag'"
assert_eq 0 "$(s3cli uploads "$b")" "open multipart uploads"

step "Ctrl-C during a multipart upload aborts it: no object, no upload left open"
RSLEX_DOWNLOADER_THREADS=1 timeout -k 5 120 "$FERRY" upload "$big" "s3://$b/interrupted.bin" \
	>"$TEST_TMP/int.out" 2>"$TEST_TMP/int.err" &
pid=$!
for ((i = 0; i < 100; i++)); do
	[[ $(s3cli uploads "$b") -ge 1 ]] && break
	sleep 0.1
done
sleep 0.5
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 130 "$rc" "exit status after SIGINT"
assert_contains "$TEST_TMP/int.err" "interrupted"
expect_ok ferry ls "s3://$b/"
assert_not_contains "$TEST_TMP/last.stdout" "interrupted.bin"
assert_eq 0 "$(s3cli uploads "$b")" "open multipart uploads after the interrupt"

step "ASan and TSan builds: two objects' multipart uploads at once, and their download, are clean"
mkdir -p "$TEST_TMP/two"
head -c 40000000 "$big" >"$TEST_TMP/two/a.bin"
tail -c 40000000 "$big" >"$TEST_TMP/two/b.bin"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=66 TSAN_OPTIONS=halt_on_error=1:exitcode=66
for bin in "$FERRY_ASAN" "$FERRY_TSAN"; do
	[[ -x $bin ]] || fail "sanitizer build missing: $bin (make asan tsan)"
	label=$(basename "$(dirname "$bin")")
	FERRY=$bin FERRY_UPLOAD_SINGLE_PUT_MAX=5M expect_ok ferry upload "$TEST_TMP/two" "s3://$b/$label/"
	cp "$LAST_STDERR" "$TEST_TMP/$label.up"
	FERRY=$bin expect_ok ferry download "s3://$b/$label/" "$TEST_TMP/out-$label"
	cp "$LAST_STDERR" "$TEST_TMP/$label.down"
	assert_tree_same "$TEST_TMP/two" "$TEST_TMP/out-$label"
	for f in "$TEST_TMP/$label".*; do
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer' "$f"; then
			fail "$label reported a problem: $(grep -m1 -A30 -E 'ERROR:|runtime error:|WARNING: ThreadSanitizer' "$f")"
		fi
	done
done
assert_eq 0 "$(s3cli uploads "$b")" "open multipart uploads"
echo "ok"
