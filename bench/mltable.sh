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
#   bench/mltable.sh                         1 GiB (the figure in docs/performance.md)
#   MLTABLE_BENCH_SIZE=128M bench/mltable.sh  a quick run
# The file is made once in $BENCH_DIR (default /tmp/ferry-bench-mltable) and kept.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
FERRY=${FERRY:-$ROOT/build/ferry}
SIZE=${MLTABLE_BENCH_SIZE:-1G}
DIR=${BENCH_DIR:-/tmp/ferry-bench-mltable}
[[ -x $FERRY ]] || { echo "bench: $FERRY not built (make)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time missing" >&2; exit 1; }
mkdir -p "$DIR/table" "$DIR/out"
export FERRY_HOME=$DIR/home

bytes=$(numfmt --from=iec "$SIZE")
csv=$DIR/table/trips.csv
if [[ ! -f $csv || $(stat -c %s "$csv") -lt $bytes ]]; then
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
size=$(stat -c %s "$csv")
rows=$(($(wc -l <"$csv") - 1))
cat "$csv" >/dev/null # page cache for everyone

# run NAME CMD... — time CMD; print a result line
declare -A WALL
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
	printf '%-18s %8.2f s %9.0f MiB/s %8s s CPU %9s MiB peak RSS\n' "$name" "$wall" \
		"$(echo "$size / 1048576 / $wall" | bc -l)" "$cpu" "$rss"
}

echo "input: $csv, $(numfmt --to=iec "$size") bytes, $rows rows, 8 columns; machine: $(nproc) cores"
run cat-devnull sh -c "cat '$csv' > /dev/null"
run cp cp "$csv" "$DIR/out/cp.csv"
run ferry-csv "$FERRY" mltable export "$DIR/table" --to csv "$DIR/out/ferry.csv"
run ferry-jsonl "$FERRY" mltable export "$DIR/table" --to jsonl "$DIR/out/ferry.jsonl"
if [[ ${BENCH_PANDAS:-0} == 1 ]]; then
	run pandas $PY -c "import pandas as pd; pd.read_csv('$csv').to_csv('$DIR/out/pandas.csv', index=False)"
fi
cmp -s "$csv" "$DIR/out/ferry.csv" || { echo "bench: the CSV export differs from its input" >&2; exit 1; }
[[ $(wc -l <"$DIR/out/ferry.jsonl") -eq $rows ]] || { echo "bench: JSON lines: wrong row count" >&2; exit 1; }
printf 'ratios: ferry-csv / cp = %.2f, ferry-csv / cat = %.2f, ferry-jsonl / cp = %.2f' \
	"$(echo "${WALL[ferry-csv]} / ${WALL[cp]}" | bc -l)" "$(echo "${WALL[ferry-csv]} / ${WALL[cat-devnull]}" | bc -l)" \
	"$(echo "${WALL[ferry-jsonl]} / ${WALL[cp]}" | bc -l)"
[[ -n ${WALL[pandas]:-} ]] && printf ', pandas / ferry-csv = %.2f' "$(echo "${WALL[pandas]} / ${WALL[ferry-csv]}" | bc -l)"
echo
rm -f "$DIR"/out/*
