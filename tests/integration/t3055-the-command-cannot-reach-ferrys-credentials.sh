#!/usr/bin/env bash
# t3055 — owns what the job's command can reach of ferry's credentials (issue 10
# items 5, 14; "Threat model" in docs/architecture.md). While a job with a mounted
# and a downloaded input of an account-key datastore runs, its command finds:
# FERRY_HOME unset; $FERRY_HOME/secrets empty and read-only (a private mount
# namespace covers it); no descriptor but 0, 1 and 2 in the first program it starts
# (not the runtime log, not libcurl's sockets); ferry's /proc/<pid>/environ without the account key it was
# given in AZURE_STORAGE_CONNECTION_STRING; core files off in ferry (and so in the
# command). As root, and as a plain user (nobody), where ferry is non-dumpable so
# /proc/<ferry>/environ and mem cannot even be opened, and user namespaces hide the
# secrets folder.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
echo "input bytes" >"$TEST_TMP/in.txt"
azcli put "$c" data/in.txt "$TEST_TMP/in.txt"

# job CODE HOME MODE — a job (first input in MODE) whose command writes what it can see to its output probe.txt.
job() {
	mkdir -p "$1"
	cat >"$1/probe.sh" <<SH
out=\$1 ferry=\$2
{
	echo "home=\${FERRY_HOME:-unset}"
	ls -A "$2/secrets" | sed 's/^/secret-file: /'
	cat "$2"/secrets/* 2>/dev/null | sed 's/^/secret: /'
	touch "$2/secrets/planted" 2>/dev/null && echo "secrets-writable"
	sed 's/^/fd: /' "\$out/fds.txt"
	echo "fds: \$(awk '/ -> / && \$NF !~ /^\/proc\// {print \$(NF-2)}' "\$out/fds.txt" | sort -n | tr '\n' ' ')"
	rm -f "\$out/fds.txt"
	if tr '\0' '\n' </proc/\$ferry/environ >"\$out/environ" 2>/dev/null; then echo environ-readable; fi
	if head -c 1 /proc/\$ferry/mem >/dev/null 2>&1; then echo mem-readable; fi
	grep '^Max core file size' /proc/\$ferry/limits
	cat "\$out/environ" 2>/dev/null | sed 's/^/ferry-env: /'
	rm -f "\$out/environ"
	cat \$3/in.txt \$4/in.txt | sed 's/^/input: /'
} >"\$out/probe.txt" 2>&1
SH
	cat >"$1/job.yml" <<YML
command: ls -l /proc/self/fd >\${{outputs.probe}}/fds.txt && sh probe.sh \${{outputs.probe}} \$PPID \${{inputs.mounted}} \${{inputs.copied}}
inputs:
  mounted: {type: uri_folder, path: azureml://datastores/azstore/paths/data, mode: $3}
  copied: {type: uri_folder, path: azureml://datastores/azstore/paths/data, mode: download}
outputs:
  probe: {mode: upload}
YML
}

# check PROBE — the assertions shared by both runs.
check() {
	local p=$1
	[[ -f $p ]] || fail "the command wrote no probe"
	cat "$p" | sed 's/^/  probe: /'
	assert_contains "$p" "home=unset" "FERRY_HOME in the command's environment"
	assert_not_contains "$p" "secret-file:" "a file of the secrets folder"
	assert_not_contains "$p" "$AZURITE_KEY" "the account key"
	assert_not_contains "$p" "secrets-writable" "a writable secrets folder"
	assert_eq "fds: 0 1 2 " "$(grep '^fds:' "$p")" "the command's open descriptors"
	grep -q '^Max core file size *0 *0 ' "$p" || fail "ferry may dump core: $(grep 'core file' "$p")"
	assert_eq "input: input bytes
input: input bytes" "$(grep '^input:' "$p")" "both inputs read"
}

step "as root: secrets folder hidden, no FERRY_HOME, no inherited descriptors, no key in ferry's environ"
az_datastore azstore "$c"
[[ -s $FERRY_HOME/secrets/azstore ]] || fail "the datastore's secret file is missing"
job "$TEST_TMP/code" "$FERRY_HOME" ro_mount
# a clean environment: the fixtures' own variables (AZURITE_KEY...) hold the key too
clean_env() { env -i PATH="$PATH" HOME="$HOME" AZURE_STORAGE_CONNECTION_STRING="$AZURITE_CONN" "$@"; }
expect_ok clean_env FERRY_HOME="$FERRY_HOME" "$FERRY" run "$TEST_TMP/code/job.yml" --name rootjob
probe=$FERRY_HOME/datastores/workspaceblobstore/azureml/rootjob/probe/probe.txt
check "$probe"
assert_contains "$probe" "ferry-env: AZURE_STORAGE_CONNECTION_STRING=" "the scrubbed variable in ferry's environ"
assert_contains "$FERRY_HOME/jobs/rootjob/logs/system_logs/data_capability/rslex.log" \
	"$FERRY_HOME/secrets is hidden from it (a private mount namespace"
[[ ! -e $FERRY_HOME/secrets/planted ]] || fail "the command planted a file in the secrets folder"

step "as a plain user: ferry is non-dumpable, a user namespace hides the secrets folder"
[[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1 ||
	{ echo "# not root or no user nobody: plain-user case not run"; echo "ok"; exit 0; }
runuser -u nobody -- test -x "$FERRY" || { echo "# nobody cannot run $FERRY: plain-user case not run"; echo "ok"; exit 0; }
base=$TEST_TMP/user
mkdir -p "$base/home"
job "$base/code" "$base/home" download # FUSE as a plain user: t4070
chown -R nobody "$base"
as_user() { runuser -u nobody -- "$(command -v env)" -i PATH="$PATH" HOME=/nonexistent FERRY_HOME="$base/home" AZURE_STORAGE_CONNECTION_STRING="$AZURITE_CONN" "$@"; }
FERRY_HOME=$base/home az_datastore azstore "$c" # as root, for its secret file
chown -R nobody "$base/home"
as_user "$FERRY" run "$base/code/job.yml" --name userjob >"$TEST_TMP/user.out" 2>&1 ||
	fail "the plain user's job failed: $(tail -c 1500 "$TEST_TMP/user.out")"
probe=$base/home/datastores/workspaceblobstore/azureml/userjob/probe/probe.txt
check "$probe"
assert_not_contains "$probe" "environ-readable" "ferry's /proc environ open to the command"
assert_not_contains "$probe" "mem-readable" "ferry's /proc mem open to the command"
log=$base/home/jobs/userjob/logs/system_logs/data_capability/rslex.log
if grep -q "is hidden from it" "$log"; then
	assert_contains "$log" "private user and mount namespace"
elif grep -q "user namespaces are off" "$log"; then
	echo "# user namespaces are off here: the log says so"
else
	fail "the runtime log says nothing about the secrets folder: $(grep -i secrets "$log")"
fi
echo "ok"
