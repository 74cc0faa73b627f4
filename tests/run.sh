#!/usr/bin/env bash
# run.sh — owns the whole test suite: builds ferry (plain, ASan, TSan), checks the
# include layers (tools/check-layers.sh), runs the C unit tests (plain and under
# ASan), starts the fixtures once (Azurite, nginx, the fault proxy; each Slurm test
# starts its own cluster, tests/fixtures/slurm.sh, in about 0.5 s), runs every
# tests/integration/t*.sh in order, and prints TAP-like lines and one summary
# line: `N passed, N failed[, N skipped]`. Each result line ends with the step's
# wall time, `(N s)`; the ten slowest steps are listed before the summary.
#
#   tests/run.sh                 everything
#   tests/run.sh 't10[45]*'      only integration tests whose name matches a pattern
#                                (builds still run; unit tests are left out)
#   tests/run.sh 'fuzz*'         only the fuzz targets (tests/fuzz/, a few seconds each,
#                                FERRY_MAKE_JOBS of them at a time)
#
# Environment: FERRY_TEST_TIMEOUT (seconds per integration test, default 900),
# FERRY_KEEP_TMP=1 (keep every test's folder), FERRY_SKIP_BUILD=1 (use what is built),
# FERRY_FUZZ_SECONDS (seconds of fuzzing per target, default 3).
# Logs of every step: build/test-logs/. Exit status: non-zero if anything failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOGS=$ROOT/build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
JOBS=${FERRY_MAKE_JOBS:-2}
TIMEOUT=${FERRY_TEST_TIMEOUT:-900}

n=0 passed=0 failed=0 skipped=0
failed_names=()
durations=() # "SECONDS<TAB>NAME" per step, for the slowest-ten list
SUITE_START=$SECONDS

# report NAME RC LOG [START] — one result line, with the step's wall time in whole
# seconds when START (a $SECONDS value) is given; a failure shows its log's tail.
report() {
	local name=$1 rc=$2 log=$3 took=""
	n=$((n + 1))
	if [[ -n ${4:-} ]]; then
		took=" ($((SECONDS - $4)) s)"
		durations+=("$((SECONDS - $4))	$name")
	fi
	if [[ $rc -eq 0 ]]; then
		passed=$((passed + 1))
		echo "ok $n - $name$took"
	elif [[ $rc -eq 77 ]]; then
		skipped=$((skipped + 1))
		echo "ok $n - $name$took # skip $(grep -m1 '^skip:' "$log" | sed 's/^skip: *//')"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		local why="exit $rc"
		[[ $rc -eq 124 || $rc -eq 137 ]] && why="timed out"
		echo "not ok $n - $name$took ($why; log: ${log#"$ROOT"/})"
		tail -n 40 "$log" | sed 's/^/#   /'
	fi
}

# step NAME CMD... — run CMD as one numbered result, output to a log.
step() {
	local name=$1 rc=0 log start=$SECONDS
	shift
	log=$LOGS/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log
	"$@" >"$log" 2>&1 || rc=$?
	report "$name" "$rc" "$log" "$start"
}

