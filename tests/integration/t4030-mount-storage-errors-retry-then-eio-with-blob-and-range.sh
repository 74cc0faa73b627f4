#!/usr/bin/env bash
# t4030 — owns storage failures under the mount, through the fault proxy: transient
# faults (resets, 503s, truncations) are retried as in downloads and reads stay
# correct; when retries are exhausted a read fails with EIO (whole-file mode: the
# open returns at once, the read waiting for the failed download fails), and the
# runtime log names the blob, the byte range and why.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
need_fault

export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
mkdata_random "$TEST_TMP/src/big.bin" 6M
mk_small_tree "$TEST_TMP/src/tree" 20 1 32
c=$(new_container)
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN FERRY_RETRY_BASE_DELAY_MS=10
log=$FERRY_HOME/logs/mount.log

step "block mode: resets, 503s and truncations are retried; every byte reads back right"
fault clear
fault every "2 reset,503,truncate"
mnt=$TEST_TMP/mnt-retry
mount_at "$(fault_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MB
assert_tree_same "$TEST_TMP/src" "$mnt"
unmount_at "$mnt"

step "whole-file mode: the same faults are retried too"
mnt=$TEST_TMP/mnt-retry-file
mount_at "$(fault_uri "$c" data)" "$mnt"
assert_tree_same "$TEST_TMP/src" "$mnt"
unmount_at "$mnt"

step "block mode, retries off: a read that hits a 503 fails with EIO"
fault clear
fault every "1 503"
mnt=$TEST_TMP/mnt-eio
mount_at "$(fault_uri "$c" data)" "$mnt" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true \
	DATASET_MOUNT_READ_BLOCK_SIZE=1MB AZUREML_DATASET_HTTP_RETRY_COUNT=0
if cat "$mnt/big.bin" >/dev/null 2>"$TEST_TMP/cat.err"; then fail "read succeeded while every GET failed"; fi
assert_contains "$TEST_TMP/cat.err" "Input/output error" "cat's error"
sleep 0.3
grep "read of blob" "$log" | tail -1 >"$TEST_TMP/errline"
assert_contains "$TEST_TMP/errline" "read of blob 'data/big.bin' bytes " "runtime log"
assert_contains "$TEST_TMP/errline" "503" "runtime log reason"

step "block mode: once storage answers again, the same mount reads the file"
fault clear
assert_file_same "$TEST_TMP/src/big.bin" "$mnt/big.bin"
unmount_at "$mnt"

step "whole-file mode, retries off: the read fails with EIO and the log names blob and range"
fault every "1 503"
mnt=$TEST_TMP/mnt-eio-file
mount_at "$(fault_uri "$c" data)" "$mnt" AZUREML_DATASET_HTTP_RETRY_COUNT=0
if cat "$mnt/tree/f00000.bin" >/dev/null 2>"$TEST_TMP/cat.err"; then fail "cat succeeded while every GET failed"; fi
assert_contains "$TEST_TMP/cat.err" "Input/output error" "cat's error"
sleep 0.3
grep "read of blob" "$log" | tail -1 >"$TEST_TMP/errline"
assert_contains "$TEST_TMP/errline" "read of blob 'data/tree/f00000.bin' bytes 0-" "runtime log"
fault clear
unmount_at "$mnt"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
