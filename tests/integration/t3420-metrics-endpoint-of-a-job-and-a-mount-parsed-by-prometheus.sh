#!/usr/bin/env bash
# t3420 — owns FERRY_METRICS_ADDR (docs/jobs.md "Live metrics"): a running job serves
# its time series' newest figures as Prometheus text at http://ADDR/metrics, read
# here by the Prometheus project's own parser (python3-prometheus-client); a
# standalone `ferry mount` serves its counters the same way. The figures are the
# real ones (bytes the command read, exactly), the phase follows the job, only
# /metrics exists, only GET/HEAD; a bad address is a clear error before anything
# runs; a port in use warns (job) or fails the mount and leaves nothing mounted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fuse
$PY -c 'import prometheus_client' 2>/dev/null || skip "python3-prometheus-client missing (setup.sh installs it)"
export FERRY_CMD_TIMEOUT=120
scrape() { $PY "$ROOT/tests/fixtures/scrape.py" "$@"; }

mkdir -p "$TEST_TMP/job/src" "$TEST_TMP/job/data"
mkdata_random "$TEST_TMP/job/data/a.bin" 24M
# The command reads the whole file (the kernel's read-ahead cannot add to that), says so, then waits for the test to let it finish.
cat >"$TEST_TMP/job/job.yml" <<YML
type: command
code: ./src
command: >-
  cat \${{inputs.d}}/a.bin >/dev/null && touch $TEST_TMP/read-done &&
  for i in \$(seq 600); do [ -e $TEST_TMP/go ] && exit 0; sleep 0.1; done; exit 3
inputs:
  d:
    type: uri_folder
    path: ./data
    mode: ro_mount
YML

step "a running job's /metrics: every family, the bytes the command read, the phase"
port=$(scrape free-port)
url=http://127.0.0.1:$port/metrics
FERRY_METRICS_ADDR=:$port ferry run "$TEST_TMP/job/job.yml" >"$TEST_TMP/run.out" 2>&1 &
run_pid=$!
at_exit "touch '$TEST_TMP/go'; wait $run_pid 2>/dev/null"
for _ in $(seq 300); do [[ -e $TEST_TMP/read-done ]] && break; sleep 0.1; done
[[ -e $TEST_TMP/read-done ]] || fail "the command never read its input: $(tail -5 "$TEST_TMP/run.out")"
job=$(ls "$FERRY_HOME/jobs")
io=(job="$job" io=d dir=input mode=ro_mount)
read=$(scrape "$url" wait ferry_io_read_bytes_total $((24 << 20)) "${io[@]}")
assert_eq $((24 << 20)) "$read" "bytes the command read, as /metrics says"
scrape "$url" families >"$TEST_TMP/families"
for f in "ferry_io_read_bytes counter" "ferry_io_storage_bytes counter" "ferry_io_requests counter" \
	"ferry_io_reader_wait_seconds counter" "ferry_io_cache_hits counter" "ferry_io_cache_misses counter" \
	"ferry_io_cache_disk_bytes gauge" "ferry_command_cpu_seconds counter" "ferry_command_rss_bytes gauge" \
	"ferry_cache_disk_free_bytes gauge" "ferry_job_phase gauge" "ferry_job_elapsed_seconds gauge"; do
	grep -qxF "$f" "$TEST_TMP/families" || fail "no family '$f' in /metrics: $(tr '\n' ';' <"$TEST_TMP/families")"
done
assert_eq 1 "$(scrape "$url" get ferry_job_phase job="$job" phase=command)" "phase command while the command runs"
assert_eq 0 "$(scrape "$url" get ferry_job_phase job="$job" phase=inputs)" "phase inputs while the command runs"
storage=$(scrape "$url" get ferry_io_storage_bytes_total "${io[@]}")
[[ ${storage%.*} -ge $((24 << 20)) ]] || fail "storage bytes $storage below what the command read"
rss=$(scrape "$url" get ferry_command_rss_bytes job="$job")
[[ ${rss%.*} -gt 0 ]] || fail "the command's RSS reads $rss while it runs"
assert_eq 404 "$(scrape "http://127.0.0.1:$port/other" status)" "a path other than /metrics"
assert_eq 405 "$(scrape "$url" status POST)" "POST /metrics"
assert_eq 200 "$(scrape "$url" status HEAD)" "HEAD /metrics"
touch "$TEST_TMP/go"
wait $run_pid || fail "the job failed: $(tail -5 "$TEST_TMP/run.out")"
assert_contains "$FERRY_HOME/jobs/$job/logs/system_logs/data_capability/rslex.log" "metrics at http://127.0.0.1:$port/metrics"
assert_eq 000 "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" "/metrics after the job ended"

step "a bad FERRY_METRICS_ADDR fails the job before anything runs, naming the variable"
rm -f "$TEST_TMP/read-done"
FERRY_METRICS_ADDR=999.1.1.1:80 expect_fail "FERRY_METRICS_ADDR" ferry run "$TEST_TMP/job/job.yml"
FERRY_METRICS_ADDR=:70000 expect_fail "FERRY_METRICS_ADDR" ferry run "$TEST_TMP/job/job.yml"
[[ ! -e $TEST_TMP/read-done ]] || fail "the command ran despite a bad FERRY_METRICS_ADDR"

step "a port in use: the job runs with a warning naming the address"
$PY -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); open(sys.argv[2],"w").close(); time.sleep(60)' \
	"$port" "$TEST_TMP/held" &
holder=$!
at_exit "kill $holder 2>/dev/null"
for _ in $(seq 50); do [[ -e $TEST_TMP/held ]] && break; sleep 0.1; done
[[ -e $TEST_TMP/held ]] || fail "could not hold port $port for the test"
touch "$TEST_TMP/go"
FERRY_METRICS_ADDR=127.0.0.1:$port expect_ok ferry run "$TEST_TMP/job/job.yml"
assert_contains "$LAST_STDERR" "cannot serve metrics at 127.0.0.1:$port"

step "ferry mount serves its own counters; a taken port fails the mount and leaves nothing mounted"
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
expect_fail "cannot serve metrics at 127.0.0.1:$port" env FERRY_METRICS_ADDR=$port "$FERRY" mount "$TEST_TMP/job/data" "$mnt"
! is_mounted "$mnt" || fail "$mnt is mounted after the mount failed"
kill $holder
wait $holder 2>/dev/null || true
mport=$(scrape free-port)
FERRY_METRICS_ADDR=127.0.0.1:$mport mount_at "$TEST_TMP/job/data" "$mnt"
cat "$mnt/a.bin" >/dev/null
m=(mount="$mnt" mode=ro_mount)
murl=http://127.0.0.1:$mport/metrics
assert_eq $((24 << 20)) "$(scrape "$murl" get ferry_io_read_bytes_total "${m[@]}")" "bytes read through the mount"
assert_eq 1 "$(scrape "$murl" get ferry_io_opens_total "${m[@]}")" "opens of the mount"
expect_ok ferry unmount "$mnt"
