#!/usr/bin/env bash
# t4140 — owns the read-write mount under the sanitizers: the ASan/UBSan and TSan
# builds serve `ferry mount --rw` while the mixed workload, four parallel writers
# and a short fsx run go through it; the mount server's reports (its stderr is
# /dev/null, so they go to files via log_path) must be empty. A lock taken in the
# wrong order while a new file's stage was made was found this way (TSan).
# No suppressions: release waits for reads in flight (fs.c), so TSan sees the order.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=600
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
mk_small_tree "$TEST_TMP/par" 40 1 200

san_mount() { # san_mount LABEL BINARY
	local label=$1 bin=$2 mnt=$TEST_TMP/mnt-$1 logs=$TEST_TMP/san-$1
	mkdir -p "$mnt" "$logs"
	_MOUNTS+=("$mnt")
	local c
	c=$(new_container)
	FERRY=$bin expect_ok ferry mount --rw "$(az_uri "$c" out)" "$mnt" --set FERRY_UPLOAD_SINGLE_PUT_MAX=1MB \
		--set FERRY_TRANSFER_PART_SIZE=1MB
	$PY "$ROOT/tests/tools/mixed_writes.py" "$mnt/mixed" 4140 8 >/dev/null || fail "$label: workload failed"
	(cd "$TEST_TMP/par" && find . -type d -exec mkdir -p "$mnt/par/{}" \; &&
		find . -type f -print0 | xargs -0 -P 4 -I{} cp {} "$mnt/par/{}") 2>"$TEST_TMP/par.err" ||
		fail "$label: parallel writers failed: $(cat "$TEST_TMP/par.err")"
	$PY "$ROOT/tests/tools/fsx.py" "$mnt/fsx" --ops 600 --seed 4140 >/dev/null || fail "$label: fsx found a mismatch"
	assert_tree_same "$TEST_TMP/par" "$mnt/par"
	FERRY=$bin unmount_at "$mnt"
	sleep 1
	local f
	for f in "$logs"/*; do
		[[ -e $f ]] || continue
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer|FATAL: ThreadSanitizer' "$f"; then
			fail "$label reported a problem: $(grep -m1 -A30 -E 'ERROR:|runtime error:|WARNING: ThreadSanitizer|FATAL' "$f")"
		fi
	done
	expect_ok ferry download "$(az_uri "$c" out/par)" "$TEST_TMP/got-$label"
	assert_tree_same "$TEST_TMP/par" "$TEST_TMP/got-$label"
}

step "ASan/UBSan: the rw mount server reports nothing"
[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
ASAN_OPTIONS=detect_leaks=1:log_path=$TEST_TMP/san-asan/report UBSAN_OPTIONS=print_stacktrace=1:log_path=$TEST_TMP/san-asan/ubsan \
	san_mount asan "$FERRY_ASAN"

step "TSan: the rw mount server reports nothing"
[[ -x $FERRY_TSAN ]] || fail "TSan build missing: $FERRY_TSAN (make tsan)"
tsan_bin=$TEST_TMP/ferry-tsan
printf '#!/bin/sh\nexec setarch "$(uname -m)" -R %q "$@"\n' "$FERRY_TSAN" >"$tsan_bin"
chmod +x "$tsan_bin"
TSAN_OPTIONS="second_deadlock_stack=1:log_path=$TEST_TMP/san-tsan/report" san_mount tsan "$tsan_bin"
assert_no_mounts_under "$TEST_TMP"
echo ok
