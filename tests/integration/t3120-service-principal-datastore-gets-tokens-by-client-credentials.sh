#!/usr/bin/env bash
# t3120 — owns service-principal datastores: `credentials: {tenant_id, client_id,
# client_secret, authority_url}` is stored with the secret in a 0600 file and shown
# as ***; a job with no identity reads and writes through it with tokens from the
# client-credentials flow (POST <authority>/<tenant>/oauth2/v2.0/token) against an
# OAuth-checking Azurite; AZURE_AUTHORITY_HOST serves when the datastore names no
# authority; a wrong secret fails with AAD's reason, the service principal's name
# and the fix, and the secret and tokens appear nowhere.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-oauth.sh"
export FERRY_CMD_TIMEOUT=120

oauth_azurite
no_identity_env
SECRET='sp~S3cret.Value_with+odd&chars=1'
CLIENT=5e1f0c2a-7b7d-4f0e-9c55-3a2b1c0d9e8f
TENANT=0d3c2b1a-aaaa-bbbb-cccc-123456789abc
token_server aad --client-secret "$SECRET" --client-id "$CLIENT"

c=$(new_container)
printf 'sp data\n' >"$TEST_TMP/in.txt"
azcli put "$c" in/data.txt "$TEST_TMP/in.txt"

# sp_ds NAME SECRET [AUTHORITY] — a service-principal datastore over the container.
sp_ds() {
	{
		cat <<-YML
		name: $1
		type: azure_blob
		account_name: devstoreaccount1
		container_name: $c
		endpoint: $AZURITE_URL
		credentials:
		  tenant_id: $TENANT
		  client_id: $CLIENT
		  client_secret: "$2"
		YML
		[[ -z ${3:-} ]] || echo "  authority_url: $3"
	} >"$TEST_TMP/ds-$1.yml"
	expect_ok ferry datastore create --file "$TEST_TMP/ds-$1.yml"
}
job_yml() {
	mkdir -p "$TEST_TMP/job"
	cat >"$TEST_TMP/job/$1.yml" <<YML
command: cp \${{inputs.data}} \${{outputs.result}}/copy.txt
inputs:
  data: {type: uri_file, path: "azureml://datastores/$2/paths/in/data.txt", mode: download}
outputs:
  result: {type: uri_folder, mode: upload, path: "azureml://datastores/$2/paths/out/$1/"}
YML
}

step "create: the secret goes to a 0600 file; show prints tenant and client, the secret as ***"
sp_ds spstore "$SECRET" "$TS_URL_aad"
assert_contains "$TEST_TMP/last.stdout" "credentials: service_principal"
assert_eq 600 "$(stat -c %a "$FERRY_HOME/secrets/spstore")" "mode of the secret file"
expect_ok ferry datastore show spstore
assert_contains "$TEST_TMP/last.stdout" "client_id:   $CLIENT"
assert_contains "$TEST_TMP/last.stdout" "tenant_id:   $TENANT"
assert_contains "$TEST_TMP/last.stdout" "secret:      ***"
assert_not_contains "$TEST_TMP/last.stdout" "$SECRET"

step "a job with no identity reads and writes through the service principal"
job_yml sp1 spstore
expect_ok ferry run "$TEST_TMP/job/sp1.yml" --name sp1
azcli get "$c" out/sp1/copy.txt "$TEST_TMP/sp1.txt"
assert_file_same "$TEST_TMP/in.txt" "$TEST_TMP/sp1.txt"
grep -q "^sp:$TENANT $CLIENT " "$TEST_TMP/ts-aad.log" || fail "no token from the tenant's endpoint: $(cat "$TEST_TMP/ts-aad.log")"

step "without authority_url, AZURE_AUTHORITY_HOST names the authority"
sp_ds spenv "$SECRET"
job_yml sp2 spenv
n=$(tokens_issued aad)
AZURE_AUTHORITY_HOST=$TS_URL_aad expect_ok ferry run "$TEST_TMP/job/sp2.yml" --name sp2
[[ $(tokens_issued aad) -gt $n ]] || fail "AZURE_AUTHORITY_HOST was not used"
azcli get "$c" out/sp2/copy.txt "$TEST_TMP/sp2.txt"
assert_file_same "$TEST_TMP/in.txt" "$TEST_TMP/sp2.txt"

step "a plain-http authority elsewhere than this machine is refused (the secret stays off the wire)"
sp_ds spclear "$SECRET" "http://login.example.com"
job_yml sp3 spclear
expect_fail "must be an https:// URL" ferry run "$TEST_TMP/job/sp3.yml" --name sp3

step "a wrong secret: AAD's reason, the service principal tried, and the fix"
sp_ds spbad 'not-the-right-secret' "$TS_URL_aad"
job_yml sp4 spbad
expect_fail "service principal $CLIENT (tenant $TENANT" ferry run "$TEST_TMP/job/sp4.yml" --name sp4
assert_contains "$LAST_STDERR" "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided"
assert_contains "$LAST_STDERR" "check the datastore's tenant_id, client_id and client_secret"

step "incomplete service-principal credentials are refused at creation, naming the field"
cat >"$TEST_TMP/ds-half.yml" <<YML
name: half
type: azure_blob
account_name: devstoreaccount1
container_name: $c
credentials:
  tenant_id: $TENANT
  client_secret: x
YML
expect_fail "needs client_id" ferry datastore create --file "$TEST_TMP/ds-half.yml"

step "a registry made before datastores had options gains the column and takes a service principal"
old=$TEST_TMP/oldhome
mkdir -p "$old"
$PY - "$old/ferry.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""CREATE TABLE datastores (name TEXT PRIMARY KEY, type TEXT NOT NULL, account TEXT,
 container TEXT, endpoint TEXT, protocol TEXT, local_path TEXT, cred_type TEXT NOT NULL,
 description TEXT, tags TEXT, updated TEXT);
INSERT INTO datastores VALUES('legacy','azure_blob','devstoreaccount1','c1','core.windows.net','https',
 NULL,'none',NULL,NULL,datetime('now'));""")
db.commit()
PYEOF
FERRY_HOME=$old expect_ok ferry datastore list
assert_contains "$TEST_TMP/last.stdout" "legacy"
FERRY_HOME=$old expect_ok ferry datastore create --file "$TEST_TMP/ds-spstore.yml"
FERRY_HOME=$old expect_ok ferry datastore show spstore
assert_contains "$TEST_TMP/last.stdout" "client_id:   $CLIENT"

step "neither secret nor token in any output, log or record"
files=("$TEST_TMP"/*.stdout "$TEST_TMP"/*.stderr "$FERRY_HOME/ferry.db")
while IFS= read -r f; do files+=("$f"); done < <(find "$FERRY_HOME/jobs" -type f)
assert_no_tokens aad "${files[@]}"
for f in "${files[@]}"; do
	grep -qaF "$SECRET" "$f" && fail "the client secret appears in $f"
	grep -qaF "not-the-right-secret" "$f" && fail "the wrong client secret appears in $f"
done
true
