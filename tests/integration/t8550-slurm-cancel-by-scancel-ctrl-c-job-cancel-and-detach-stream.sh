#!/usr/bin/env bash
# On a real 2-node Slurm cluster, a 2 x 2 job with an ro_mount input on every node:
# - `ferry run --detach` returns once submitted; `ferry job stream` shows rank 0's
#   output and the end, exits with the job's code; the record ends Completed;
# - Ctrl-C on `ferry job stream` only stops following;
# - Ctrl-C on `ferry run`, `scancel`, and `ferry job cancel` each stop every rank,
#   unmount everything on every node, and the job is recorded Canceled.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-slurm.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60
slurm_up 2

marker=$((70 + RANDOM % 20)).$$
slurm_marked_input "$TEST_TMP/job/long.yml" "sleep $marker"
stopped_cleanly() { # stopped_cleanly JOB — Canceled everywhere, no rank, no mount left
	local i
	ferry job show "$1" >"$TEST_TMP/show"
	assert_contains "$TEST_TMP/show" "status:          Canceled"
	# Every node reported (it stopped its ranks and unmounted). Slurm signals every
	# process of the step, so a rank may die of the SIGTERM before its agent counts it
	# as a cancel: such a node says Failed with 143; anything else is a real failure.
	for i in 0 1; do
		grep -Eq '"status":"Canceled"|"status":"Failed","exit_code":143' "$FERRY_HOME/jobs/$1/nodes/$i.json" ||
			fail "node $i of $1 did not report a cancel: $(cat "$FERRY_HOME/jobs/$1/nodes/$i.json" 2>&1)"
	done
	slurm_no_sleepers "$marker"
	slurm_idle
	assert_no_mounts_under "$FERRY_HOME"
}

step "--detach returns once submitted; job stream follows it to Completed"
cat >"$TEST_TMP/job/short.yml" <<'YML'
command: echo "rank $RANK says hi" && sleep 2 && echo "rank $RANK done"
compute: azureml:cpu-cluster
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
YML
expect_ok ferry run "$TEST_TMP/job/short.yml" --name d1 --detach
assert_contains "$LAST_STDERR" "detached; follow it with \`ferry job stream d1\`"
ferry job show d1 >"$TEST_TMP/show"
grep -Eq "status: +(Queued|Running)" "$TEST_TMP/show" || fail "a detached job is not Queued/Running: $(cat "$TEST_TMP/show")"
# Finishing a detached job's record must not touch the streaming process's stdin (it
# used to release a job claim of 0: the file on stdin was deleted, /dev/null in CI).
echo keep >"$TEST_TMP/stdin.txt"
expect_ok ferry job stream d1 <"$TEST_TMP/stdin.txt"
[[ -f $TEST_TMP/stdin.txt ]] || fail "ferry job stream deleted the file on its stdin"
assert_contains "$TEST_TMP/last.stdout" "rank 0 says hi"
assert_contains "$TEST_TMP/last.stdout" "rank 0 done"
assert_not_contains "$TEST_TMP/last.stdout" "rank 1 says hi"
assert_contains "$LAST_STDERR" "job d1 Completed (exit code 0)"
ferry job show d1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Completed"
ferry job list >"$TEST_TMP/list"
grep -E "^d1 +Completed +0 " "$TEST_TMP/list" >/dev/null || fail "job list: $(cat "$TEST_TMP/list")"

step "Ctrl-C on ferry run cancels the Slurm job"
"$FERRY" run "$TEST_TMP/job/long.yml" --name c1 >"$TEST_TMP/c1.out" 2>"$TEST_TMP/c1.err" &
runner=$!
slurm_started c1
kill -INT "$runner"
rc=0
wait "$runner" || rc=$?
assert_eq 130 "$rc" "ferry run's exit code after Ctrl-C"
assert_contains "$TEST_TMP/c1.err" "cancelling job c1"
assert_contains "$TEST_TMP/c1.err" "job c1 Canceled"
stopped_cleanly c1

step "scancel of the Slurm job: the record (reconciled by job show) says Canceled"
expect_ok ferry run "$TEST_TMP/job/long.yml" --name s1 --detach
slurm_started s1
scancel "$(slurm_job_id s1)"
for ((i = 0; i < 150; i++)); do
	ferry job show s1 | grep -Eq "status: +(Queued|Running)" || break
	sleep 0.2
done
stopped_cleanly s1

step "Ctrl-C on ferry job stream stops following only; ferry job cancel stops the job"
expect_ok ferry run "$TEST_TMP/job/long.yml" --name j1 --detach
slurm_started j1
"$FERRY" job stream j1 >"$TEST_TMP/js.out" 2>"$TEST_TMP/js.err" &
streamer=$!
for ((i = 0; i < 100; i++)); do grep -q "rank 0 started" "$TEST_TMP/js.out" && break; sleep 0.1; done
assert_contains "$TEST_TMP/js.out" "rank 0 started"
kill -INT "$streamer"
rc=0
wait "$streamer" || rc=$?
assert_eq 130 "$rc" "ferry job stream's exit code after Ctrl-C"
assert_contains "$TEST_TMP/js.err" "stopped following job j1; it goes on"
ferry job show j1 | grep -Eq "status: +Running" || fail "Ctrl-C on job stream changed the job: $(ferry job show j1 | grep status)"
expect_ok ferry job cancel j1
assert_contains "$TEST_TMP/last.stdout" "job j1 Canceled"
stopped_cleanly j1
expect_fail "already ended: Canceled" ferry job cancel j1
echo "ok"
