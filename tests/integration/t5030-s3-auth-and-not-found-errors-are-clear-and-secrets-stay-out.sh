#!/usr/bin/env bash
# t5030 — owns S3 failures a user must understand at once, and secrets: a wrong
# secret key is "HTTP 403 SignatureDoesNotMatch" naming where the keys came from
# (exit code of an auth error), an unknown key id is InvalidAccessKeyId, writing with
# no credentials is refused up front, a missing object and a missing
# bucket are "not found", an AWS_PROFILE that is not in the credentials file is
# named; with -v (debug log on stderr) and in the runtime log the secret key and
# session token never appear.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env

b=$(new_bucket)
printf 'hello\n' >"$TEST_TMP/hello.txt"
expect_ok ferry upload "$TEST_TMP/hello.txt" "s3://$b/dir/hello.txt"

step "a wrong secret key: HTTP 403 SignatureDoesNotMatch, where the keys came from"
expect_fail "SignatureDoesNotMatch" env AWS_SECRET_ACCESS_KEY="wrong$S3_SECRET_KEY" "$FERRY" download "s3://$b/dir/" "$TEST_TMP/x1"
assert_contains "$LAST_STDERR" "HTTP 403"
assert_contains "$LAST_STDERR" "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
assert_not_contains "$LAST_STDERR" "wrong$S3_SECRET_KEY"
env AWS_SECRET_ACCESS_KEY="wrong$S3_SECRET_KEY" "$FERRY" ls "s3://$b/dir/" >/dev/null 2>"$TEST_TMP/ls.err" || true
assert_contains "$TEST_TMP/ls.err" "SignatureDoesNotMatch"
[[ -d $TEST_TMP/x1 ]] && assert_no_temp_files "$TEST_TMP/x1"

step "an auth error on a single object (HEAD has no body) still names S3's reason"
expect_fail "SignatureDoesNotMatch" env AWS_SECRET_ACCESS_KEY="wrong$S3_SECRET_KEY" "$FERRY" download "s3://$b/dir/hello.txt" "$TEST_TMP/x2"

step "an unknown access key id: InvalidAccessKeyId"
expect_fail "InvalidAccessKeyId" env AWS_ACCESS_KEY_ID=AKIAFERRYNOSUCHKEY0 "$FERRY" ls "s3://$b/dir/"

step "an upload with a wrong secret fails clearly and creates nothing"
expect_fail "SignatureDoesNotMatch" env AWS_SECRET_ACCESS_KEY="wrong$S3_SECRET_KEY" "$FERRY" upload "$TEST_TMP/hello.txt" "s3://$b/nope/hello.txt"
expect_ok ferry ls "s3://$b/"
assert_not_contains "$TEST_TMP/last.stdout" "nope"

step "no credentials at all: writing is refused before any request, saying keys are needed"
expect_fail "AWS keys" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FERRY" upload "$TEST_TMP/hello.txt" "s3://$b/anon.txt"
# (moto answers an unsigned read with HTTP 500, not S3's 403 AccessDenied, so the
# anonymous-read hint is not checked here)

step "a missing object and a missing bucket are 'not found'"
expect_fail "not found" ferry download "s3://$b/dir/nope.txt" "$TEST_TMP/x3"
assert_contains "$LAST_STDERR" "nope.txt"
expect_fail "NoSuchBucket" ferry ls "s3://no-such-bucket-$$/x/"
assert_contains "$LAST_STDERR" "does not exist"

step "AWS_PROFILE naming a profile that is not in the credentials file is an error naming both"
printf '[other]\naws_access_key_id = A\naws_secret_access_key = B\n' >"$TEST_TMP/creds"
expect_fail "no such profile" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE=missing \
	AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/creds" "$FERRY" ls "s3://$b/dir/"
assert_contains "$LAST_STDERR" "missing"
assert_contains "$LAST_STDERR" "$TEST_TMP/creds"

step "with -v, the secret key and the session token appear nowhere in stderr or the runtime log"
export AWS_SESSION_TOKEN=FerrySessionTokenThatMustNotLeak0123456789
# moto's user has no session: a token makes the request fail (InvalidToken), which
# is the point: the failure message must not carry it either.
ferry -v download "s3://$b/dir/" "$TEST_TMP/x4" >"$TEST_TMP/v.out" 2>"$TEST_TMP/v.err" || true
unset AWS_SESSION_TOKEN
expect_ok ferry -v upload "$TEST_TMP/hello.txt" "s3://$b/dir/hello2.txt"
cat "$LAST_STDERR" >>"$TEST_TMP/v.err"
expect_ok ferry -v download "s3://$b/dir/" "$TEST_TMP/x5"
cat "$LAST_STDERR" >>"$TEST_TMP/v.err"
assert_contains "$TEST_TMP/v.err" "s3://$b/dir/"
for f in "$TEST_TMP/v.err" "$TEST_TMP/v.out" $(find "$FERRY_HOME" -type f); do
	grep -qaF "$S3_SECRET_KEY" "$f" && fail "the secret key appears in $f"
	grep -qaF "FerrySessionTokenThatMustNotLeak" "$f" && fail "the session token appears in $f"
done
echo "ok"
