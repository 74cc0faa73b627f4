#!/usr/bin/env bash
# t3330 — owns failure semantics of distributed jobs (issue 11): a rank that exits
# non-zero fails the job, the other ranks get SIGTERM (SIGKILL after
# FERRY_KILL_GRACE_SECONDS for one that ignores it), and the error names the rank,
# the node and the exit code; a node agent killed with -9 fails the job instead of
# hanging it, its ranks are killed and its mount cleaned up; Ctrl-C on `ferry run`
# stops every rank, unmounts everything and records the job Canceled.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60

c=$(new_container)
printf 'payload\n' >"$TEST_TMP/p.txt"
azcli put "$c" in/p.txt "$TEST_TMP/p.txt"
az_datastore az "$c"
mkdir -p "$TEST_TMP/job"
job=$TEST_TMP/job/job.yml
# jobyml NODES PER_NODE COMMAND — a pytorch job with an ro_mount input
jobyml() {
	cat >"$job" <<-YML
	command: $3
	inputs:
	  data: {type: uri_folder, path: "azureml://datastores/az/paths/in/", mode: ro_mount}
	distribution: {type: pytorch, process_count_per_instance: $2}
	resources: {instance_count: $1}
	environment_variables: {FERRY_KILL_GRACE_SECONDS: "2"}
	YML
}
no_mounts_left() {
	! grep -F "$TEST_TMP" /proc/mounts || fail "mounts left behind"
}
ranks_gone() { # ranks_gone JOB — no rank process (nor its process group) of JOB is alive
	local f p
	for f in "$FERRY_HOME/jobs/$1"/nodes/*.pids; do
		while read -r p; do
			! alive "$p" || fail "rank process $p of $1 is still alive: $(ps -o pid,stat,args -p "$p")"
			[[ -z $(pgrep -g "$p" 2>/dev/null | while read -r q; do alive "$q" && echo "$q"; done) ]] ||
				fail "processes of rank group $p of $1 are still alive: $(pgrep -a -g "$p")"
		done <"$f"
	done
}
wait_ranks() { # wait_ranks JOB COUNT — until COUNT ranks have started (10 s at most)
	local i
	for ((i = 0; i < 100; i++)); do
		(($(cat "$FERRY_HOME/jobs/$1"/nodes/*.pids 2>/dev/null | wc -l) >= $2)) && [[ -n $(cat "$FERRY_HOME/jobs/$1"/user_logs/std_log_process_*.txt 2>/dev/null) ]] && return 0
		sleep 0.1
	done
	fail "the ranks of $1 did not start"
}

step "a failing rank fails the job, names rank, node and exit code; the others get SIGTERM"
# rank 3 fails once the others have set their traps (each touches armed-RANK)
a=$TEST_TMP/armed
jobyml 2 2 'cat ${{inputs.data}}/p.txt; if [ "$RANK" = 3 ]; then for i in $(seq 300); do [ -e '"$a"'-0 ] && [ -e '"$a"'-1 ] && [ -e '"$a"'-2 ] && break; sleep 0.1; done; exit 7; fi; if [ "$RANK" = 0 ]; then trap "" TERM; echo stubborn; touch '"$a"'-0; while :; do sleep 0.2; done; fi; trap "echo rank $RANK got TERM; exit 143" TERM; touch '"$a"'-$RANK; sleep 50 & wait'
t0=$(date +%s)
expect_fail "rank 3 on node 1 exited with code 7" ferry run "$job" --name bad1
rc=0
"$FERRY" job show bad1 >"$TEST_TMP/show" 2>&1 || rc=$?
assert_contains "$TEST_TMP/show" "Failed"
assert_contains "$TEST_TMP/show" "exit_code:       7"
for r in 1 2; do
	assert_contains "$FERRY_HOME/jobs/bad1/user_logs/std_log_process_$r.txt" "rank $r got TERM"
done
assert_contains "$FERRY_HOME/jobs/bad1/user_logs/std_log_process_0.txt" "stubborn"
assert_contains "$FERRY_HOME/jobs/bad1/nodes/1.json" '"failed_rank":3'
(($(seconds_since "$t0") < 40)) || fail "the failure took $(seconds_since "$t0") s to stop the job"
ranks_gone bad1
no_mounts_left

step "the exit code of ferry run is the failed rank's"
rc=0
"$FERRY" run "$job" --name bad2 >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "exit code"

step "kill -9 of a node agent fails the job instead of hanging it"
jobyml 2 1 'cat ${{inputs.data}}/p.txt; sleep 50'
"$FERRY" run "$job" --name killed1 >"$TEST_TMP/k.out" 2>"$TEST_TMP/k.err" &
run_pid=$!
wait_ranks killed1 2
agent=$(pgrep -f -- "_node --job-dir $FERRY_HOME/jobs/killed1 .*--node-rank 1 " | head -1)
[[ -n $agent ]] || fail "no agent process for node 1"
kill -9 "$agent"
t0=$(date +%s)
rc=0
timeout 40 tail --pid="$run_pid" -f /dev/null || fail "ferry run still running 40 s after its agent was killed"
wait "$run_pid" || rc=$?
((rc != 0)) || fail "the job succeeded without a node"
assert_contains "$TEST_TMP/k.err" "node agent of node 1"
assert_contains "$TEST_TMP/k.err" "killed by signal 9"
"$FERRY" job show killed1 >"$TEST_TMP/show" 2>&1
assert_contains "$TEST_TMP/show" "Failed"
ranks_gone killed1
no_mounts_left

step "Ctrl-C on ferry run stops every rank, unmounts, records Canceled"
jobyml 2 2 'cat ${{inputs.data}}/p.txt; sleep 50'
"$FERRY" run "$job" --name cancel1 >"$TEST_TMP/c.out" 2>"$TEST_TMP/c.err" &
run_pid=$!
wait_ranks cancel1 4
grep -qF "$FERRY_HOME/jobs/cancel1" /proc/mounts || fail "the input is not mounted while the ranks run"
kill -INT "$run_pid"
rc=0
timeout 40 tail --pid="$run_pid" -f /dev/null || fail "ferry run still running 40 s after Ctrl-C"
wait "$run_pid" || rc=$?
assert_eq 130 "$rc" "exit code after Ctrl-C"
"$FERRY" job show cancel1 >"$TEST_TMP/show" 2>&1
assert_contains "$TEST_TMP/show" "Canceled"
for k in 0 1; do assert_contains "$FERRY_HOME/jobs/cancel1/nodes/$k.json" '"status":"Canceled"'; done
ranks_gone cancel1
no_mounts_left

step "limits.timeout stops every node's ranks and says so"
cat >"$job" <<'YML'
command: sleep 50
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
limits: {timeout: 1}
YML
t0=$(date +%s)
rc=0
ferry run "$job" --name slow1 >/dev/null 2>"$TEST_TMP/slow.err" || rc=$?
assert_eq 143 "$rc" "exit code (the ranks' SIGTERM, as for a one-process job)"
assert_contains "$TEST_TMP/slow.err" "limits.timeout of 1 s reached; its ranks were stopped"
(($(seconds_since "$t0") < 30)) || fail "the timeout took $(seconds_since "$t0") s"
ranks_gone slow1
