#!/usr/bin/env bash
# On a real 2-node Slurm cluster: an mpi job (2 x 2) gets Open MPI's OMPI_COMM_WORLD_*
# names, AZ_BATCH_MASTER_NODE=<first node's NodeAddr>:<port> and the RANK-style names;
# a tensorflow job (3 workers + 1 ps on 2 nodes) gets TF_CONFIG with every task at its
# node's address, this task's type and index. Both through `ferry run --compute`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-slurm.sh"
export FERRY_CMD_TIMEOUT=60
slurm_up 2

mkdir -p "$TEST_TMP/job"
cp "$ROOT/tests/data/dist/allreduce.py" "$TEST_TMP/job/"
job=$TEST_TMP/job/job.yml
step "mpi: 2 nodes x 2 ranks"
cat >"$job" <<YML
command: $PY allreduce.py \${{outputs.out}}
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: mpi, process_count_per_instance: 2}
resources: {instance_count: 2}
YML
expect_ok ferry run "$job" --compute cpu-cluster --name mpi1
assert_contains "$LAST_STDERR" "job mpi1 Completed (exit code 0)"
$PY - "$FERRY_HOME/datastores/workspaceblobstore/azureml/mpi1/out" "$(slurm_master mpi1)" <<'PY' || fail "mpi environments"
import json, os, sys
out, master = sys.argv[1], sys.argv[2]
assert sorted(os.listdir(out)) == ["rank_%d.json" % r for r in range(4)], os.listdir(out)
for r in range(4):
    e = json.load(open(os.path.join(out, "rank_%d.json" % r)))["env"]
    node, local = divmod(r, 2)
    want = {"OMPI_COMM_WORLD_RANK": r, "OMPI_COMM_WORLD_SIZE": 4, "OMPI_COMM_WORLD_LOCAL_RANK": local,
            "OMPI_COMM_WORLD_LOCAL_SIZE": 2, "RANK": r, "LOCAL_RANK": local, "WORLD_SIZE": 4,
            "LOCAL_WORLD_SIZE": 2, "NODE_RANK": node, "AZ_BATCH_MASTER_NODE": master}
    for k, v in want.items():
        assert e.get(k) == str(v), (r, k, e.get(k), v)
    assert "TF_CONFIG" not in e, e
PY

step "tensorflow: 3 workers + 1 ps on 2 nodes"
cat >"$job" <<YML
command: $PY allreduce.py \${{outputs.out}}
compute: azureml:cpu-cluster
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: tensorflow, worker_count: 3, parameter_server_count: 1}
resources: {instance_count: 2}
YML
expect_ok ferry run "$job" --name tf1
assert_contains "$LAST_STDERR" "job tf1 Completed (exit code 0)"
$PY - "$FERRY_HOME/datastores/workspaceblobstore/azureml/tf1/out" "$(slurm_master tf1)" <<'PY' || fail "TF_CONFIG"
import json, os, sys
out, master = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(out))
assert files == ["tf_ps_0.json", "tf_worker_0.json", "tf_worker_1.json", "tf_worker_2.json"], files
cluster = None
for f in files:
    tf = json.loads(json.load(open(os.path.join(out, f)))["env"]["TF_CONFIG"])
    kind, idx = f[3:-5].rsplit("_", 1)
    assert tf["task"] == {"type": kind, "index": int(idx)}, (f, tf)
    assert cluster in (None, tf["cluster"]), "tasks disagree on the cluster"
    cluster = tf["cluster"]
addrs = cluster["worker"] + cluster["ps"]
assert len(cluster["worker"]) == 3 and len(cluster["ps"]) == 1, cluster
assert addrs[0] == master, (addrs, master)  # task 0 listens on MASTER_ADDR:MASTER_PORT
port0 = int(master.split(":")[1])
assert addrs == ["127.0.0.1:%d" % (port0 + t) for t in range(4)], addrs
PY
slurm_idle
echo "ok"
