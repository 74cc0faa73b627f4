#!/usr/bin/env bash
# t8590 — owns what a Slurm job does when the `ferry run` that submitted it is killed
# with SIGKILL (no Ctrl-C, no chance to scancel): the job is Slurm's and goes on, as a
# detached one does (Azure ML's jobs outlive their client too); `ferry job stream`
# follows it to its end and the record ends Completed with its exit code; every node
# unmounts and no rank is left; or `ferry job cancel` stops it. Before, the next ferry
# command's reaper took the dead `ferry run` for a dead job: it marked the record
# Failed (and removed temporaries from the folder the nodes were writing in) while
# the ranks went on — a job no ferry command could follow or cancel any more.
# Ctrl-C, scancel and `ferry job cancel` of a followed job are t8550's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-slurm.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60
slurm_up 2

marker=4.$$ # seconds: long enough to kill ferry while the ranks run; unique for pgrep
slurm_marked_input "$TEST_TMP/job/k9.yml" "sleep $marker && echo \"rank \$RANK done\""

step "ferry run killed with -9 while the ranks run: the Slurm job goes on"
"$FERRY" run "$TEST_TMP/job/k9.yml" --name k9 >"$TEST_TMP/k9.out" 2>"$TEST_TMP/k9.err" &
runner=$!
slurm_started k9
kill -KILL "$runner"
wait "$runner" 2>/dev/null || true
[[ -n $(slurm_job_id k9) ]] || fail "no Slurm job id recorded"

step "ferry job stream follows it to the end; the record ends Completed"
expect_ok ferry job stream k9
assert_contains "$LAST_STDERR" "job k9 Completed (exit code 0)"
assert_contains "$TEST_TMP/last.stdout" "rank 0 done"
ferry job show k9 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Completed"
for i in 0 1 2 3; do
	grep -q "rank $i done" "$FERRY_HOME/jobs/k9/user_logs/std_log_process_$i.txt" ||
		fail "rank $i did not finish: $(cat "$FERRY_HOME/jobs/k9/user_logs/std_log_process_$i.txt" 2>&1)"
done
slurm_no_sleepers "$marker"
slurm_idle
assert_no_mounts_under "$FERRY_HOME"
[[ ! -e $FERRY_HOME/jobs/k9/slurm/secrets.env ]] || fail "the job's secrets file is left after its end"

step "ferry run killed with -9, then ferry job cancel stops the Slurm job"
long=$((70 + RANDOM % 20)).$$
slurm_marked_input "$TEST_TMP/job/k9long.yml" "sleep $long"
"$FERRY" run "$TEST_TMP/job/k9long.yml" --name k9c >"$TEST_TMP/k9c.out" 2>"$TEST_TMP/k9c.err" &
runner=$!
slurm_started k9c
kill -KILL "$runner"
wait "$runner" 2>/dev/null || true
ferry job show k9c >"$TEST_TMP/show"
grep -Eq "status: +Running" "$TEST_TMP/show" || fail "the job is not Running after its ferry was killed: $(cat "$TEST_TMP/show")"
assert_contains "$FERRY_HOME/jobs/k9c/logs/system_logs/data_capability/rslex.log" "Slurm job $(slurm_job_id k9c) goes on"
expect_ok ferry job cancel k9c
assert_contains "$TEST_TMP/last.stdout" "job k9c Canceled"
slurm_no_sleepers "$long"
slurm_idle
assert_no_mounts_under "$FERRY_HOME"
echo ok
