#!/usr/bin/env bash
# t1070 — owns secret hygiene: with -v (verbose), over successful and failing
# requests, with an account key (good and wrong) and with a SAS token (in the
# environment and in the URI), neither the key, nor the SAS signature, nor a Shared
# Key Authorization value appears on stderr, stdout, or in any file under FERRY_HOME.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
unset AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN

c=$(new_container)
echo "some data" >"$TEST_TMP/f.txt"
azcli put "$c" data/f.txt "$TEST_TMP/f.txt"
sas=$(azcli sas --perms rl)
sig=$(echo "$sas" | tr '&' '\n' | sed -n 's/^sig=//p')
sig_plain=$($PY -c 'import sys,urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$sig")
bad_key=$(echo "$AZURITE_KEY" | sed 's/^./\L&/')
bad_conn=${AZURITE_CONN/AccountKey=$AZURITE_KEY/AccountKey=$bad_key}
bad_sas=${sas/sig=/sig=AAAA}
out=$TEST_TMP/out.txt
: >"$out"

run_case() { # run_case LABEL EXPECT(ok|fail|any) CMD... — append stdout+stderr to $out
	local label=$1 want=$2 rc=0
	shift 2
	step "$label"
	"$@" >>"$out" 2>&1 || rc=$?
	if [[ $want == ok && $rc -ne 0 ]]; then fail "$label: exited $rc: $(tail -c 600 "$out")"; fi
	if [[ $want == fail && $rc -eq 0 ]]; then fail "$label: expected a failure"; fi
	[[ $rc -lt 124 ]] || fail "$label: crashed (exit $rc): $(tail -c 600 "$out")"
}

AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN run_case "good key, verbose download" ok \
	ferry -v download "$(az_uri "$c" data)" "$TEST_TMP/d1"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN run_case "good key, verbose upload and ls" ok \
	ferry -v upload "$TEST_TMP/f.txt" "$(az_uri "$c" up/)"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN run_case "good key, verbose ls" ok ferry -v ls "$(az_uri "$c")" -R
AZURE_STORAGE_CONNECTION_STRING=$bad_conn run_case "wrong key, verbose download" fail \
	ferry -v download "$(az_uri "$c" data)" "$TEST_TMP/d2"
AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_KEY=$bad_key run_case "wrong key in AZURE_STORAGE_KEY" fail \
	ferry -v download "$(az_uri "$c" data/f.txt)" "$TEST_TMP/d3"
AZURE_STORAGE_SAS_TOKEN=$sas run_case "SAS token from the environment" ok \
	ferry -v download "$(az_uri "$c" data)" "$TEST_TMP/d4"
run_case "SAS token in the URI (accepted or refused, never echoed)" any ferry -v download "$(az_uri "$c" data/f.txt)?$sas" "$TEST_TMP/d5"
run_case "wrong SAS signature in the URI" any ferry -v download "$(az_uri "$c" data/f.txt)?$bad_sas" "$TEST_TMP/d6"
AZURE_STORAGE_SAS_TOKEN=$bad_sas run_case "wrong SAS token from the environment" fail \
	ferry -v download "$(az_uri "$c" data/f.txt)" "$TEST_TMP/d7"
assert_file_same "$TEST_TMP/f.txt" "$TEST_TMP/d4/f.txt"

step "no key, signature or Authorization value in output or under FERRY_HOME"
echo "(checked $(wc -l <"$out") lines of output and $(find "$FERRY_HOME" -type f | wc -l) files under FERRY_HOME)"
check_secret() { # check_secret WHAT VALUE
	[[ -n $2 ]] || fail "empty secret for $1"
	if grep -qF -- "$2" "$out"; then fail "$1 appears in ferry's output: $(grep -F -- "$2" "$out" | head -3)"; fi
	if grep -rqF -- "$2" "$FERRY_HOME"; then fail "$1 appears in $(grep -rlF -- "$2" "$FERRY_HOME" | head -3)"; fi
}
check_secret "the account key" "$AZURITE_KEY"
check_secret "the account key's first 16 characters" "${AZURITE_KEY:0:16}"
check_secret "the wrong key" "$bad_key"
check_secret "the SAS signature" "$sig"
check_secret "the SAS signature (decoded)" "$sig_plain"
check_secret "the wrong SAS signature" "AAAA$sig"
if grep -rqE 'SharedKey [A-Za-z0-9]+:[A-Za-z0-9+/=]{16,}' "$out" "$FERRY_HOME"; then
	fail "a Shared Key Authorization value appears: $(grep -rhE 'SharedKey [A-Za-z0-9]+:' "$out" "$FERRY_HOME" | head -2)"
fi
leaked=$(grep -rhoE 'sig=[A-Za-z0-9%+/]{8,}' "$out" "$FERRY_HOME" | grep -vx 'sig=REDACTED' || true)
[[ -z $leaked ]] || fail "a sig= value appears: $(echo "$leaked" | head -2)"
echo "ok"
