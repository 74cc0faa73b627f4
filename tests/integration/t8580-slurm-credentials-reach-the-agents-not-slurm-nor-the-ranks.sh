#!/usr/bin/env bash
# A Slurm job reading an Azurite input with AZURE_STORAGE_CONNECTION_STRING from
# ferry's environment: the node agents get the credential and stage the input, but
# Slurm never holds it (sbatch's environment, which slurmctld stores in its state
# files, lacks it), the ranks never see it, and the 0600 file that carried it to the
# nodes is gone once the job ended. Ordinary variables still reach the ranks.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-slurm.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60
slurm_up 2

c=$(new_container)
mkdata_random "$TEST_TMP/in.bin" 100K
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/in.bin" "$(az_uri "$c" in.bin)"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<YML
command: >-
  cmp \${{inputs.data}} $TEST_TMP/in.bin && env > \${{outputs.out}}/env_\$RANK.txt
compute: azureml:cpu-cluster
inputs:
  data: {type: uri_file, path: "$(az_uri "$c" in.bin)", mode: download}
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: pytorch, process_count_per_instance: 1}
resources: {instance_count: 2}
YML

step "the agents stage the input with the credential from ferry's environment"
conn=$AZURITE_CONN
key=${AZURITE_KEY:0:24}
( # the fixtures' own variables hold the key too: only the credential variable may
	unset AZURITE_KEY AZURITE_CONN FAULT_CONN
	AZURE_STORAGE_CONNECTION_STRING=$conn ORDINARY_VAR=still-here \
		expect_ok ferry run "$TEST_TMP/job/job.yml" --name cred1
) || exit 1
assert_contains "$LAST_STDERR" "job cred1 Completed (exit code 0)"

step "the ranks never see it; ordinary variables reach them"
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/cred1/out
for r in 0 1; do
	assert_contains "$out/env_$r.txt" "ORDINARY_VAR=still-here"
	assert_not_contains "$out/env_$r.txt" "AZURE_STORAGE_CONNECTION_STRING"
	assert_not_contains "$out/env_$r.txt" "$key"
done

step "Slurm does not hold it, and its carrier file is gone"
id=$(slurm_job_id cred1)
held=$(grep -rl "ORDINARY_VAR=still-here" "$FERRY_SLURM_DIR/state" 2>/dev/null | head -1)
[[ -n $held ]] || fail "no stored environment of job $id found under $FERRY_SLURM_DIR/state (test cannot check)"
assert_not_contains "$held" "AZURE_STORAGE_CONNECTION_STRING"
if grep -rqF "$key" "$FERRY_SLURM_DIR/state" "$FERRY_HOME/jobs/cred1"; then
	fail "the key is stored in: $(grep -rlF "$key" "$FERRY_SLURM_DIR/state" "$FERRY_HOME/jobs/cred1")"
fi
[[ ! -e $FERRY_HOME/jobs/cred1/slurm/secrets.env ]] || fail "secrets.env left in the job folder"
echo "ok"
