"""ferry.mltable against the CLI's `ferry mltable export` of the same tables (run by t8020, which
uploads the corpus and fixtures and writes the CLI's exports; see that script for the setup).

Environment (from t8020): T8_TMP (the test's folder, with export/<case>.jsonl and
schema/<case>.txt written by the CLI), T8_DS (the datastore holding the corpus), T8_CASES (the
corpus cases), T8_KEY (the account key, which no message may contain), T8_LOCAL (the corpus
folder on disk).
"""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import ferry
import ferry.mltable as mlt

T = os.environ["T8_TMP"]
DS = os.environ["T8_DS"]
KEY = os.environ["T8_KEY"]
LOCAL = os.environ["T8_LOCAL"]
CASES = os.environ["T8_CASES"].split()
FERRY = os.environ["T8_FERRY"]


def ds(path):
    return "azureml://datastores/%s/paths/%s" % (DS, path)


def cli_rows(name):
    """The CLI's jsonl export (t8020 wrote it): a list of dicts in column order."""
    with open(os.path.join(T, "export", name + ".jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def cli_schema(name):
    with open(os.path.join(T, "schema", name + ".txt")) as f:
        return dict(line.rstrip("\n").split("\t") for line in f if line.strip())


def export(uri, name):
    """`ferry mltable export URI --to jsonl` and `show`'s schema, for tables made here."""
    out = os.path.join(T, "export", name + ".jsonl")
    subprocess.run([FERRY, "mltable", "export", uri, "--to", "jsonl", out], check=True, capture_output=True)
    show = subprocess.run([FERRY, "mltable", "show", uri], check=True, capture_output=True, text=True).stdout
    lines = show.split("schema:\n", 1)[1].splitlines()
    with open(os.path.join(T, "schema", name + ".txt"), "w") as f:
        f.writelines(ln[2:] + "\n" for ln in lines if ln.startswith("  "))
    return cli_rows(name)


WANT_DTYPE = {"int": "int64", "float": "float64", "boolean": "bool", "datetime": "datetime64[ns]",
              "string": "object"}


def same_value(kind, got, want):
    if want is None:
        return got is None or (not isinstance(got, str) and pd.isna(got))
    if kind == "datetime":
        return pd.Timestamp(got) == pd.Timestamp(want)
    if kind == "float":
        return float(got) == float(want)
    if kind == "int":
        return got == want and not isinstance(got, (bool, np.bool_))
    if kind == "boolean":
        return bool(got) is want
    return got == want


def assert_same_table(df, rows, schema, label):
    cols = list(rows[0].keys()) if rows else list(schema)
    assert list(df.columns) == cols, (label, list(df.columns), cols)
    assert len(df) == len(rows), (label, len(df), len(rows))
    for c in cols:
        kind = schema[c]
        nulls = any(r[c] is None for r in rows)
        want = WANT_DTYPE[kind]
        if nulls and kind == "int":
            want = "float64"
        if nulls and kind == "boolean":
            want = "object"
        assert str(df[c].dtype) == want, (label, c, kind, df[c].dtype)
        for i, r in enumerate(rows):
            assert same_value(kind, df[c].iloc[i], r[c]), (label, c, i, df[c].iloc[i], r[c])


@pytest.mark.parametrize("case", CASES)
def test_corpus_datastore_matches_cli_export(case):
    df = mlt.load(ds(case)).to_pandas_dataframe()
    assert_same_table(df, cli_rows(case), cli_schema(case), case)


@pytest.mark.parametrize("case", CASES)
def test_corpus_local_folder_matches_cli_export(case):
    rows = export(os.path.join(LOCAL, case), "local-" + case)
    df = mlt.load(os.path.join(LOCAL, case)).to_pandas_dataframe()
    assert_same_table(df, rows, cli_schema("local-" + case), "local " + case)


@pytest.mark.parametrize("name", ["pq-plain", "pq-encodings", "pq-delta"])
def test_parquet_matches_cli_export(name):
    df = mlt.load(ds(name)).to_pandas_dataframe()
    rows = cli_rows(name)
    assert rows, name
    assert_same_table(df, rows, cli_schema(name), name)


def test_asset_matches_cli_export():
    df = mlt.load("azureml:pytitanic:1").to_pandas_dataframe()
    assert_same_table(df, cli_rows("titanic"), cli_schema("titanic"), "asset")
    assert len(df) > 0


def test_dtypes_and_nulls():
    df = mlt.load(ds("nulls")).to_pandas_dataframe()
    assert [str(t) for t in df.dtypes] == ["int64", "float64", "object", "datetime64[ns]", "object", "float64"]
    assert df["id"].tolist() == [1, 2, 3]
    assert df["score"].iloc[0] == 1.5 and np.isnan(df["score"].iloc[1]) and df["score"].iloc[2] == 2.5
    assert df["flag"].tolist() == [True, False, None]
    assert df["when"].iloc[0] == pd.Timestamp("2021-01-02 03:04:05") and pd.isna(df["when"].iloc[1])
    assert df["name"].tolist() == ["a", None, "c"]
    assert np.isnan(df["n"].iloc[1]) and df["n"].iloc[0] == 7
    full = df.dropna()
    assert len(full) == 1
    # without nulls: int64 and bool stay
    df2 = mlt.load(ds("nulls")).filter('col("id") != 2').select_columns(["id", "flag"]).to_pandas_dataframe()
    assert [str(t) for t in df2.dtypes] == ["int64", "object"], df2.dtypes  # flag still has a null (row 3)
    df3 = mlt.load(ds("nulls")).take(2).select_columns(["id", "flag"]).to_pandas_dataframe()
    assert [str(t) for t in df3.dtypes] == ["int64", "bool"] and df3["flag"].tolist() == [True, False]


def test_a_datetime_beyond_what_datetime64_ns_holds_leaves_the_column_as_text():
    df = mlt.load(ds("far-dates")).to_pandas_dataframe()
    assert df["when"].tolist() == ["1969-07-20T20:17:40", "9999-12-31T23:59:59"], df
    assert df["when"].tolist() == [r["when"] for r in cli_rows("far-dates")]
    one = mlt.load(ds("far-dates")).take(1).to_pandas_dataframe()
    assert str(one["when"].dtype) == "datetime64[ns]" and one["when"][0] == pd.Timestamp("1969-07-20 20:17:40")


def test_a_value_that_does_not_fit_widens_the_column():
    """ints for 300 rows (past the 200 the types are inferred from), then 2.5, then a word"""
    df = mlt.load(ds("widen")).to_pandas_dataframe()
    assert str(df["a"].dtype) == "float64" and df["a"].iloc[300] == 2.5 and df["a"].iloc[0] == 0
    assert str(df["b"].dtype) == "object" and df["b"].iloc[301] == "word" and df["b"].iloc[5] == "5"
    rows = cli_rows("widen")
    assert [str(r["b"]) for r in rows] == df["b"].tolist()
    # the same whether the odd value shares a batch with the others or not
    c = mlt._Collector()
    mlt.load(ds("widen"))._rows(c, batch_rows=100)
    pd.testing.assert_frame_equal(c.frame(), df)


def test_take_filter_select_drop_against_pandas():
    base = mlt.load(ds("titanic"))
    full = base.to_pandas_dataframe()
    # (the first rows of Age have no null: int64 there, float64 in the full frame)
    pd.testing.assert_frame_equal(base.take(3).to_pandas_dataframe(), full.head(3), check_dtype=False)
    pd.testing.assert_frame_equal(base.show(2), full.head(2), check_dtype=False)
    assert str(base.take(3).to_pandas_dataframe()["Age"].dtype) == "int64"
    got = base.filter('col("Age") > 30').to_pandas_dataframe()
    want = full[full["Age"] > 30].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)  # no null Age left: int64
    assert len(want) > 0 and len(want) < len(full)
    sel = base.select_columns(["Fare", "Name"]).to_pandas_dataframe()
    assert list(sel.columns) == ["Fare", "Name"]  # in the order asked for, as the CLI's keep_columns
    pd.testing.assert_frame_equal(sel, full[["Fare", "Name"]])
    dropped = base.drop_columns(["Cabin", "Sex"]).to_pandas_dataframe()
    pd.testing.assert_frame_equal(dropped, full.drop(columns=["Cabin", "Sex"]))
    # the original is unchanged: each method returns a new table
    assert base.to_pandas_dataframe().equals(full)


def test_chained_steps_equal_the_cli_on_the_same_steps_written_in_an_mltable():
    tbl = mlt.load(ds("big")).filter('col("g") == "b" or col("n") < 50').skip(3).take(40).drop_columns("s")
    got = tbl.to_pandas_dataframe()
    rows = cli_rows("big-chain")  # t8020: big/MLTable plus these steps, exported by the CLI
    assert_same_table(got, rows, cli_schema("big-chain"), "chain")
    assert len(got) == 40


def test_random_split_disjoint_covering_deterministic():
    tbl = mlt.load(ds("big"))
    ids = tbl.select_columns("n").to_pandas_dataframe()["n"].tolist()
    assert len(ids) == 1000
    a, b = tbl.random_split(0.7, seed=1)
    da, db = a.to_pandas_dataframe(), b.to_pandas_dataframe()
    sa, sb = set(da["n"]), set(db["n"])
    assert not (sa & sb) and sorted(sa | sb) == sorted(ids)
    assert 500 < len(sa) < 900, len(sa)  # 0.7 of 1000, with seed 1 (deterministic)
    a2, b2 = tbl.random_split(0.7, seed=1)
    assert a2.to_pandas_dataframe().equals(da) and b2.to_pandas_dataframe().equals(db)
    a3, _ = tbl.random_split(0.7, seed=2)
    assert set(a3.to_pandas_dataframe()["n"]) != sa
    # rows keep the table's order in each part
    assert da["n"].tolist() == sorted(sa)
    # without a seed: still disjoint and covering (one drawn seed shared by the two)
    x, y = tbl.random_split(0.5)
    sx, sy = set(x.to_pandas_dataframe()["n"]), set(y.to_pandas_dataframe()["n"])
    assert not (sx & sy) and len(sx | sy) == 1000
    with pytest.raises(ValueError):
        tbl.random_split(1.5)


def test_batches_stream_and_join_to_the_same_frame():
    tbl = mlt.load(ds("big"))
    full = tbl.to_pandas_dataframe()
    parts = list(tbl.iter_batches(batch_rows=7))
    assert len(parts) == (1000 + 6) // 7 and all(len(p) <= 7 for p in parts)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), full)
    # leaving early stops the evaluation (the thread ends, nothing hangs)
    it = tbl.iter_batches(batch_rows=10)
    first = next(it)
    it.close()
    assert len(first) == 10
    # batches are column arrays from C: one callback per batch
    calls = []
    c = mlt._Collector(on_batch=lambda chunks: calls.append(len(chunks[0][0][2])) and False)
    tbl._rows(c, batch_rows=256)
    assert calls == [256, 256, 256, 232], calls


def test_file_set_table_paths_iterate_and_match_cli_show():
    files = mlt.load(ds("fileset"))
    with open(os.path.join(T, "fileset-show.txt")) as f:
        want = [ln.split()[-1] for ln in f if ln.startswith("  ") and "/" in ln]
    assert files.file_paths() == want and len(want) == 5, (files.file_paths(), want)
    assert list(files) == want
    assert files.paths == [{"pattern": "./*.bin"}]  # Azure's MLTable.paths: as written in the file
    df = files.to_pandas_dataframe()
    assert list(df.columns) == ["Path"] and df["Path"].tolist() == want
    assert files.take(2).file_paths() == want[:2]
    assert mlt.load(ds("titanic")).file_paths()[0].endswith("/titanic/titanic.csv")
    assert files.get_partition_count() == 5
    # random_split of a file set splits its files (the sample before any read acts on files)
    a, b = files.random_split(0.5, seed=3)
    pa, pb = a.file_paths(), b.file_paths()
    assert not set(pa) & set(pb) and sorted(pa + pb) == sorted(want)


def test_schema_property_is_the_cli_schema():
    assert mlt.load(ds("titanic")).schema == cli_schema("titanic")


def expect(exc, fn, *a):
    try:
        fn(*a)
    except exc as e:
        assert KEY not in str(e) and KEY not in repr(e), "the key in an exception"
        return e
    raise AssertionError("%s did not raise %s" % (fn, exc))


def test_errors_are_exceptions_naming_the_problem_without_credentials():
    e = expect(FileNotFoundError, lambda: mlt.load(ds("no-such-table")).to_pandas_dataframe())
    assert "no-such-table" in str(e)
    e = expect(OSError, lambda: mlt.load(ds("titanic")).filter("col(\"Age\") >>> 3").to_pandas_dataframe())
    assert "filter(" in str(e) and "position 13" in str(e) and isinstance(e, ValueError), e  # refused when added
    e = expect(OSError, lambda: mlt.load(ds("titanic")).take(9).select_columns(["nope"]).to_pandas_dataframe())
    assert "nope" in str(e) and "(added transformations):2: keep_columns" in str(e), e  # the 2nd added step
    e = expect(mlt.MLTableError, lambda: mlt.load(ds("titanic")).take(2).take_random_sample(3))
    assert "take_random_sample: probability must be a number from 0 to 1, got 3" in str(e), e  # refused when added
    e = expect(OSError, lambda: mlt.load("azureml://datastores/badkey/paths/titanic").to_pandas_dataframe())
    assert "titanic" in str(e) or "badkey" in str(e), e
    e = expect(OSError, lambda: mlt.load("azureml:nosuchasset:1").to_pandas_dataframe())
    assert "nosuchasset" in str(e), e
    e = expect(OSError, lambda: mlt.load(ds("unknown-transformation")).to_pandas_dataframe())
    assert "MLTable:" in str(e), e
    # a SAS token in the URI reaches neither an exception nor the table's repr
    sas = "sv=2021-08-06&sr=c&sp=rl&sig=" + "S3cr3tSig0123456789abcdefgh%3D"
    uri = os.environ["T8_AZURITE"] + "/" + os.environ["T8_CONTAINER"] + "/no-such-table?" + sas
    t = mlt.load(uri)
    assert "S3cr3tSig" not in repr(t), repr(t)
    e = expect(OSError, t.to_pandas_dataframe)
    assert "S3cr3tSig" not in str(e) and "S3cr3tSig" not in repr(e), e
    # an exception inside the batch callback comes out as itself
    c = mlt._Collector(on_batch=lambda chunks: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        mlt.load(ds("titanic"))._rows(c)


def test_load_is_lazy_and_methods_return_new_tables():
    t = mlt.load(ds("does-not-exist-yet"))
    t2 = t.take(5).filter('col("a") > 1')
    assert t2 is not t and "take" in repr(t2) and "take" not in repr(t)
    assert isinstance(ferry.mltable.load, type(mlt.load))
