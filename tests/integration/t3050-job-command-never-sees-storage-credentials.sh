#!/usr/bin/env bash
# t3050 — owns the command's environment: AZURE_STORAGE_KEY,
# AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN and AZURE_CLIENT_SECRET
# in ferry's environment (or in the job's environment_variables) never reach the
# command, while ordinary variables and AZUREML_RUN_ID do.
source "$(dirname "$0")/lib.sh"

cat >"$TEST_TMP/job.yml" <<'YML'
command: env > ${{outputs.env}}/env.txt
outputs:
  env: {mode: upload}
environment_variables:
  AZURE_CLIENT_SECRET: from-yaml-secret-value
  KEEP_ME: yes-please
YML

step "credential variables are removed from the command's environment"
AZURE_STORAGE_KEY=key-value-123456 \
AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=x;AccountKey=conn-key-987654' \
AZURE_STORAGE_SAS_TOKEN='sv=1&sig=sas-value-555555' \
ORDINARY_VAR=still-here \
	expect_ok ferry run "$TEST_TMP/job.yml" --name envjob
env_file=$FERRY_HOME/datastores/workspaceblobstore/azureml/envjob/env/env.txt
[[ -f $env_file ]] || fail "missing $env_file"
for v in AZURE_STORAGE_KEY AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN AZURE_CLIENT_SECRET; do
	grep -q "^$v=" "$env_file" && fail "$v reached the command"
done
assert_not_contains "$env_file" "key-value-123456"
assert_not_contains "$env_file" "from-yaml-secret-value"
assert_contains "$env_file" "ORDINARY_VAR=still-here"
assert_contains "$env_file" "KEEP_ME=yes-please"
assert_contains "$env_file" "AZUREML_RUN_ID=envjob"
