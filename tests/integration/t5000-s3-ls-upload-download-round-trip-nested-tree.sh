#!/usr/bin/env bash
# t5000 — owns the basic S3 contract against a real S3 server (moto, signatures
# checked): upload of a nested tree of 240 files to s3://bucket/prefix/, `ls` and
# `ls -R` of what landed (ListObjectsV2 paged 50 keys at a time, CommonPrefixes as
# folders), download of the folder and of one file byte for byte, and a single-file
# upload; credentials from AWS_* variables, then from a shared credentials profile.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env
export FERRY_LIST_PAGE_SIZE=50

src=$TEST_TMP/src
mk_small_tree "$src" 240 1 16
b=$(new_bucket)

step "upload of a folder puts its contents under s3://bucket/prefix/"
expect_ok ferry upload "$src" "s3://$b/data/"
expect_ok ferry ls "s3://$b/data" -R
grep -v $'^-\t' "$TEST_TMP/last.stdout" | LC_ALL=C sort >"$TEST_TMP/got.lsr"
(cd "$src" && find . -type f -printf '%s\t%P\n' | LC_ALL=C sort) >"$TEST_TMP/want.lsr"
assert_eq 240 "$(wc -l <"$TEST_TMP/got.lsr")" "object count after upload (listed over 5 pages)"
diff "$TEST_TMP/want.lsr" "$TEST_TMP/got.lsr" || fail "ls -R names/sizes differ from the source tree"

step "ls lists one level: files as <size>\\t<name>, folders (CommonPrefixes) as -\\t<name>/"
expect_ok ferry ls "s3://$b/data/"
(cd "$src" && { find . -mindepth 1 -maxdepth 1 -type f -printf '%s\t%P\n'; find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sed 's|^|-\t|; s|$|/|'; } | LC_ALL=C sort) >"$TEST_TMP/want.ls"
LC_ALL=C sort "$TEST_TMP/last.stdout" | diff "$TEST_TMP/want.ls" - || fail "ls output differs"

step "download of a folder puts its contents in DEST, byte for byte"
expect_ok ferry download "s3://$b/data" "$TEST_TMP/out"
assert_tree_same "$src" "$TEST_TMP/out"

step "download of one object puts it in DEST under its basename"
one=$(cd "$src" && find . -type f -printf '%P\n' | LC_ALL=C sort | tail -1)
expect_ok ferry download "s3://$b/data/$one" "$TEST_TMP/one"
assert_file_same "$src/$one" "$TEST_TMP/one/$(basename "$one")"

step "upload of a file to a URI ending in / lands at URI/<basename>; names with spaces work"
cp "$src/$one" "$TEST_TMP/with space.bin"
expect_ok ferry upload "$TEST_TMP/with space.bin" "s3://$b/single/"
expect_ok ferry ls "s3://$b/single/"
assert_eq "$(stat -c %s "$src/$one")	with space.bin" "$(cat "$TEST_TMP/last.stdout")" "single-file upload"
expect_ok ferry download "s3://$b/single/with space.bin" "$TEST_TMP/sp"
assert_file_same "$src/$one" "$TEST_TMP/sp/with space.bin"

step "credentials from a shared credentials file profile (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE)"
cat >"$TEST_TMP/credentials" <<INI
[default]
aws_access_key_id = AKIANOTTHEONE
aws_secret_access_key = not-the-secret

[ferrytest]
aws_access_key_id = $S3_ACCESS_KEY
aws_secret_access_key = $S3_SECRET_KEY
INI
chmod 600 "$TEST_TMP/credentials"
(
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	export AWS_SHARED_CREDENTIALS_FILE=$TEST_TMP/credentials AWS_PROFILE=ferrytest
	expect_ok ferry download "s3://$b/data/$one" "$TEST_TMP/prof"
	assert_file_same "$src/$one" "$TEST_TMP/prof/$(basename "$one")"
)
echo "ok"
