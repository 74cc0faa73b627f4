#!/usr/bin/env bash
# t3310 — owns the other frameworks' environments and the shape checks (issue 11):
# mpi 2 x 2 gets Open MPI's OMPI_COMM_WORLD_* names, AZ_BATCH_MASTER_NODE=addr:port
# and the RANK-style names; tensorflow (3 workers + 1 ps on 2 nodes) gets TF_CONFIG
# with the workers then the ps and this task's type and index; instance_count
# alone runs the command once per node; unknown fields and impossible counts in
# distribution/resources are file:line errors before anything runs.
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=60

mkdir -p "$TEST_TMP/job"
cp "$ROOT/tests/data/dist/allreduce.py" "$TEST_TMP/job/"
job=$TEST_TMP/job/job.yml

step "mpi: 2 nodes x 2 ranks, Open MPI's names and AZ_BATCH_MASTER_NODE"
cat >"$job" <<YML
command: $PY allreduce.py \${{outputs.out}}
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: mpi, process_count_per_instance: 2}
resources: {instance_count: 2}
YML
expect_ok ferry run "$job" --name mpi1
$PY - "$FERRY_HOME/datastores/workspaceblobstore/azureml/mpi1/out" <<'PY' || fail "mpi environments"
import json, os, sys
out = sys.argv[1]
assert sorted(os.listdir(out)) == ["rank_%d.json" % r for r in range(4)], os.listdir(out)
masters = set()
for r in range(4):
    e = json.load(open(os.path.join(out, "rank_%d.json" % r)))["env"]
    node, local = divmod(r, 2)
    want = {"OMPI_COMM_WORLD_RANK": r, "OMPI_COMM_WORLD_SIZE": 4, "OMPI_COMM_WORLD_LOCAL_RANK": local,
            "OMPI_COMM_WORLD_LOCAL_SIZE": 2, "RANK": r, "LOCAL_RANK": local, "WORLD_SIZE": 4,
            "LOCAL_WORLD_SIZE": 2, "NODE_RANK": node}
    for k, v in want.items():
        assert e.get(k) == str(v), (r, k, e.get(k), v)
    addr, port = e["AZ_BATCH_MASTER_NODE"].split(":")
    assert addr == "127.0.0.1" and 1024 <= int(port) <= 65535, e
    masters.add(e["AZ_BATCH_MASTER_NODE"])
    assert "TF_CONFIG" not in e and "GROUP_RANK" not in e, e
assert len(masters) == 1
PY

step "tensorflow: 3 workers + 1 parameter server on 2 nodes, TF_CONFIG per task"
cat >"$job" <<YML
command: $PY allreduce.py \${{outputs.out}}
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: tensorflow, worker_count: 3, parameter_server_count: 1}
resources: {instance_count: 2}
YML
expect_ok ferry run "$job" --name tf1
assert_contains "$LAST_STDERR" "2 nodes x 2 processes (tensorflow)"
$PY - "$FERRY_HOME/datastores/workspaceblobstore/azureml/tf1/out" <<'PY' || fail "TF_CONFIG"
import json, os, sys
out = sys.argv[1]
files = sorted(os.listdir(out))
assert files == ["tf_ps_0.json", "tf_worker_0.json", "tf_worker_1.json", "tf_worker_2.json"], files
cluster = None
for f in files:
    tf = json.loads(json.load(open(os.path.join(out, f)))["env"]["TF_CONFIG"])
    kind, idx = f[3:-5].rsplit("_", 1)
    assert tf["task"] == {"type": kind, "index": int(idx)}, (f, tf)
    assert cluster in (None, tf["cluster"]), "tasks disagree on the cluster"
    cluster = tf["cluster"]
assert sorted(cluster) == ["ps", "worker"] and len(cluster["worker"]) == 3 and len(cluster["ps"]) == 1
addrs = cluster["worker"] + cluster["ps"]
ports = [int(a.split(":")[1]) for a in addrs]
assert all(a.startswith("127.0.0.1:") for a in addrs) and ports == list(range(ports[0], ports[0] + 4)), addrs
PY

step "instance_count alone: the command runs once per node, no framework variables"
cat >"$job" <<'YML'
command: echo "ran RANK=${RANK:-none} TF=${TF_CONFIG:-none}"
resources: {instance_count: 3}
YML
expect_ok ferry run "$job" --name plain3
for r in 0 1 2; do
	assert_contains "$FERRY_HOME/jobs/plain3/user_logs/std_log_process_$r.txt" "ran RANK=none TF=none"
done

step "bad shapes are file:line errors and nothing runs"
marker=$TEST_TMP/ran
try() { # try YAML-TAIL NEEDLE...
	printf 'command: touch %s\n%s' "$marker" "$1" >"$job"
	shift
	expect_fail "$1" ferry run "$job"
	for n in "$@"; do assert_contains "$LAST_STDERR" "$n" "stderr"; done
	[[ ! -e $marker ]] || fail "the command ran"
}
try $'distribution:\n  type: horovod\n' "$job:3: field 'distribution.type'" "pytorch, mpi, tensorflow"
try $'distribution:\n  type: pytorch\n  process_count: 2\n' "$job:4: field 'distribution.process_count'" "unknown field"
try $'distribution:\n  type: pytorch\n  process_count_per_instance: 0\n' "$job:4: field 'distribution.process_count_per_instance'" "from 1 to 512"
try $'resources:\n  instance_count: -1\n' "$job:3: field 'resources.instance_count'" "whole number"
try $'resources:\n  instance_count: 2\n  gpu_count: 1\n' "$job:4: field 'resources.gpu_count'" "unknown field"
try $'distribution:\n  type: mpi\n  worker_count: 2\n' "$job:4:" "only tensorflow"
try $'distribution:\n  type: tensorflow\n  worker_count: 3\nresources: {instance_count: 2}\n' "$job:4:" "spread evenly"
[[ -z $(ls "$FERRY_HOME/jobs" 2>/dev/null | grep -v -e mpi1 -e tf1 -e plain3) ]] || fail "a bad job left a folder"
