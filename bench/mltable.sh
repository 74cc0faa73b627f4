#!/usr/bin/env bash
# bench/mltable.sh — owns the MLTable table benchmark: `ferry mltable export` of one
# large CSV (an MLTable with read_delimited, a taxi-like table of 8 columns with quoted
# fields) against the machine's ceiling for the same bytes, and optionally pandas.
# For each it prints wall time, throughput, user+sys CPU and peak RSS (/usr/bin/time -v),
# and ferry's ratio to the ceiling:
#   cat > /dev/null      reading the file (page cache): the read ceiling
#   cp                   reading and writing the same bytes: the ceiling for CSV -> CSV
#   ferry --to csv       parse every record, write it again (quoting where needed)
#   ferry --to jsonl     the same, with types inferred and JSON written
#   pandas (BENCH_PANDAS=1)  read_csv + to_csv of the same file (Debian's python3-pandas)
# Every output is checked: the CSV export must equal the input byte for byte (the input
# is written in ferry's canonical quoting) and the JSON lines must have one line a row.
#
# Then the Parquet rows (MLTABLE_BENCH_PARTS="csv parquet", the default; either alone):
# npm's hyparquet-writer makes a Parquet file of 20 columns (10 doubles, 10 strings,
# SNAPPY, row groups of 100,000 rows; tests/fixtures/parquet/bench.mjs) of
# MLTABLE_BENCH_PQ_SIZE bytes (default 1G), and it is exported to CSV by
#   ferry-pq-csv         ferry mltable export (read_parquet) --to csv
#   hyparquet-csv        npm's hyparquet under node, row group by row group, writing
#                        the same CSV (the two outputs must be equal byte for byte)
#   ferry-eqcsv-csv      ferry mltable export of that CSV (read_delimited): the same
#                        rows read from the equivalent CSV
# and `keep_columns: [c0, c1]` (2 of 20) is exported while ferry's storage layer counts
# the bytes it reads (the "bytes read from storage" of `ferry mltable export`): the
# ratio to the file's size must stay at or below 15%.
#
#   bench/mltable.sh                         1 GiB (the figure in docs/performance.md)
#   MLTABLE_BENCH_SIZE=128M bench/mltable.sh  a quick run
# The file is made once in $BENCH_DIR (default /tmp/ferry-bench-mltable) and kept.
set -euo pipefail
PARTS=${MLTABLE_BENCH_PARTS:-csv parquet}

source "$(dirname "$0")/lib.sh" mltable time nofixtures
SIZE=${MLTABLE_BENCH_SIZE:-1G}
DIR=${BENCH_DIR:-/tmp/ferry-bench-mltable}
mkdir -p "$DIR/table" "$DIR/out"
export FERRY_HOME=$DIR/home

bytes=$(numfmt --from=iec "$SIZE")
csv=$DIR/table/trips.csv
if [[ " $PARTS " == *" csv "* ]] && [[ ! -f $csv || $(stat -c %s "$csv") -lt $bytes ]]; then
	echo "making a $SIZE CSV in $csv ..."
	$PY - "$csv" "$bytes" <<-'PYEOF'
	import random, sys
	path, want = sys.argv[1], int(sys.argv[2])
	rnd = random.Random(1)
	names = ["Braund, Mr. Owen", "plain", "Cumings \"Flo\"", "x", "Heikkinen"]
	rows = []
	for i in range(20000):
	    n = names[i % len(names)]
	    q = '"' + n.replace('"', '""') + '"' if (',' in n or '"' in n) else n
	    rows.append("%d,2015-01-%02d %02d:%02d:%02d,%d,%.2f,%s,%s,%.3f,%s\n" % (
	        i, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, rnd.randint(1, 6), rnd.random() * 30,
	        "Y" if i % 3 else "N", q, rnd.random() * 100, "" if i % 5 else "note"))
	block = "".join(rows).encode()
	with open(path, "wb") as f:
	    f.write(b"id,pickup,passengers,distance,flag,name,amount,note\n")
	    written = 0
	    while written < want:
	        f.write(block)
	        written += len(block)
	PYEOF
