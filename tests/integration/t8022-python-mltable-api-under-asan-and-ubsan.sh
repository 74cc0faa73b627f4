#!/usr/bin/env bash
# t8022 — owns the MLTable part of the C API (src/api/mltable.c, table.c's row sink) under
# ASan/UBSan, driven from Debian's Python: the sanitizer build of libferry.so (make asan)
# loaded into /usr/bin/python3 (libasan and libubsan preloaded) evaluates every table of the
# MLTable corpus from local folders and from an Azurite datastore, in batches of 1, 7 and
# 65536 rows, with added steps (filter, take, skip, keep/drop_columns, both halves of a
# random_split; bare-name and datetime filters, convert_column_types, partition columns over a
# file set, the eval_download set read by tree name), stops early from iter_batches and from a failing callback, lists file sets,
# and takes every error path (a missing table, a bad added step, an unknown column, the corpus
# cases that must fail), with no sanitizer report. Leak checking is off: the interpreter keeps
# memory until exit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
$PY -c 'import pandas, numpy' 2>/dev/null || skip "Debian's python3-pandas is not installed"
need_asan_lib
export FERRY_CMD_TIMEOUT=120
DATA=$ROOT/tests/data/mltable

c=$(new_container)
az_datastore asanml "$c"
expect_ok ferry upload "$DATA" "azureml://datastores/asanml/paths/corpus/"

cat >"$TEST_TMP/smoke.py" <<'PY'
import sys, os, pandas as pd, ferry.mltable as mlt
data = sys.argv[1]
n = 0
for case in sorted(os.listdir(data)):
    bad = os.path.exists(os.path.join(data, case, "expected.err"))
    for uri in [os.path.join(data, case), "azureml://datastores/asanml/paths/corpus/" + case]:
        t = mlt.load(uri)
        frames = []
        for rows in (1, 7, 65536):
            c = mlt._Collector()
            try:
                t._rows(c, batch_rows=rows)
            except OSError as e:
                assert bad, (uri, e)
                print("expected failure:", case, e)
                break
            frames.append(c.frame())
        if bad:
            continue
        assert all(f.equals(frames[0]) for f in frames), uri
        cols = list(frames[0].columns)
        t.filter('col("%s") != "zz"' % cols[0]).skip(1).take(3).to_pandas_dataframe()
        t.select_columns(cols[-1:]).to_pandas_dataframe()
        t.drop_columns(cols[:1]).show(2)
        a, b = t.random_split(0.5, seed=7)
        assert len(a.to_pandas_dataframe()) + len(b.to_pandas_dataframe()) == len(frames[0])
        it = t.iter_batches(batch_rows=1)
        next(it, None)
        it.close()
        t.paths, t.schema, t.file_paths()
        fs = t.open_files()  # the eval_download set, read by tree name (ferry_api_mltable_fileset)
        for f in fs.files[:3]:
            assert len(fs.read(f["name"])) == f["size"]
        fs.close(); fs._open(True)  # what a forked worker opens: every file the paths name
        for f in fs.files[:3]:
            assert len(fs.read(f["name"])) == f["size"]
        fs.close()
        n += 1
t = mlt.load(data + "/titanic")
t.filter("Age > 30 and (Sex == 'male' or not Pclass != 1) or Name.contains('Mrs')").to_pandas_dataframe()
t.convert_column_types({"Age": mlt.DataType.to_float(), "Survived": mlt.DataType.to_bool(),
                        "Name": "string"}).filter('col("Age") >= 22.0').to_pandas_dataframe()
files = mlt.from_paths([{"pattern": data + "/titanic/*"}])
files.extract_columns_from_partition_format("{root}/titanic/{name}").drop_columns(["root"]).to_pandas_dataframe()
for bad in ["Age >", "datetime(2024, 2, 30) < Age", "(" * 70 + "Age > 1", "Age > 'open"]:
    try:
        t.filter(bad)
        raise AssertionError("no error: " + bad)
    except mlt.MLTableError as e:
        print(e)
for fn in [lambda: mlt.load(data + "/nope").to_pandas_dataframe(),
           lambda: mlt.load(data + "/titanic").filter("col(\"Age\") >>> 3").to_pandas_dataframe(),
           lambda: mlt.load(data + "/titanic").select_columns(["nope"]).to_pandas_dataframe(),
           lambda: mlt.load(data + "/titanic").take_random_sample(2).to_pandas_dataframe(),
           lambda: mlt.load("azureml://datastores/none/paths/x").paths]:
    try:
        fn()
        raise AssertionError("no error")
    except OSError as e:
        print(type(e).__name__, e)
c = mlt._Collector(on_batch=lambda chunks: 1 / 0)
try:
    mlt.load(data + "/titanic")._rows(c, batch_rows=2)
    raise AssertionError("no error")
except ZeroDivisionError:
    pass
assert n >= 12, n
print("asan mltable ok:", n, "tables")
PY
step "the MLTable API under ASan/UBSan: local folders and an Azurite datastore"
py_under_asan 240 "asan mltable ok" "$TEST_TMP/smoke.py" "$DATA"
