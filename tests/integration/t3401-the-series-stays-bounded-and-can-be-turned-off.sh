#!/usr/bin/env bash
# t3401 — owns the time series' bounds and switch (docs/jobs.md "The time series"):
# with FERRY_SAMPLE_MAX_POINTS samples reached, every second sample is dropped and the
# interval doubles — the file never holds more, its counters still only grow and its
# last sample still holds the totals; FERRY_SAMPLE=off (also from the job's
# environment_variables) writes no series, and the report says so.
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=120
series() { $PY "$ROOT/tests/fixtures/series.py" "$@"; }
mkdir -p "$TEST_TMP/data" "$TEST_TMP/job"
mkdata_random "$TEST_TMP/data/a.bin" 4M

step "100 ms samples over a 5 s job, at most 16 kept: thinned, bounded, still the totals"
cat >"$TEST_TMP/job/long.yml" <<YML
command: sleep 2.5 && cat \${{inputs.d}}/a.bin >/dev/null && sleep 2.5
inputs:
  d: {type: uri_folder, path: $TEST_TMP/data, mode: ro_mount}
environment_variables:
  FERRY_SAMPLE_INTERVAL_MS: "100"
  FERRY_SAMPLE_MAX_POINTS: "16"
YML
expect_ok ferry run "$TEST_TMP/job/long.yml" --name long
f=$FERRY_HOME/jobs/long/series.jsonl
n=$(series "$f" check) || fail "the series breaks its invariants"
interval=$(series "$f" header interval_ms)
echo "# $n samples, interval now $interval ms"
((n <= 16)) || fail "$n samples kept, at most 16 allowed"
((n >= 8)) || fail "only $n samples left after thinning"
((interval >= 400)) || fail "the interval should have doubled at least twice (50 samples), it is $interval ms"
assert_eq $((4 * 1024 * 1024)) "$(series "$f" last d read)" "bytes read in the last sample"
expect_ok ferry job show long
assert_contains "$TEST_TMP/last.stdout" "    mount: 4194304 bytes read"

step "FERRY_SAMPLE=off in the job's environment_variables: no series; the report says so"
cat >"$TEST_TMP/job/off.yml" <<YML
command: cat \${{inputs.d}}/a.bin >/dev/null
inputs:
  d: {type: uri_folder, path: $TEST_TMP/data, mode: ro_mount}
environment_variables:
  FERRY_SAMPLE: "off"
YML
expect_ok ferry run "$TEST_TMP/job/off.yml" --name off
[[ ! -e $FERRY_HOME/jobs/off/series.jsonl ]] || fail "FERRY_SAMPLE=off wrote a series"
expect_ok ferry job report off
assert_contains "$FERRY_HOME/jobs/off/report.html" "This job has no time series"

step "FERRY_SAMPLE=off from the environment too"
FERRY_SAMPLE=off expect_ok ferry run "$TEST_TMP/job/long.yml" --name off2
[[ ! -e $FERRY_HOME/jobs/off2/series.jsonl ]] || fail "FERRY_SAMPLE=off wrote a series"

step "a distributed job: one series per node, with each rank's CPU and memory; the report has a section per node"
cat >"$TEST_TMP/job/dist.yml" <<YML
command: cat \${{inputs.d}}/a.bin >/dev/null && sleep 2
inputs:
  d: {type: uri_folder, path: $TEST_TMP/data, mode: ro_mount}
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
YML
expect_ok ferry run "$TEST_TMP/job/dist.yml" --name dist
[[ ! -e $FERRY_HOME/jobs/dist/series.jsonl ]] || fail "a distributed job's series belongs to its nodes"
for k in 0 1; do
	f=$FERRY_HOME/jobs/dist/nodes/$k.series.jsonl
	series "$f" check >/dev/null || fail "node $k: no series or a broken one"
	assert_eq $((4 * 1024 * 1024)) "$(series "$f" last d storage)" "node $k: bytes its mount fetched"
	assert_eq 2 "$($PY -c 'import json,sys; print(max(len(json.loads(l).get("ranks", [])) for l in open(sys.argv[1])))' "$f")" \
		"node $k: ranks sampled"
done
expect_ok ferry job report dist
assert_contains "$FERRY_HOME/jobs/dist/report.html" '<h2 class="node">Node 0</h2>'
assert_contains "$FERRY_HOME/jobs/dist/report.html" '<h2 class="node">Node 1</h2>'
