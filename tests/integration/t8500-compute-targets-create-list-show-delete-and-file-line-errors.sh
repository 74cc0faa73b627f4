#!/usr/bin/env bash
# `ferry compute` keeps Slurm compute targets in the workspace like datastores:
# create/list/show/delete, every field checked with file:line errors; a job whose
# `compute:` names no target runs locally and says so in one line; --compute naming
# no target and --detach without a Slurm compute are errors. No Slurm needed.
source "$(dirname "$0")/lib.sh"

step "create, list, show, replace, delete"
cat >"$TEST_TMP/c.yml" <<'Y'
$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json
name: cpu-cluster
type: slurm
description: the lab's cluster
partition: debug
account: ml-team
qos: normal
time_limit: "02:00:00"
sbatch_args: [--exclusive, "--constraint=avx2"]
Y
expect_ok ferry compute create --file "$TEST_TMP/c.yml"
assert_contains "$TEST_TMP/last.stdout" "compute cpu-cluster created (slurm, partition debug)"
ferry compute list >"$TEST_TMP/list"
assert_contains "$TEST_TMP/list" "cpu-cluster"
assert_contains "$TEST_TMP/list" "ml-team"
ferry compute show cpu-cluster >"$TEST_TMP/show"
for want in "partition:   debug" "account:     ml-team" "qos:         normal" "time_limit:  02:00:00" \
	'sbatch_args: ["--exclusive","--constraint=avx2"]' "description: the lab's cluster"; do
	assert_contains "$TEST_TMP/show" "$want"
done
printf 'name: cpu-cluster\ntype: slurm\n' >"$TEST_TMP/c2.yml"
expect_ok ferry compute create --file "$TEST_TMP/c2.yml"
ferry compute show cpu-cluster >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "partition:   - (the cluster's default)"
assert_contains "$TEST_TMP/show" "account:     -"
expect_ok ferry compute delete cpu-cluster
expect_fail "compute 'cpu-cluster' not found (known: none)" ferry compute show cpu-cluster
expect_fail "not found" ferry compute delete cpu-cluster

step "file:line errors"
bad() { # bad 'YAML' 'expected message'
	printf '%b' "$1" >"$TEST_TMP/bad.yml"
	expect_fail "$2" ferry compute create --file "$TEST_TMP/bad.yml"
}
bad 'name: a\ntype: amlcompute\nsize: STANDARD_D2\n' "bad.yml:2: field 'type': 'amlcompute' is not supported"
bad 'name: a\n' "bad.yml:1: field 'type': required"
bad 'type: slurm\npartition: debug\n' "bad.yml:1: field 'name': required"
bad 'name: a\ntype: slurm\nmin_instances: 0\n' "bad.yml:3: field 'min_instances': unknown field for type slurm"
bad 'name: a b\ntype: slurm\n' "bad.yml:1: field 'name': 'a b' is not a valid name"
bad 'name: a\ntype: slurm\npartition: "de bug"\n' "bad.yml:3: field 'partition'"
bad 'name: a\ntype: slurm\ntime_limit: 2h\n' "bad.yml:3: field 'time_limit': '2h' is not a Slurm time"
bad 'name: a\ntype: slurm\nsbatch_args: --exclusive\n' "bad.yml:3: field 'sbatch_args': expected a list"
bad 'name: a\ntype: slurm\nsbatch_args:\n  - --exclusive\n  - exclusive\n' "bad.yml:5: field 'sbatch_args[1]': 'exclusive' is not an option"
bad 'name: a\ntype: slurm\nsbatch_args: ["--nodes=4"]\n' "bad.yml:3: field 'sbatch_args[0]': '--nodes=4' is set by ferry"
bad 'name: a\ntype: slurm\nsbatch_args: ["-N4"]\n' "'-N4' is set by ferry"
ferry compute list >"$TEST_TMP/list"
[[ $(wc -l <"$TEST_TMP/list") -eq 1 ]] || fail "a refused file left a compute: $(cat "$TEST_TMP/list")"

step "a compute: naming no target of the workspace runs locally, in one line"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'Y'
command: echo ran here > marker.txt
compute: azureml:cpu-cluster
Y
expect_ok ferry run "$TEST_TMP/job/job.yml" --name local1
assert_contains "$LAST_STDERR" "compute 'azureml:cpu-cluster' is not a compute target of this workspace: running locally"
assert_contains "$LAST_STDERR" "ferry compute create --file cluster.yml"
[[ $(grep -c "compute 'azureml:cpu-cluster'" "$LAST_STDERR") -eq 1 ]] || fail "said it more than once"
assert_contains "$TEST_TMP/job/marker.txt" "ran here"
ferry job show local1 >"$TEST_TMP/show"
assert_contains "$TEST_TMP/show" "status:          Completed"

step "--compute naming no target, and --detach without Slurm, are errors"
expect_fail "compute 'nope' not found" ferry run "$TEST_TMP/job/job.yml" --compute nope --name local2
expect_fail "--detach needs a Slurm compute" ferry run "$TEST_TMP/job/job.yml" --detach --name local3
expect_ok ferry run "$TEST_TMP/job/job.yml" --compute local --name local4
assert_not_contains "$LAST_STDERR" "not a compute target"
expect_fail "did not run on a Slurm compute" ferry job stream local1
expect_fail "did not run on a Slurm compute" ferry job cancel local1
echo "ok"
