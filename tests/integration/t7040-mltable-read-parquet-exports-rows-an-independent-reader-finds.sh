#!/usr/bin/env bash
# t7040 — owns read_parquet: Parquet files written by an independent implementation
# (npm's hyparquet-writer via tests/fixtures/parquet/gen.mjs: snappy, gzip, zstd and
# uncompressed codecs; dictionary, PLAIN, RLE, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
# DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT pages; nulls;
# int32/64, boolean, float, double, strings, dates, timestamps in ms/us/ns, decimals in
# INT32, INT64 and FIXED_LEN_BYTE_ARRAY; several row
# groups and pages) are uploaded to Azurite; `ferry mltable export --to csv` must equal
# the rows npm's hyparquet reads from the same files, byte for byte; head, jsonl,
# include_path_column, filter and keep_columns work on them; and through the fault
# proxy's byte counter, keep_columns of 2 of 20 columns fetches at most 15% of the
# file and `take: 10` only the first row group.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
FX=$ROOT/tests/fixtures/parquet
[[ -d $FX/node_modules/hyparquet-writer ]] || fail "npm fixtures missing: $FX/node_modules (./setup.sh installs them)"

step "generate the fixtures with hyparquet-writer, expected rows with hyparquet"
(cd "$FX" && node gen.mjs "$TEST_TMP/fx") || fail "gen.mjs failed"
c=$(new_container)
az_datastore pq "$c"
tree="devstoreaccount1/$c"
names="snappy gzip zstd plain delta encodings wide"
for n in $names; do
	azcli put "$c" "$n/data.parquet" "$TEST_TMP/fx/$n.parquet"
	printf 'paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n' >"$TEST_TMP/ml-$n"
	azcli put "$c" "$n/MLTable" "$TEST_TMP/ml-$n"
done

for n in $names; do
	step "$n: export --to csv equals hyparquet's rows"
	expect_ok ferry mltable export "azureml://datastores/pq/paths/$n" --to csv "$TEST_TMP/got-$n.csv"
	cmp -s "$TEST_TMP/fx/$n.csv" "$TEST_TMP/got-$n.csv" ||
		fail "$n differs: $(diff "$TEST_TMP/fx/$n.csv" "$TEST_TMP/got-$n.csv" | head -10)"
done

step "head -n 4 and --to jsonl over Parquet"
expect_ok ferry mltable head azureml://datastores/pq/paths/plain -n 4
$PY - "$TEST_TMP/fx/plain.csv" "$TEST_TMP/last.stdout" <<'PY' || fail "head differs"
import csv, sys
want = list(csv.reader(open(sys.argv[1], newline="")))[:5]
got = list(csv.reader(open(sys.argv[2], newline="")))
assert got == want, (got, want)
PY
expect_ok ferry mltable export azureml://datastores/pq/paths/gzip --to jsonl "$TEST_TMP/got.jsonl"
$PY - "$TEST_TMP/fx/gzip.csv" "$TEST_TMP/got.jsonl" <<'PY' || fail "jsonl differs from the csv"
import csv, json, sys
want = list(csv.DictReader(open(sys.argv[1], newline="")))
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(want) == 300, (len(got), len(want))
for w, g in zip(want, got):
    assert g["id"] == int(w["id"]) and (g["word"] or "") == w["word"], (w, g)
    assert (g["flag"] is None and w["flag"] == "") or str(g["flag"]).lower() == w["flag"], (w, g)
PY

step "two files, include_path_column, filter and keep_columns"
cat >"$TEST_TMP/ml-two" <<'YML'
paths:
  - file: ../snappy/data.parquet
  - file: ../zstd/data.parquet
transformations:
  - read_parquet:
      include_path_column: true
  - filter: 'col("id") >= 297'
  - keep_columns: [id, word, Path]
YML
azcli put "$c" two/MLTable "$TEST_TMP/ml-two"
expect_ok ferry mltable export azureml://datastores/pq/paths/two --to csv "$TEST_TMP/got-two.csv"
$PY - "$TEST_TMP/fx" "$TEST_TMP/got-two.csv" "$tree" <<'PY' || fail "filtered rows differ"
import csv, sys
fx, got, tree = sys.argv[1:]
want = [["id", "word", "Path"]]
for n in ["snappy", "zstd"]:
    for r in csv.DictReader(open(f"{fx}/{n}.csv", newline="")):
        if int(r["id"]) >= 297:
            want.append([r["id"], r["word"], f"{tree}/{n}/data.parquet"])
rows = list(csv.reader(open(got, newline="")))
assert rows == want, (rows, want)
PY

step "a later file with other columns is an error naming it and the column"
printf 'paths:\n  - file: ../snappy/data.parquet\n  - file: ../wide/data.parquet\ntransformations:\n  - read_parquet\n' >"$TEST_TMP/ml-mixed"
azcli put "$c" mixed/MLTable "$TEST_TMP/ml-mixed"
expect_fail "$tree/wide/data.parquet: column 'c0' is not in the first file's schema" \
	ferry mltable export azureml://datastores/pq/paths/mixed --to csv "$TEST_TMP/got-mixed.csv"

# Ranged reads, counted at the storage side: the fault proxy relays every byte.
if [[ -n ${FAULT_CTL:-} ]]; then
	body_bytes() { curl -sf --max-time 5 "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["body_bytes"])'; }
	size=$(stat -c %s "$TEST_TMP/fx/wide.parquet")
	printf 'paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n  - keep_columns: [c0, c1]\n' >"$TEST_TMP/ml-k"
	printf 'paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n  - take: 10\n' >"$TEST_TMP/ml-t"
	azcli put "$c" keep/data.parquet "$TEST_TMP/fx/wide.parquet"
	azcli put "$c" keep/MLTable "$TEST_TMP/ml-k"
	azcli put "$c" take/data.parquet "$TEST_TMP/fx/wide.parquet"
	azcli put "$c" take/MLTable "$TEST_TMP/ml-t"
	export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
	for what in wide keep take; do
		fault clear
		expect_ok ferry mltable export "$(fault_uri "$c" "$what")" --to csv "$TEST_TMP/got-$what.csv"
		eval "bytes_$what=\$(body_bytes)"
	done
	echo "wide.parquet: $size bytes; fetched: all columns $bytes_wide, keep_columns 2 of 20 $bytes_keep, take 10 $bytes_take"
	step "all columns fetch the whole file; 2 of 20 columns at most 15%; take: 10 one row group of 4"
	[[ $bytes_wide -ge $((size * 9 / 10)) ]] || fail "a full export fetched $bytes_wide of $size bytes: is the counter counting?"
	[[ $bytes_keep -le $((size * 15 / 100)) ]] || fail "keep_columns 2 of 20 fetched $bytes_keep of $size bytes (> 15%)"
	[[ $bytes_take -le $((size * 35 / 100)) ]] || fail "take: 10 fetched $bytes_take of $size bytes (more than one row group)"
	$PY - "$TEST_TMP/fx/wide.csv" "$TEST_TMP/got-keep.csv" "$TEST_TMP/got-take.csv" <<'PY' || fail "projected rows differ"
import csv, sys
full = list(csv.reader(open(sys.argv[1], newline="")))
keep = list(csv.reader(open(sys.argv[2], newline="")))
take = list(csv.reader(open(sys.argv[3], newline="")))
assert keep == [r[:2] for r in full], "keep_columns"
assert take == full[:11], "take"
PY
else
	echo "fault proxy not running: ranged-read figures not checked"
fi
