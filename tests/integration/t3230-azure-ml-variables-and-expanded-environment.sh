#!/usr/bin/env bash
# t3230 — owns the variables a script reads (issue 12 item 3): AZURE_ML_INPUT_<name>
# and AZURE_ML_OUTPUT_<name> (the path each input/output has in the job, the text
# of a literal), AZUREML_RUN_ID, AZUREML_EXPERIMENT_NAME (experiment_name, default
# the job file's folder name); environment_variables values expand ${{inputs.x}},
# ${{outputs.y}}, ${{name}} like the command; a bad reference there fails at load.
source "$(dirname "$0")/lib.sh"

proj=$TEST_TMP/cifar-train
mkdir -p "$proj/src" "$proj/data"
echo "1,2,3" >"$proj/data/train.csv"
cat >"$proj/src/show_env.py" <<'PY'
import os
for k in sorted(os.environ):
    if k.startswith(("AZURE_ML_", "AZUREML_RUN_ID", "AZUREML_EXPERIMENT", "MY_")):
        print(f"{k}={os.environ[k]}")
print("LISTED=" + ",".join(sorted(os.listdir(os.environ["AZURE_ML_INPUT_training_data"]))))
PY
cat >"$proj/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  /usr/bin/python3 show_env.py
  $[[--lr ${{inputs.missing}}]]
  && echo done > $AZURE_ML_OUTPUT_model/marker.txt
inputs:
  training_data:
    type: uri_folder
    path: ./data
    mode: download
  epochs: 5
  missing:
    type: uri_file
    optional: true
outputs:
  model:
    type: uri_folder
  scratch:
environment_variables:
  MY_DATA: ${{inputs.training_data}}/train.csv
  MY_EPOCHS: "epochs=${{inputs.epochs}}"
  MY_MODEL: ${{outputs.model}}
  MY_RUN: run-${{name}}
  MY_MISSING: "[${{inputs.missing}}]"
  MY_PLAIN: plain $[[ kept ]]
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
YML

step "the AZURE_ML_* variables and the expanded environment reach the script"
expect_ok ferry run "$proj/job.yml" --name env1
out=$TEST_TMP/last.stdout
wd=$FERRY_HOME/jobs/env1/cap/data-capability/wd
get() { sed -n "s/^$1=//p" "$out"; }
assert_eq "$wd/INPUT_training_data" "$(get AZURE_ML_INPUT_training_data)" "AZURE_ML_INPUT_training_data"
assert_eq "5" "$(get AZURE_ML_INPUT_epochs)" "AZURE_ML_INPUT_epochs (a literal)"
assert_eq "" "$(get AZURE_ML_INPUT_missing)" "no variable for an absent optional input"
assert_eq "$wd/OUTPUT_model" "$(get AZURE_ML_OUTPUT_model)" "AZURE_ML_OUTPUT_model"
assert_eq "$wd/OUTPUT_scratch" "$(get AZURE_ML_OUTPUT_scratch)" "AZURE_ML_OUTPUT_scratch (a null output)"
assert_eq "env1" "$(get AZUREML_RUN_ID)" "AZUREML_RUN_ID"
assert_eq "cifar-train" "$(get AZUREML_EXPERIMENT_NAME)" "AZUREML_EXPERIMENT_NAME defaults to the folder name"
assert_eq "$wd/INPUT_training_data/train.csv" "$(get MY_DATA)" "MY_DATA"
assert_eq "epochs=5" "$(get MY_EPOCHS)" "MY_EPOCHS"
assert_eq "$wd/OUTPUT_model" "$(get MY_MODEL)" "MY_MODEL"
assert_eq "run-env1" "$(get MY_RUN)" "MY_RUN"
assert_eq "[]" "$(get MY_MISSING)" "MY_MISSING (absent optional input is empty)"
assert_eq 'plain $[[ kept ]]' "$(get MY_PLAIN)" "MY_PLAIN (no optional blocks in values)"
assert_eq "train.csv" "$(get LISTED)" "the script lists its input through the variable"
marker=$FERRY_HOME/datastores/workspaceblobstore/azureml/env1/model/marker.txt
[[ -f $marker ]] || fail "the output written through AZURE_ML_OUTPUT_model was not uploaded"
expect_ok ferry job show env1
assert_contains "$TEST_TMP/last.stdout" "experiment_name: cifar-train"

step "experiment_name from the file, and a job file's own value wins"
sed -e 's/^environment:.*/experiment_name: my-exp\n&/' -e 's/^  MY_PLAIN:.*/  AZURE_ML_INPUT_epochs: mine/' \
	"$proj/job.yml" >"$proj/job2.yml"
expect_ok ferry run "$proj/job2.yml" --name env2
assert_eq "my-exp" "$(get AZUREML_EXPERIMENT_NAME)" "AZUREML_EXPERIMENT_NAME from experiment_name"
assert_eq "mine" "$(get AZURE_ML_INPUT_epochs)" "the job's own value"

step "a reference to an undefined input in environment_variables fails at load, with its line"
sed 's/^  MY_RUN:.*/  MY_RUN: ${{inputs.nope}}/' "$proj/job.yml" >"$proj/bad.yml"
expect_fail "bad.yml:24: environment_variables.MY_RUN" ferry run "$proj/bad.yml" --name env3
assert_contains "$LAST_STDERR" "input 'nope'"
[[ ! -e $FERRY_HOME/jobs/env3 ]] || fail "a job folder was made for a job that cannot load"
