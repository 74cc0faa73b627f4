#!/usr/bin/env bash
# t3280 — owns typed inputs (issue 12 item 6): integer/number/boolean/string inputs
# with default/value, optional, min/max/enum are literals checked at load (a --set
# is checked too); custom_model/mlflow_model/triton_model inputs and outputs are
# folders, and a named output is registered as a data asset of its model type; a
# command component file runs with `ferry run` once every required input has a
# value, its `name:` being the component's, not the job's.
source "$(dirname "$0")/lib.sh"

proj=$TEST_TMP/components
mkdir -p "$proj/train_src" "$proj/data"
echo "x,y" >"$proj/data/train.csv"
cat >"$proj/train_src/train.sh" <<'SH'
echo "args: $*"
while [[ $# -gt 0 ]]; do
	case $1 in --model_output) mkdir -p "$2" && echo weights > "$2/MLmodel"; shift ;; esac
	shift
done
SH
cat >"$proj/train.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train_model
display_name: Train a model
version: 1
type: command
is_deterministic: true
inputs:
  training_data:
    type: uri_folder
  max_epochs:
    type: integer
    default: 10
    min: 1
    max: 100
  learning_rate:
    type: number
    default: 0.01
  optimizer:
    type: string
    default: adam
    enum: [adam, sgd]
  use_gpu:
    type: boolean
    default: false
  seed:
    type: integer
    optional: true
outputs:
  model_output:
    type: mlflow_model
code: ./train_src
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:1
command: >-
  bash train.sh --training_data ${{inputs.training_data}}
  --max_epochs ${{inputs.max_epochs}} --learning_rate ${{inputs.learning_rate}}
  --optimizer ${{inputs.optimizer}} --use_gpu ${{inputs.use_gpu}}
  $[[--seed ${{inputs.seed}}]]
  --model_output ${{outputs.model_output}}
YML

step "a component with a required input and no value: an error saying how to give it"
expect_fail "input 'training_data': field 'path' is required (in the file, or --set inputs.training_data.path=...)" \
	ferry run "$proj/train.yml"

step "with --set it runs: defaults are the values, the job gets its own name"
expect_ok ferry run "$proj/train.yml" --set inputs.training_data.path=./data \
	--set outputs.model_output.name=churn-model
line=$(grep '^args:' "$TEST_TMP/last.stdout")
[[ $line == *"--max_epochs 10 --learning_rate 0.01 --optimizer adam --use_gpu false --model_output "* ]] ||
	fail "component arguments: $line"
[[ $line != *--seed* ]] || fail "the absent optional input kept its block: $line"
name=$(sed -n 's/^ferry: job \([^ ]*\) Completed.*/\1/p' "$LAST_STDERR")
[[ -n $name && $name != train_model ]] || fail "job name '$name' (the component's name is not the job's)"
assert_contains "$LAST_STDERR" "registered as data asset azureml:churn-model:1"
expect_ok ferry data show churn-model:1
grep -Eq '^type: +mlflow_model' "$TEST_TMP/last.stdout" || fail "asset type: $(cat "$TEST_TMP/last.stdout")"

step "--set values are checked against type, min, max and enum"
set_data=(--set inputs.training_data.path=./data)
expect_ok ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.max_epochs=100 --set inputs.seed=7 \
	--set inputs.optimizer=sgd --set inputs.use_gpu=true
line=$(grep '^args:' "$TEST_TMP/last.stdout")
[[ $line == *"--max_epochs 100 "*"--optimizer sgd --use_gpu true --seed 7 "* ]] || fail "with --set: $line"
expect_fail "500 is above the maximum 100" ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.max_epochs=500
expect_fail "0 is below the minimum 1" ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.max_epochs=0
expect_fail "'2.5' is not an integer" ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.max_epochs=2.5
expect_fail "'rmsprop' is not one of the allowed values (adam, sgd)" \
	ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.optimizer=rmsprop
expect_fail "'fast' is not a number" ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.learning_rate=fast
expect_fail "'maybe' is not a boolean" ferry run "$proj/train.yml" "${set_data[@]}" --set inputs.use_gpu=maybe

step "a job reads the model asset as mlflow_model; declaring it uri_folder is a type mismatch"
cat >"$proj/score.yml" <<'YML'
command: ls ${{inputs.model}} && echo "epochs=${{inputs.epochs}}"
inputs:
  model:
    type: mlflow_model
    path: azureml:churn-model@latest
    mode: download
  epochs:
    type: integer
    value: 3
    max: 5
YML
expect_ok ferry run "$proj/score.yml" --name score1
assert_contains "$TEST_TMP/last.stdout" "MLmodel"
assert_contains "$TEST_TMP/last.stdout" "epochs=3"
sed 's/type: mlflow_model/type: uri_folder/' "$proj/score.yml" >"$proj/score2.yml"
expect_fail "is of type mlflow_model, but the input is declared type uri_folder" ferry run "$proj/score2.yml" --name score2

step "bad typed inputs in a file fail at load with the line"
printf 'command: echo ${{inputs.n}}\ninputs:\n  n:\n    type: integer\n    default: 7\n    max: 5\n' >"$proj/bad.yml"
expect_fail "bad.yml:5: field 'inputs.n': 7 is above the maximum 5" ferry run "$proj/bad.yml"
printf 'command: echo ${{inputs.n}}\ninputs:\n  n:\n    type: string\n    min: 1\n    default: a\n' >"$proj/bad2.yml"
expect_fail "only integer and number inputs take min" ferry run "$proj/bad2.yml"
