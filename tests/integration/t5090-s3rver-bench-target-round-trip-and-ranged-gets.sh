#!/usr/bin/env bash
# t5090 — owns the benchmarks' S3 target (npm's s3rver, started by services.sh when
# tools/s3rver is installed): ferry's upload (one put and multipart), ls and download
# (parallel ranged GETs) round-trip a tree byte for byte against it, so bench/s3.sh
# times a server that works with ferry; a ranged GET answers the range only (206,
# Content-Range, that many bytes), a listing in pages (continuation tokens, which
# s3rver makes with DES: services.sh gives it OpenSSL's legacy provider), and wrong keys are refused with a clear error.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${S3RVER_ENDPOINT:-} ]] || skip "no s3rver in the fixtures (./setup.sh installs it into tools/s3rver)"
export AWS_ENDPOINT_URL=$S3RVER_ENDPOINT AWS_ACCESS_KEY_ID=$S3RVER_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3RVER_SECRET_KEY
export AWS_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=$TEST_TMP/no-aws-credentials
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3

b=t5090-$$-$RANDOM
curl -sf -X PUT "$S3RVER_ENDPOINT/$b" >/dev/null || fail "could not create bucket $b on s3rver"

src=$TEST_TMP/src
mk_small_tree "$src" 40 1 64
mkdir -p "$src/big"
cp "$(cached_random random-40M.bin 40M)" "$src/big/model.bin"

step "upload: small files as single puts, a 40 MiB file as 8 MiB multipart parts"
FERRY_UPLOAD_SINGLE_PUT_MAX=16M expect_ok ferry upload "$src" "s3://$b/tree/"
# 40 single puts + create, 5 parts, complete (s3rver's ETag of a multipart object is
# the MD5 of its bytes: what it stored is the file)
assert_contains "$LAST_STDERR" "in 41 files" "files uploaded"
assert_contains "$LAST_STDERR" " 47 requests" "requests (40 puts + 7 for the multipart upload)"
etag=$(curl -sfI "$S3RVER_ENDPOINT/$b/tree/big/model.bin" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p')
assert_eq "\"$(md5sum <"$src/big/model.bin" | cut -d' ' -f1)\"" "$etag" "ETag (MD5 of the stored bytes)"

step "ls lists the folder and the big file at its size"
expect_ok ferry ls "s3://$b/tree/big/"
assert_eq "$((40 * 1024 * 1024))	model.bin" "$(cat "$TEST_TMP/last.stdout")" "listed size"

step "a listing in pages of 7 names (continuation tokens) lists the whole tree"
FERRY_LIST_PAGE_SIZE=7 expect_ok ferry ls -R "s3://$b/tree/"
assert_eq 41 "$(wc -l <"$TEST_TMP/last.stdout")" "names listed"

step "download (ranged GETs of 1 MiB parts, 4 at once) is the tree byte for byte"
FERRY_TRANSFER_PART_SIZE=1MiB RSLEX_DOWNLOADER_THREADS=4 expect_ok ferry -v download "s3://$b/tree/" "$TEST_TMP/out"
assert_tree_same "$src" "$TEST_TMP/out"
assert_contains "$LAST_STDERR" "'tree/big/model.bin': a part of 1048576 bytes took" "the part-size probe ran"

step "a ranged GET answers only the range"
hdr=$TEST_TMP/range.hdr
n=$(curl -sf -D "$hdr" -o "$TEST_TMP/range.bin" -w '%{size_download}' -H 'Range: bytes=1048576-2097151' \
	"$S3RVER_ENDPOINT/$b/tree/big/model.bin")
assert_eq 1048576 "$n" "bytes in the ranged answer"
assert_contains "$hdr" "206" "status"
assert_contains "$hdr" "bytes 1048576-2097151/41943040" "Content-Range"
cmp -s "$TEST_TMP/range.bin" <(tail -c +1048577 "$src/big/model.bin" | head -c 1048576) ||
	fail "the ranged answer is not bytes 1 MiB..2 MiB of the file"

step "wrong keys are refused with a clear error"
AWS_ACCESS_KEY_ID=NOSUCHKEY expect_fail "InvalidAccessKeyId" ferry ls "s3://$b/tree/"
assert_contains "$LAST_STDERR" "$b" "error names the bucket"
assert_not_contains "$LAST_STDERR" "$S3RVER_SECRET_KEY" "error text (the secret)"
