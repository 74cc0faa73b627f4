#!/usr/bin/env bash
# t6000 — owns `ferry data create | list | show` and asset URIs outside jobs: an Azure ML
# data YAML with a local path is uploaded to workspaceblobstore/LocalUpload/<uuid>/ and
# then downloadable as azureml:<name>:1; versions count 1, 2, 3 when none is given;
# @latest is the most recently created version; versions are immutable (nothing is
# uploaded for a refused one); unknown fields and unknown assets give clear errors;
# an asset over an Azurite datastore reads through `ferry ls` / `ferry download`.
source "$(dirname "$0")/lib.sh"
need_fixtures

cd "$TEST_TMP"
mk_small_tree "$TEST_TMP/src/images" 30 1 16
printf 'a,b\n1,2\n3,4\n' >"$TEST_TMP/src/train.csv"
uploads=$FERRY_HOME/datastores/workspaceblobstore/LocalUpload
cat >"$TEST_TMP/src/images.yml" <<YML
\$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json
name: images
description: thirty small files
type: uri_folder
path: ./images
tags:
  team: vision
YML

step "create from YAML: the local folder is uploaded to LocalUpload/<uuid>/ and version 1 points there"
expect_ok ferry data create --file "$TEST_TMP/src/images.yml"
assert_contains "$TEST_TMP/last.stdout" "data asset images version 1 created"
grep -qE 'azureml://datastores/workspaceblobstore/paths/LocalUpload/[0-9a-f-]{36}/images/' "$TEST_TMP/last.stdout" ||
	fail "asset path: $(cat "$TEST_TMP/last.stdout")"
assert_eq 1 "$(ls "$uploads" | wc -l)" "uploads"
assert_tree_same "$TEST_TMP/src/images" "$uploads"/*/images

step "azureml:images:1 downloads the same tree; ferry ls lists it"
expect_ok ferry download azureml:images:1 "$TEST_TMP/dl1"
assert_tree_same "$TEST_TMP/src/images" "$TEST_TMP/dl1"
expect_ok ferry ls -R azureml:images:1
assert_eq 30 "$(grep -vc '/$' "$TEST_TMP/last.stdout")" "files listed"

step "versions count up when none is given: 2, 3; @latest is 3"
expect_ok ferry data create --file "$TEST_TMP/src/images.yml"
assert_contains "$TEST_TMP/last.stdout" "images version 2 created"
expect_ok ferry data create --file "$TEST_TMP/src/images.yml"
assert_contains "$TEST_TMP/last.stdout" "images version 3 created"
expect_ok ferry data show images@latest
assert_contains "$TEST_TMP/last.stdout" "version:     3"
expect_ok ferry data show images
assert_contains "$TEST_TMP/last.stdout" "version:     3"

step "@latest is the latest CREATED version: an explicit 'v0' made last is @latest; auto goes on from 3"
expect_ok ferry data create --file "$TEST_TMP/src/images.yml" --version v0
expect_ok ferry data show azureml:images@latest
assert_contains "$TEST_TMP/last.stdout" "version:     v0"
expect_ok ferry data create --file "$TEST_TMP/src/images.yml"
assert_contains "$TEST_TMP/last.stdout" "images version 4 created"

step "twelve creates at once (no version) get versions 1..12, each exactly once"
for i in $(seq 1 12); do
	ferry data create --name busy --path "http://127.0.0.1:9/busy/$i/" >"$TEST_TMP/busy.$i.out" 2>&1 &
done
wait
assert_eq "$(seq 1 12 | xargs)" "$(cat "$TEST_TMP"/busy.*.out | sed -n 's/.*busy version \([0-9]*\) created.*/\1/p' | sort -n | xargs)" "concurrent versions"

step "a version is immutable: creating images:2 again fails, naming both, and uploads nothing"
n_before=$(ls "$uploads" | wc -l)
expect_fail "data asset 'images' version '2' already exists" ferry data create --file "$TEST_TMP/src/images.yml" --version 2
assert_eq "$n_before" "$(ls "$uploads" | wc -l)" "uploads after a refused version"
printf 'name: images\nversion: 3\npath: ./images\n' >"$TEST_TMP/src/v3.yml"
expect_fail "version '3' already exists" ferry data create --file "$TEST_TMP/src/v3.yml"

