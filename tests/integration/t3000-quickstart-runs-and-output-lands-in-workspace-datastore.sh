#!/usr/bin/env bash
# t3000 — owns the quickstart: `ferry run examples/quickstart/job.yml` downloads the
# CSV input, runs the sh/awk script, uploads its output folder to the default
# datastore (a folder of the workspace), writes std_log.txt and data-capability.log
# with the activity lines, removes the downloaded input, and records the job.
source "$(dirname "$0")/lib.sh"

step "the quickstart job runs and exits 0"
expect_ok ferry run "$ROOT/examples/quickstart/job.yml" --name qs1
assert_contains "$LAST_STDERR" "job qs1 Completed" "summary"
assert_contains "$LAST_STDERR" "azureml://datastores/workspaceblobstore/paths/azureml/qs1/summary/" "summary"
assert_contains "$TEST_TMP/last.stdout" "run qs1: rows: 18, precision 3" "command output"

step "its output lands in the workspace datastore folder"
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/qs1/summary/summary.txt
[[ -f $out ]] || fail "missing $out"
assert_contains "$out" "rows: 18"
assert_contains "$out" "setosa: n=6"

step "std_log.txt holds the command's output; data-capability.log the activity lines"
job=$FERRY_HOME/jobs/qs1
assert_contains "$job/user_logs/std_log.txt" "run qs1: rows: 18"
dcap=$job/logs/system_logs/data_capability/data-capability.log
assert_contains "$dcap" "ActivityStarted, download (input 'iris')"
grep -qE "ActivityCompleted: Activity=download, HowEnded=Success, Duration=[0-9.]+ \[ms\] \(input 'iris'\)" "$dcap" ||
	fail "no completed download line: $(cat "$dcap")"
grep -qE "ActivityCompleted: Activity=upload, HowEnded=Success, Duration=[0-9.]+ \[ms\] \(output 'summary'\)" "$dcap" ||
	fail "no completed upload line: $(cat "$dcap")"
assert_contains "$job/logs/system_logs/data_capability/rslex.log" "RSLEX_DOWNLOADER_THREADS=4 (set)" "settings in force"

step "the downloaded input is removed after the job"
[[ ! -e $job/cap/data-capability/wd/INPUT_iris ]] || fail "INPUT_iris still exists"

step "FERRY_KEEP_INPUTS=1 keeps it"
FERRY_KEEP_INPUTS=1 expect_ok ferry run "$ROOT/examples/quickstart/job.yml" --name qs2
[[ -f $FERRY_HOME/jobs/qs2/cap/data-capability/wd/INPUT_iris/iris.csv ]] || fail "INPUT_iris not kept"

step "job list and job show describe the run"
expect_ok ferry job list
assert_contains "$TEST_TMP/last.stdout" "qs1"
grep -qE '^qs1 +Completed +0 ' "$TEST_TMP/last.stdout" || fail "job list row: $(cat "$TEST_TMP/last.stdout")"
assert_contains "$TEST_TMP/last.stdout" "iris-summary"
expect_ok ferry job show qs1
assert_contains "$TEST_TMP/last.stdout" "status:          Completed"
assert_contains "$TEST_TMP/last.stdout" "$job/user_logs/std_log.txt"
assert_contains "$TEST_TMP/last.stdout" "data-capability.log"
assert_contains "$TEST_TMP/last.stdout" '"compute":"azureml:cpu-cluster"'
expect_fail "not found" ferry job show no-such-job

step "a second run with the same name is refused before anything runs"
expect_fail "already exists" ferry run "$ROOT/examples/quickstart/job.yml" --name qs1

step "a run without --name gets a generated Azure-style name"
expect_ok ferry run "$ROOT/examples/quickstart/job.yml"
name=$(sed -n 's/^ferry: job \([^ ]*\) Completed.*/\1/p' "$LAST_STDERR")
[[ $name =~ ^[a-z]+_[a-z]+_[a-z0-9]{8}$ ]] || fail "generated name '$name'"
[[ -f $FERRY_HOME/datastores/workspaceblobstore/azureml/$name/summary/summary.txt ]] || fail "output of $name missing"
