#!/usr/bin/env bash
# t4110 — owns rw_mount outputs in jobs (the default output mode): a command writes
# 500 files of mixed sizes (0 bytes to one 300 MiB file) in nested folders, with
# overwrites, appends, a partial overwrite, renames (one over an existing file, one
# of a whole folder) and deletes, straight into the mounted output; when the job
# reports success, storage holds exactly the expected set with identical bytes
# (downloaded and compared with a reference the same script built locally). The
# same command in `upload` mode gives the same result in storage. A uri_file
# rw_mount output lands at its path.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=900

c=$(new_container)
az_datastore azstore "$c"
script=$ROOT/tests/tools/mixed_writes.py
$PY "$script" "$TEST_TMP/ref" 4110 300 >/dev/null

job() { # job FILE MODE
	cat >"$1" <<-YML
	command: $PY $script \${{outputs.out}} 4110 300 && ls \${{outputs.out}} >/dev/null
	outputs:
	  out: {type: uri_folder, mode: $2, path: "azureml://datastores/azstore/paths/$2/"}
	YML
}

step "rw_mount: a job writes 500 mixed files with overwrites, renames and deletes"
job "$TEST_TMP/rw.yml" rw_mount
expect_ok ferry run "$TEST_TMP/rw.yml" --name rw1
assert_contains "$LAST_STDERR" "(rw_mount):" "job summary"
assert_contains "$LAST_STDERR" "0 files not uploaded" "job summary"
assert_no_mounts_under "$FERRY_HOME"
log=$FERRY_HOME/jobs/rw1/logs/system_logs/data_capability/rslex.log
assert_contains "$log" "mounting azureml://datastores/azstore/paths/rw_mount/ read-write"

step "storage holds exactly the expected files with identical bytes"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry download "$(az_uri "$c" rw_mount)" "$TEST_TMP/got-rw"
assert_tree_same "$TEST_TMP/ref" "$TEST_TMP/got-rw"
rm -rf "$TEST_TMP/got-rw"

step "upload mode with the same command gives the same result in storage"
job "$TEST_TMP/up.yml" upload
expect_ok ferry run "$TEST_TMP/up.yml" --name up1
expect_ok ferry download "$(az_uri "$c" upload)" "$TEST_TMP/got-up"
assert_tree_same "$TEST_TMP/ref" "$TEST_TMP/got-up"
rm -rf "$TEST_TMP/got-up"

step "a uri_file rw_mount output lands at its path, next to what was there"
printf 'keep' >"$TEST_TMP/keep.txt"
expect_ok ferry upload "$TEST_TMP/keep.txt" "$(az_uri "$c" m/keep.txt)"
cat >"$TEST_TMP/file.yml" <<-YML
command: cat \$(dirname \${{outputs.model}})/keep.txt >/dev/null && echo weights > \${{outputs.model}}
outputs:
  model: {type: uri_file, path: "azureml://datastores/azstore/paths/m/model.bin"}
YML
expect_ok ferry run "$TEST_TMP/file.yml" --name file1
expect_ok ferry download "$(az_uri "$c" m)" "$TEST_TMP/got-m"
assert_eq weights "$(cat "$TEST_TMP/got-m/model.bin")" "uri_file output"
assert_eq keep "$(cat "$TEST_TMP/got-m/keep.txt")" "file next to it"

step "a uri_file rw_mount output the command did not write fails the job, as in upload mode"
cat >"$TEST_TMP/nofile.yml" <<-YML
command: "true"
outputs:
  model: {type: uri_file, path: "azureml://datastores/azstore/paths/m/never.bin"}
YML
expect_fail "did not write" ferry run "$TEST_TMP/nofile.yml" --name nofile1
assert_contains "$LAST_STDERR" "never.bin"
assert_no_mounts_under "$FERRY_HOME"
echo ok