step "a uri_file asset from flags; its version-1 bytes stay when the local file changes"
expect_ok ferry data create --name train --type uri_file --path src/train.csv --description "tiny csv"
cp "$TEST_TMP/src/train.csv" "$TEST_TMP/train-v1.csv"
echo "5,6" >>"$TEST_TMP/src/train.csv"
expect_ok ferry data create --name train --type uri_file --path src/train.csv
expect_ok ferry download azureml:train:1 "$TEST_TMP/dl-train1"
assert_file_same "$TEST_TMP/train-v1.csv" "$TEST_TMP/dl-train1/train.csv"
expect_ok ferry download azureml:train@latest "$TEST_TMP/dl-train2"
assert_file_same "$TEST_TMP/src/train.csv" "$TEST_TMP/dl-train2/train.csv"

step "a local path must match the type"
expect_fail "is a folder, but the type is uri_file" ferry data create --name bad --type uri_file --path src/images
expect_fail "is a file, but the type is uri_folder" ferry data create --name bad --path src/train.csv
expect_fail "does not exist" ferry data create --name bad --path src/nothing-here

step "list shows each asset's latest version, type and path; --name lists every version"
expect_ok ferry data list
grep -qE '^images +4 +uri_folder +[0-9T:.-]+Z +azureml://datastores/workspaceblobstore/paths/LocalUpload/' "$TEST_TMP/last.stdout" ||
	fail "list: $(cat "$TEST_TMP/last.stdout")"
grep -qE '^train +2 +uri_file ' "$TEST_TMP/last.stdout" || fail "list: $(cat "$TEST_TMP/last.stdout")"
expect_ok ferry data list --name images
assert_eq "4 v0 3 2 1" "$(awk 'NR>1 {print $2}' "$TEST_TMP/last.stdout" | xargs)" "versions, newest first"

step "show prints every field"
expect_ok ferry data show images:1
for want in "name:        images" "version:     1" "type:        uri_folder" "description: thirty small files" \
	'tags:        {"team":"vision"}' "job:         -" "uri:         azureml:images:1"; do
	assert_contains "$TEST_TMP/last.stdout" "$want"
done
grep -qE '^created: +20[0-9-]+T[0-9:.]+Z$' "$TEST_TMP/last.stdout" || fail "created: $(cat "$TEST_TMP/last.stdout")"

step "unknown fields, missing fields and bad values name the file, the line and the field"
printf 'name: x\npath: ./images\ncolour: red\n' >"$TEST_TMP/src/bad.yml"
expect_fail "$TEST_TMP/src/bad.yml:3: field 'colour': unknown field of a data asset" ferry data create --file "$TEST_TMP/src/bad.yml"
printf 'path: ./images\n' >"$TEST_TMP/src/bad.yml"
expect_fail "field 'name': required" ferry data create --file "$TEST_TMP/src/bad.yml"
printf 'name: x\n' >"$TEST_TMP/src/bad.yml"
expect_fail "field 'path': required" ferry data create --file "$TEST_TMP/src/bad.yml"
printf 'name: x\npath: ./images\ntype: folder\n' >"$TEST_TMP/src/bad.yml"
expect_fail "bad.yml:3: field 'type': unknown type 'folder'" ferry data create --file "$TEST_TMP/src/bad.yml"
printf 'name: x\npath: ./images\nversion: latest\n' >"$TEST_TMP/src/bad.yml"
expect_fail "bad.yml:3: field 'version'" ferry data create --file "$TEST_TMP/src/bad.yml"
printf 'name: x\npath: azureml:images:1\n' >"$TEST_TMP/src/bad.yml"
expect_fail "is another data asset" ferry data create --file "$TEST_TMP/src/bad.yml"

step "unknown assets and versions are clear errors"
expect_fail "data asset 'nosuch' not found (known: busy, images, train)" ferry download azureml:nosuch:1 "$TEST_TMP/x"
expect_fail "data asset 'images' has no version '9' (versions: 1, 2, 3, v0, 4)" ferry ls azureml:images:9
expect_fail "not found" ferry data show nosuch@latest
expect_fail "read-only" ferry upload "$TEST_TMP/src/train.csv" azureml:train:1

step "an asset over an Azurite datastore path is registered as given and reads through it"
c=$(new_container)
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/src/images" "$(az_uri "$c" raw/images)"
unset AZURE_STORAGE_CONNECTION_STRING
az_datastore azstore "$c"
expect_ok ferry data create --name remote --path azureml://datastores/azstore/paths/raw/images/
assert_contains "$TEST_TMP/last.stdout" "(uri_folder, azureml://datastores/azstore/paths/raw/images/)"
expect_ok ferry download azureml:remote@latest "$TEST_TMP/dl-remote"
assert_tree_same "$TEST_TMP/src/images" "$TEST_TMP/dl-remote"
