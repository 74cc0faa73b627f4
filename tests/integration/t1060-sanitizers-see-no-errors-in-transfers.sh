#!/usr/bin/env bash
# t1060 — owns memory and thread safety of the transfer engine under load: upload
# and download of a 100 MiB file and 200 small files with build/asan/ferry
# (AddressSanitizer + UBSan, leaks on) and build/tsan/ferry (ThreadSanitizer,
# halt_on_error=1) finish with exit 0, identical bytes and no sanitizer report.
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_CMD_TIMEOUT=600
export RSLEX_DOWNLOADER_THREADS=8

big=$(cached_random random-100M.bin 100M)
mk_small_tree "$TEST_TMP/src/small" 200 1 32
cp "$big" "$TEST_TMP/src/big.bin"

# san_run LABEL BINARY — round trip with one sanitized binary.
san_run() {
	local label=$1 bin=$2 c out err
	c=$(new_container)
	out=$TEST_TMP/out-$label
	err=$TEST_TMP/$label.stderr
	step "$label: upload of 100 MiB + 200 small files is clean"
	FERRY=$bin expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" run)"
	cp "$LAST_STDERR" "$err.up"
	step "$label: download of the same is clean and identical"
	FERRY=$bin expect_ok ferry download "$(az_uri "$c" run)" "$out"
	cp "$LAST_STDERR" "$err.down"
	assert_tree_same "$TEST_TMP/src" "$out"
	step "$label: a failing download (missing blob) is clean too"
	FERRY=$bin expect_fail "404" ferry download "$(az_uri "$c" run/missing.bin)" "$out-missing"
	cp "$LAST_STDERR" "$err.fail"
	local f
	for f in "$err".*; do
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer|FATAL: ThreadSanitizer' "$f"; then
			fail "$label reported a problem: $(grep -m1 -A30 -E 'ERROR:|runtime error:|WARNING: ThreadSanitizer|FATAL' "$f")"
		fi
	done
}

[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
san_run asan "$FERRY_ASAN"

if [[ ! -x $FERRY_TSAN ]]; then
	grep -q '^tsan:' "$ROOT/Makefile" && fail "TSan build missing: $FERRY_TSAN (make tsan)"
	echo "no tsan target: ThreadSanitizer part not run"
else
	export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
	# TSan needs a predictable address space on kernels with high mmap entropy.
	tsan_bin=$TEST_TMP/ferry-tsan
	printf '#!/bin/sh\nexec setarch "$(uname -m)" -R %q "$@"\n' "$FERRY_TSAN" >"$tsan_bin"
	chmod +x "$tsan_bin"
	san_run tsan "$tsan_bin"
fi
echo "ok"
