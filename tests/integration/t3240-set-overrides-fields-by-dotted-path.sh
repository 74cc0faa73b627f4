#!/usr/bin/env bash
# t3240 — owns `--set` (issue 12 item 4): `ferry run job.yml --set inputs.epochs=3
# --set inputs.data.path=azureml:x@latest --set experiment_name=e` overrides fields
# as `az ml job create --set` does (dotted paths, values parsed as YAML scalars,
# checked like the file); an unknown path is an error, and so is an unknown
# setting name given to `ferry mount --set`.
source "$(dirname "$0")/lib.sh"

proj=$TEST_TMP/proj
mkdir -p "$proj/src" "$proj/data" "$TEST_TMP/other"
echo "from-file" >"$proj/data/a.txt"
echo "from-asset" >"$TEST_TMP/other/a.txt"
cat >"$proj/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  echo "epochs=${{inputs.epochs}} lr=${{inputs.lr}} flag=${{inputs.flag}}
  data=$(cat ${{inputs.data}}/a.txt) v=$MY_VAR exp=$AZUREML_EXPERIMENT_NAME"
  $[[&& echo "extra=${{inputs.extra}}"]]
inputs:
  epochs: 10
  lr: 0.1
  flag: false
  data:
    type: uri_folder
    path: ./data
  extra:
    type: uri_file
    optional: true
outputs:
  model:
    type: uri_folder
environment_variables:
  MY_VAR: file
experiment_name: from-file
YML

step "without --set the file's values are used"
expect_ok ferry run "$proj/job.yml" --name set0
assert_eq "epochs=10 lr=0.1 flag=false data=from-file v=file exp=from-file" \
	"$(grep '^epochs=' "$TEST_TMP/last.stdout")" "command output"

step "dotted paths override literals, an input's path and mode, variables, top-level fields"
cat >"$TEST_TMP/asset.yml" <<YML
name: other-data
version: "1"
type: uri_folder
path: $TEST_TMP/other
YML
expect_ok ferry data create --file "$TEST_TMP/asset.yml"
expect_ok ferry run "$proj/job.yml" --name set1 --set inputs.epochs=3 --set 'inputs.lr=2e-3' \
	--set inputs.flag=yes --set inputs.data.path=azureml:other-data@latest \
	--set inputs.data.mode=download --set environment_variables.MY_VAR='"quoted text"' \
	--set environment_variables.NEW_VAR=1 --set experiment_name=e
assert_eq "epochs=3 lr=2e-3 flag=yes data=from-asset v=quoted text exp=e" \
	"$(grep '^epochs=' "$TEST_TMP/last.stdout")" "command output"
assert_contains "$LAST_STDERR" "is data asset azureml:other-data:1"
expect_ok ferry job show set1
assert_contains "$TEST_TMP/last.stdout" "experiment_name: e"

step "a flow map sets a whole input"
echo x >"$TEST_TMP/extra.txt"
expect_ok ferry run "$proj/job.yml" --name set2 \
	--set "inputs.extra={type: uri_file, path: $TEST_TMP/extra.txt, mode: download}"
assert_contains "$TEST_TMP/last.stdout" "extra="
assert_contains "$TEST_TMP/last.stdout" "/INPUT_extra/extra.txt"

step "values are checked like the file's, errors name the --set"
expect_fail "--set: field 'inputs.data.mode'" ferry run "$proj/job.yml" --set inputs.data.mode=sideways
expect_fail "--set: field 'limits.timeout'" ferry run "$proj/job.yml" --set limits.timeout=soon

step "an unknown path is an error, and nothing runs"
expect_fail "the job defines no input named 'epoch'" ferry run "$proj/job.yml" --name bad1 --set inputs.epoch=3
expect_fail "the job defines no output named 'modle'" ferry run "$proj/job.yml" --name bad2 --set outputs.modle.mode=upload
expect_fail "unknown field of a command job" ferry run "$proj/job.yml" --name bad3 --set epochs=3
expect_fail "unknown field of an input" ferry run "$proj/job.yml" --name bad4 --set inputs.data.pathh=x
expect_fail "'inputs.epochs' is a literal value" ferry run "$proj/job.yml" --name bad5 --set inputs.epochs.path=x
expect_fail "empty name in the path" ferry run "$proj/job.yml" --name bad6 --set inputs..x=1
[[ ! -e $FERRY_HOME/jobs/bad1 && ! -e $FERRY_HOME/jobs/bad4 ]] || fail "a job folder was made"
rc=0
ferry run "$proj/job.yml" --set NOEQUALS >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 2 "$rc" "exit status of --set without '='"

step "ferry mount --set with an unknown setting name is an error naming the nearest"
mkdir -p "$TEST_TMP/mnt"
rc=0
ferry mount "$proj/data" "$TEST_TMP/mnt" --set RSLEX_DOWNLOADER_THREAD=3 >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 2 "$rc" "exit status"
assert_contains "$LAST_STDERR" "unknown setting; did you mean 'RSLEX_DOWNLOADER_THREADS'?"
rc=0
ferry mount "$proj/data" "$TEST_TMP/mnt" --set NOT_A_SETTING_AT_ALL=1 >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 2 "$rc" "exit status"
assert_contains "$LAST_STDERR" "--set NOT_A_SETTING_AT_ALL: unknown setting"
mountpoint -q "$TEST_TMP/mnt" && fail "mounted despite the error"
true
