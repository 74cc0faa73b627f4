#!/usr/bin/env bash
# t7050 — owns read_delta_lake: a Delta table built from the Delta protocol by
# tests/fixtures/parquet/gen-delta.mjs (six commits with adds and removes, a
# partition column, a percent-encoded path, a null partition value, a file no
# commit names, a checkpoint Parquet with nested add/remove/metaData/protocol
# structs at version 3 and `_last_checkpoint`; every Parquet file written by npm's
# hyparquet-writer) is uploaded to Azurite. `ferry mltable export` of each
# version_as_of, of timestamp_as_of times between and on commits, and of the
# latest version must equal the rows npm's hyparquet reads from the files live at
# that version (with the partition column from partitionValues), byte for byte.
# A copy whose commits 0-2 are cleaned up still opens at versions 3-5 (so the
# checkpoint is what is read) and fails cleanly at version 2; include_path_column,
# filter and keep_columns work on the table; `ferry mltable show` and an eval_download
# input give the live files only; wrong versions and times are errors.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
FX=$ROOT/tests/fixtures/parquet
[[ -d $FX/node_modules/hyparquet-writer ]] || fail "npm fixtures missing: $FX/node_modules (./setup.sh installs them)"

step "build the Delta table with hyparquet-writer, expected rows with hyparquet"
(cd "$FX" && node gen-delta.mjs "$TEST_TMP/fx") || fail "gen-delta.mjs failed"
c=$(new_container)
az_datastore dl "$c"
tree="devstoreaccount1/$c"
expect_ok ferry upload "$TEST_TMP/fx/table" "azureml://datastores/dl/paths/sales"
cp -r "$TEST_TMP/fx/table" "$TEST_TMP/cleaned"
rm "$TEST_TMP/cleaned/_delta_log/0000000000000000000"[012].json
expect_ok ferry upload "$TEST_TMP/cleaned" "azureml://datastores/dl/paths/cleaned"

