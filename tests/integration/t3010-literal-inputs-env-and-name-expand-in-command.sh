#!/usr/bin/env bash
# t3010 — owns expansion: literal inputs (integer, number, bool, string) expand to
# their text, ${{name}} to the job name, optional blocks are kept or dropped,
# direct inputs give the path string; environment_variables (and --set environment_variables.X) reach the
# command; the command runs in a snapshot of the code folder (t3250).
source "$(dirname "$0")/lib.sh"

mkdir -p "$TEST_TMP/job/src"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: >-
  echo "E=${{inputs.epochs}} LR=${{inputs.lr}} F=${{inputs.flag}} S=${{inputs.s}} N=${{name}}
  D=${{inputs.d}} $[[OPT=${{inputs.missing}}]] $[[HAS=${{inputs.epochs}}]]
  V1=$V1 V2=$V2 V3=$V3 PWD=$(pwd)"
code: src
inputs:
  epochs: 3
  lr: 0.01
  flag: true
  s: "two words"
  d: {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/some/folder/", mode: direct}
  missing: {type: uri_file, optional: true, mode: download}
environment_variables:
  V1: 42
  V2: false
  V3: from-yaml
YML

step "literals, name, optional blocks, direct inputs and env expand"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name lit1 --set environment_variables.V3=from-set
line=$(grep '^E=' "$TEST_TMP/last.stdout")
want="E=3 LR=0.01 F=true S=two words N=lit1 D=azureml://datastores/workspaceblobstore/paths/some/folder/  HAS=3 V1=42 V2=false V3=from-set PWD=$(cd "$FERRY_HOME" && pwd -P)/jobs/lit1/exe/wd"
assert_eq "$want" "$line" "expanded command output"
assert_contains "$FERRY_HOME/jobs/lit1/user_logs/std_log.txt" "N=lit1"

step "a bad --set is a usage error"
rc=0
ferry run "$TEST_TMP/job/job.yml" --set NOEQUALS >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 2 "$rc" "exit status of a usage error"
