#!/usr/bin/env bash
# bench/python-mltable.sh — owns the ferry.mltable benchmark (issue 13 item 3): one MLTable
# over a CSV of BENCH_ROWS rows (int, string, float, boolean, datetime columns) in an Azurite
# datastore, read into a pandas DataFrame from Debian's /usr/bin/python3 three ways:
#   ferry.mltable       ferry.mltable.load(uri).to_pandas_dataframe(): the C evaluator, rows
#                       handed to Python in column batches
#   CLI + read_csv      `ferry mltable export --to csv` to a local file, then pandas.read_csv
#                       (what a user without the Python API would do)
#   fsspec read_csv     pandas.read_csv("azureml://...") over ferry's fsspec filesystem (no
#                       MLTable evaluation: possible only for a table that is one CSV file)
# Printed per row and run: wall seconds, CPU seconds (user+sys of the Python process and its
# children), rows/s, and the ratio of the CLI + read_csv row's wall time to the row's. The
# frames are checked equal (values and dtypes).
#
#   bench/python-mltable.sh                        1,000,000 rows, 2 runs
#   BENCH_ROWS=200000 BENCH_RUNS=1 bench/python-mltable.sh
set -euo pipefail

source "$(dirname "$0")/lib.sh" pymltable
$PY -c 'import pandas' 2>/dev/null || { echo "bench: needs Debian's python3-pandas" >&2; exit 1; }
[[ -f build/libferry.so ]] || { echo "bench: build/libferry.so not built (make)" >&2; exit 1; }
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-2}

mkdir -p "$WORK/t"
$PY - "$WORK/t" "$ROWS" <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1] + "/data.csv", "w") as f:
    f.write("id,name,score,flag,when\n")
    for i in range(int(sys.argv[2])):
        f.write("%d,name%d,%.3f,%s,2021-01-%02d 10:00:00\n" % (i, r.randrange(1000), r.random() * 100,
                                                              "true" if i % 3 else "false", i % 28 + 1))
open(sys.argv[1] + "/MLTable", "w").write(
    "paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited: {}\n"
    "  - convert_column_types:\n      - columns: when\n        column_type: datetime\n")
PY
c=bench-pymltable-$$
$PY tests/fixtures/azcli.py mkcontainer "$c" >/dev/null
cat >"$WORK/ds.yml" <<YML
name: benchds
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  account_key: $AZURITE_KEY
YML
"$FERRY" datastore create --file "$WORK/ds.yml" >/dev/null
"$FERRY" upload "$WORK/t" azureml://datastores/benchds/paths/t/ >/dev/null 2>&1

echo "bench: $ROWS rows ($(du -h "$WORK/t/data.csv" | cut -f1) of CSV), $RUNS runs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so $PY - "$FERRY" "$WORK" "$RUNS" <<'PY'
import ctypes, gc, os, resource, subprocess, sys, time
import pandas as pd
import ferry, ferry.mltable as mlt
ferry_bin, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
uri = "azureml://datastores/benchds/paths/t"

def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

def via_mltable():
    return mlt.load(uri).to_pandas_dataframe()

def via_cli():
    out = os.path.join(work, "export.csv")
    subprocess.run([ferry_bin, "mltable", "export", uri, "--to", "csv", out], check=True, capture_output=True)
    return pd.read_csv(out, parse_dates=["when"])

def via_fsspec():
    return pd.read_csv(uri + "/data.csv", parse_dates=["when"])

def via_local():
    return pd.read_csv(os.path.join(work, "t", "data.csv"), parse_dates=["when"])

def hwm(field="VmHWM"):
    return int([l for l in open("/proc/self/status") if l.startswith(field)][0].split()[1])

# the peer: pandas on a local copy of the same CSV (what a user has after downloading it)
rows = [("ferry.mltable", via_mltable), ("CLI + read_csv", via_cli), ("fsspec read_csv", via_fsspec),
        ("pandas read_csv, local file", via_local)]
tool = {"ferry.mltable": "ferry.mltable", "CLI + read_csv": "ferry CLI export + read_csv",
        "fsspec read_csv": "ferry fsspec + read_csv", "pandas read_csv, local file": "pandas read_csv, local file"}
ref = None
out = open(os.path.join(work, "py-rows.tsv"), "w")  # for bench_row: row tool wall cpu rss server load
for run in range(runs):
    res = {}
    for name, fn in rows:
        df = None
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the system: the start RSS is what is live
        open("/proc/self/clear_refs", "w").write("5")  # VmHWM starts again from the current RSS
        rss0, kids0 = hwm("VmRSS"), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0, c0 = time.time(), cpu()
        df = fn()
        res[name] = (time.time() - t0, cpu() - c0, len(df))
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # RSS: what the row added to this process (its peak above its RSS at the start: pandas
        # is loaded before) plus the CLI's peak
        out.write("python-mltable: %d rows to a DataFrame\t%s\t%.2f\t%.2f\t%d\t-\t%.2f\n" % (
            len(df), tool[name], res[name][0], res[name][1], hwm() - rss0 + (kids if kids > kids0 else 0),
            os.getloadavg()[0]))
        if ref is None:
            ref = df
        else:
            pd.testing.assert_frame_equal(df, ref)
    base = res["CLI + read_csv"][0]
    for name, _ in rows:
        w, c, n = res[name]
        print("run %d  %-16s %7.2f s  cpu %6.2f s  %9.0f rows/s  x%.2f vs CLI + read_csv" % (run + 1, name, w, c, n / w, base / w))
PY
while IFS=$'\t' read -r row tool wall cpu rss srv load; do bench_row "$row" "$tool" "$wall" "$cpu" "$rss" "$srv" "$load"; done <"$WORK/py-rows.tsv"
bench_table
