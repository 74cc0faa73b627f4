#!/usr/bin/env bash
# t1010 — owns the large-file path on Azurite: a 1 GiB file goes up (Put Block +
# Put Block List) and comes back (ranged parts in parallel) with identical bytes,
# and the blob Azurite holds is the same size.
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
size=${T1010_SIZE:-1G}

big=$(cached_random "random-$size.bin" "$size")
c=$(new_container)

step "upload of a $size file completes"
t0=$(date +%s)
expect_ok ferry upload "$big" "$(az_uri "$c" big/file.bin)"
echo "upload took $(seconds_since "$t0") s"
assert_eq "$(stat -c %s "$big")	big/file.bin" "$(azcli ls "$c")" "blob after upload"

step "download of the $size file gives identical bytes"
t0=$(date +%s)
expect_ok ferry download "$(az_uri "$c" big/file.bin)" "$TEST_TMP/out"
echo "download took $(seconds_since "$t0") s"
assert_file_same "$big" "$TEST_TMP/out/file.bin"
assert_eq "file.bin" "$(ls -A "$TEST_TMP/out")" "DEST holds only the file (no temp files)"
echo "ok"