run_units() { # run_units DIR — every unit test binary in DIR
	local t found=0
	for t in "$1"/*; do
		[[ -x $t && -f $t ]] || continue
		found=1
		echo "--- $t"
		"$t" || return 1
	done
	[[ $found -eq 1 ]] || echo "no unit tests in $1"
}

has_target() { make -n "$1" >/dev/null 2>&1; }

patterns=("$@")
selected() { # selected NAME — does NAME match a pattern (or are there none)?
	local p
	[[ ${#patterns[@]} -eq 0 ]] && return 0
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $p || $1 == $p.sh || $1 == ${p%.sh} ]] && return 0
	done
	return 1
}

# --- builds and unit tests ---------------------------------------------------
if [[ ${FERRY_SKIP_BUILD:-0} != 1 ]]; then
	step "build: make -j$JOBS" make -j"$JOBS"
	step "build: make -j$JOBS asan" make -j"$JOBS" asan
	if has_target tsan; then step "build: make -j$JOBS tsan" make -j"$JOBS" tsan; fi
fi
step "layers: tools/check-layers.sh" tools/check-layers.sh
if [[ ${#patterns[@]} -eq 0 ]]; then
	step "unit: make unit" make unit
	if [[ -d build/asan/unit ]]; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
		step "unit under ASan: build/asan/unit/*" run_units build/asan/unit
	fi
fi

# --- fuzz targets (tests/fuzz/): replay regressions and seeds, fuzz a few seconds
# each under ASan/UBSan; a step per target. Run with no pattern, or 'fuzz*'.
FUZZ_TARGETS=()
for f in tests/fuzz/*.c; do
	[[ -f $f ]] && selected "fuzz-$(basename "$f" .c)" && FUZZ_TARGETS+=("$(basename "$f" .c)")
done
if [[ ${#FUZZ_TARGETS[@]} -gt 0 ]]; then
	if tests/fuzz/run.sh --check >"$LOGS/fuzz-check.log" 2>&1; then
		if [[ ${FERRY_SKIP_BUILD:-0} != 1 ]]; then step "build: make -j$JOBS fuzz" make -j"$JOBS" fuzz; fi
		# $JOBS targets at a time (each fuzzes one core for its seconds; its own
		# temporary corpus and artifact folder), reported in order as steps.
		for ((i = 0; i < ${#FUZZ_TARGETS[@]}; i += JOBS)); do
			batch=("${FUZZ_TARGETS[@]:i:JOBS}") start=$SECONDS
			for t in "${batch[@]}"; do
				(
					rc=0
					tests/fuzz/run.sh --fresh --seconds "${FERRY_FUZZ_SECONDS:-3}" "$t" >"$LOGS/fuzz-$t.log" 2>&1 || rc=$?
					echo "$rc $SECONDS" >"$LOGS/fuzz-$t.rc"
				) &
			done
			wait
			for t in "${batch[@]}"; do
				read -r rc end <"$LOGS/fuzz-$t.rc"
				report "fuzz-$t: replay, then ${FERRY_FUZZ_SECONDS:-3} s under ASan/UBSan" "$rc" "$LOGS/fuzz-$t.log" \
					"$((start + SECONDS - end))"
			done
		done
	else
		report "fuzz: tests/fuzz/*" 77 "$LOGS/fuzz-check.log" # says "skip: ..." and why
	fi
fi

# --- fixtures ----------------------------------------------------------------
export FERRY_TEST_TMP
FERRY_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-tests.XXXXXX")
chmod 755 "$FERRY_TEST_TMP"
export FERRY_TEST_CACHE=$FERRY_TEST_TMP/cache
export FERRY_FIXTURE_DIR=$FERRY_TEST_TMP/fixtures
cleanup() {
	tests/fixtures/services.sh stop >/dev/null 2>&1 || true
	if [[ ${FERRY_KEEP_TMP:-0} == 1 ]]; then
		echo "# kept $FERRY_TEST_TMP"
	else
		rm -rf "$FERRY_TEST_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tests=()
for t in tests/integration/t[0-9]*.sh; do
	[[ -f $t ]] || continue
	selected "$(basename "$t" .sh)" && tests+=("$t")
done

if [[ ${#tests[@]} -gt 0 ]]; then
	fixture_log=$LOGS/fixtures.log
	if env_lines=$(tests/fixtures/services.sh start 2>"$fixture_log"); then
		eval "$env_lines"
		export FERRY=$ROOT/build/ferry FERRY_ASAN=$ROOT/build/asan/ferry FERRY_TSAN=$ROOT/build/tsan/ferry
		for t in "${tests[@]}"; do
			name=$(basename "$t" .sh)
			log=$LOGS/$name.log
			rc=0 start=$SECONDS
			# Each test is its own bash process, bounded in time; its servers and
			# children die with it (timeout signals its whole process group).
			timeout -k 10 "$TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null || rc=$?
			report "$name" "$rc" "$log" "$start"
			# Every test makes its own containers; Azurite keeps all blobs of its
			# life in one LokiJS database it scans and saves whole, so what earlier
			# tests left made later ones slower (2,000 uploads: 2.9x with 22,000
			# blobs left). A failed test's containers stay with FERRY_KEEP_TMP=1.
			if [[ $rc -eq 0 || $rc -eq 77 || ${FERRY_KEEP_TMP:-0} != 1 ]]; then
				/usr/bin/python3 tests/fixtures/azcli.py rmcontainers >/dev/null 2>>"$LOGS/fixtures.log" ||
					echo "# could not delete the containers $name left (see $LOGS/fixtures.log)"
			fi
		done
	else
		report "fixtures: start Azurite, nginx, fault proxy" 1 "$fixture_log"
	fi
fi

if [[ ${#durations[@]} -gt 0 ]]; then
	echo "# slowest steps (of $((SECONDS - SUITE_START)) s in all):"
	printf '%s\n' "${durations[@]}" | sort -t$'\t' -k1,1nr | sed -n 1,10p |
		while IFS=$'\t' read -r secs name; do printf '#   %4d s  %s\n' "$secs" "$name"; done
fi
summary="$passed passed, $failed failed"
[[ $skipped -gt 0 ]] && summary+=", $skipped skipped"
echo "$summary"
[[ $failed -eq 0 ]]
