#!/usr/bin/env bash
# On a real 2-node Slurm cluster, a job asking for 3 nodes fails at once with an
# error naming the partition and its node count (Slurm itself would keep it pending
# forever and block the queue behind it); nothing is left queued. An unknown
# partition and an sbatch refusal are clear errors too; a job Slurm accepts but keeps
# pending for a reason that never clears is cancelled and fails, not waited on forever.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-slurm.sh"
slurm_up 2

mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'Y'
command: echo should not run
compute: azureml:cpu-cluster
distribution:
  type: pytorch
  process_count_per_instance: 1
resources:
  instance_count: 3
Y

step "3 nodes asked, 2 exist: a clear error within seconds, nothing queued"
FERRY_CMD_TIMEOUT=30 expect_fail "asks for 3 nodes (resources.instance_count) but partition 'debug' of compute 'cpu-cluster' has 2" \
	ferry run "$TEST_TMP/job/job.yml" --name big
[[ -z $(squeue -h -o %i) ]] || fail "something was queued: $(squeue -h)"
expect_fail "job 'big' not found" ferry job show big

step "the same through --compute, and detached"
printf 'command: "true"\nresources:\n  instance_count: 5\ndistribution:\n  type: mpi\n' >"$TEST_TMP/job/j2.yml"
FERRY_CMD_TIMEOUT=30 expect_fail "asks for 5 nodes" ferry run "$TEST_TMP/job/j2.yml" --compute cpu-cluster --detach
[[ -z $(squeue -h -o %i) ]] || fail "something was queued: $(squeue -h)"

step "an unknown partition is named, with the ones that exist"
printf 'name: gpu\ntype: slurm\npartition: gpu\n' >"$TEST_TMP/gpu.yml"
expect_ok ferry compute create --file "$TEST_TMP/gpu.yml"
FERRY_CMD_TIMEOUT=30 expect_fail "the cluster has no partition 'gpu' (partitions: debug, short)" \
	ferry run "$TEST_TMP/job/j2.yml" --compute gpu

step "sbatch's own refusal reaches the user, and the job is recorded Failed"
printf 'name: picky\ntype: slurm\npartition: debug\nsbatch_args: ["--constraint=no-such-feature"]\n' >"$TEST_TMP/picky.yml"
expect_ok ferry compute create --file "$TEST_TMP/picky.yml"
printf 'command: "true"\nresources:\n  instance_count: 1\n' >"$TEST_TMP/job/j1.yml"
FERRY_CMD_TIMEOUT=30 expect_fail "sbatch (submitting the job to Slurm) failed" \
	ferry run "$TEST_TMP/job/j1.yml" --compute picky --name picky1
assert_contains "$LAST_STDERR" "Invalid feature specification"
ferry job show picky1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Failed"
[[ -z $(squeue -h -o %i) ]] || fail "something was queued: $(squeue -h)"

step "a job Slurm accepts but can never start (10 min asked, the partition allows 1): cancelled, Failed"
printf 'name: short\ntype: slurm\npartition: short\ntime_limit: "10"\n' >"$TEST_TMP/short.yml"
expect_ok ferry compute create --file "$TEST_TMP/short.yml"
FERRY_CMD_TIMEOUT=30 expect_fail "Slurm cannot run this job" ferry run "$TEST_TMP/job/j1.yml" --compute short --name short1
assert_contains "$LAST_STDERR" "cancelling it"
ferry job show short1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Failed"
slurm_idle
echo "ok"
