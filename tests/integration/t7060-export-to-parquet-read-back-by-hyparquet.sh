#!/usr/bin/env bash
# t7060 — owns `ferry mltable export --to parquet` (src/mltable/pqwrite.c): a typed
# CSV table (ints, reals, booleans and datetimes from convert_column_types, dates,
# strings with commas, quotes, line breaks and non-ASCII text, nulls; 140,000 rows, so
# two row groups) and the Parquet fixtures of t7040 are exported to Parquet with each
# codec (snappy, zstd, gzip, none); npm's hyparquet reads every file back and its rows
# must equal, value by value and with the right physical/logical types, what
# `ferry mltable export --to jsonl` gives for the same MLTable; ferry's own
# read_parquet of the written files gives the t7040 fixtures' CSV byte for byte; a
# value that does not fit its column's type is an error naming column and value that
# leaves no output file; --codec without --to parquet is a usage error.
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=120
FX=$ROOT/tests/fixtures/parquet
[[ -d $FX/node_modules/hyparquet ]] || fail "npm fixtures missing: $FX/node_modules (./setup.sh installs them)"
T=$TEST_TMP

step "a typed CSV table of 140,000 rows"
mkdir -p "$T/typed"
$PY - "$T/typed/data.csv" <<'PY'
import csv, sys
w = csv.writer(open(sys.argv[1], "w", newline=""), lineterminator="\n")
w.writerow(["id", "amount", "flag", "when", "day", "name"])
names = ["plain", "with, comma", 'with "quotes"', "line\nbreak", "δέλτα ✓", ""]
for i in range(140000):
    w.writerow([i - 70000, "" if i % 17 == 3 else "%.3f" % (i * 0.37 - 5000), "" if i % 13 == 5 else ("yes" if i % 3 else "no"),
                "2024-02-%02dT%02d:%02d:%02d" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60),
                "" if i % 11 == 2 else "19%02d-%02d-%02d" % (i % 100, 1 + i % 12, 1 + i % 28), names[i % len(names)]])
PY
cat >"$T/typed/MLTable" <<'YML'
paths:
  - file: ./data.csv
transformations:
  - read_delimited:
      support_multi_line: true
  - convert_column_types:
      - columns: flag
        column_type:
          boolean:
            true_values: ["yes"]
            false_values: ["no"]
      - columns: [when, day]
        column_type: datetime
YML
expect_ok ferry mltable export "$T/typed" --to jsonl "$T/typed.jsonl"
(cd "$FX" && node gen.mjs "$T/fx") >/dev/null || fail "gen.mjs failed"

# compare PARQUET JSONL — hyparquet's rows of PARQUET against ferry's JSON lines
compare() {
	(cd "$FX" && node readback.mjs "$1") >"$T/readback.jsonl" || fail "hyparquet cannot read $1"
	$PY - "$T/readback.jsonl" "$2" "$3" <<'PY' || fail "$1: hyparquet's rows differ from ferry's (see above)"
import datetime as dt, json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = [json.loads(l) for l in open(sys.argv[2])]
types = json.loads(sys.argv[3])
head = got.pop(0)
schema = {s[0]: s[1:] for s in head["schema"]}
for col, t in types.items():
    assert schema[col][0] == t[0] and (len(t) < 2 or t[1] in schema[col][1:]), (col, schema[col], t)
assert head["num_rows"] == len(want) == len(got), (head, len(want), len(got))
def norm(v, kind):
    if v is None:
        return None
    if kind in ("INT32", "INT64") and isinstance(v, str) and v[:1].isdigit() and "-" in v[4:5]:
        v = v.replace("Z", "").replace(" ", "T")
        v = dt.datetime.fromisoformat(v if "T" in v else v + "T00:00:00")
        return v
    return v
bad = 0
for i, (g, w) in enumerate(zip(got, want)):
    for col in w:
        kind = schema[col][0]
        a, b = g[col], w[col]
        if kind in ("INT32", "INT64") and isinstance(b, str):
            a, b = norm(a, kind), norm(b, kind)
        if kind == "DOUBLE" and a is not None and b is not None:
            ok = float(a) == float(b)
        else:
            ok = a == b
        if not ok:
            bad += 1
            if bad < 5:
                print("row %d column %s: hyparquet %r, ferry %r" % (i, col, g[col], w[col]))
sys.exit(1 if bad else 0)
PY
}

typed='{"id": ["INT64"], "amount": ["DOUBLE"], "flag": ["BOOLEAN"], "when": ["INT64", "TIMESTAMP"], "day": ["INT64", "TIMESTAMP"], "name": ["BYTE_ARRAY", "STRING"]}'
for codec in snappy zstd gzip none; do
	step "typed table --to parquet --codec $codec: hyparquet reads ferry's rows"
	expect_ok ferry mltable export "$T/typed" --to parquet --codec "$codec" "$T/typed-$codec.parquet"
	compare "$T/typed-$codec.parquet" "$T/typed.jsonl" "$typed"
done
grep -q '"row_groups":2' "$T/readback.jsonl" || fail "140,000 rows should make two row groups: $(head -c 300 "$T/readback.jsonl")"

step "t7040's fixtures through --to parquet and back through read_parquet: the same CSV"
for n in snappy plain encodings; do
	mkdir -p "$T/rt-$n" "$T/src-$n"
	cp "$T/fx/$n.parquet" "$T/src-$n/x.parquet"
	printf 'paths:\n  - file: ./x.parquet\ntransformations:\n  - read_parquet\n' >"$T/src-$n/MLTable"
	cp "$T/src-$n/MLTable" "$T/rt-$n/MLTable"
	expect_ok ferry mltable export "$T/src-$n" --to parquet "$T/rt-$n/x.parquet"
	expect_ok ferry mltable export "$T/rt-$n" --to csv "$T/rt-$n.csv"
	cmp -s "$T/fx/$n.csv" "$T/rt-$n.csv" || fail "$n round trip differs: $(diff "$T/fx/$n.csv" "$T/rt-$n.csv" | head -6)"
	expect_ok ferry mltable export "$T/src-$n" --to jsonl "$T/src-$n.jsonl"
	compare "$T/rt-$n/x.parquet" "$T/src-$n.jsonl" '{"id": ["INT64"], "word": ["BYTE_ARRAY", "STRING"], "flag": ["BOOLEAN"], "day": ["INT32", "DATE"], "ts_us": ["INT64", "TIMESTAMP"]}'
done

step "a value that does not fit its column: an error naming it, no output left"
mkdir -p "$T/mixed"
{ echo "n"; for i in $(seq 1 250); do echo "$i"; done; echo "twelve"; } >"$T/mixed/data.csv"
printf 'paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited\n' >"$T/mixed/MLTable"
expect_fail "column 'n' is int, but a value is 'twelve'" ferry mltable export "$T/mixed" --to parquet "$T/mixed.parquet"
[[ ! -e $T/mixed.parquet ]] || fail "a failed export left $T/mixed.parquet"
expect_fail "--codec goes with --to parquet" ferry mltable export "$T/mixed" --to csv --codec zstd "$T/x.csv"
expect_fail "takes snappy, zstd, gzip or none" ferry mltable export "$T/mixed" --to parquet --codec lz4 "$T/x.pq"
echo "ok"
