#!/usr/bin/env bash
# The workspace must be on a filesystem every node sees. Here ferry runs in its own
# mount namespace with FERRY_HOME on a tmpfs only it sees (the real slurmd's do not,
# as nodes would not see a submitter's local disk): the job fails within seconds,
# saying the job folder is not visible to the nodes, and is recorded Failed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-slurm.sh"
unshare -m true 2>/dev/null || skip "cannot make a mount namespace (needs root)"
slurm_up 2

mkdir -p "$TEST_TMP/priv" "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: echo should not run
compute: azureml:cpu-cluster
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
YML
step "a workspace only this machine's ferry sees: a clear error, quickly, recorded Failed"
rc=0
timeout -k 5 30 unshare -m bash -c '
	mount -t tmpfs ferry-private "$1" && export FERRY_HOME=$1/home && mkdir "$FERRY_HOME" &&
	"$2" compute create --file "$3" >/dev/null && { "$2" run "$4" --name v1; echo "rc=$?"; } &&
	"$2" job show v1' _ "$TEST_TMP/priv" "$FERRY" "$TEST_TMP/cluster.yml" "$TEST_TMP/job/job.yml" \
	>"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
[[ $rc -eq 0 ]] || fail "the namespace's commands failed ($rc): $(cat "$TEST_TMP/err")"
assert_contains "$TEST_TMP/out" "rc=1"
assert_contains "$TEST_TMP/err" "before any node agent started"
assert_contains "$TEST_TMP/err" "is the workspace (FERRY_HOME) on a filesystem every node of the cluster sees?"
assert_contains "$TEST_TMP/out" "status:          Failed"
slurm_idle
echo "ok"
