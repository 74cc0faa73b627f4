#!/usr/bin/env bash
# t3250 — owns the working directory (issue 12 item 1): the command runs in a
# snapshot copy of `code:` (or of the job file's folder) with ./outputs and ./logs
# created; the source tree is never written (checksummed before and after); what
# lands in ./outputs and ./logs is uploaded as the job's artifacts to
# ExperimentRun/dcid.<job>/ in the default datastore, also after a failed command;
# `ferry job download NAME [--output NAME|--all] [--download-path DIR]` fetches
# artifacts and named outputs.
source "$(dirname "$0")/lib.sh"

proj=$TEST_TMP/proj
mkdir -p "$proj/src/pkg" "$proj/data"
echo "a,b" >"$proj/data/in.csv"
cat >"$proj/src/train.py" <<'PY'
import os, sys
from pkg.util import greet
print("cwd-has-outputs", os.path.isdir("outputs"), "cwd-has-logs", os.path.isdir("logs"))
with open("outputs/model.txt", "w") as f:
    f.write(greet() + " epochs=" + sys.argv[1])
with open("logs/metrics.log", "w") as f:
    f.write("loss=0.1\n")
with open("scratch.txt", "w") as f:   # into the working directory: the snapshot
    f.write("tmp")
with open("train.py", "a") as f:      # even overwriting a source file
    f.write("# changed\n")
os.makedirs(sys.argv[2], exist_ok=True)
with open(os.path.join(sys.argv[2], "named.txt"), "w") as f:
    f.write("named output")
PY
echo 'def greet(): return "hello"' >"$proj/src/pkg/util.py"
: >"$proj/src/pkg/__init__.py"
ln -s train.py "$proj/src/link-to-train.py"
cat >"$proj/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  /usr/bin/python3 train.py ${{inputs.epochs}} ${{outputs.model_dir}}
  && ls ${{inputs.data}}
inputs:
  epochs: 4
  data:
    type: uri_folder
    path: ./data
outputs:
  model_dir:
  unused:
experiment_name: snapshot-test
YML
# checksum of every file, folder, link and mode under a tree
tree_sum() { (cd "$1" && find . -mindepth 1 -not -path './.ferry*' -printf '%y %m %s %T@ %p %l\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort) | sha256sum; }

step "the command runs in a snapshot with ./outputs and ./logs; the source tree is untouched"
before=$(tree_sum "$proj")
expect_ok ferry run "$proj/job.yml" --name snap1
after=$(tree_sum "$proj")
assert_eq "$before" "$after" "checksum of the source tree before and after"
assert_contains "$TEST_TMP/last.stdout" "cwd-has-outputs True cwd-has-logs True"
assert_contains "$TEST_TMP/last.stdout" "in.csv"
art=$FERRY_HOME/datastores/workspaceblobstore/ExperimentRun/dcid.snap1
assert_eq "hello epochs=4" "$(cat "$art/outputs/model.txt")" "artifact outputs/model.txt"
assert_eq "loss=0.1" "$(cat "$art/logs/metrics.log")" "artifact logs/metrics.log"
[[ ! -e $art/scratch.txt && ! -e $art/outputs/scratch.txt ]] || fail "scratch.txt became an artifact"
assert_contains "$LAST_STDERR" "artifacts (./outputs, ./logs) -> azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.snap1/"
[[ ! -e $FERRY_HOME/jobs/snap1/exe/wd ]] || fail "the snapshot was not removed after the upload"

step "ferry job download: artifacts by default, --output NAME, --all"
cd "$TEST_TMP"
expect_ok ferry job download snap1
assert_eq "hello epochs=4" "$(cat "$TEST_TMP/artifacts/outputs/model.txt")" "downloaded artifact (current folder)"
expect_ok ferry job download snap1 --download-path "$TEST_TMP/d1"
assert_tree_same "$art" "$TEST_TMP/d1/artifacts"
[[ ! -e $TEST_TMP/d1/named-outputs ]] || fail "named outputs came without --output/--all"
expect_ok ferry job download snap1 --output model_dir --download-path "$TEST_TMP/d2"
assert_eq "named output" "$(cat "$TEST_TMP/d2/named-outputs/model_dir/named.txt")" "named output"
[[ ! -e $TEST_TMP/d2/artifacts ]] || fail "artifacts came with --output"
expect_ok ferry job download snap1 --all --download-path "$TEST_TMP/d3"
assert_tree_same "$art" "$TEST_TMP/d3/artifacts"
assert_eq "named output" "$(cat "$TEST_TMP/d3/named-outputs/model_dir/named.txt")" "named output (--all)"
[[ -d $TEST_TMP/d3/named-outputs/unused ]] || fail "the empty output 'unused' was not downloaded as a folder"

step "job download errors name what is missing"
expect_fail "job 'nope' not found" ferry job download nope
expect_fail "has no output named 'modle' (outputs: model_dir, unused)" ferry job download snap1 --output modle
expect_fail "exclude each other" ferry job download snap1 --all --output model_dir

step "hello-world-output: no code:, the job file's folder is the snapshot; the workspace inside it is not copied"
hello=$TEST_TMP/hello
mkdir -p "$hello"
cat >"$hello/hello-world-output.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: echo "hello world" > ./outputs/helloworld.txt && ls -a > ./logs/listing.txt
environment:
  image: library/python:latest
YML
hsum=$(tree_sum "$hello")
FERRY_HOME=$hello/.ferry expect_ok ferry run "$hello/hello-world-output.yml" --name hello1
hart=$hello/.ferry/datastores/workspaceblobstore/ExperimentRun/dcid.hello1
assert_eq "hello world" "$(cat "$hart/outputs/helloworld.txt")" "helloworld.txt"
assert_contains "$hart/logs/listing.txt" "hello-world-output.yml"
assert_not_contains "$hart/logs/listing.txt" ".ferry"
rm -rf "$hello/.ferry"
assert_eq "$hsum" "$(tree_sum "$hello")" "checksum of the job file's folder"

step "a failed command still keeps ./outputs and ./logs as artifacts"
cat >"$hello/fail.yml" <<'YML'
command: echo "partial" > outputs/partial.txt; exit 3
YML
rc=0
ferry run "$hello/fail.yml" --name fail1 >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 3 "$rc" "exit status"
assert_eq "partial" "$(cat "$FERRY_HOME/datastores/workspaceblobstore/ExperimentRun/dcid.fail1/outputs/partial.txt")" "artifact of a failed job"
expect_ok ferry job download fail1 --download-path "$TEST_TMP/d4"
assert_eq "partial" "$(cat "$TEST_TMP/d4/artifacts/outputs/partial.txt")" "downloaded artifact of a failed job"

step "a job that left nothing in ./outputs or ./logs has no artifacts, and says so"
cat >"$hello/empty.yml" <<'YML'
command: echo nothing
YML
expect_ok ferry run "$hello/empty.yml" --name empty1
expect_fail "left no artifacts" ferry job download empty1 --download-path "$TEST_TMP/d5"
