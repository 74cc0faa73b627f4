#!/usr/bin/env bash
# t3300 — owns a local distributed pytorch job (issue 11): 2 nodes x 2 ranks run as
# N node agents, every rank gets torchrun's and Azure ML's variables (checked one by
# one), a real torch.distributed gloo all-reduce across the 4 ranks gives 1+2+3+4,
# every rank's output lands in the one output folder, each rank has its own
# std_log_process_<rank>.txt, the summary lists each node and the total, and the
# job record says Completed. A job without distribution still gets std_log_process_0.txt.
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=90
$PY -c 'import torch.distributed' 2>/dev/null || skip "no torch under $PY (setup.sh installs python3-torch)"

mkdir -p "$TEST_TMP/job"
cp "$ROOT/tests/data/dist/allreduce.py" "$TEST_TMP/job/"
cat >"$TEST_TMP/job/job.yml" <<YML
command: $PY allreduce.py \${{outputs.out}} allreduce
code: .
outputs:
  out: {type: uri_folder, mode: upload}
distribution:
  type: pytorch
  process_count_per_instance: 2
resources:
  instance_count: 2
  instance_type: Standard_NC6
YML

step "2 nodes x 2 ranks run, the gloo all-reduce completes on every rank"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name pt1
assert_contains "$LAST_STDERR" "2 nodes x 2 processes (pytorch)"
assert_contains "$LAST_STDERR" "resources: instance_type is read but not used"
assert_contains "$LAST_STDERR" "job pt1 Completed (exit code 0)"
assert_contains "$LAST_STDERR" "node 0 Completed"
assert_contains "$LAST_STDERR" "node 1 Completed"
assert_contains "$LAST_STDERR" "total:"
assert_contains "$TEST_TMP/last.stdout" "rank 0 done 10.0" # rank 0's output reaches the terminal
assert_not_contains "$TEST_TMP/last.stdout" "rank 3 done" # the others only their logs

step "every rank's result is in the one output folder, with its exact environment"
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/pt1/out
[[ -d $out ]] || fail "no output folder $out"
assert_eq "rank_0.json rank_1.json rank_2.json rank_3.json" "$(cd "$out" && echo *)" "output files"
$PY - "$out" <<'PY' || fail "rank environments are not what torchrun / Azure ML give"
import json, os, sys
out = sys.argv[1]
ports = set()
for r in range(4):
    rec = json.load(open(os.path.join(out, "rank_%d.json" % r)))
    e = rec["env"]
    node, local = divmod(r, 2)
    want = {"RANK": r, "LOCAL_RANK": local, "WORLD_SIZE": 4, "LOCAL_WORLD_SIZE": 2, "NODE_RANK": node,
            "GROUP_RANK": node, "ROLE_RANK": r, "ROLE_WORLD_SIZE": 4, "MASTER_ADDR": "127.0.0.1",
            "AZUREML_RUN_ID": "pt1"}
    for k, v in want.items():
        assert e.get(k) == str(v), (r, k, e.get(k), v)
    for k in ("TF_CONFIG", "OMPI_COMM_WORLD_RANK", "AZ_BATCH_MASTER_NODE"):
        assert k not in e, (r, k)
    assert rec["allreduce"] == 10.0, rec
    assert rec["dist_rank"] == r and rec["dist_world"] == 4, rec
    ports.add(e["MASTER_PORT"])
assert len(ports) == 1 and 1024 <= int(ports.pop()) <= 65535
PY

step "each rank has its own std_log_process_<rank>.txt; each node its data-capability log"
job=$FERRY_HOME/jobs/pt1
for r in 0 1 2 3; do
	assert_contains "$job/user_logs/std_log_process_$r.txt" "rank $r done 10.0"
done
[[ ! -e $job/user_logs/std_log_process_4.txt ]] || fail "a fifth rank log"
for k in 0 1; do
	assert_contains "$job/logs/system_logs/data_capability/node_$k/data-capability.log" \
		"Activity=upload, HowEnded=Success"
	assert_contains "$job/nodes/$k.json" '"status":"Completed"'
done

step "the job record: Completed, exit code 0, the Azure fields kept"
expect_ok ferry job show pt1
assert_contains "$TEST_TMP/last.stdout" "Completed"
assert_contains "$TEST_TMP/last.stdout" "instance_count"
assert_contains "$TEST_TMP/last.stdout" "user_logs/std_log_process_<rank>.txt"

step "a job without distribution: one process, std_log.txt and std_log_process_0.txt"
cat >"$TEST_TMP/job/one.yml" <<'YML'
command: echo "one RANK=${RANK:-unset}"
YML
expect_ok ferry run "$TEST_TMP/job/one.yml" --name one1
assert_contains "$FERRY_HOME/jobs/one1/user_logs/std_log.txt" "one RANK=unset"
assert_contains "$FERRY_HOME/jobs/one1/user_logs/std_log_process_0.txt" "one RANK=unset"
