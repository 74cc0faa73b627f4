#!/usr/bin/env bash
# t3400 — owns the job's time series (docs/jobs.md "The time series"): every job
# writes <job>/series.jsonl, one sample a second; a command reading a 256 MiB
# ro_mount input through a throttled link (the fault proxy's shared 16 MiB/s) spends
# more than half of its run waiting on ferry for storage (reader wait), one that
# sleeps between its reads a small part (under a quarter); counters never go down, and the last
# sample equals the job's recorded totals (ferry job show) for every figure.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=120
series() { $PY "$ROOT/tests/fixtures/series.py" "$@"; }

c=$(new_container)
mkdata_random "$TEST_TMP/big.bin" 256M
mkdata_random "$TEST_TMP/small.bin" 8M
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/big.bin" "$(az_uri "$c" in/big.bin)"
expect_ok ferry upload "$TEST_TMP/small.bin" "$(az_uri "$c" small/small.bin)"
unset AZURE_STORAGE_CONNECTION_STRING
az_datastore slow "$c" "$FAULT_URL"
mkdir -p "$TEST_TMP/job"

# totals JOB INPUT — the input's figures from `ferry job show` as "KEY VALUE" lines.
totals() {
	expect_ok ferry job show "$1"
	grep -A1 "^  $2:" "$TEST_TMP/last.stdout" | sed -nE \
		's/^    mount: ([0-9]+) bytes read, cache hit rate [0-9.]+% \(([0-9]+) hits, ([0-9]+) misses\), waited ([0-9.]+) s for storage, ([0-9]+) bytes from storage in ([0-9]+) requests \(([0-9]+) retries\), ([0-9]+) opens, ([0-9]+) read errors$/read \1\nhits \2\nmisses \3\nwait_s \4\nstorage \5\nrequests \6\nretries \7\nopens \8\nerrors \9/p'
}

# same_as_totals JOB INPUT — the last sample of the series equals the recorded totals.
same_as_totals() {
	local f=$FERRY_HOME/jobs/$1/series.jsonl k v got n=0
	while read -r k v; do
		got=$(series "$f" last "$2" "$k")
		if [[ $k == wait_s ]]; then
			$PY -c "import sys; sys.exit(abs($got - $v) > 0.006)" ||
				fail "$1: series wait_s $got, job show says $v"
		else
			assert_eq "$v" "$got" "$1: $k of '$2' in the last sample vs ferry job show"
		fi
		n=$((n + 1))
	done < <(totals "$1" "$2")
	assert_eq 9 "$n" "figures compared for $1"
}

# share_of JOB MIN_SAMPLES — check JOB's series (invariants, at least MIN_SAMPLES
# samples), print the reader-wait share of input 'data' over the command's run.
share_of() {
	local f=$FERRY_HOME/jobs/$1/series.jsonl n share
	[[ -s $f ]] || fail "no time series at $f"
	n=$(series "$f" check) || fail "the series of $1 breaks its invariants"
	((n >= $2)) || fail "$1: $n samples, expected at least $2"
	share=$(series "$f" share data)
	echo "# $1: $n samples, reader wait share $share" >&2
	echo "$share"
}

step "a command reading 256 MiB through a 16 MiB/s link waits on storage for more than half its run"
fault throttle $((16 * 1024 * 1024))
at_exit 'fault throttle 0'
cat >"$TEST_TMP/job/slow.yml" <<YML
command: md5sum \${{inputs.data}}
inputs:
  data: {type: uri_file, path: "azureml://datastores/slow/paths/in/big.bin", mode: ro_mount}
environment_variables:
  DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: "true"
YML
expect_ok ferry run "$TEST_TMP/job/slow.yml" --name slow
fault throttle 0
assert_contains "$TEST_TMP/last.stdout" "$(md5sum <"$TEST_TMP/big.bin" | cut -d' ' -f1)"
share=$(share_of slow 16)
$PY -c "import sys; sys.exit(not $share > 0.5)" || fail "reader wait share $share, expected > 0.5"
read=$(series "$FERRY_HOME/jobs/slow/series.jsonl" last data read)
((read >= 256 * 1024 * 1024)) || fail "the command read $read bytes of 256 MiB" # the kernel may read a page twice
same_as_totals slow data

step "a command that sleeps between its reads waits on storage for a small part of its run"
cat >"$TEST_TMP/job/sleepy.yml" <<YML
command: >-
  for i in 0 1 2 3 4 5 6 7; do dd if=\${{inputs.data}} of=/dev/null bs=1M skip=\$i count=1 status=none; sleep 1; done
inputs:
  data: {type: uri_file, path: "azureml://datastores/slow/paths/small/small.bin", mode: ro_mount}
environment_variables:
  DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: "true"
YML
expect_ok ferry run "$TEST_TMP/job/sleepy.yml" --name sleepy
share=$(share_of sleepy 8)
# 8 cold 1 MiB reads in ~8 s of sleeping: a share near 1 would count the sleeps as
# waiting; the bound leaves room for slow GETs on a loaded machine (each one
# ~0.05 s when quiet)
$PY -c "import sys; sys.exit(not $share < 0.25)" || fail "reader wait share $share, expected < 0.25"
same_as_totals sleepy data

step "an rw_mount output's series counts the files and bytes written through to storage"
cat >"$TEST_TMP/job/writer.yml" <<YML
command: >-
  for i in 1 2 3; do head -c 1048576 /dev/urandom >\${{outputs.out}}/f\$i.bin; done
outputs:
  out: {type: uri_folder, path: "azureml://datastores/slow/paths/written/", mode: rw_mount}
YML
expect_ok ferry run "$TEST_TMP/job/writer.yml" --name writer
f=$FERRY_HOME/jobs/writer/series.jsonl
series "$f" check >/dev/null || fail "the series breaks its invariants"
# the same figures as the mount's own summary ("N uploads (X MiB)"; a new file is
# created in storage empty, then uploaded at its close: two uploads a file)
log=$FERRY_HOME/jobs/writer/logs/system_logs/data_capability/rslex.log
ups=$(sed -nE 's/.*mount summary \(writes\); ([0-9]+) uploads \(([0-9.]+) MiB\).*/\1 \2/p' "$log" | tail -1)
[[ -n $ups ]] || fail "no write summary in $log"
assert_eq "${ups% *}" "$(series "$f" last out files)" "uploads in the series vs the mount's summary"
assert_eq "${ups#* }" "$($PY -c "print('%.1f' % ($(series "$f" last out storage) / 1048576))")" "MiB sent"
((${ups% *} >= 3)) || fail "3 files written, ${ups% *} uploads"
