# lib-slurm.sh — owns what the Slurm tests share: a real Slurm cluster for this test
# (tests/fixtures/slurm.sh, stopped when the test exits; its daemons' logs copied into
# the test's folder when it fails) and a compute target of the test's workspace.
# Source after lib.sh.

# slurm_up [NODES] [CPUS] — start the cluster (skip when Slurm is not installed) and
# create compute `cpu-cluster` (type slurm, partition debug) in this test's workspace.
slurm_up() {
	command -v slurmctld >/dev/null && command -v munged >/dev/null ||
		skip "slurm-wlm/munge not installed (./setup.sh installs them)"
	local env
	env=$("$ROOT/tests/fixtures/slurm.sh" start "${1:-2}" "${2:-4}") || fail "the Slurm fixture did not start"
	eval "$env"
	at_exit _slurm_exit
	cat >"$TEST_TMP/cluster.yml" <<-EOF2
	name: cpu-cluster
	type: slurm
	partition: debug
	EOF2
	ferry compute create --file "$TEST_TMP/cluster.yml" >/dev/null || fail "ferry compute create failed"
}

_slurm_exit() {
	local rc=${_EXIT_RC:-0}
	if [[ $rc -ne 0 && $rc -ne 77 && -n ${FERRY_SLURM_DIR:-} ]]; then
		mkdir -p "$TEST_TMP/slurm-logs"
		cp "$FERRY_SLURM_DIR"/*.log "$TEST_TMP/slurm-logs/" 2>/dev/null || true
	fi
	[[ -z ${FERRY_SLURM_DIR:-} ]] || "$ROOT/tests/fixtures/slurm.sh" stop "$FERRY_SLURM_DIR" >/dev/null 2>&1
}

# slurm_idle — no job of this cluster is left in the queue (waits up to 15 s).
slurm_idle() {
	local i
	for ((i = 0; i < 150; i++)); do
		[[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
		sleep 0.1
	done
	fail "Slurm jobs left in the queue: $(squeue -h -o '%i %T %r' | tr '\n' ' ')"
}

# slurm_job_id JOB — the Slurm job id ferry recorded for JOB (its slurm/submit.json).
slurm_job_id() { sed -n 's/.*"slurm_job_id":"\([0-9]*\)".*/\1/p' "$FERRY_HOME/jobs/$1/slurm/submit.json"; }

# slurm_master JOB — the MASTER_ADDR:MASTER_PORT JOB's batch script chose.
slurm_master() {
	sed -n 's/.*master \([0-9.]*:[0-9]*\)$/\1/p' "$FERRY_HOME/jobs/$1/slurm/slurm-$(slurm_job_id "$1").out"
}

# slurm_marked_input JOB_FILE BODY MARKER — a 2 x 2 pytorch job on cpu-cluster that
# first reads an ro_mount input (datastore azstore, made on first use from Azurite),
# says "rank R started", then runs BODY. Needs the fixtures and lib-mount.sh.
slurm_marked_input() {
	if [[ -z ${_slurm_store:-} ]]; then
		_slurm_store=$(new_container)
		printf 'x,y\n1,2\n' >"$TEST_TMP/train.csv"
		AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/train.csv" \
			"$(az_uri "$_slurm_store" in/train.csv)"
		az_datastore azstore "$_slurm_store"
	fi
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<-YML
	command: >-
	  cat \${{inputs.data}} >/dev/null && echo "rank \$RANK started" && $2
	compute: azureml:cpu-cluster
	inputs:
	  data: {type: uri_file, path: "azureml://datastores/azstore/paths/in/train.csv", mode: ro_mount}
	distribution: {type: pytorch, process_count_per_instance: 2}
	resources: {instance_count: 2}
	YML
}

# slurm_no_sleepers MARKER — no process runs `sleep MARKER` any more (waits up to 10 s).
slurm_no_sleepers() {
	local i
	for ((i = 0; i < 50; i++)); do pgrep -f "sleep $1" >/dev/null || return 0; sleep 0.2; done
	fail "ranks left running: $(pgrep -af "sleep $1")"
}

# slurm_started JOB — wait (up to 30 s) until JOB's 4 ranks said "started".
slurm_started() {
	local i n=0
	for ((i = 0; i < 300; i++)); do
		n=$(cat "$FERRY_HOME/jobs/$1"/user_logs/std_log_process_*.txt 2>/dev/null | grep -c started || true)
		[[ $n -eq 4 ]] && return 0
		sleep 0.1
	done
	fail "job $1: $n of 4 ranks started"
}
