#!/usr/bin/env bash
# t7065 — owns `type: mltable` job outputs: the command writes files, ferry writes the
# output's MLTable naming them (`- file: ./<path>`, name order) into the output before
# it lands (upload mode: uploaded with the files; rw_mount, the default: written
# through the mount), and a named output is registered as an mltable data asset.
# Without an MLTable from the command the output is a file set (`ferry mltable
# export` gives its files); with one, its transformations (read_delimited, filter)
# are kept and only its paths replaced, so the output reads back as the command's
# table — also through the asset and as an eval_download input of the next job.
# A template that does not parse, or an output with no files, fails the job naming
# the output, and nothing of that output is uploaded.
source "$(dirname "$0")/lib.sh"
need_fixtures
c=$(new_container)
az_datastore mlout "$c"
tree="devstoreaccount1/$c"
J=$TEST_TMP/jobs
mkdir -p "$J/code"

step "upload mode, no MLTable from the command: a file set"
cat >"$J/files.yml" <<'YML'
command: >-
  mkdir -p ${{outputs.tbl}}/part=1 ${{outputs.tbl}}/part=2 &&
  printf 'a,b\n1,x\n' > ${{outputs.tbl}}/part=1/rows.csv &&
  printf 'a,b\n2,y\n' > "${{outputs.tbl}}/part=2/it's here.csv"
outputs:
  tbl:
    type: mltable
    mode: upload
    path: azureml://datastores/mlout/paths/files/
YML
expect_ok ferry run "$J/files.yml" --name mlt-files
azcli get "$c" files/MLTable "$TEST_TMP/files.MLTable"
grep -q "^  - file: './part=1/rows.csv'$" "$TEST_TMP/files.MLTable" || fail "MLTable: $(cat "$TEST_TMP/files.MLTable")"
grep -q "^  - file: './part=2/it''s here.csv'$" "$TEST_TMP/files.MLTable" || fail "MLTable: $(cat "$TEST_TMP/files.MLTable")"
expect_ok ferry mltable export azureml://datastores/mlout/paths/files --to csv "$TEST_TMP/files.csv"
printf "Path\n$tree/files/part=1/rows.csv\n$tree/files/part=2/it's here.csv\n" >"$TEST_TMP/files.want"
cmp -s "$TEST_TMP/files.want" "$TEST_TMP/files.csv" || fail "files table: $(diff "$TEST_TMP/files.want" "$TEST_TMP/files.csv")"

step "rw_mount (the default), the command's MLTable as template, registered as an asset"
cat >"$J/table.yml" <<'YML'
command: >-
  printf 'id,city\n1,Paris\n2,Oslo\n3,Lima\n' > ${{outputs.tbl}}/a.csv &&
  printf 'id,city\n4,Rome\n5,Kyiv\n' > ${{outputs.tbl}}/b.csv &&
  printf 'paths:\n  - file: ./placeholder.csv\ntransformations:\n  - read_delimited:\n      delimiter: ","\n  - filter: col("id") != 2\n' > ${{outputs.tbl}}/MLTable
outputs:
  tbl:
    type: mltable
    path: azureml://datastores/mlout/paths/table/
    name: cities
YML
expect_ok ferry run "$J/table.yml" --name mlt-table
assert_contains "$LAST_STDERR" "cities"
azcli get "$c" table/MLTable "$TEST_TMP/table.MLTable"
grep -q placeholder "$TEST_TMP/table.MLTable" && fail "the template's paths were kept: $(cat "$TEST_TMP/table.MLTable")"
grep -q 'filter: col("id") != 2' "$TEST_TMP/table.MLTable" || fail "the filter was lost: $(cat "$TEST_TMP/table.MLTable")"
printf 'id,city\n1,Paris\n3,Lima\n4,Rome\n5,Kyiv\n' >"$TEST_TMP/table.want"
expect_ok ferry mltable export azureml://datastores/mlout/paths/table --to csv "$TEST_TMP/table.csv"
cmp -s "$TEST_TMP/table.want" "$TEST_TMP/table.csv" || fail "table: $(cat "$TEST_TMP/table.csv")"
expect_ok ferry mltable export azureml:cities@latest --to csv "$TEST_TMP/asset.csv"
cmp -s "$TEST_TMP/table.want" "$TEST_TMP/asset.csv" || fail "through the asset: $(cat "$TEST_TMP/asset.csv")"

step "the next job reads the output as an eval_download mltable input"
cat >"$J/next.yml" <<'YML'
command: find ${{inputs.t}} -name '*.csv' | sort | sed 's|.*/||' | tr '\n' ' '
inputs:
  t:
    type: mltable
    path: azureml:cities@latest
    mode: eval_download
YML
expect_ok ferry run "$J/next.yml" --name mlt-next
cat "$TEST_TMP/last.stdout" "$LAST_STDERR" >"$TEST_TMP/next.out"
assert_contains "$TEST_TMP/next.out" "a.csv b.csv"

step "a broken template and an empty output fail the job, naming the output; nothing lands"
cat >"$J/broken.yml" <<'YML'
command: >-
  echo 1 > ${{outputs.tbl}}/x.csv &&
  printf 'transformations:\n  - read_magic: {}\n' > ${{outputs.tbl}}/MLTable
outputs:
  tbl:
    type: mltable
    mode: upload
    path: azureml://datastores/mlout/paths/broken/
YML
expect_fail "read_magic" ferry run "$J/broken.yml" --name mlt-broken
assert_contains "$LAST_STDERR" "output 'tbl'"
azcli ls "$c" >"$TEST_TMP/ls.txt"
assert_not_contains "$TEST_TMP/ls.txt" "broken/"
cat >"$J/empty.yml" <<'YML'
command: "true"
outputs:
  tbl:
    type: mltable
    mode: upload
    path: azureml://datastores/mlout/paths/empty/
YML
expect_fail "wrote no files" ferry run "$J/empty.yml" --name mlt-empty
echo "ok"
