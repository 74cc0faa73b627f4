#!/usr/bin/env bash
# t1001 — owns the path forms (README.md, "Paths") for Blob storage: the same folder on Azurite
# is listed and downloaded through the emulator URL, wasbs://, abfss:// (served by
# the Blob endpoint), https://<account>.blob.core.windows.net/…, and a datastore in
# its short and long azureml:// forms — each gives the same bytes. With a connection
# string, host-style names reach the account's BlobEndpoint; `UseDevelopmentStorage=true`
# means Azurite's well-known account (when Azurite runs on 127.0.0.1:10000).
source "$(dirname "$0")/lib.sh"
need_fixtures
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

c=$(new_container)
mk_small_tree "$TEST_TMP/src" 12 1 8
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" data/)"

az_datastore forms "$c"

n=0
for uri in "$(az_uri "$c" data/)" \
	"wasbs://$c@devstoreaccount1.blob.core.windows.net/data/" \
	"abfss://$c@devstoreaccount1.dfs.core.windows.net/data/" \
	"wasbs://devstoreaccount1.blob.core.windows.net/$c/data/" \
	"abfss://devstoreaccount1.dfs.core.windows.net/$c/data/" \
	"https://devstoreaccount1.blob.core.windows.net/$c/data/" \
	"azureml://datastores/forms/paths/data/" \
	"azureml://subscriptions/s1/resourcegroups/rg1/workspaces/ws1/datastores/forms/paths/data/"; do
	n=$((n + 1))
	step "$uri"
	expect_ok ferry ls -R "$uri"
	assert_eq 12 "$(wc -l <"$TEST_TMP/last.stdout")" "files listed"
	expect_ok ferry download "$uri" "$TEST_TMP/out$n"
	assert_tree_same "$TEST_TMP/src" "$TEST_TMP/out$n"
done

if [[ $AZURITE_URL == http://127.0.0.1:10000/devstoreaccount1 ]]; then
	step "UseDevelopmentStorage=true reaches Azurite on 127.0.0.1:10000"
	AZURE_STORAGE_CONNECTION_STRING='UseDevelopmentStorage=true' expect_ok ferry download \
		"wasbs://$c@devstoreaccount1.blob.core.windows.net/data/" "$TEST_TMP/dev"
	assert_tree_same "$TEST_TMP/src" "$TEST_TMP/dev"
fi

step "AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY sign requests too"
AZURE_STORAGE_CONNECTION_STRING= AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_KEY=$AZURITE_KEY \
	expect_ok ferry download "$(az_uri "$c" data/)" "$TEST_TMP/acctkey"
assert_tree_same "$TEST_TMP/src" "$TEST_TMP/acctkey"

step "without credentials a private container is refused with 403 or 404"
AZURE_STORAGE_CONNECTION_STRING= expect_fail "HTTP 40" ferry ls "$(az_uri "$c" data/)"
echo "ok"
