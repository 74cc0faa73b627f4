#!/usr/bin/env bash
# t3100 — owns `identity: {type: managed}`: a job whose datastore has no credentials
# reads and writes an Azurite that checks OAuth tokens (HTTPS), with the token
# taken from each managed-identity endpoint form in turn — the instance metadata
# service (FERRY_IMDS_ENDPOINT; asked again while it answers 404), IDENTITY_ENDPOINT + IDENTITY_HEADER, and
# MSI_ENDPOINT + MSI_SECRET — and a user-assigned identity chosen by client id.
# Without an identity the same job is refused, and the fix is named.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-oauth.sh"
export FERRY_CMD_TIMEOUT=120

oauth_azurite
no_identity_env
token_server mi --msi-secret msi-s3cr3t-value --identity-header idh-s3cr3t-value
token_server uami --client-id 0b5ad6f2-1111-4c44-9a6e-7d1f4c3a9e10
token_server late --not-ready 2

c=$(new_container)
printf 'a,b\n1,2\n' >"$TEST_TMP/train.csv"
azcli put "$c" in/train.csv "$TEST_TMP/train.csv"
printf 'hello\n' >"$TEST_TMP/note.txt"
azcli put "$c" in/sub/note.txt "$TEST_TMP/note.txt"

cat >"$TEST_TMP/ds.yml" <<YML
name: idstore
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds.yml"
assert_contains "$TEST_TMP/last.stdout" "credentials: none"

mkdir -p "$TEST_TMP/job"
# job_yml NAME IDENTITY_BLOCK — a job reading in/ and writing out/NAME/.
job_yml() {
	cat >"$TEST_TMP/job/$1.yml" <<YML
command: >-
  cat \${{inputs.folder}}/sub/note.txt \${{inputs.file}} > \${{outputs.result}}/combined.txt
inputs:
  folder: {type: uri_folder, path: "azureml://datastores/idstore/paths/in/", mode: download}
  file: {type: uri_file, path: "$AZURITE_URL/$c/in/train.csv", mode: download}
outputs:
  result: {type: uri_folder, mode: upload, path: "azureml://datastores/idstore/paths/out/$1/"}
$2
YML
}
check_out() {
	azcli get "$c" "out/$1/combined.txt" "$TEST_TMP/$1.txt"
	assert_eq "$(printf 'hello\na,b\n1,2')" "$(cat "$TEST_TMP/$1.txt")" "output of job $1"
}

step "without an identity the job is refused, and the message says how to give one"
job_yml none ""
expect_fail "identity: {type: user_identity}" ferry run "$TEST_TMP/job/none.yml" --name none
assert_eq 0 "$(tokens_issued mi)" "tokens asked for without an identity"

step "managed identity through the instance metadata service (Metadata: true)"
job_yml imds "identity: {type: managed}"
FERRY_IMDS_ENDPOINT=$TS_URL_mi expect_ok ferry run "$TEST_TMP/job/imds.yml" --name imds
check_out imds
grep -q '^imds - ' "$TEST_TMP/ts-mi.log" || fail "no token came from the IMDS endpoint: $(cat "$TEST_TMP/ts-mi.log")"

step "an IMDS that answers 404 while the identity is not ready is asked again"
job_yml late "identity: {type: managed}"
FERRY_IMDS_ENDPOINT=$TS_URL_late expect_ok ferry run "$TEST_TMP/job/late.yml" --name late
check_out late

step "managed identity through IDENTITY_ENDPOINT + IDENTITY_HEADER (wins over MSI_ENDPOINT)"
job_yml ident "identity:
  type: managed_identity"
IDENTITY_ENDPOINT=$TS_URL_mi/identity/token IDENTITY_HEADER=idh-s3cr3t-value \
	MSI_ENDPOINT=$TS_URL_mi/msi/token MSI_SECRET=wrong \
	expect_ok ferry run "$TEST_TMP/job/ident.yml" --name ident
check_out ident
grep -q '^identity - ' "$TEST_TMP/ts-mi.log" || fail "no token came from IDENTITY_ENDPOINT"
grep -q '^msi ' "$TEST_TMP/ts-mi.log" && fail "MSI_ENDPOINT was used although IDENTITY_ENDPOINT is set"

step "managed identity through MSI_ENDPOINT + MSI_SECRET (Azure ML compute)"
job_yml msi "identity: {type: managed}"
MSI_ENDPOINT=$TS_URL_mi/msi/token MSI_SECRET=msi-s3cr3t-value \
	expect_ok ferry run "$TEST_TMP/job/msi.yml" --name msi
check_out msi
grep -q '^msi - ' "$TEST_TMP/ts-mi.log" || fail "no token came from MSI_ENDPOINT"

step "a user-assigned identity is asked for by the job's client_id"
job_yml uami "identity: {type: managed, client_id: 0b5ad6f2-1111-4c44-9a6e-7d1f4c3a9e10}"
FERRY_IMDS_ENDPOINT=$TS_URL_uami expect_ok ferry run "$TEST_TMP/job/uami.yml" --name uami
check_out uami
grep -q '^imds 0b5ad6f2-1111-4c44-9a6e-7d1f4c3a9e10 ' "$TEST_TMP/ts-uami.log" || fail "client id not sent"

step "another client id is refused by the endpoint, and the error names the identity tried"
job_yml uami2 "identity: {type: managed, client_id: 99999999-0000-0000-0000-000000000000}"
FERRY_IMDS_ENDPOINT=$TS_URL_uami expect_fail "managed identity (instance metadata service" \
	ferry run "$TEST_TMP/job/uami2.yml" --name uami2
assert_contains "$LAST_STDERR" "client id 99999999-0000-0000-0000-000000000000"
assert_contains "$LAST_STDERR" "Identity not found"

step "no token, header secret or MSI secret in any output, log or record"
files=("$TEST_TMP"/*.stdout "$TEST_TMP"/*.stderr "$FERRY_HOME/ferry.db")
while IFS= read -r f; do files+=("$f"); done < <(find "$FERRY_HOME/jobs" -type f)
assert_no_tokens mi "${files[@]}"
assert_no_tokens uami "${files[@]}"
for f in "${files[@]}"; do
	grep -qaF "msi-s3cr3t-value" "$f" && fail "MSI_SECRET appears in $f"
	grep -qaF "idh-s3cr3t-value" "$f" && fail "IDENTITY_HEADER appears in $f"
done
true
