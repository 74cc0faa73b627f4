#!/usr/bin/env bash
# t5060 — owns `type: s3` datastores: created from YAML in the Azure ML style
# (bucket, endpoint, region, credentials {access_key_id, secret_access_key}), the
# keys kept in a 0600 secret file and never printed; a job reads and writes
# azureml://datastores/<s3 datastore>/paths/... with no AWS variables set; a
# datastore without credentials takes the keys of the environment like s3:// does;
# wrong keys fail naming the datastore's credentials, with the secret nowhere.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
export FERRY_CMD_TIMEOUT=120

s3_env
b=$(new_bucket)
mkdir -p "$TEST_TMP/in/sub"
printf 'a,b\n1,2\n' >"$TEST_TMP/in/train.csv"
printf 'hello\n' >"$TEST_TMP/in/sub/note.txt"
expect_ok ferry upload "$TEST_TMP/in" "s3://$b/in/"
# from here on ferry finds no AWS keys in its environment
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL

cat >"$TEST_TMP/ds.yml" <<YML
name: s3store
type: s3
description: moto bucket
bucket: $b
endpoint: $S3_ENDPOINT
region: us-east-1
credentials:
  access_key_id: $S3_ACCESS_KEY
  secret_access_key: $S3_SECRET_KEY
YML

step "create and show: the keys go to a 0600 file and are never printed"
expect_ok ferry datastore create --file "$TEST_TMP/ds.yml"
assert_contains "$TEST_TMP/last.stdout" "datastore s3store created (s3, bucket $b"
assert_eq 600 "$(stat -c %a "$FERRY_HOME/secrets/s3store")" "mode of the secret file"
expect_ok ferry datastore show s3store
assert_contains "$TEST_TMP/last.stdout" "bucket:      $b"
assert_contains "$TEST_TMP/last.stdout" "region:      us-east-1"
assert_contains "$TEST_TMP/last.stdout" "credentials: access_key"
assert_contains "$TEST_TMP/last.stdout" "secret:      ***"
assert_not_contains "$TEST_TMP/last.stdout" "$S3_SECRET_KEY"
expect_ok ferry datastore list
grep -qE '^s3store +s3 ' "$TEST_TMP/last.stdout" || fail "list: $(cat "$TEST_TMP/last.stdout")"

step "a job reads and writes through the s3 datastore with no AWS variables"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: >-
  cat ${{inputs.folder}}/sub/note.txt ${{inputs.file}} > ${{outputs.result}}/combined.txt
inputs:
  folder: {type: uri_folder, path: "azureml://datastores/s3store/paths/in/", mode: download}
  file: {type: uri_file, path: "azureml://datastores/s3store/paths/in/train.csv", mode: download}
outputs:
  result: {type: uri_folder, mode: upload, path: "azureml://datastores/s3store/paths/out/${{name}}/"}
YML
expect_ok ferry run "$TEST_TMP/job/job.yml" --name s3ds
expect_ok ferry download "azureml://datastores/s3store/paths/out/s3ds/" "$TEST_TMP/result"
assert_eq "$(printf 'hello\na,b\n1,2')" "$(cat "$TEST_TMP/result/combined.txt")" "output through the datastore"
expect_ok ferry ls "azureml://datastores/s3store/paths/in/"
assert_contains "$TEST_TMP/last.stdout" "train.csv"
# an AWS_PROFILE that does not exist is no obstacle for a datastore with its own keys
AWS_PROFILE=nosuchprofile expect_ok ferry ls "azureml://datastores/s3store/paths/in/"
assert_contains "$TEST_TMP/last.stdout" "train.csv"

step "an MLTable in the s3 datastore names its files s3/<bucket>/..., as s3:// does"
printf 'paths:\n  - file: ../in/train.csv\n' >"$TEST_TMP/MLTable"
expect_ok ferry upload "$TEST_TMP/MLTable" "azureml://datastores/s3store/paths/tbl/MLTable"
expect_ok ferry mltable show "azureml://datastores/s3store/paths/tbl/"
assert_contains "$TEST_TMP/last.stdout" $'8\ts3/'"$b/in/train.csv"
assert_not_contains "$TEST_TMP/last.stdout" "(null)"

step "a datastore without credentials uses the AWS keys of the environment"
cat >"$TEST_TMP/ds-env.yml" <<YML
name: s3env
type: s3
bucket: $b
endpoint: $S3_ENDPOINT
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds-env.yml"
assert_contains "$TEST_TMP/last.stdout" "credentials: none"
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
	expect_ok ferry ls "azureml://datastores/s3env/paths/in/"
assert_contains "$TEST_TMP/last.stdout" "train.csv"

step "wrong keys fail naming the datastore's credentials; the secret is printed nowhere"
sed "s/name: s3store/name: s3bad/; s#secret_access_key: .*#secret_access_key: wrongWRONGwrong0123456789#" \
	"$TEST_TMP/ds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"
expect_fail "the credentials of datastore 's3bad'" ferry ls "azureml://datastores/s3bad/paths/in/"
assert_not_contains "$LAST_STDERR" "wrongWRONGwrong0123456789"

step "bad s3 datastore files are refused with file, line and field"
printf 'name: x1\ntype: s3\nbucket: %s\ncredentials:\n  access_key_id: AK\n' "$b" >"$TEST_TMP/half.yml"
expect_fail "give both access_key_id and secret_access_key" ferry datastore create --file "$TEST_TMP/half.yml"
printf 'name: x2\ntype: s3\nbucket: %s\naccount_name: nope\n' "$b" >"$TEST_TMP/acct.yml"
expect_fail "acct.yml:4: field 'account_name'" ferry datastore create --file "$TEST_TMP/acct.yml"

step "the secret key is in no log, output or record"
for f in "$TEST_TMP"/*.stdout "$TEST_TMP"/*.stderr "$FERRY_HOME/ferry.db" \
	$(find "$FERRY_HOME/jobs" -type f); do
	grep -qaF "$S3_SECRET_KEY" "$f" && fail "the secret key appears in $f"
	grep -qaF "wrongWRONGwrong0123456789" "$f" && fail "the wrong secret appears in $f"
done
true
