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
	trap _slurm_exit EXIT
	cat >"$TEST_TMP/cluster.yml" <<-EOF2
	name: cpu-cluster
	type: slurm
	partition: debug
	EOF2
	ferry compute create --file "$TEST_TMP/cluster.yml" >/dev/null || fail "ferry compute create failed"
}

_slurm_exit() {
	local rc=$?
	if [[ $rc -ne 0 && $rc -ne 77 && -n ${FERRY_SLURM_DIR:-} ]]; then
		mkdir -p "$TEST_TMP/slurm-logs"
		cp "$FERRY_SLURM_DIR"/*.log "$TEST_TMP/slurm-logs/" 2>/dev/null || true
	fi
	[[ -n ${FERRY_SLURM_DIR:-} ]] && "$ROOT/tests/fixtures/slurm.sh" stop "$FERRY_SLURM_DIR" >/dev/null 2>&1
	(exit "$rc")
	_lib_cleanup
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
