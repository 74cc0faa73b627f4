#!/usr/bin/env bash
# t4120 — owns the read-write mount's data path under an fsx-style exerciser
# (tests/tools/fsx.py): thousands of random writes (also past the end), truncates
# down and up, reads and re-reads, fsyncs and close/reopen cycles (each close
# uploads, each reopen for writing fetches the file again, read-only reopens go
# through the read caches) on four files, every byte checked against an in-memory
# model; after unmounting, storage holds exactly the model. Once in whole-file mode,
# once in block mode, with small upload blocks so large files go as several blocks.
# Seeds are fixed (FSX_SEED overrides) and printed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=600
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
c=$(new_container)
seed=${FSX_SEED:-4120}

run_fsx() { # run_fsx NAME SEED [SETTING=VALUE]...
	local name=$1 s=$2 mnt=$TEST_TMP/mnt-$1
	shift 2
	local sets=(--set FERRY_UPLOAD_SINGLE_PUT_MAX=1MB --set FERRY_TRANSFER_PART_SIZE=512KB) a
	for a in "$@"; do sets+=(--set "$a"); done
	mkdir -p "$mnt"
	_MOUNTS+=("$mnt")
	expect_ok ferry mount --rw "$(az_uri "$c" "$name")" "$mnt" "${sets[@]}"
	$PY "$ROOT/tests/tools/fsx.py" "$mnt" --ops 2500 --seed "$s" --model-out "$TEST_TMP/model-$name" \
		>"$TEST_TMP/fsx-$name.out" 2>&1 || fail "fsx found a mismatch: $(tail -20 "$TEST_TMP/fsx-$name.out")"
	cat "$TEST_TMP/fsx-$name.out"
	unmount_at "$mnt"
	expect_ok ferry download "$(az_uri "$c" "$name")" "$TEST_TMP/got-$name"
	assert_tree_same "$TEST_TMP/model-$name" "$TEST_TMP/got-$name"
}

step "whole-file mode: 2500 random operations match the model, and so does storage (seed $seed)"
run_fsx whole "$seed"

step "block mode: the same with another seed ($((seed + 1)))"
run_fsx block $((seed + 1)) DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=256KB

step "the log shows uploads and no failure"
assert_contains "$FERRY_HOME/logs/mount.log" "0 files not uploaded"
assert_not_contains "$FERRY_HOME/logs/mount.log" "failed"
assert_no_mounts_under "$TEST_TMP"
echo ok
