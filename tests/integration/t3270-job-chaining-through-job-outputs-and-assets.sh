#!/usr/bin/env bash
# t3270 — owns job chaining (issue 12 item 5): a chain of three jobs, the second
# reading the first's output (and artifacts) by azureml://jobs/<name>/outputs/
# <output>/paths/<path>, the third through the data asset the second registered;
# a clear error, before anything runs, when that job or output does not exist or
# the job has not completed. (The account-host wasbs/abfss forms: t1001, test_uri.)
source "$(dirname "$0")/lib.sh"

proj=$TEST_TMP/pipeline
mkdir -p "$proj/prep" "$proj/train" "$proj/score"
cat >"$proj/prep/prep.sh" <<'SH'
mkdir -p "$1/clean" && printf 'a,1\nb,2\n' > "$1/clean/rows.csv"
echo "prepared 2 rows" > ./outputs/prep-report.txt
SH
cat >"$proj/prep.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: prep
command: >-
  bash prep.sh ${{outputs.prepped}}
outputs:
  prepped:
    type: uri_folder
    mode: upload
YML
cat >"$proj/train.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: train
command: >-
  wc -l < ${{inputs.rows}} > ${{outputs.model}}/model.txt &&
  cat ${{inputs.report}} >> ${{outputs.model}}/model.txt &&
  ls ${{inputs.folder}}
inputs:
  rows:
    type: uri_file
    path: azureml://jobs/chain-prep/outputs/prepped/paths/clean/rows.csv
  folder:
    type: uri_folder
    path: azureml://jobs/chain-prep/outputs/prepped/paths/
    mode: ro_mount
  report:
    type: uri_file
    path: azureml://jobs/chain-prep/outputs/artifacts/paths/outputs/prep-report.txt
outputs:
  model:
    type: uri_folder
    name: chain-model
YML
cat >"$proj/score.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: score
command: echo "scored with $(tr '\n' ' ' < ${{inputs.model}}/model.txt)"
inputs:
  model:
    type: uri_folder
    path: azureml:chain-model@latest
    mode: download
YML

step "job 1 writes an output and an artifact"
expect_ok ferry run "$proj/prep.yml" --name chain-prep

step "job 2 reads them by azureml://jobs/chain-prep/outputs/...; registers its output"
expect_ok ferry run "$proj/train.yml" --name chain-train
assert_contains "$TEST_TMP/last.stdout" "clean"
assert_contains "$LAST_STDERR" "registered as data asset azureml:chain-model:1"

step "job 3 reads job 2's output through the data asset"
expect_ok ferry run "$proj/score.yml" --name chain-score
assert_eq "scored with 2 prepared 2 rows " "$(grep '^scored' "$TEST_TMP/last.stdout")" "score output"

step "ferry download and ls take the same path form"
expect_ok ferry download azureml://jobs/chain-prep/outputs/prepped/paths/clean/ "$TEST_TMP/dl"
assert_eq "a,1" "$(head -1 "$TEST_TMP/dl/rows.csv")" "downloaded row"

step "a job or output that does not exist, or a job that did not complete: clear errors, nothing runs"
sed 's#jobs/chain-prep/outputs/prepped/paths/clean#jobs/no-such-job/outputs/prepped/paths/clean#' "$proj/train.yml" >"$proj/bad1.yml"
expect_fail "no job named 'no-such-job'" ferry run "$proj/bad1.yml" --name bad1
assert_contains "$LAST_STDERR" "input 'rows'"
sed 's#jobs/chain-prep/outputs/prepped/paths/clean#jobs/chain-prep/outputs/prepd/paths/clean#' "$proj/train.yml" >"$proj/bad2.yml"
expect_fail "job 'chain-prep' has no output 'prepd' (outputs: prepped; and artifacts)" ferry run "$proj/bad2.yml" --name bad2
printf 'command: exit 1\noutputs:\n  prepped:\n    mode: upload\n' >"$proj/failing.yml"
ferry run "$proj/failing.yml" --name chain-failed >/dev/null 2>&1 || true
sed 's#jobs/chain-prep/#jobs/chain-failed/#g' "$proj/train.yml" >"$proj/bad3.yml"
expect_fail "job 'chain-failed' is Failed, not Completed" ferry run "$proj/bad3.yml" --name bad3
for j in bad1 bad2 bad3; do
	[[ ! -e $FERRY_HOME/jobs/$j ]] || fail "job $j got a folder though it could not start"
done
