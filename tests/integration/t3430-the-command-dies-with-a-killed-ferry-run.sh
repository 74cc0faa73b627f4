#!/usr/bin/env bash
# t3430 — owns "a job's command does not outlive `ferry run`": kill -9 of `ferry run`
# while its command runs (a shell with a background and a foreground child, an
# ro_mount input and an rw_mount output) stops the whole command — every process of
# its group — within seconds, and leaves no mount behind; the job is then reaped as
# Failed. A distributed job whose `ferry run` and node agents are all killed with -9
# at once (nothing is left to forward a signal) loses its ranks too: each agent's
# watchdog (job/watchdog.h) stops them.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=60

c=$(new_container)
printf 'payload\n' >"$TEST_TMP/p.txt"
azcli put "$c" in/p.txt "$TEST_TMP/p.txt"
az_datastore az "$c"

# wait_gone WHAT PID... — until none of PIDs is alive (20 s at most)
wait_gone() {
	local what=$1 i p left
	shift
	for ((i = 0; i < 200; i++)); do
		left=
		for p in "$@"; do alive "$p" && left+=" $p"; done
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	fail "$what still alive 20 s after the kill:$left ($(ps -o pid,stat,args -p "${left# }" 2>&1 | tail -n +2))"
}
# wait_unmounted — until no mount under this test's folder is left (20 s at most)
wait_unmounted() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -qF "$TEST_TMP" /proc/mounts || return 0
		sleep 0.1
	done
	fail "mounts left behind: $(grep -F "$TEST_TMP" /proc/mounts)"
}
# wait_file FILE — until FILE is not empty (20 s at most)
wait_file() {
	local i
	for ((i = 0; i < 200; i++)); do [[ -s $1 ]] && return 0; sleep 0.1; done
	fail "$1 did not appear"
}

step "kill -9 of ferry run stops its command's whole process group and leaves no mount"
cat >"$TEST_TMP/job.yml" <<YML
command: >-
  cat \${{inputs.data}}/p.txt >\${{outputs.out}}/copy.txt &&
  { sleep 300 & echo \$! >$TEST_TMP/bg.pid; } &&
  sh -c 'echo \$\$ >$TEST_TMP/fg.pid; exec sleep 301' &&
  echo finished
inputs:
  data: {type: uri_folder, path: "azureml://datastores/az/paths/in/", mode: ro_mount}
outputs:
  out: {type: uri_folder, path: "azureml://datastores/az/paths/out/", mode: rw_mount}
environment_variables: {FERRY_KILL_GRACE_SECONDS: "2"}
YML
"$FERRY" run "$TEST_TMP/job.yml" --name k1 >"$TEST_TMP/k1.out" 2>"$TEST_TMP/k1.err" &
run_pid=$!
wait_file "$TEST_TMP/bg.pid"
wait_file "$TEST_TMP/fg.pid"
bg=$(cat "$TEST_TMP/bg.pid") fg=$(cat "$TEST_TMP/fg.pid")
alive "$bg" && alive "$fg" || fail "the command's processes are not running"
grep -qF "$FERRY_HOME/jobs/k1" /proc/mounts || fail "the job's folders are not mounted while it runs"
shell=$(ps -o ppid= -p "$fg" | tr -d ' ')
kill -9 "$run_pid"
wait "$run_pid" 2>/dev/null || true
wait_gone "the command (shell $shell, background $bg, foreground $fg)" "$shell" "$bg" "$fg"
wait_unmounted
assert_contains "$TEST_TMP/k1.err" "ferry run died; stopping its command"
assert_not_contains "$TEST_TMP/k1.out" "finished"
"$FERRY" job show k1 >"$TEST_TMP/show" 2>&1 || true
assert_contains "$TEST_TMP/show" "Failed"

step "kill -9 of ferry run and every node agent at once: the ranks stop too"
cat >"$TEST_TMP/dist.yml" <<YML
command: cat \${{inputs.data}}/p.txt && echo \$\$ >$TEST_TMP/rank-\$RANK.pid && sleep 300
inputs:
  data: {type: uri_folder, path: "azureml://datastores/az/paths/in/", mode: ro_mount}
distribution: {type: pytorch, process_count_per_instance: 1}
resources: {instance_count: 2}
environment_variables: {FERRY_KILL_GRACE_SECONDS: "2"}
YML
"$FERRY" run "$TEST_TMP/dist.yml" --name d1 >"$TEST_TMP/d1.out" 2>"$TEST_TMP/d1.err" &
run_pid=$!
wait_file "$TEST_TMP/rank-0.pid"
wait_file "$TEST_TMP/rank-1.pid"
agents=$(pgrep -P "$run_pid" -f -- "_node --job-dir $FERRY_HOME/jobs/d1 " | tr '\n' ' ')
[[ $(wc -w <<<"$agents") -eq 2 ]] || fail "expected 2 node agents, found: $agents"
kill -9 "$run_pid" $agents
wait "$run_pid" 2>/dev/null || true
wait_gone "the ranks" "$(cat "$TEST_TMP/rank-0.pid")" "$(cat "$TEST_TMP/rank-1.pid")"
wait_unmounted
echo ok
