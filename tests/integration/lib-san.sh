# lib-san.sh — owns running ferry's sanitizer builds (build/tsan, build/asan) in the
# integration tests: a folder of report files per build, the environment that sends
# the reports there, and the check that a run left none. Sourced after lib.sh.

# no_reports LABEL DIR — fail when a file in DIR holds a sanitizer report (ASan, LSan,
# UBSan, TSan), or, with a third argument `empty`, when DIR holds any file at all.
no_reports() {
	local f
	for f in "$2"/*; do
		[[ -e $f ]] || continue
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer|FATAL: ThreadSanitizer' "$f"; then
			fail "$1 reported a problem: $(grep -m1 -A30 -E 'ERROR:|runtime error:|WARNING: ThreadSanitizer|FATAL' "$f")"
		fi
	done
	if [[ ${3:-} == empty ]] && ls "$2" | grep -q .; then
		fail "$1 left report files: $(ls "$2")"
	fi
	return 0
}

# with_sanitizers FN — run `FN tsan BINARY`, then `FN asan BINARY`, each with SAN_LOGS
# an empty folder that TSAN_OPTIONS, or ASAN_OPTIONS and UBSAN_OPTIONS, send reports
# to (exit status 66 on a report). BINARY runs the TSan build with a fixed address
# space (setarch -R): TSan needs one on kernels with high mmap entropy.
with_sanitizers() {
	local fn=$1 tsan_bin=$TEST_TMP/ferry-tsan
	[[ -x $FERRY_TSAN ]] || fail "TSan build missing: $FERRY_TSAN (make tsan)"
	SAN_LOGS=$TEST_TMP/tsan-reports
	mkdir -p "$SAN_LOGS"
	export TSAN_OPTIONS="log_path=$SAN_LOGS/tsan:second_deadlock_stack=1:exitcode=66"
	printf '#!/bin/sh\nexec setarch "$(uname -m)" -R %q "$@"\n' "$FERRY_TSAN" >"$tsan_bin"
	chmod +x "$tsan_bin"
	"$fn" tsan "$tsan_bin"
	unset TSAN_OPTIONS

	[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
	SAN_LOGS=$TEST_TMP/asan-reports
	mkdir -p "$SAN_LOGS"
	export ASAN_OPTIONS="log_path=$SAN_LOGS/asan:detect_leaks=1:exitcode=66"
	export UBSAN_OPTIONS="log_path=$SAN_LOGS/ubsan:print_stacktrace=1"
	"$fn" asan "$FERRY_ASAN"
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

# need_asan_lib — skip unless the ASan/UBSan build of libferry.so is built (make asan);
# sets ASAN_LIB to it.
need_asan_lib() {
	ASAN_LIB=$ROOT/build/asan/libferry.so
	[[ -f $ASAN_LIB ]] || skip "build/asan/libferry.so not built (make asan)"
}

# py_under_asan SECONDS OK_LINE SCRIPT ARGS... — Debian's python3 runs SCRIPT with the
# ferry package over the ASan/UBSan libferry.so (libasan and libubsan preloaded; leak
# checking off: the interpreter keeps memory until exit), bounded by SECONDS. Its output
# goes to $TEST_TMP/smoke.out and then to the log; the test fails when it exits non-zero
# (66 on a report), when the output holds a sanitizer report, or when it lacks OK_LINE
# (the line SCRIPT prints when it reaches its end).
py_under_asan() {
	local secs=$1 ok=$2 out=$TEST_TMP/smoke.out
	shift 2
	[[ -n ${ASAN_LIB:-} ]] || need_asan_lib
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
		PYTHONPATH=$ROOT/python FERRY_LIB=$ASAN_LIB timeout -k 5 "$secs" "$PY" "$@" \
		>"$out" 2>&1 || { cat "$out"; fail "python under ASan"; }
	cat "$out"
	assert_not_contains "$out" "runtime error" "UBSan"
	assert_not_contains "$out" "ERROR: AddressSanitizer" "ASan"
	assert_contains "$out" "$ok"
}
