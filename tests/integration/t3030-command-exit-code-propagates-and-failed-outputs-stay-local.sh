#!/usr/bin/env bash
# t3030 — owns the end of a job: ferry exits with the command's exit code, a
# failed command's outputs are not uploaded (as on Azure ML) and the job is
# recorded Failed; a uri_file output the command did not write fails the job.
source "$(dirname "$0")/lib.sh"

job=$TEST_TMP/job.yml
cat >"$job" <<'YML'
command: echo partial > ${{outputs.o}}/f.txt; echo "to stderr" >&2; exit 7
outputs:
  o: {mode: upload}
YML

step "the command's exit code is ferry's exit code"
rc=0
ferry run "$job" --name fail7 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 7 "$rc" "exit code"
assert_contains "$TEST_TMP/err" "job fail7 Failed (exit code 7)"
assert_contains "$TEST_TMP/err" "outputs not uploaded"

step "stderr of the command is in std_log.txt"
assert_contains "$FERRY_HOME/jobs/fail7/user_logs/std_log.txt" "to stderr"

step "outputs of a failed command are not uploaded and stay local"
[[ ! -e $FERRY_HOME/datastores/workspaceblobstore/azureml/fail7 ]] || fail "output uploaded"
[[ -f $FERRY_HOME/jobs/fail7/cap/data-capability/wd/OUTPUT_o/f.txt ]] || fail "local output missing"

step "the job is recorded Failed with its exit code"
expect_ok ferry job list
grep -qE '^fail7 +Failed +7 ' "$TEST_TMP/last.stdout" || fail "job list: $(cat "$TEST_TMP/last.stdout")"

step "a command killed by a signal exits 128+N"
printf 'command: kill -TERM $$\n' >"$job"
rc=0
ferry run "$job" --name sig >/dev/null 2>&1 || rc=$?
assert_eq 143 "$rc" "exit code of a command killed by SIGTERM"

step "a uri_file output the command did not write fails the job"
cat >"$job" <<'YML'
command: "true"
outputs:
  model: {type: uri_file, mode: upload, path: "azureml://datastores/workspaceblobstore/paths/m/model.bin"}
YML
expect_fail "did not write" ferry run "$job" --name nofile
assert_contains "$LAST_STDERR" "model.bin"

step "a uri_file output the command wrote lands at the output path"
cat >"$job" <<'YML'
command: echo weights > ${{outputs.model}}
outputs:
  model: {type: uri_file, mode: upload, path: "azureml://datastores/workspaceblobstore/paths/m/${{name}}/model.bin"}
YML
expect_ok ferry run "$job" --name withfile
assert_eq weights "$(cat "$FERRY_HOME/datastores/workspaceblobstore/m/withfile/model.bin")" "uploaded file"

step "limits.timeout stops a command that runs too long"
printf 'command: sleep 30\nlimits:\n  timeout: 1\n' >"$job"
start=$(date +%s)
rc=0
ferry run "$job" --name slow >/dev/null 2>"$TEST_TMP/err" || rc=$?
[[ $rc -ne 0 ]] || fail "timed-out job exited 0"
(( $(seconds_since "$start") < 15 )) || fail "timeout not enforced"
assert_contains "$TEST_TMP/err" "limits.timeout"

step "SIGTERM sent to ferry is forwarded to the command"
# the command says "armed" once its trap is set; the TERM goes only then
printf 'command: trap "echo got-term; exit 5" TERM; echo armed; sleep 30 & wait\n' >"$job"
"$FERRY" run "$job" --name fwd >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
pid=$!
for _ in $(seq 300); do
	grep -qs armed "$FERRY_HOME/jobs/fwd/user_logs/std_log.txt" && break
	sleep 0.1
done
grep -qs armed "$FERRY_HOME/jobs/fwd/user_logs/std_log.txt" || fail "the command did not start within 30 s"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 5 "$rc" "exit code after a forwarded SIGTERM"
assert_contains "$FERRY_HOME/jobs/fwd/user_logs/std_log.txt" "got-term"
