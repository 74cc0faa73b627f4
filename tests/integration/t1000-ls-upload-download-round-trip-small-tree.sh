#!/usr/bin/env bash
# t1000 — owns the basic contract on Azurite via AZURE_STORAGE_CONNECTION_STRING:
# upload of a small nested tree, `ls` and `ls -R` of what landed, download of the
# folder and of one file, byte for byte; the wasbs:// form reaches the same account
# through the connection string's BlobEndpoint.
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

src=$TEST_TMP/src
mk_small_tree "$src" 30 1 16
c=$(new_container)

step "upload of a folder puts its contents under the URI"
expect_ok ferry upload "$src" "$(az_uri "$c" data)"
azcli ls "$c" >"$TEST_TMP/blobs"
assert_eq 30 "$(wc -l <"$TEST_TMP/blobs")" "blob count after upload"
(cd "$src" && find . -type f -printf '%s\tdata/%P\n' | LC_ALL=C sort) >"$TEST_TMP/want"
LC_ALL=C sort "$TEST_TMP/blobs" >"$TEST_TMP/got"
diff "$TEST_TMP/want" "$TEST_TMP/got" || fail "blob names/sizes differ from the source tree"

step "ls lists one level: files as <size>\\t<name>, folders as -\\t<name>/"
ferry ls "$(az_uri "$c" data)" >"$TEST_TMP/ls" 2>"$TEST_TMP/ls.err" || fail "ls failed: $(cat "$TEST_TMP/ls.err")"
(cd "$src" && { find . -mindepth 1 -maxdepth 1 -type f -printf '%s\t%P\n'; find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sed 's|^|-\t|; s|$|/|'; } | LC_ALL=C sort) >"$TEST_TMP/want.ls"
LC_ALL=C sort "$TEST_TMP/ls" | diff "$TEST_TMP/want.ls" - || fail "ls output differs"

step "ls -R lists every file with its path relative to the listed folder"
ferry ls "$(az_uri "$c" data)" -R >"$TEST_TMP/lsr" 2>"$TEST_TMP/ls.err" || fail "ls -R failed: $(cat "$TEST_TMP/ls.err")"
(cd "$src" && find . -type f -printf '%s\t%P\n' | LC_ALL=C sort) >"$TEST_TMP/want.lsr"
grep -v $'^-\t' "$TEST_TMP/lsr" | LC_ALL=C sort | diff "$TEST_TMP/want.lsr" - || fail "ls -R file lines differ"

step "download of a folder puts its contents in DEST"
expect_ok ferry download "$(az_uri "$c" data)" "$TEST_TMP/out"
assert_tree_same "$src" "$TEST_TMP/out"

step "download of a file puts it in DEST under its basename"
one=$(cd "$src" && find . -type f -printf '%P\n' | LC_ALL=C sort | tail -1)
expect_ok ferry download "$(az_uri "$c" "data/$one")" "$TEST_TMP/one"
assert_file_same "$src/$one" "$TEST_TMP/one/$(basename "$one")"

step "upload of a file to a URI ending in / lands at URI/<basename>"
expect_ok ferry upload "$src/$one" "$(az_uri "$c" single/)"
azcli ls "$c" single/ >"$TEST_TMP/single"
assert_eq "$(stat -c %s "$src/$one")	single/$(basename "$one")" "$(cat "$TEST_TMP/single")" "single-file upload"

step "wasbs:// URIs reach the connection string's BlobEndpoint"
expect_ok ferry download "wasbs://$c@devstoreaccount1.blob.core.windows.net/data" "$TEST_TMP/out-wasbs"
assert_tree_same "$src" "$TEST_TMP/out-wasbs"

step "download into a DEST that already holds the files is idempotent"
expect_ok ferry download "$(az_uri "$c" data)" "$TEST_TMP/out"
assert_tree_same "$src" "$TEST_TMP/out"
echo "ok"
