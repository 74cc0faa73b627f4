#!/usr/bin/env bash
# t5020 — owns jobs on S3: a job with s3:// download inputs (a folder and a file), a
# direct input (the command gets the URI string) and an s3:// upload output runs,
# its output lands in the bucket, the activity lines are logged, and the secret
# access key reaches neither the command's environment nor any log or record.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env
export FERRY_CMD_TIMEOUT=120

b=$(new_bucket)
mkdir -p "$TEST_TMP/in/sub"
printf 'a,b\n1,2\n' >"$TEST_TMP/in/train.csv"
printf 'hello\n' >"$TEST_TMP/in/sub/note.txt"
expect_ok ferry upload "$TEST_TMP/in" "s3://$b/in/"

mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<YML
command: >-
  cat \${{inputs.folder}}/sub/note.txt \${{inputs.file}} > \${{outputs.result}}/combined.txt
  && echo "\${{inputs.where}}" > \${{outputs.result}}/where.txt
  && env > \${{outputs.result}}/env.txt
  && ls \${{inputs.folder}}
inputs:
  folder: {type: uri_folder, path: "s3://$b/in/", mode: download}
  file: {type: uri_file, path: "s3://$b/in/train.csv", mode: download}
  where: {type: uri_folder, path: "s3://$b/in/", mode: direct}
outputs:
  result:
    type: uri_folder
    mode: upload
    path: s3://$b/out/\${{name}}/
YML

step "the job downloads its s3:// inputs and uploads its s3:// output"
# (the fixture's own copy of the key, S3_SECRET_KEY, is not ferry's to hide)
(unset S3_SECRET_KEY && expect_ok ferry run "$TEST_TMP/job/job.yml" --name s3job)
assert_contains "$TEST_TMP/last.stdout" "train.csv"
expect_ok ferry download "s3://$b/out/s3job/" "$TEST_TMP/result"
assert_eq "$(printf 'hello\na,b\n1,2')" "$(cat "$TEST_TMP/result/combined.txt")" "uploaded output"

step "a direct input hands the command the s3:// URI itself"
assert_eq "s3://$b/in/" "$(cat "$TEST_TMP/result/where.txt")" "direct input value"

step "the activity lines name each input and output"
dcap=$FERRY_HOME/jobs/s3job/logs/system_logs/data_capability/data-capability.log
assert_contains "$dcap" "Activity=download, HowEnded=Success"
assert_contains "$dcap" "(input 'folder')"
assert_contains "$dcap" "Activity=upload, HowEnded=Success"

step "the secret access key is in neither the command's environment nor any log or record"
assert_not_contains "$TEST_TMP/result/env.txt" "$S3_SECRET_KEY" "the command's environment"
assert_not_contains "$TEST_TMP/result/env.txt" "AWS_SECRET_ACCESS_KEY=" "the command's environment"
expect_ok ferry job show s3job
for f in "$FERRY_HOME"/jobs/s3job/logs/system_logs/data_capability/* "$FERRY_HOME/jobs/s3job/user_logs/std_log.txt" \
	"$TEST_TMP/last.stdout" "$LAST_STDERR" "$FERRY_HOME/ferry.db"; do
	[[ -f $f ]] || continue
	grep -qaF "$S3_SECRET_KEY" "$f" && fail "the secret appears in $f"
done

step "a missing s3:// input fails the job before the command runs"
sed -i "s#in/train.csv#in/nope.csv#" "$TEST_TMP/job/job.yml"
expect_fail "nope.csv" ferry run "$TEST_TMP/job/job.yml" --name s3job2
assert_contains "$LAST_STDERR" "not found"
assert_contains "$FERRY_HOME/jobs/s3job2/logs/system_logs/data_capability/data-capability.log" "HowEnded=Failure"
echo "ok"
