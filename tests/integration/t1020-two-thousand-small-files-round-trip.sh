#!/usr/bin/env bash
# t1020 — owns many-small-files behaviour on Azurite: 2,000 files of 1–64 KiB in
# nested folders go up and come back as the same tree, listing pages included
# (more than one 5,000-result page is not needed to page: ferry's page size may be
# smaller; `ls -R` must list all 2,000).
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
count=${T1020_COUNT:-2000}

src=$TEST_TMP/src
mk_small_tree "$src" "$count" 1 64
c=$(new_container)

step "upload of $count small files in nested folders"
t0=$(date +%s)
expect_ok ferry upload "$src" "$(az_uri "$c" tree)"
echo "upload took $(seconds_since "$t0") s"
assert_eq "$count" "$(azcli ls "$c" | wc -l)" "blob count"

step "ls -R lists all $count files"
ferry ls "$(az_uri "$c" tree)" -R >"$TEST_TMP/lsr" 2>"$LAST_STDERR" || fail "ls -R: $(tail -c 600 "$LAST_STDERR")"
assert_eq "$count" "$(grep -vc $'^-\t' "$TEST_TMP/lsr")" "files listed by ls -R"

step "download gives back the same tree, byte for byte"
t0=$(date +%s)
expect_ok ferry download "$(az_uri "$c" tree)" "$TEST_TMP/out"
echo "download took $(seconds_since "$t0") s"
assert_tree_same "$src" "$TEST_TMP/out"
echo "ok"
