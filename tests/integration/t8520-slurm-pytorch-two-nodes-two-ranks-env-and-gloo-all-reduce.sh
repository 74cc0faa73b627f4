#!/usr/bin/env bash
# On a real 2-node Slurm cluster (tests/fixtures/slurm.sh), `compute: azureml:cpu-cluster`
# runs a 2 nodes x 2 ranks pytorch job as ONE Slurm job of 2 nodes: one ferry node
# agent per node under srun, every rank with torchrun's and Azure ML's variables
# (MASTER_ADDR = the first node's NodeAddr, MASTER_PORT from the Slurm job id), a real
# gloo all-reduce across the 4 ranks, rank 0's output live on ferry's stdout, each
# rank's log, each node's report, the record Completed, the named output registered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-slurm.sh"
export FERRY_CMD_TIMEOUT=90
$PY -c 'import torch.distributed' 2>/dev/null || skip "no torch under $PY (setup.sh installs python3-torch)"
slurm_up 2

mkdir -p "$TEST_TMP/job"
cp "$ROOT/tests/data/dist/allreduce.py" "$TEST_TMP/job/"
cat >"$TEST_TMP/job/job.yml" <<YML
command: $PY allreduce.py \${{outputs.out}} allreduce
code: .
compute: azureml:cpu-cluster
outputs:
  out: {type: uri_folder, mode: upload, name: pt-out}
distribution:
  type: pytorch
  process_count_per_instance: 2
resources:
  instance_count: 2
YML

step "ferry run follows the Slurm job to its end"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name pt1
assert_contains "$LAST_STDERR" "submitted to compute cpu-cluster as Slurm job"
assert_contains "$LAST_STDERR" "2 nodes x 2 processes (pytorch)"
assert_contains "$LAST_STDERR" "job pt1 running on n[1-2]"
assert_contains "$LAST_STDERR" "job pt1 Completed (exit code 0)"
assert_contains "$LAST_STDERR" "node 0 Completed"
assert_contains "$LAST_STDERR" "node 1 Completed"
assert_contains "$TEST_TMP/last.stdout" "rank 0 done 10.0" # rank 0 streamed from its log
assert_not_contains "$TEST_TMP/last.stdout" "rank 3 done"
id=$(slurm_job_id pt1)
[[ -n $id ]] || fail "no Slurm job id in submit.json"

step "one Slurm job of 2 nodes, srun running one ferry _node per node (the contract)"
scontrol -o show job "$id" >"$TEST_TMP/sjob"
assert_contains "$TEST_TMP/sjob" "NumNodes=2 "
assert_contains "$TEST_TMP/sjob" "JobState=COMPLETED"
assert_contains "$FERRY_HOME/jobs/pt1/slurm/job.sh" 'srun -N "$nodes" --ntasks-per-node=1 --kill-on-bad-exit=1'
assert_contains "$FERRY_HOME/jobs/pt1/slurm/job.sh" '_node --job-dir "$dir" --nodes "$nodes"'
master=$(slurm_master pt1)
[[ -n $master ]] || fail "the batch script did not say its master: $(cat "$FERRY_HOME/jobs/pt1/slurm/slurm-$id.out")"

step "every rank has its environment, and the all-reduce summed 1+2+3+4"
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/pt1/out
assert_eq "rank_0.json rank_1.json rank_2.json rank_3.json" "$(cd "$out" && echo *)" "output files"
$PY - "$out" "$master" <<'PY' || fail "rank environments are not what torchrun / Azure ML give"
import json, os, sys
out, master = sys.argv[1], sys.argv[2]
addr, port = master.split(":")
for r in range(4):
    rec = json.load(open(os.path.join(out, "rank_%d.json" % r)))
    e = rec["env"]
    node, local = divmod(r, 2)
    want = {"RANK": r, "LOCAL_RANK": local, "WORLD_SIZE": 4, "LOCAL_WORLD_SIZE": 2, "NODE_RANK": node,
            "GROUP_RANK": node, "ROLE_RANK": r, "ROLE_WORLD_SIZE": 4, "MASTER_ADDR": addr,
            "MASTER_PORT": port, "AZUREML_RUN_ID": "pt1"}
    for k, v in want.items():
        assert e.get(k) == str(v), (r, k, e.get(k), v)
    for k in ("TF_CONFIG", "OMPI_COMM_WORLD_RANK"):
        assert k not in e, (r, k)
    assert rec["allreduce"] == 10.0 and rec["dist_rank"] == r and rec["dist_world"] == 4, rec
PY

step "logs per rank, a report per node, the record"
job=$FERRY_HOME/jobs/pt1
for r in 0 1 2 3; do assert_contains "$job/user_logs/std_log_process_$r.txt" "rank $r done 10.0"; done
for k in 0 1; do assert_contains "$job/nodes/$k.json" '"status":"Completed"'; done
ferry job show pt1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Completed"
assert_contains "$TEST_TMP/show" "exit_code:       0"
assert_contains "$TEST_TMP/show" "compute:         cpu-cluster (Slurm job $id)"
assert_contains "$TEST_TMP/show" "slurm:           $job/slurm/"
assert_contains "$TEST_TMP/show" "azureml:pt-out:1"  # the named output, registered once every node completed
grep -Eq "^  out: .*Completed, [0-9]+ bytes, 4 files" "$TEST_TMP/show" || # both nodes' files summed
	fail "the record's output does not sum the nodes' figures: $(grep -A1 '^outputs' "$TEST_TMP/show")"
ferry job stream pt1 >"$TEST_TMP/stream.out" 2>"$TEST_TMP/stream.err" || fail "job stream of an ended job failed"
assert_contains "$TEST_TMP/stream.out" "rank 0 done 10.0"
assert_contains "$TEST_TMP/stream.err" "job pt1 Completed (exit code 0)"
slurm_idle
grep -q " $FERRY_HOME/" /proc/mounts && fail "mounts left: $(grep " $FERRY_HOME/" /proc/mounts)"
echo "ok"
