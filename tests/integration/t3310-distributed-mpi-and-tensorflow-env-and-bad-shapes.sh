#!/usr/bin/env bash
# t3310 — owns the other frameworks' environments and the shape checks (issue 11):
# mpi 2 x 2 gets Open MPI's OMPI_COMM_WORLD_* names, AZ_BATCH_MASTER_NODE=addr:port
# and the RANK-style names; tensorflow (3 workers + 1 ps on 2 nodes) gets TF_CONFIG
# with the workers then the ps and this task's type and index; instance_count
# alone runs the command once per node; one output file name written on two nodes
# lands once (the last upload wins) and the run says so; unknown fields and impossible counts in
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
assert_eq 600 "$(stat -c %a "$FERRY_HOME/jobs/mpi1/plan.json")" "mode of the plan (job variables may be secrets)"
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

step "a node agent started by hand, as a Slurm launcher does, only reads the workspace"
db=$FERRY_HOME/ferry.db
mount --bind "$db" "$db" && mount -o remount,ro,bind "$db" || skip "cannot bind-mount a file read-only here"
db_bound=1
at_exit '[[ -z ${db_bound:-} ]] || umount "$db" 2>/dev/null'
rm -f "$FERRY_HOME/jobs/mpi1/nodes/1.json"
rc=0
SLURM_NODEID=1 FERRY_MASTER_ADDR=127.0.0.1 FERRY_MASTER_PORT=29611 \
	"$FERRY" _node --job-dir "$FERRY_HOME/jobs/mpi1" --nodes 2 >"$TEST_TMP/node.out" 2>&1 || rc=$?
umount "$db"
db_bound=
assert_eq 0 "$rc" "agent exit code ($(tail -c 600 "$TEST_TMP/node.out"))"
assert_contains "$FERRY_HOME/jobs/mpi1/nodes/1.json" '"status":"Completed"'
$PY - "$FERRY_HOME/datastores/workspaceblobstore/azureml/mpi1/out/rank_3.json" <<'PY' || fail "node 1's ranks by hand"
import json, sys
e = json.load(open(sys.argv[1]))["env"]
assert e["RANK"] == "3" and e["NODE_RANK"] == "1" and e["AZ_BATCH_MASTER_NODE"] == "127.0.0.1:29611", e
PY
expect_fail "--nodes" "$FERRY" _node --job-dir "$FERRY_HOME/jobs/mpi1"
expect_fail "--node-rank" "$FERRY" _node --job-dir "$FERRY_HOME/jobs/mpi1" --nodes 2 --node-rank 2 --master-addr a --master-port 1
expect_fail "instance_count 2" "$FERRY" _node --job-dir "$FERRY_HOME/jobs/mpi1" --nodes 3 --node-rank 0 --master-addr a --master-port 1

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

step "the same output file from two nodes: both uploaded into one folder, the last upload wins, and it is said"
cat >"$job" <<'YML'
command: 'echo "rank $RANK" > ${{outputs.out}}/shared.txt; echo "rank $RANK" > ${{outputs.out}}/own_$RANK.txt'
outputs:
  out: {type: uri_folder, mode: upload, name: same_out}
distribution: {type: pytorch}
resources: {instance_count: 2}
YML
expect_ok ferry run "$job" --name same1
assert_contains "$LAST_STDERR" "registered as data asset azureml:same_out:1"

out=$FERRY_HOME/datastores/workspaceblobstore/azureml/same1/out
assert_eq "own_0.txt own_1.txt shared.txt" "$(cd "$out" && echo *)" "output files"
grep -qx 'rank [01]' "$out/shared.txt" || fail "shared.txt: $(cat "$out/shared.txt")"
assert_contains "$LAST_STDERR" "output 'out': 'shared.txt' was written by nodes 0, 1; the last upload wins"
assert_not_contains "$LAST_STDERR" "own_0.txt"
assert_contains "$FERRY_HOME/jobs/same1/nodes/overlaps.txt" "'shared.txt' written by nodes 0, 1"
expect_ok ferry data show same_out:1 # registered once every node completed
assert_contains "$TEST_TMP/last.stdout" "azureml/same1/out"

step "an rw_mount output counts only what it wrote, not an earlier download (one process and per node)"
mkdir -p "$FERRY_HOME/datastores/workspaceblobstore/in"
head -c 1000000 /dev/urandom >"$FERRY_HOME/datastores/workspaceblobstore/in/a.bin"
cat >"$job" <<'YML'
command: 'cat ${{inputs.d}}/a.bin >/dev/null && printf abc > ${{outputs.rw}}/r${RANK:-0}.txt'
inputs:
  d: {type: uri_folder, path: azureml://datastores/workspaceblobstore/paths/in/, mode: download}
outputs:
  rw: {type: uri_folder, mode: rw_mount}
YML
expect_ok ferry run "$job" --name count1
expect_ok ferry job show count1
grep -q "rw: .* Completed, 3 bytes" "$TEST_TMP/last.stdout" || fail "rw output figure: $(grep -A1 ' rw:' "$TEST_TMP/last.stdout")"
printf 'distribution: {type: pytorch}\nresources: {instance_count: 2}\n' >>"$job"
expect_ok ferry run "$job" --name count2
for k in 0 1; do
	$PY - "$FERRY_HOME/jobs/count2/nodes/$k.json" <<'PY' || fail "node $k's rw output figure"
import json, sys
o = json.load(open(sys.argv[1]))["figures"]["outputs"][0]
assert o["bytes"] == 3 and o["mount"]["storage_bytes"] == 3, o
PY
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
[[ -z $(ls "$FERRY_HOME/jobs" 2>/dev/null | grep -v -e mpi1 -e tf1 -e plain3 -e same1 -e count1 -e count2) ]] || fail "a bad job left a folder"