fi
printf 'paths:\n  - file: ./trips.csv\ntransformations:\n  - read_delimited:\n      header: all_files_same_headers\n' \
	>"$DIR/table/MLTable"
if [[ " $PARTS " == *" csv "* ]]; then
	size=$(stat -c %s "$csv")
	rows=$(($(wc -l <"$csv") - 1))
	cat "$csv" >/dev/null # page cache for everyone
fi

# parquet_rows — the Parquet rows (see the top)
parquet_rows() {
	local fx=$ROOT/tests/fixtures/parquet pq=$DIR/pq/data.parquet
	[[ -d $fx/node_modules/hyparquet-writer ]] || { echo "bench: $fx/node_modules missing (./setup.sh)" >&2; exit 1; }
	local want
	want=$(numfmt --from=iec "${MLTABLE_BENCH_PQ_SIZE:-1G}")
	mkdir -p "$DIR/pq" "$DIR/pq2"
	if [[ ! -f $pq || $(stat -c %s "$pq") -lt $want ]]; then
		echo "making a $(numfmt --to=iec "$want") Parquet file in $pq with hyparquet-writer ..."
		node "$fx/bench.mjs" make "$pq" "$want"
	fi
	printf 'paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n' >"$DIR/pq/MLTable"
	printf 'paths:\n  - file: ../pq/data.parquet\ntransformations:\n  - read_parquet\n  - keep_columns: [c0, c1]\n' \
		>"$DIR/pq2/MLTable"
	size=$(stat -c %s "$pq")
	cat "$pq" >/dev/null
	echo "input: $pq, $(numfmt --to=iec "$size") bytes, 20 columns (throughput below: Parquet bytes per second)"
	run ferry-pq-csv "$FERRY" mltable export "$DIR/pq" --to csv "$DIR/out/pq-ferry.csv"
	run hyparquet-csv node "$fx/bench.mjs" csv "$pq" "$DIR/out/pq-hyparquet.csv"
	cmp -s "$DIR/out/pq-ferry.csv" "$DIR/out/pq-hyparquet.csv" ||
		{ echo "bench: ferry's and hyparquet's CSV of the Parquet file differ" >&2; exit 1; }
	mkdir -p "$DIR/eqcsv"
	mv "$DIR/out/pq-ferry.csv" "$DIR/eqcsv/data.csv"
	rm -f "$DIR/out/pq-hyparquet.csv"
	printf 'paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited:\n      infer_column_types: false\n' \
		>"$DIR/eqcsv/MLTable"
	local csvsize
	csvsize=$(stat -c %s "$DIR/eqcsv/data.csv")
	echo "equivalent CSV: $(numfmt --to=iec "$csvsize") bytes (throughput below still per Parquet byte)"
	cat "$DIR/eqcsv/data.csv" >/dev/null
	run ferry-eqcsv-csv "$FERRY" mltable export "$DIR/eqcsv" --to csv "$DIR/out/eq.csv"
	cmp -s "$DIR/eqcsv/data.csv" "$DIR/out/eq.csv" || { echo "bench: the CSV round trip differs" >&2; exit 1; }
	rm -f "$DIR/out/eq.csv" "$DIR/eqcsv/data.csv"
	run ferry-pq-2of20 "$FERRY" mltable export "$DIR/pq2" --to csv "$DIR/out/pq2.csv"
	local fetched
	fetched=$(sed -n 's/.*(\([0-9]*\) bytes read from storage.*/\1/p' "$DIR/err.ferry-pq-2of20")
	[[ -n $fetched ]] || { echo "bench: no byte count from ferry" >&2; exit 1; }
	printf 'projection: keep_columns 2 of 20 read %s of %s bytes from storage = %.1f%% (limit 15%%)\n' \
		"$fetched" "$size" "$(echo "100 * $fetched / $size" | bc -l)"
	printf 'ratios: hyparquet-csv / ferry-pq-csv = %.2f (wall), %.2f (peak RSS); ferry-pq-csv / ferry-eqcsv-csv = %.2f\n' \
		"$(echo "${WALL[hyparquet-csv]} / ${WALL[ferry-pq-csv]}" | bc -l)" \
		"$(echo "${RSS[hyparquet-csv]} / ${RSS[ferry-pq-csv]}" | bc -l)" \
		"$(echo "${WALL[ferry-pq-csv]} / ${WALL[ferry-eqcsv-csv]}" | bc -l)"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	rm -f "$DIR"/out/*
	[[ $(echo "100 * $fetched / $size <= 15" | bc -l) -eq 1 ]] || { echo "bench: projection read more than 15%" >&2; exit 1; }
}

# run NAME CMD... — time CMD; print a result line
declare -A WALL RSS
run() {
	local name=$1
	shift
	/usr/bin/time -v -o "$DIR/time.$name" "$@" >/dev/null 2>"$DIR/err.$name" || {
		echo "bench: $name failed: $(tail -3 "$DIR/err.$name")" >&2
		exit 1
	}
	local wall cpu rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$DIR/time.$name")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$DIR/time.$name")
	rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' "$DIR/time.$name")
	WALL[$name]=$wall
	RSS[$name]=$rss
	local row
	row="mltable: CSV $(numfmt --to=iec-i --suffix=B "$size") to CSV"
	case $name in
	ferry-jsonl) row="mltable: CSV $(numfmt --to=iec-i --suffix=B "$size") to JSON lines" ;;
	ferry-pq-csv | hyparquet-csv) row="mltable: Parquet $(numfmt --to=iec-i --suffix=B "$size") to CSV" ;;
	ferry-eqcsv-csv) row="mltable: the Parquet file's rows as CSV to CSV" ;;
	ferry-pq-2of20) row="mltable: Parquet $(numfmt --to=iec-i --suffix=B "$size"), 2 of 20 columns to CSV" ;;
	esac
	bench_row "$row" "${name/cat-devnull/cat}" "$wall" "$cpu" "$(awk -F': ' '/Maximum resident/ { print $2 }' "$DIR/time.$name")"
	printf '%-18s %8.2f s %9.0f MiB/s %8s s CPU %9s MiB peak RSS\n' "$name" "$wall" \
		"$(echo "$size / 1048576 / $wall" | bc -l)" "$cpu" "$rss"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
[[ " $PARTS " == *" csv "* ]] || { parquet_rows; bench_table; exit 0; }
echo "input: $csv, $(numfmt --to=iec "$size") bytes, $rows rows, 8 columns"
run cat-devnull sh -c "cat '$csv' > /dev/null"
run cp cp "$csv" "$DIR/out/cp.csv"
run ferry-csv "$FERRY" mltable export "$DIR/table" --to csv "$DIR/out/ferry.csv"
run ferry-jsonl "$FERRY" mltable export "$DIR/table" --to jsonl "$DIR/out/ferry.jsonl"
if [[ ${BENCH_PANDAS:-0} == 1 ]]; then
	run pandas "$PY" -c "import pandas as pd; pd.read_csv('$csv').to_csv('$DIR/out/pandas.csv', index=False)"
fi
cmp -s "$csv" "$DIR/out/ferry.csv" || { echo "bench: the CSV export differs from its input" >&2; exit 1; }
[[ $(wc -l <"$DIR/out/ferry.jsonl") -eq $rows ]] || { echo "bench: JSON lines: wrong row count" >&2; exit 1; }
printf 'ratios: ferry-csv / cp = %.2f, ferry-csv / cat = %.2f, ferry-jsonl / cp = %.2f' \
	"$(echo "${WALL[ferry-csv]} / ${WALL[cp]}" | bc -l)" "$(echo "${WALL[ferry-csv]} / ${WALL[cat-devnull]}" | bc -l)" \
	"$(echo "${WALL[ferry-jsonl]} / ${WALL[cp]}" | bc -l)"
[[ -n ${WALL[pandas]:-} ]] && printf ', pandas / ferry-csv = %.2f' "$(echo "${WALL[pandas]} / ${WALL[ferry-csv]}" | bc -l)"
echo
rm -f "$DIR"/out/*
[[ " $PARTS " != *" parquet "* ]] || parquet_rows
bench_table
