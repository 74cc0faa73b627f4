#!/usr/bin/env bash
# t3040 — owns datastores: create from Azure ML YAML (azure_blob, azure_data_lake_gen2,
# account_key / sas_token / none), list and show without ever printing the secret,
# secret files 0600 in a 0700 folder and never in ferry.db, re-create replaces,
# workspaceblobstore cannot be replaced, and bad YAML names file, line and field.
source "$(dirname "$0")/lib.sh"

key="c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw"
sas="sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=SECRETSIGNATURE123%3D"
cat >"$TEST_TMP/blob.yml" <<YML
\$schema: https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json
name: mystore
type: azure_blob
description: test store
account_name: devstoreaccount1
container_name: data
endpoint: http://127.0.0.1:10000/devstoreaccount1
protocol: https
tags: {team: ml}
credentials:
  account_key: $key
YML
cat >"$TEST_TMP/adls.yml" <<YML
name: lake
type: azure_data_lake_gen2
account_name: mylake
filesystem: raw
protocol: abfss
credentials:
  sas_token: "?$sas"
YML
cat >"$TEST_TMP/public.yml" <<YML
name: public_ds
type: azure_blob
account_name: pubacct
container_name: open-data
YML

all_output() { cat "$TEST_TMP/last.stdout" "$LAST_STDERR"; }

step "create three datastores"
expect_ok ferry datastore create --file "$TEST_TMP/blob.yml"
all_output | grep -qF "$key" && fail "create printed the key"
expect_ok ferry datastore create --file "$TEST_TMP/adls.yml"
expect_ok ferry datastore create --file "$TEST_TMP/public.yml"

step "list shows name, type, account, container and credential type only"
expect_ok ferry datastore list
grep -qE '^mystore +azure_blob +devstoreaccount1 +data +account_key$' "$TEST_TMP/last.stdout" || fail "list: $(cat "$TEST_TMP/last.stdout")"
grep -qE '^lake +azure_data_lake_gen2 +mylake +raw +sas_token$' "$TEST_TMP/last.stdout" || fail "list: $(cat "$TEST_TMP/last.stdout")"
grep -qE '^public_ds +azure_blob +pubacct +open-data +none$' "$TEST_TMP/last.stdout" || fail "list: $(cat "$TEST_TMP/last.stdout")"
grep -qE '^workspaceblobstore +local' "$TEST_TMP/last.stdout" || fail "list lacks the default datastore"
all_output | grep -qF "$key" && fail "list printed the key"
all_output | grep -qF "SECRETSIGNATURE" && fail "list printed the SAS"

step "show prints the fields and *** for the secret"
expect_ok ferry datastore show mystore
assert_contains "$TEST_TMP/last.stdout" "secret:      ***"
assert_contains "$TEST_TMP/last.stdout" "http://127.0.0.1:10000/devstoreaccount1"
assert_contains "$TEST_TMP/last.stdout" "account_key"
all_output | grep -qF "$key" && fail "show printed the key"
expect_ok ferry datastore show lake
all_output | grep -qF "SECRETSIGNATURE" && fail "show printed the SAS"
expect_fail "not found" ferry datastore show nosuch

step "secrets live in 0600 files in a 0700 folder, never in ferry.db"
assert_eq 700 "$(stat -c %a "$FERRY_HOME/secrets")" "secrets folder mode"
assert_eq 600 "$(stat -c %a "$FERRY_HOME/secrets/mystore")" "secret file mode"
assert_eq 600 "$(stat -c %a "$FERRY_HOME/secrets/lake")" "secret file mode"
assert_eq "$key" "$(cat "$FERRY_HOME/secrets/mystore")" "stored key"
[[ ! -e $FERRY_HOME/secrets/public_ds ]] || fail "a secret file for a datastore without credentials"
grep -qaF "$key" "$FERRY_HOME/ferry.db" && fail "the key is in ferry.db"
grep -qaF "SECRETSIGNATURE" "$FERRY_HOME/ferry.db" && fail "the SAS is in ferry.db"

step "re-creating replaces the datastore (and drops a secret no longer given)"
sed -e 's/container_name: data/container_name: other/' -e '/credentials:/,$d' "$TEST_TMP/blob.yml" >"$TEST_TMP/blob2.yml"
expect_ok ferry datastore create --file "$TEST_TMP/blob2.yml"
expect_ok ferry datastore list
grep -qE '^mystore +azure_blob +devstoreaccount1 +other +none$' "$TEST_TMP/last.stdout" || fail "not replaced: $(cat "$TEST_TMP/last.stdout")"
[[ ! -e $FERRY_HOME/secrets/mystore ]] || fail "old secret kept"

step "workspaceblobstore cannot be replaced"
printf 'name: workspaceblobstore\ntype: azure_blob\naccount_name: abc\ncontainer_name: abc\n' >"$TEST_TMP/ws.yml"
expect_fail "cannot be replaced" ferry datastore create --file "$TEST_TMP/ws.yml"

step "bad datastore YAML names the file, the line and the field"
printf 'name: x1\ntype: azure_blob\naccount_name: abc\ncontainer_name: abc\ncolour: red\n' >"$TEST_TMP/bad.yml"
expect_fail "$TEST_TMP/bad.yml:5: field 'colour'" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_blob\naccount_name: abc\n' >"$TEST_TMP/bad.yml"
expect_fail "field 'container_name': required" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_data_lake_gen2\naccount_name: abc\ncontainer_name: abc\n' >"$TEST_TMP/bad.yml"
expect_fail "field 'container_name'" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_blob\naccount_name: abc\ncontainer_name: abc\nprotocol: abfss\n' >"$TEST_TMP/bad.yml"
expect_fail "field 'protocol'" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_blob\naccount_name: abc\ncontainer_name: abc\ncredentials:\n  password: hunter2\n' >"$TEST_TMP/bad.yml"
expect_fail "field 'credentials.password'" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_blob\naccount_name: abc\ncontainer_name: [abc]\n' >"$TEST_TMP/bad.yml"
expect_fail "$TEST_TMP/bad.yml:4: field 'container_name'" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_blob\n  account_name: abc\n' >"$TEST_TMP/bad.yml"
expect_fail "malformed YAML" ferry datastore create --file "$TEST_TMP/bad.yml"
printf 'name: x1\ntype: azure_file\naccount_name: abc\n' >"$TEST_TMP/bad.yml"
expect_fail "field 'type'" ferry datastore create --file "$TEST_TMP/bad.yml"
