#!/usr/bin/env bash
# On a real 2-node Slurm cluster, with an ro_mount input on every node:
# - a rank that exits 3 fails the job: the other ranks are stopped (not left
#   sleeping), every node unmounts, the error names the rank, its node and the exit
#   code, ferry run exits 3, the record says Failed;
# - kill -9 of one node agent fails the job (not a hang): the error names the node
#   whose agent sent no report, its ranks are killed, nothing stays mounted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-slurm.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60
slurm_up 2

marker=$((70 + RANDOM % 20)).$$ # a sleep no other process on this machine runs

step "rank 2 exits 3: the job fails with rank, node and exit code; the others stop"
slurm_marked_input "$TEST_TMP/job/fail.yml" "if [ \$RANK = 2 ]; then echo 'rank 2 gives up' && exit 3; fi; sleep $marker"
rc=0 # bounded: the other ranks sleep longer than FERRY_CMD_TIMEOUT unless stopped
FERRY_CMD_TIMEOUT=45 ferry run "$TEST_TMP/job/fail.yml" --name f1 >"$TEST_TMP/f1.out" 2>"$TEST_TMP/f1.err" || rc=$?
assert_eq 3 "$rc" "ferry run's exit code"
assert_contains "$TEST_TMP/f1.err" "job f1 Failed (exit code 3)"
grep -E "rank 2.*node 1|node 1.*rank 2" "$TEST_TMP/f1.err" | grep -q 3 ||
	fail "the error does not name rank 2, node 1 and exit code 3: $(cat "$TEST_TMP/f1.err")"
assert_contains "$FERRY_HOME/jobs/f1/user_logs/std_log_process_2.txt" "rank 2 gives up"
ferry job show f1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Failed"
assert_contains "$TEST_TMP/show" "exit_code:       3"
slurm_no_sleepers "$marker"
slurm_idle
assert_no_mounts_under "$FERRY_HOME"

step "kill -9 of node 1's agent: the job fails, naming node 1; its ranks die, nothing stays mounted"
slurm_marked_input "$TEST_TMP/job/long.yml" "sleep $marker"
ferry run "$TEST_TMP/job/long.yml" --name k1 >"$TEST_TMP/k1.out" 2>"$TEST_TMP/k1.err" &
runner=$!
slurm_started k1
agent=
for p in $(pgrep -f -- "_node --job-dir $FERRY_HOME/jobs/k1 "); do
	[[ $(cat /proc/"$p"/comm 2>/dev/null) == ferry ]] || continue # not the srun task's shell
	pp=$(awk '{print $4}' /proc/"$p"/stat 2>/dev/null)
	[[ $(cat /proc/"$pp"/comm 2>/dev/null) != ferry ]] || continue # not its mount servers
	tr '\0' '\n' <"/proc/$p/environ" | grep -qx SLURM_NODEID=1 && agent=$p
done
[[ -n $agent ]] || fail "no node agent of node 1 found: $(pgrep -af _node)"
kill -9 "$agent"
rc=0 # a hang would end at FERRY_CMD_TIMEOUT with 124
wait "$runner" || rc=$?
assert_no_mounts_under "$FERRY_HOME" # before any other ferry start could reap them
assert_eq 137 "$rc" "ferry run's exit code after node 1's agent was killed by signal 9"
assert_contains "$TEST_TMP/k1.err" "job k1 Failed"
assert_contains "$TEST_TMP/k1.err" "the node agent of node 1 on n2 was killed by signal 9 before reporting"
assert_contains "$TEST_TMP/k1.err" "node 1 no report (its agent died)"
ferry job show k1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Failed"
slurm_no_sleepers "$marker"
slurm_idle
assert_no_mounts_under "$FERRY_HOME"
echo "ok"