# mltable NAME TABLE [OPTION LINES...] — an MLTable over TABLE in folder NAME
mltable() {
	local name=$1 table=$2
	shift 2
	{
		printf 'type: mltable\npaths:\n  - folder: ../%s\ntransformations:\n  - read_delta_lake:\n' "$table"
		for o in "$@"; do printf '      %s\n' "$o"; done
		[[ $# -gt 0 ]] || printf '      include_path_column: false\n'
	} >"$TEST_TMP/ml-$name"
	azcli put "$c" "$name/MLTable" "$TEST_TMP/ml-$name"
}
# same NAME VERSION — export NAME and compare it with the rows of VERSION
same() {
	expect_ok ferry mltable export "azureml://datastores/dl/paths/$1" --to csv "$TEST_TMP/got-$1.csv"
	cmp -s "$TEST_TMP/fx/v$2.csv" "$TEST_TMP/got-$1.csv" ||
		fail "$1 is not version $2: $(diff "$TEST_TMP/fx/v$2.csv" "$TEST_TMP/got-$1.csv" | head -8)"
}

for v in 0 1 2 3 4 5; do
	step "version_as_of: $v equals hyparquet's rows of the files live at version $v"
	mltable "v$v" sales "version_as_of: $v"
	same "v$v" "$v"
done
# the versions differ, so each comparison above could fail on a wrong version
for v in 1 2 3 4 5; do
	cmp -s "$TEST_TMP/fx/v$((v - 1)).csv" "$TEST_TMP/fx/v$v.csv" && fail "fixture versions $((v - 1)) and $v are equal"
done

step "no option: the latest version"
mltable latest sales
same latest 5

step "timestamp_as_of: the newest commit at or before the time"
mltable ts-a sales "timestamp_as_of: '2024-01-01T02:30:00Z'"
same ts-a 2
mltable ts-b sales "timestamp_as_of: '2024-01-01T03:00:00Z'"
same ts-b 3
mltable ts-c sales "timestamp_as_of: '2024-01-01T04:59:59.999+01:00'"
same ts-c 3
mltable ts-d sales "timestamp_as_of: '2030-01-01'"
same ts-d 5
mltable ts-e sales "timestamp_as_of: '2023-12-31T23:59:59Z'"
expect_fail "before the Delta table's first commit" ferry mltable export azureml://datastores/dl/paths/ts-e --to csv -

step "commits 0-2 cleaned up: versions 3-5 come from the checkpoint, version 2 cannot be rebuilt"
for v in 3 4 5; do
	mltable "cl$v" cleaned "version_as_of: $v"
	same "cl$v" "$v"
done
mltable cl2 cleaned "version_as_of: 2"
expect_fail "00000000000000000000.json is missing" ferry mltable export azureml://datastores/dl/paths/cl2 --to csv -
mltable clts cleaned "timestamp_as_of: '2024-01-01T04:30:00Z'"
same clts 4

step "include_path_column, filter and keep_columns over the table"
mltable tx sales "version_as_of: 4" "include_path_column: true"
cat >>"$TEST_TMP/ml-tx" <<'YML'
  - filter: 'col("region") == "eu" and col("id") >= 40'
  - keep_columns: [id, region, Path]
YML
azcli put "$c" tx/MLTable "$TEST_TMP/ml-tx"
expect_ok ferry mltable export azureml://datastores/dl/paths/tx --to csv "$TEST_TMP/got-tx.csv"
$PY - "$TEST_TMP/fx/v4.csv" "$TEST_TMP/got-tx.csv" "$tree" <<'PY' || fail "filtered rows differ"
import csv, sys
want_csv, got, tree = sys.argv[1:]
want = [["id", "region", "Path"]]
for r in csv.DictReader(open(want_csv, newline="")):
    if r["region"] == "eu" and int(r["id"]) >= 40:
        file = "part-00001-c" if int(r["id"]) >= 100 else "part-00002-f"
        want.append([r["id"], "eu", f"{tree}/sales/region=eu/{file}.c000.snappy.parquet"])
rows = list(csv.reader(open(got, newline="")))
assert len(want) > 10 and rows == want, (rows[:5], want[:5])
PY
expect_ok ferry mltable export azureml://datastores/dl/paths/v5 --to jsonl "$TEST_TMP/got.jsonl"
$PY - "$TEST_TMP/got.jsonl" <<'PY' || fail "jsonl types"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 160 and isinstance(rows[0]["id"], int) and rows[0]["region"] is None, rows[0]
assert any(r["region"] == "ap south" for r in rows)
PY

step "show and eval_download give the live files of the version, not the log"
expect_ok ferry mltable show azureml://datastores/dl/paths/v4
grep '^  [0-9]' "$TEST_TMP/last.stdout" | sed 's/.*\///' | LC_ALL=C sort >"$TEST_TMP/show.txt"
printf '%s\n' part-00000-e.c000.snappy.parquet part-00001-c.c000.snappy.parquet part-00001-d.c000.snappy.parquet \
	part-00002-f.c000.snappy.parquet >"$TEST_TMP/show.want"
cmp -s "$TEST_TMP/show.want" "$TEST_TMP/show.txt" || fail "show: $(cat "$TEST_TMP/last.stdout")"
assert_not_contains "$TEST_TMP/last.stdout" "_delta_log"
cat >"$TEST_TMP/job.yml" <<'YML'
command: cd ${{inputs.t}} && find . -type f | sed 's|.*/||' | LC_ALL=C sort | tr '\n' ' '
inputs:
  t:
    type: mltable
    path: azureml://datastores/dl/paths/v1
    mode: eval_download
YML
expect_ok ferry run "$TEST_TMP/job.yml" --name delta-eval
cat "$TEST_TMP/last.stdout" "$LAST_STDERR" >"$TEST_TMP/job.out"
assert_contains "$TEST_TMP/job.out" "part-00000-a.c000.snappy.parquet part-00000-b.c000.snappy.parquet part-00001-c.c000.snappy.parquet "
assert_not_contains "$TEST_TMP/job.out" "checkpoint.parquet"

step "wrong versions and times are errors naming the MLTable"
mltable far sales "version_as_of: 9"
expect_fail "latest version is 5" ferry mltable export azureml://datastores/dl/paths/far --to csv -
mltable both sales "version_as_of: 1" "timestamp_as_of: '2024-01-01'"
expect_fail "not both" ferry mltable export azureml://datastores/dl/paths/both --to csv -
mltable badts sales "timestamp_as_of: 'yesterday'"
expect_fail "field 'timestamp_as_of': expected a timestamp" ferry mltable export azureml://datastores/dl/paths/badts --to csv -
mltable neg sales "version_as_of: -1"
expect_fail "version_as_of" ferry mltable export azureml://datastores/dl/paths/neg --to csv -
printf 'paths:\n  - folder: ../sales/region=eu\ntransformations:\n  - read_delta_lake\n' >"$TEST_TMP/ml-notdelta"
azcli put "$c" notdelta/MLTable "$TEST_TMP/ml-notdelta"
expect_fail "is not a Delta table" ferry mltable export azureml://datastores/dl/paths/notdelta --to csv -
echo "ok"
