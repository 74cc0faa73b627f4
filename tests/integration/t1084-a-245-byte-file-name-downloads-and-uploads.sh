#!/usr/bin/env bash
# t1084 — owns temporary names: a file whose name takes 245 bytes (legal on Linux,
# where a name may take 255) downloads from Azurite, uploads to the workspace's local
# datastore and downloads back from it, byte for byte, and no temporary is left in
# any of those folders. Temporaries are ".ferry-<16 hex>.part" in the final folder,
# whatever the final name's length (issue 10 item 10).
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120

long=$(printf 'n%.0s' $(seq 1 241)).bin
assert_eq 245 "${#long}" "name length"
mkdir -p "$TEST_TMP/src"
head -c 300000 /dev/urandom >"$TEST_TMP/src/$long"
c=$(new_container)
azcli put "$c" "d/$long" "$TEST_TMP/src/$long"

step "a 245-byte blob name downloads from Azurite"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry download "$(az_uri "$c" d)" "$TEST_TMP/dl"
assert_file_same "$TEST_TMP/src/$long" "$TEST_TMP/dl/$long"
assert_eq "$long" "$(ls -A "$TEST_TMP/dl")" "files in the download folder"

step "a 245-byte file name uploads to the local workspace datastore"
expect_ok ferry upload "$TEST_TMP/src" azureml://datastores/workspaceblobstore/paths/long/
ds=$FERRY_HOME/datastores/workspaceblobstore/long
assert_file_same "$TEST_TMP/src/$long" "$ds/$long"
assert_eq "$long" "$(ls -A "$ds")" "files in the datastore folder"

step "and downloads back from it"
expect_ok ferry download azureml://datastores/workspaceblobstore/paths/long "$TEST_TMP/back"
assert_file_same "$TEST_TMP/src/$long" "$TEST_TMP/back/$long"
assert_eq "$long" "$(ls -A "$TEST_TMP/back")" "files in the second download folder"
echo "ok"
