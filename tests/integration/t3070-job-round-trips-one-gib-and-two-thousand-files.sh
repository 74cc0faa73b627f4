#!/usr/bin/env bash
# t3070 — owns the job path at full size: `ferry run` with download inputs (a 1 GiB
# file and 2,000 small files in nested folders, on Azurite through a datastore) and
# upload outputs (the command copies both into its outputs); what lands in storage
# is downloaded again and compared byte for byte with the sources. Listing pages of
# 150 names make the 2,000-file input and output span many List Blobs pages.
# It also owns the large-file and many-small-files paths of `ferry upload` and
# `ferry download` on Azurite (t1010 and t1020 until they were merged here: the same
# round trips of the same data, done once): the 1 GiB file goes up (Put Block + Put
# Block List) at its full size, the 2,000 files go up as 2,000 blobs that `ls -R`
# lists, and both come back (ranged parts in parallel) byte for byte, with nothing
# but the file in the download's folder (no temp files).
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=300
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
size=${T3070_SIZE:-1G}
count=${T3070_COUNT:-2000}

big=$(cached_random "random-$size.bin" "$size")
mk_small_tree "$TEST_TMP/tree" "$count" 1 64
c=$(new_container)

step "upload of a $size file and of $count small files in nested folders"
expect_ok ferry upload "$big" "$(az_uri "$c" in/big.bin)"
assert_eq "$(stat -c %s "$big")	in/big.bin" "$(azcli ls "$c")" "blob after upload"
expect_ok ferry upload "$TEST_TMP/tree" "$(az_uri "$c" in/tree/)"
assert_eq "$count" "$(azcli ls "$c" | grep -c '^[0-9]*	in/tree/')" "blob count"

step "ls -R lists all $count files"
ferry ls "$(az_uri "$c" in/tree)" -R >"$TEST_TMP/lsr" 2>"$LAST_STDERR" || fail "ls -R: $(tail -c 600 "$LAST_STDERR")"
assert_eq "$count" "$(grep -vc $'^-\t' "$TEST_TMP/lsr")" "files listed by ls -R"

az_datastore bigstore "$c"

mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: |
  cp ${{inputs.big}} ${{outputs.bigout}}/big.bin
  cp -r ${{inputs.tree}}/. ${{outputs.treeout}}/
inputs:
  big: {type: uri_file, path: "azureml://datastores/bigstore/paths/in/big.bin", mode: download}
  tree: {type: uri_folder, path: "azureml://datastores/bigstore/paths/in/tree/", mode: download}
outputs:
  bigout: {type: uri_folder, mode: upload, path: "azureml://datastores/bigstore/paths/out/${{name}}/big/"}
  treeout: {type: uri_folder, mode: upload, path: "azureml://datastores/bigstore/paths/out/${{name}}/tree/"}
environment_variables:
  FERRY_LIST_PAGE_SIZE: 150
YML

step "the job downloads both inputs, runs, and uploads both outputs"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name rt1
assert_contains "$LAST_STDERR" "Completed"

step "what the job wrote is in storage, byte for byte"
FERRY_LIST_PAGE_SIZE=150 expect_ok ferry download "$(az_uri "$c" out/rt1/big/big.bin)" "$TEST_TMP/back"
assert_file_same "$big" "$TEST_TMP/back/big.bin"
assert_eq "big.bin" "$(ls -A "$TEST_TMP/back")" "DEST holds only the file (no temp files)"
FERRY_LIST_PAGE_SIZE=150 expect_ok ferry download "$(az_uri "$c" out/rt1/tree)" "$TEST_TMP/backtree"
assert_tree_same "$TEST_TMP/tree" "$TEST_TMP/backtree"
assert_eq "$count" "$(azcli ls "$c" | grep -c '^[0-9]*	out/rt1/tree/')" "blobs under the tree output"

step "the downloaded inputs were removed when the job ended"
[[ ! -e $FERRY_HOME/jobs/rt1/cap/data-capability/wd/INPUT_big ]] || fail "INPUT_big left behind"
echo "ok"
