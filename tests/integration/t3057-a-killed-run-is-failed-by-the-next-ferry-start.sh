#!/usr/bin/env bash
# t3057 — owns the jobs of a ferry that was killed: `ferry run` killed with SIGKILL
# while its download input is in flight leaves a job recorded as Running and the
# download's .part files; the next start of any ferry command marks the job Failed
# ("ferry was killed", on stderr and in the job's runtime log) and removes those
# temporaries. A job whose ferry is alive is never reaped, however many ferry
# commands start meanwhile (issue 10 item 8: the liveness lock of job/jobclaim.h).
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=120 FERRY_STALL_TIMEOUT_SECONDS=60
status_of() { ferry job show "$1" 2>>"$TEST_TMP/reap.err" | sed -n 's/^status: *//p'; }

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
azcli put "$c" data/big.bin "$big"

step "a live job is left alone by other ferry starts"
# the command runs until the test lets it end (events, not a time window)
cat >"$TEST_TMP/live.yml" <<YML
command: touch $TEST_TMP/started; while [ ! -e $TEST_TMP/go ]; do sleep 0.1; done; echo finished
YML
"$FERRY" run "$TEST_TMP/live.yml" --name live >"$TEST_TMP/live.out" 2>&1 &
live=$!
for _ in $(seq 300); do
	[[ -e $TEST_TMP/started ]] && break
	sleep 0.1
done
[[ -e $TEST_TMP/started ]] || fail "the live job's command did not start within 30 s: $(tail -c 400 "$TEST_TMP/live.out")"
for _ in 1 2 3 4 5 6; do
	sleep 0.5
	assert_eq Running "$(status_of live)" "status of the live job while it runs"
done
touch "$TEST_TMP/go"
wait "$live" || fail "the live job failed: $(tail -c 400 "$TEST_TMP/live.out")"
assert_eq Completed "$(status_of live)" "status of the live job at its end"
assert_not_contains "$TEST_TMP/reap.err" "ferry was killed"

step "kill -9 of ferry run mid-download: the job stays Running, .part files stay"
fault clear
fault every "1 stall" # every data request stalls: the download is in flight
cat >"$TEST_TMP/job.yml" <<YML
command: ls \${{inputs.data}}
inputs:
  data:
    type: uri_file
    path: $(fault_uri "$c" data/big.bin)
    mode: download
YML
AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN "$FERRY" run "$TEST_TMP/job.yml" --name killed \
	>"$TEST_TMP/killed.out" 2>&1 &
pid=$!
jobdir=$FERRY_HOME/jobs/killed
parts=0
for _ in $(seq 1 40); do
	sleep 0.25
	parts=$(find "$jobdir" -name '*.part' 2>/dev/null | wc -l)
	((parts > 0)) && break
done
((parts > 0)) || fail "no .part file appeared under $jobdir: $(tail -c 400 "$TEST_TMP/killed.out")"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
fault clear
# the record as the killed ferry left it, read straight from the database (any
# ferry command would reap it first)
assert_eq Running "$($PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select status from jobs where name=?",("killed",)).fetchone()[0])' "$FERRY_HOME/ferry.db")" \
	"recorded status right after the kill"

step "the next ferry start marks it Failed and removes its temporaries"
ferry job list >"$TEST_TMP/list" 2>"$TEST_TMP/reap1.err" || fail "job list failed: $(cat "$TEST_TMP/reap1.err")"
assert_contains "$TEST_TMP/reap1.err" "job killed: ferry was killed"
assert_eq Failed "$(status_of killed)" "status after the next start"
assert_eq 0 "$(find "$jobdir" -name '*.part' | wc -l)" ".part files left under the job folder"
assert_contains "$jobdir/logs/system_logs/data_capability/rslex.log" "ferry was killed"
assert_eq Completed "$(status_of live)" "the finished job is untouched"

step "it is reaped once: the following start says nothing"
ferry job list >/dev/null 2>"$TEST_TMP/reap2.err" || fail "job list failed"
assert_not_contains "$TEST_TMP/reap2.err" "ferry was killed"
echo "ok"
