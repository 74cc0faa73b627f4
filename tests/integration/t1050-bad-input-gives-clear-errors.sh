#!/usr/bin/env bash
# t1050 — owns bad input: a wrong account key, a missing blob, blob names that would
# escape DEST, and unparseable URIs each end in a clear `ferry: error:` naming what
# went wrong and a non-zero exit (never a crash), and nothing is written outside DEST.
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_CMD_TIMEOUT=120

c=$(new_container)
echo hello >"$TEST_TMP/hello.txt"
azcli put "$c" data/hello.txt "$TEST_TMP/hello.txt"

step "a wrong account key fails with 403 and the storage error code"
# Alter one character of the key: still valid base64, wrong signature.
bad_key=$(echo "$AZURITE_KEY" | sed 's/^./\L&/; t; s/^./A/')
[[ $bad_key != "$AZURITE_KEY" ]] || bad_key="A${AZURITE_KEY:1}"
bad_conn=${AZURITE_CONN/AccountKey=$AZURITE_KEY/AccountKey=$bad_key}
for uri in "$(az_uri "$c" data/hello.txt)" "$(az_uri "$c" data)"; do
	AZURE_STORAGE_CONNECTION_STRING=$bad_conn expect_fail "403" ferry download "$uri" "$TEST_TMP/wrongkey"
	grep -qE 'AuthenticationFailed|AuthorizationFailure' "$LAST_STDERR" ||
		fail "403 error lacks the storage code: $(cat "$LAST_STDERR")"
done
AZURE_STORAGE_CONNECTION_STRING=$bad_conn expect_fail "403" ferry ls "$(az_uri "$c" data)"

step "a missing blob fails with 404 and names the blob"
expect_fail "404" ferry download "$(az_uri "$c" data/no-such-file.bin)" "$TEST_TMP/missing"
assert_contains "$LAST_STDERR" "no-such-file.bin" "stderr"

step "a missing container fails with 404"
expect_fail "404" ferry download "$(az_uri "nosuchcontainer$$" data/x)" "$TEST_TMP/missing2"

traversal_case() { # traversal_case BLOB_NAME
	local name=$1 tc work
	tc=$(new_container)
	azcli put "$tc" ok/good.txt "$TEST_TMP/hello.txt"
	azcli put "$tc" "$name" "$TEST_TMP/hello.txt"
	work=$TEST_TMP/trav-$RANDOM
	mkdir -p "$work/a/b"
	expect_fail "$name" ferry download "$(az_uri "$tc")" "$work/a/b/dest"
	echo "  stderr: $(tail -n 1 "$LAST_STDERR")"
	# Nothing may exist under $work except DEST itself and what is inside it.
	local outside
	outside=$(cd "$work" && find . -mindepth 1 ! -path './a' ! -path './a/b' ! -path './a/b/dest' ! -path './a/b/dest/*')
	[[ -z $outside ]] || fail "blob '$name' wrote outside DEST: $outside"
	[[ ! -e $TEST_TMP/evil.txt && ! -e $TEST_TMP/x ]] || fail "blob '$name' escaped to $TEST_TMP"
}
step "a blob named '../../evil.txt' is refused by name; nothing is written outside DEST"
traversal_case "../../evil.txt"
step "a blob named 'a/../../x' is refused by name; nothing is written outside DEST"
traversal_case "a/../../x"

step "unparseable or unsupported URIs fail with an error quoting the URI"
for uri in "wasbs://no-account-here" "ftp://example/x" "azureml://datastores//paths/x"; do
	expect_fail "$uri" ferry download "$uri" "$TEST_TMP/bad"
	grep -q '^ferry: error:' "$LAST_STDERR" || fail "no 'ferry: error:' for $uri: $(cat "$LAST_STDERR")"
done

step "a DEST that is an existing file is refused before anything is fetched"
echo keep >"$TEST_TMP/destfile"
expect_fail "not a folder" ferry download "$(az_uri "$c" data)" "$TEST_TMP/destfile"
assert_eq keep "$(cat "$TEST_TMP/destfile")" "the file given as DEST"

step "XML that is not a List Blobs answer is a clear error, not a crash"
mkdir -p "$NGINX_ROOT/devstoreaccount1"
# nginx plays the Blob endpoint: it answers any GET of the container with this HTML
printf '<html><body>not xml' >"$NGINX_ROOT/devstoreaccount1/fake-$$"
AZURE_STORAGE_CONNECTION_STRING= expect_fail "not a valid List Blobs response" ferry ls "$NGINX_URL/devstoreaccount1/fake-$$/"
rm -f "$NGINX_ROOT/devstoreaccount1/fake-$$"

step "a missing argument is a usage error (exit 2)"
rc=0
ferry download "$(az_uri "$c" data)" >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 2 "$rc" "exit status of 'ferry download URI' with no DEST"
echo "ok"
