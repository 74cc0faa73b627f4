#!/usr/bin/env bash
# t3425 — owns `ferry job top` (docs/jobs.md "Live metrics"): in a real terminal
# (tmux, read back with capture-pane) it redraws the running job's figures — the
# job, its status and phase, a row per input with its rates and totals, the
# command's CPU and memory — leaves on q, and ends by itself with a last frame
# when the job ends; without a terminal --once prints one frame; a job without a
# time series or an unknown job is a clear error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fuse
command -v tmux >/dev/null || skip "tmux missing (setup.sh installs it)"
export FERRY_CMD_TIMEOUT=120
sock=ferry-t3425-$$
tm() { tmux -L "$sock" "$@"; }
at_exit "tmux -L $sock kill-server 2>/dev/null"
# wait_pane TEXT — until the pane shows TEXT (20 s at most); the pane is in $TEST_TMP/pane.
wait_pane() {
	for _ in $(seq 200); do
		tm capture-pane -p -t top >"$TEST_TMP/pane" 2>/dev/null || true
		grep -qF -- "$1" "$TEST_TMP/pane" && return 0
		sleep 0.1
	done
	fail "the terminal never showed '$1'; it shows: $(cat "$TEST_TMP/pane")"
}

mkdir -p "$TEST_TMP/job/src" "$TEST_TMP/job/data"
mkdata_random "$TEST_TMP/job/data/a.bin" 16M
cat >"$TEST_TMP/job/job.yml" <<YML
type: command
code: ./src
command: >-
  for i in \$(seq 16); do dd if=\${{inputs.images}}/a.bin of=/dev/null bs=1M count=1 skip=\$((i-1)) status=none;
  sleep 0.1; done; for i in \$(seq 600); do [ -e $TEST_TMP/go ] && exit 0; sleep 0.1; done; exit 3
inputs:
  images:
    type: uri_folder
    path: ./data
    mode: ro_mount
YML

step "a running job in a terminal: name, status, phase, the input's row, the command's figures"
ferry run "$TEST_TMP/job/job.yml" >"$TEST_TMP/run.out" 2>&1 &
run_pid=$!
at_exit "touch '$TEST_TMP/go'; wait $run_pid 2>/dev/null"
for _ in $(seq 200); do [[ -s $FERRY_HOME/jobs/$(ls "$FERRY_HOME/jobs" 2>/dev/null | head -1)/series.jsonl ]] 2>/dev/null && break; sleep 0.1; done
job=$(ls "$FERRY_HOME/jobs")
tm new-session -d -s top -x 150 -y 30 "env FERRY_HOME='$FERRY_HOME' '$FERRY' job top; echo TOP-EXITED \$?; sleep 60"
wait_pane "phase command"
wait_pane "16.0 MiB"   # the input's READ total once the command has read the file
grep -qE "^ferry job top — $job +Running" "$TEST_TMP/pane" || fail "no header line for $job Running: $(cat "$TEST_TMP/pane")"
grep -qE "^images +ro_mount " "$TEST_TMP/pane" || fail "no row for input images: $(cat "$TEST_TMP/pane")"
grep -qE "^command: cpu [0-9]+% +rss [0-9.]+ (B|KiB|MiB)" "$TEST_TMP/pane" || fail "no command line: $(cat "$TEST_TMP/pane")"
grep -qF "(q or Ctrl-C to leave)" "$TEST_TMP/pane" || fail "no hint how to leave"

step "q leaves at once, the job goes on"
tm send-keys -t top q
wait_pane "TOP-EXITED 0"
kill -0 $run_pid 2>/dev/null || fail "the job ended when top was left"

step "top of a job that ends: a last frame with the final status, then it exits by itself"
tm kill-session -t top
tm new-session -d -s top -x 150 -y 30 "env FERRY_HOME='$FERRY_HOME' '$FERRY' job top $job --interval 0.5; echo TOP-EXITED \$?; sleep 60"
wait_pane "phase command"
touch "$TEST_TMP/go"
wait $run_pid || fail "the job failed: $(tail -5 "$TEST_TMP/run.out")"
wait_pane "TOP-EXITED 0"
grep -qE "^ferry job top — $job +Completed" "$TEST_TMP/pane" || fail "the last frame does not say Completed: $(cat "$TEST_TMP/pane")"

step "--once without a terminal: one frame, no terminal codes"
expect_ok ferry job top "$job" --once
grep -qE "^images +ro_mount .*16.0 MiB" "$TEST_TMP/last.stdout" || fail "--once: $(cat "$TEST_TMP/last.stdout")"
! grep -q $'\033' "$TEST_TMP/last.stdout" || fail "--once wrote terminal codes"

step "errors: an unknown job, a job without a time series, a bad option"
expect_fail "no-such-job" ferry job top no-such-job
touch "$TEST_TMP/go"
FERRY_SAMPLE=false expect_ok ferry run "$TEST_TMP/job/job.yml"
other=$(ls -t "$FERRY_HOME/jobs" | head -1)
expect_fail "has no time series" ferry job top "$other" --once
expect_fail "--interval" ferry job top "$job" --interval 0
