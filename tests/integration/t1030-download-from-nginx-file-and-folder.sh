#!/usr/bin/env bash
# t1030 — owns plain HTTP sources: from nginx, a file URI lands as DEST/<basename>
# and a folder URI (nginx's JSON autoindex) lands with its nested contents; a
# missing URL is an error naming 404.
source "$(dirname "$0")/lib.sh"
need_fixtures

web=$NGINX_ROOT/t1030-$$
mkdir -p "$web"
mk_small_tree "$web/tree" 60 1 32
mkdata_random "$web/big.bin" 24M

step "a file over HTTP lands as DEST/<basename>"
expect_ok ferry download "$NGINX_URL/t1030-$$/big.bin" "$TEST_TMP/file"
assert_file_same "$web/big.bin" "$TEST_TMP/file/big.bin"

step "a folder over HTTP (JSON autoindex) lands with all its nested files"
expect_ok ferry download "$NGINX_URL/t1030-$$/tree/" "$TEST_TMP/tree"
assert_tree_same "$web/tree" "$TEST_TMP/tree"

step "ls of an HTTP folder lists files and subfolders"
ferry ls "$NGINX_URL/t1030-$$/tree/" >"$TEST_TMP/ls" 2>"$LAST_STDERR" || fail "ls: $(tail -c 600 "$LAST_STDERR")"
(cd "$web/tree" && { find . -mindepth 1 -maxdepth 1 -type f -printf '%s\t%P\n'; find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sed 's|^|-\t|; s|$|/|'; } | LC_ALL=C sort) >"$TEST_TMP/want.ls"
LC_ALL=C sort "$TEST_TMP/ls" | diff "$TEST_TMP/want.ls" - || fail "ls output differs"

step "a missing URL fails with 404"
expect_fail "404" ferry download "$NGINX_URL/t1030-$$/nope.bin" "$TEST_TMP/missing"
rm -rf "$web"
echo "ok"
