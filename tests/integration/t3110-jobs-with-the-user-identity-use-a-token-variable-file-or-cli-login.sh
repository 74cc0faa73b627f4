#!/usr/bin/env bash
# t3110 — owns `identity: {type: user_identity}`: the user's own token reaches an
# OAuth-checking Azurite from AZURE_ACCESS_TOKEN, from AZURE_ACCESS_TOKEN_FILE (a raw
# token, or the JSON of `az account get-access-token`), and from the Azure CLI's
# cached login (msal_token_cache.json); the job reads and writes, the token never
# reaches the command's environment, and an expired or missing token is a clear error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-oauth.sh"
export FERRY_CMD_TIMEOUT=120

oauth_azurite
no_identity_env
token_server u
token_server short --lifetime 1

c=$(new_container)
printf 'user data\n' >"$TEST_TMP/in.txt"
azcli put "$c" in/data.txt "$TEST_TMP/in.txt"

# mint SERVER — one token from a server's IMDS endpoint, as the JSON it answers
mint() { curl -s -H 'Metadata: true' "$(eval echo "\$TS_URL_$1")/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/"; }
json_field() { $PY -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

mkdir -p "$TEST_TMP/job"
# job_yml NAME — reads in/data.txt (file, download) and writes out/NAME/, dumps its env.
job_yml() {
	cat >"$TEST_TMP/job/$1.yml" <<YML
command: >-
  cp \${{inputs.data}} \${{outputs.result}}/copy.txt && env > $TEST_TMP/env-$1.txt
inputs:
  data: {type: uri_file, path: "$AZURITE_URL/$c/in/data.txt", mode: download}
outputs:
  result: {type: uri_folder, mode: upload, path: "$AZURITE_URL/$c/out/$1/"}
identity:
  type: user_identity
YML
}
check_out() {
	azcli get "$c" "out/$1/copy.txt" "$TEST_TMP/$1.txt"
	assert_file_same "$TEST_TMP/in.txt" "$TEST_TMP/$1.txt"
}

step "AZURE_ACCESS_TOKEN: the job reads and writes; the command does not see the token"
tok=$(mint u | json_field access_token)
job_yml var
AZURE_ACCESS_TOKEN=$tok expect_ok ferry run "$TEST_TMP/job/var.yml" --name var
check_out var
assert_not_contains "$TEST_TMP/env-var.txt" "$tok" "the command's environment"
assert_not_contains "$TEST_TMP/env-var.txt" "AZURE_ACCESS_TOKEN=" "the command's environment"

step "AZURE_ACCESS_TOKEN_FILE with a raw token"
mint u | json_field access_token >"$TEST_TMP/token.raw"
job_yml rawfile
AZURE_ACCESS_TOKEN_FILE=$TEST_TMP/token.raw expect_ok ferry run "$TEST_TMP/job/rawfile.yml" --name rawfile
check_out rawfile

step "AZURE_ACCESS_TOKEN_FILE with the JSON of az account get-access-token"
mint u | $PY -c 'import json,sys; t=json.load(sys.stdin); print(json.dumps({"accessToken": t["access_token"], "expires_on": int(t["expires_on"]), "subscription": "s", "tenant": "t", "tokenType": "Bearer"}))' >"$TEST_TMP/token.json"
job_yml jsonfile
AZURE_ACCESS_TOKEN_FILE=$TEST_TMP/token.json expect_ok ferry run "$TEST_TMP/job/jsonfile.yml" --name jsonfile
check_out jsonfile

step "the Azure CLI's cached login (AZURE_CONFIG_DIR/msal_token_cache.json)"
mkdir -p "$TEST_TMP/azcfg"
mint u | $PY -c '
import json, sys
t = json.load(sys.stdin)
print(json.dumps({"AccessToken": {
  "k1": {"credential_type": "AccessToken", "secret": "not-for-storage", "target": "https://management.core.windows.net//.default", "expires_on": t["expires_on"]},
  "k2": {"credential_type": "AccessToken", "secret": t["access_token"], "target": "https://storage.azure.com/.default", "expires_on": t["expires_on"]}}}))' \
	>"$TEST_TMP/azcfg/msal_token_cache.json"
job_yml cli
AZURE_CONFIG_DIR=$TEST_TMP/azcfg expect_ok ferry run "$TEST_TMP/job/cli.yml" --name cli
check_out cli

step "an expired token is refused before any request, naming the source and the fix"
expired=$(mint short | json_field access_token)
sleep 2
job_yml expired
AZURE_ACCESS_TOKEN=$expired expect_fail "user identity (AZURE_ACCESS_TOKEN): the token expired at" \
	ferry run "$TEST_TMP/job/expired.yml" --name expired
assert_contains "$LAST_STDERR" "az account get-access-token --resource https://storage.azure.com/"

step "no token anywhere: the error lists the sources tried"
job_yml missing
expect_fail "user identity: no token: AZURE_ACCESS_TOKEN and AZURE_ACCESS_TOKEN_FILE are unset" \
	ferry run "$TEST_TMP/job/missing.yml" --name missing

step "a token that is not a JWT for storage is refused by the service; the error names the identity"
echo "not-a-token-at-all" >"$TEST_TMP/bad.raw"
job_yml bad
AZURE_ACCESS_TOKEN_FILE=$TEST_TMP/bad.raw expect_fail "user identity (AZURE_ACCESS_TOKEN_FILE" \
	ferry run "$TEST_TMP/job/bad.yml" --name bad
assert_contains "$LAST_STDERR" "HTTP 403"
assert_not_contains "$LAST_STDERR" "not-a-token-at-all"

step "no token in any output, log or record"
files=("$TEST_TMP"/*.stdout "$TEST_TMP"/*.stderr "$TEST_TMP"/env-*.txt "$FERRY_HOME/ferry.db")
while IFS= read -r f; do files+=("$f"); done < <(find "$FERRY_HOME/jobs" -type f)
assert_no_tokens u "${files[@]}"
assert_no_tokens short "${files[@]}"
for f in "${files[@]}"; do
	grep -qaF "not-a-token-at-all" "$f" && fail "the bad token appears in $f"
done
true
