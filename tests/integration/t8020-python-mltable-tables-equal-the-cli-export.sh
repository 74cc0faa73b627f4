#!/usr/bin/env bash
# t8020 — owns ferry.mltable (python/ferry/mltable.py over ferry_api_mltable_rows/_files): pytest
# under Debian's /usr/bin/python3 (tests/python/test_mltable.py). Every table of the MLTable corpus
# (tests/data/mltable/, the cases that evaluate), read through an Azurite datastore and from the
# local folder, and Parquet files written by hyparquet-writer, give the DataFrame that the CLI's
# `ferry mltable export --to jsonl` of the same table holds, value by value, with dtypes from the
# schema `ferry mltable show` prints (nulls as NaN / None / NaT); the same through a data asset;
# take / skip / filter / select_columns / drop_columns against pandas on the full frame, and a
# chain of them against the CLI's export of an MLTable file with the same steps written out;
# random_split halves disjoint, covering and the same for the same seed; batches streamed and
# stopped early; a file-set table's paths equal `ferry mltable show`'s files; errors are
# exceptions naming the table or the step, with no account key or SAS signature in any message
# or repr.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import pytest, pandas, numpy' 2>/dev/null || skip "Debian's python3-pytest / python3-pandas are not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=${T8020_LIB:-$ROOT/build/libferry.so}
[[ -f $FERRY_LIB ]] || fail "$FERRY_LIB was not built by make"
DATA=$ROOT/tests/data/mltable
FX=$ROOT/tests/fixtures/parquet

c=$(new_container)
az_datastore mlds "$c"
sed "s/^name: mlds/name: badkey/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-mlds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"

step "upload the corpus, the fixtures made here and Parquet files from hyparquet-writer"
expect_ok ferry upload "$DATA" azureml://datastores/mlds/paths/
cases=""
for dir in "$DATA"/*/; do
	[[ -f $dir/expected.err ]] || cases="$cases $(basename "$dir")"
done
mk() { # mk NAME FILE CONTENT — a file of a fixture table (all uploaded to NAME/FILE below)
	mkdir -p "$TEST_TMP/fx/$1"
	printf '%s' "$3" >"$TEST_TMP/fx/$1/$2"
}
mk nulls data.csv 'id,score,flag,when,name,n
1,1.5,true,2021-01-02 03:04:05,a,7
2,,false,,,
3,2.5,,2022-12-31 00:00:00,c,9
'
mk nulls MLTable 'paths:
  - file: ./data.csv
transformations:
  - read_delimited:
      header: all_files_same_headers
  - convert_column_types:
      - columns: id
        column_type: int
      - columns: score
        column_type: float
      - columns: flag
        column_type: boolean
      - columns: when
        column_type: datetime
'
mk far-dates data.csv 'when
1969-07-20 20:17:40
9999-12-31 23:59:59
'
mk far-dates MLTable 'paths:
  - file: ./data.csv
transformations:
  - read_delimited: {}
  - convert_column_types:
      - columns: when
        column_type: datetime
'
mk widen data.csv "$(printf 'a,b\n'; for i in $(seq 0 302); do
	a=$i b=$i
	[[ $i == 300 ]] && a=2.5
	[[ $i == 301 ]] && b=word
	printf '%s,%s\n' "$a" "$b"
done)
"
mk widen MLTable 'paths:
  - file: ./data.csv
transformations:
  - read_delimited: {}
'
abc=(a b c)
big=$(printf 'n,g,s,x\n'; for i in $(seq 0 999); do printf '%d,%s,s%d,%d.25\n' "$i" "${abc[i % 3]}" "$i" "$i"; done)
mk big data.csv "$big
"
mk big MLTable 'paths:
  - file: ./data.csv
transformations:
  - read_delimited: {}
'
mk big-chain data.csv "$big
"
mk big-chain MLTable 'paths:
  - file: ./data.csv
transformations:
  - read_delimited: {}
  - filter: '"'"'col("g") == "b" or col("n") < 50'"'"'
  - skip: 3
  - take: 40
  - drop_columns: [s]
'
for i in 3 1 5 2 4; do mk fileset "f$i.bin" "file $i"; done
mk fileset MLTable 'paths:
  - pattern: ./*.bin
'
(cd "$FX" && node gen.mjs "$TEST_TMP/pq") >/dev/null || fail "gen.mjs failed"
for n in plain delta encodings; do
	mkdir -p "$TEST_TMP/fx/pq-$n"
	cp "$TEST_TMP/pq/$n.parquet" "$TEST_TMP/fx/pq-$n/data.parquet"
	printf 'paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n' >"$TEST_TMP/fx/pq-$n/MLTable"
done
expect_ok ferry upload "$TEST_TMP/fx" azureml://datastores/mlds/paths/
expect_ok ferry data create --name pytitanic --path "azureml://datastores/mlds/paths/titanic/" --type mltable

step "the CLI's export and schema of every table"
mkdir -p "$TEST_TMP/export" "$TEST_TMP/schema"
for name in $cases nulls far-dates widen big big-chain pq-plain pq-delta pq-encodings; do
	uri="azureml://datastores/mlds/paths/$name"
	expect_ok ferry mltable export "$uri" --to jsonl "$TEST_TMP/export/$name.jsonl"
	expect_ok ferry mltable show "$uri"
	sed -n '/^schema:/,$p' "$TEST_TMP/last.stdout" | tail -n +2 | sed 's/^  //' >"$TEST_TMP/schema/$name.txt"
done
expect_ok ferry mltable show azureml://datastores/mlds/paths/fileset
cp "$TEST_TMP/last.stdout" "$TEST_TMP/fileset-show.txt"

step "pytest tests/python/test_mltable.py"
export T8_TMP=$TEST_TMP T8_DS=mlds T8_CASES="$cases" T8_KEY=$AZURITE_KEY T8_LOCAL=$DATA T8_FERRY=$FERRY \
	T8_AZURITE=$AZURITE_URL T8_CONTAINER=$c
run_pytest test_mltable.py
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"
