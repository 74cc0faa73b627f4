#!/usr/bin/env bash
# t3060 — owns a job against real Blob storage: a datastore created from YAML
# (Azurite endpoint, account key) feeds a download input (a folder and a file) and
# receives an upload output; the data lands in the container, the activity lines
# are logged, and the key appears in no log, summary or job record.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
printf 'a,b\n1,2\n' >"$TEST_TMP/train.csv"
printf 'hello\n' >"$TEST_TMP/note.txt"
azcli put "$c" in/train.csv "$TEST_TMP/train.csv"
azcli put "$c" in/sub/note.txt "$TEST_TMP/note.txt"

cat >"$TEST_TMP/ds.yml" <<YML
name: azstore
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  account_key: $AZURITE_KEY
YML
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: >-
  cat ${{inputs.folder}}/sub/note.txt ${{inputs.file}} > ${{outputs.result}}/combined.txt
  && ls ${{inputs.folder}}
inputs:
  folder: {type: uri_folder, path: "azureml://datastores/azstore/paths/in/", mode: download}
  file: {type: uri_file, path: "azureml://datastores/azstore/paths/in/train.csv", mode: download}
outputs:
  result:
    type: uri_folder
    mode: upload
    path: azureml://datastores/azstore/paths/out/${{name}}/
YML

step "create the datastore"
expect_ok ferry datastore create --file "$TEST_TMP/ds.yml"

step "the job downloads from and uploads to the datastore"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name az1
assert_contains "$TEST_TMP/last.stdout" "train.csv"
assert_contains "$LAST_STDERR" "azureml://datastores/azstore/paths/out/az1/"
azcli get "$c" out/az1/combined.txt "$TEST_TMP/combined.txt"
assert_eq "$(printf 'hello\na,b\n1,2')" "$(cat "$TEST_TMP/combined.txt")" "uploaded output"

step "the activity lines name each input and output"
dcap=$FERRY_HOME/jobs/az1/logs/system_logs/data_capability/data-capability.log
assert_contains "$dcap" "Activity=download, HowEnded=Success"
assert_contains "$dcap" "(input 'folder')"
assert_contains "$dcap" "(input 'file')"
assert_contains "$dcap" "Activity=upload, HowEnded=Success"

step "the account key is in no log, output or record"
expect_ok ferry job show az1
for f in "$FERRY_HOME"/jobs/az1/logs/system_logs/data_capability/* "$FERRY_HOME/jobs/az1/user_logs/std_log.txt" \
	"$TEST_TMP/last.stdout" "$LAST_STDERR" "$FERRY_HOME/ferry.db"; do
	grep -qaF "$AZURITE_KEY" "$f" && fail "the key appears in $f"
done

step "a missing blob fails the job before the command runs, with HowEnded=Failure"
sed -i 's#paths/in/train.csv#paths/in/nope.csv#' "$TEST_TMP/job/job.yml"
expect_fail "nope.csv" ferry run "$TEST_TMP/job/job.yml" --name az2
assert_contains "$FERRY_HOME/jobs/az2/logs/system_logs/data_capability/data-capability.log" "HowEnded=Failure"
[[ ! -s $FERRY_HOME/jobs/az2/user_logs/std_log.txt ]] || fail "the command ran"
expect_ok ferry job list
grep -qE '^az2 +Failed ' "$TEST_TMP/last.stdout" || fail "az2 not recorded Failed: $(cat "$TEST_TMP/last.stdout")"
