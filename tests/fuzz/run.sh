#!/usr/bin/env bash
# run.sh — owns running the libFuzzer targets of tests/fuzz/ (built by `make fuzz`
# into build/fuzz/). For each target: replays its regression cases
# (tests/fuzz/regressions/<t>/, inputs that once crashed ferry) and its seeds
# (tests/fuzz/corpus/<t>/), then fuzzes for --seconds with the dictionary
# tests/fuzz/<t>.dict when there is one, and prints one summary line:
#   fuzz <t>: <executions> execs in <s> s, cov <edges> ft <features>, corpus <n> inputs
# New inputs go to build/fuzz/work/<t>/ (kept, so long runs build on each other;
# --fresh uses a temporary folder, and keeps no log), crashes to
# build/fuzz/artifacts/<t>/, libFuzzer's log to build/fuzz/<t>.log.
#
#   tests/fuzz/run.sh --check                exit 77 unless clang's libFuzzer works
#   tests/fuzz/run.sh [--seconds N] [--fresh] [TARGET...]   (default: all, 60 s each)
#
# Exit status: 0, or 1 when a regression case, a seed or a fuzzed input crashed,
# leaked or hit undefined behaviour (the log names the artifact).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
seconds=60 fresh=0 targets=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--check)
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' >"$tmp/t.c"
		if ${FUZZ_CC:-clang} -fsanitize=fuzzer,address,undefined -o "$tmp/t" "$tmp/t.c" >"$tmp/log" 2>&1; then
			exit 0
		fi
		echo "skip: clang's libFuzzer is not installed (apt-get install clang libclang-rt-14-dev; ./setup.sh does)"
		exit 77 ;;
	--seconds) seconds=$2; shift ;;
	--fresh) fresh=1 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
if [[ ${#targets[@]} -eq 0 ]]; then
	for f in tests/fuzz/*.c; do targets+=("$(basename "$f" .c)"); done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Leaks are findings too; a crash stops the run with exit status 1.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
	bin=build/fuzz/$t
	[[ -x $bin ]] || { echo "fuzz $t: $bin is not built (make fuzz)"; status=1; continue; }
	opts=(-error_exitcode=1 -timeout=10 -rss_limit_mb=2048)
	[[ -f tests/fuzz/$t.dict ]] && opts+=(-dict="tests/fuzz/$t.dict")
	[[ $t == jobspec || $t == datastore || $t == data_asset || $t == mltable ]] && opts+=(-dict=tests/fuzz/yaml.dict)
	# Replay: every regression case and seed once, each must pass.
	replay=()
	for d in tests/fuzz/regressions/$t tests/fuzz/corpus/$t; do
		[[ -d $d ]] && for f in "$d"/*; do [[ -f $f ]] && replay+=("$f"); done
	done
	if [[ ${#replay[@]} -gt 0 ]] && ! "$bin" "${opts[@]}" "${replay[@]}" >"$tmp/$t.replay.log" 2>&1; then
		echo "fuzz $t: a regression case or seed fails:"
		grep -E 'Running:|ERROR|SUMMARY|runtime error' "$tmp/$t.replay.log" | tail -n 20
		status=1
		continue
	fi
	echo "fuzz $t: ${#replay[@]} regression cases and seeds replayed"
	work=build/fuzz/work/$t
	[[ $fresh -eq 1 ]] && work=$tmp/work-$t
	mkdir -p "$work" "build/fuzz/artifacts/$t"
	log=build/fuzz/$t.log
	[[ $fresh -eq 1 ]] && log=$tmp/$t.log # a short run beside a long one: logs apart
	rc=0
	"$bin" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="build/fuzz/artifacts/$t/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	echo "fuzz $t: ${execs:-?} execs in $seconds s, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} inputs"
	if [[ $rc -ne 0 ]]; then
		echo "fuzz $t: FOUND A BUG (exit $rc); log $log:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|#[0-9]+ *(DONE|pulse)' "$log" | tail -n 20
		status=1
	fi
done
exit $status
