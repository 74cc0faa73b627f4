#!/usr/bin/env bash
# t5015 — owns a multi-GiB object through S3 multipart upload: a 2 GiB file goes up
# as 256 parts of 8 MiB staged by 8 workers, lists at its full size with a 256-part
# ETag, and downloads byte for byte. (The download uses two ranged parts of 1 GiB,
# the second ending at byte 2^31 - 1: moto reads the whole object for every ranged
# GET, so 8 MiB ranges of 2 GiB would take minutes there and 256 MiB ones read 16 GiB
# in moto; parallel ranges of the default size are t5010's; see docs/performance.md.)
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env
export FERRY_CMD_TIMEOUT=600

big=$(cached_random s3-2g.bin 2G)
b=$(new_bucket)

step "a 2 GiB upload goes through multipart (256 parts of 8 MiB)"
t0=$(date +%s)
expect_ok ferry upload "$big" "s3://$b/model.bin"
echo "upload took $(seconds_since "$t0") s"
etag=$(s3cli etag "$b" model.bin)
[[ $etag == *-256 ]] || fail "expected a multipart ETag of 256 parts, got '$etag'"
expect_ok ferry ls "s3://$b/"
assert_eq "$((2 * 1024 * 1024 * 1024))	model.bin" "$(cat "$TEST_TMP/last.stdout")" "listed size"
assert_eq 0 "$(s3cli uploads "$b")" "open multipart uploads"

step "the download is byte for byte the file"
FERRY_TRANSFER_PART_SIZE=1G expect_ok ferry download "s3://$b/model.bin" "$TEST_TMP/out"
assert_file_same "$big" "$TEST_TMP/out/model.bin"
echo "ok"
