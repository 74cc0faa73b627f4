#!/usr/bin/env bash
# t1080 — owns issue 10 item 1: a "." or ".." path segment, raw or percent-encoded
# (%2e%2e, %2E., .%2e, '\' as a separator), is refused in every URI form before any
# request, with an error naming the segment: `ferry ls`, `download`, `upload`,
# `mount` (ro and rw) and jobs (an input, an rw_mount output, an upload output) can
# neither reach the workspace's secrets folder through workspaceblobstore nor write
# outside it, and a SAS datastore bound to container `data` cannot reach container
# `other` (libcurl would fold the dot segments and the account SAS would allow it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures

# refused CMD... — CMD fails naming a dot segment, exit 1 (not a crash).
refused() {
	expect_fail "path segment" "$@"
	assert_contains "$LAST_STDERR" "may not climb out"
}

data=$(new_container)
other=$(new_container)
printf 'secret-of-other\n' >"$TEST_TMP/o.txt"
printf 'in-data\n' >"$TEST_TMP/d.txt"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/o.txt" "$(az_uri "$other" x/o.txt)"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/d.txt" "$(az_uri "$data" d.txt)"
az_datastore keyed "$data" # leaves a secret file in $FERRY_HOME/secrets/
[[ -n $(ls "$FERRY_HOME/secrets") ]] || fail "no secret file to protect"

step "workspaceblobstore: ls, download, ro and rw mount of paths/../../secrets/ are refused"
wsb=azureml://datastores/workspaceblobstore/paths
for up in "../../secrets/" "%2e%2e/%2E%2e/secrets/" ".%2e/%2E./secrets" "x/../../../secrets/" "..%5C..%5Csecrets/"; do
	refused ferry ls "$wsb/$up"
	assert_contains "$LAST_STDERR" "$wsb/$up" "the error names the path"
	refused ferry download "$wsb/$up" "$TEST_TMP/got"
	[[ ! -e $TEST_TMP/got ]] || fail "download of $up created $TEST_TMP/got"
	mkdir -p "$TEST_TMP/mnt"
	_MOUNTS+=("$TEST_TMP/mnt")
	refused ferry mount "$wsb/$up" "$TEST_TMP/mnt"
	refused ferry mount --rw "$wsb/$up" "$TEST_TMP/mnt"
	is_mounted "$TEST_TMP/mnt" && fail "$up was mounted"
done
step "the error names the segment as written"
expect_fail "'%2e%2e' is a '.' or '..' path segment" ferry ls "$wsb/%2e%2e/%2e%2e/secrets/"
expect_fail "'..' is a '.' or '..' path segment" ferry ls "$wsb/a/../../../secrets/"

step "upload into workspaceblobstore/../../../escaped writes nothing outside the datastore"
refused ferry upload "$TEST_TMP/d.txt" "$wsb/../../../escaped/d.txt"
[[ ! -e $TEST_TMP/escaped ]] || fail "upload wrote outside the datastore: $(ls -R "$TEST_TMP/escaped")"

step "a job: an upload output, an rw_mount output and an input with '..' fail before the command runs"
marker=$TEST_TMP/ran
beside=$(dirname "$TEST_TMP")/t1080-escape-$$ # the issue's paths/../../../../tmp/x/: four levels up
for io in \
	"outputs:\n  o:\n    type: uri_folder\n    mode: upload\n    path: $wsb/../../../../t1080-escape-$$/" \
	"outputs:\n  o:\n    type: uri_folder\n    mode: upload\n    path: $wsb/../../../escaped/" \
	"outputs:\n  o:\n    type: uri_folder\n    mode: rw_mount\n    path: $wsb/../../secrets/" \
	"outputs:\n  o:\n    mode: upload\n    path: azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/workspaceblobstore/paths/%2e%2e/%2e%2e/%2e%2e/escaped/" \
	"inputs:\n  i:\n    type: uri_folder\n    mode: ro_mount\n    path: $wsb/../../secrets/" \
	"inputs:\n  i:\n    type: uri_folder\n    mode: download\n    path: $wsb/.%2e/.%2e/secrets/"; do
	printf 'command: touch %s\n%b\n' "$marker" "$io" >"$TEST_TMP/job.yml"
	expect_fail "path segment" ferry run "$TEST_TMP/job.yml"
	assert_contains "$LAST_STDERR" "$TEST_TMP/job.yml:" "the error names the job file"
	[[ ! -e $marker ]] || fail "the command ran"
	[[ ! -e $TEST_TMP/escaped && ! -e $beside ]] || fail "the job wrote outside the datastore"
done

step "a SAS datastore bound to '$data' cannot read or write container '$other'"
sas=$(azcli sas --perms rwdlac)
cat >"$TEST_TMP/ds-sas.yml" <<YML
name: sasdata
type: azure_blob
account_name: devstoreaccount1
container_name: $data
endpoint: $AZURITE_URL
credentials:
  sas_token: "?$sas"
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds-sas.yml"
expect_ok ferry ls azureml://datastores/sasdata/paths/
assert_contains "$TEST_TMP/last.stdout" "d.txt" "the datastore works"
for up in "../$other/x/" "%2e%2e/$other/x/" "%2E./$other/x/" ".%2e/$other/x/"; do
	refused ferry ls "azureml://datastores/sasdata/paths/$up"
	assert_not_contains "$TEST_TMP/last.stdout" "o.txt"
	refused ferry download "azureml://datastores/sasdata/paths/${up}o.txt" "$TEST_TMP/stolen.txt"
	[[ ! -e $TEST_TMP/stolen.txt ]] || fail "read container $other through $up"
	refused ferry upload "$TEST_TMP/d.txt" "azureml://datastores/sasdata/paths/${up}planted.txt"
	assert_not_contains "$LAST_STDERR" "$sas"
done
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry ls -R "$(az_uri "$other")"
assert_not_contains "$TEST_TMP/last.stdout" "planted" "container $other after the attempts"

step "direct Blob forms, s3://, http:// and file:// refuse dot segments too"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
for uri in "$(az_uri "$data" "../$other/x/")" "$(az_uri "$data" "%2e%2e/$other/x/")" \
	"wasbs://$data@devstoreaccount1.blob.core.windows.net/../$other/x/" \
	"abfss://$data@devstoreaccount1.dfs.core.windows.net/%2E%2E/$other/x/" \
	"https://devstoreaccount1.blob.core.windows.net/$data/.%2e/$other/x/" \
	"s3://bucket/a/../../b/" "$NGINX_URL/a/../../etc/" "file:///tmp/../etc/"; do
	refused ferry ls "$uri"
done
echo "ok"
