"""ferry.mltable select_partitions / get_partition_count / keep_columns, a filtered file set's
files, and MLTableError for every bad argument (run by t8091, which makes the tables; see that
script).

Environment (from t8091): T91_FX (local tables: t/ three CSV files, sel/ and keep/ the same
steps in YAML, pets/ and dogs/ a file set), T91_DS (a datastore holding the same), T91_KEY
(no message may hold it), T91_FERRY (the CLI), T91_DL (the files a job's eval_download of dogs/
gave).
"""
import json
import os
import subprocess

import pandas as pd
import pytest

import ferry.mltable as mlt
from ferry.mltable import MLTableError
from seen import Seen

FX = os.environ["T91_FX"]
DS = os.environ["T91_DS"]
KEY = os.environ["T91_KEY"]
FERRY = os.environ["T91_FERRY"]
messages = Seen()  # every exception text seen: none may hold a credential
raises = messages.raises


def ds(path):
    return "azureml://datastores/%s/paths/%s" % (DS, path)


def export(uri):
    out = subprocess.run([FERRY, "mltable", "export", uri, "--to", "jsonl", "-"], check=True,
                         capture_output=True, text=True).stdout
    return pd.DataFrame([json.loads(ln) for ln in out.splitlines() if ln.strip()])


def parts(*ks):
    return pd.concat([pd.read_csv(os.path.join(FX, "t", "parts", "p%d.csv" % k)) for k in ks], ignore_index=True)


def same(a, b):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


@pytest.fixture(scope="module", params=["local", "remote"])
def t(request):
    return mlt.load(os.path.join(FX, "t") if request.param == "local" else ds("t"))


def test_a_partition_is_a_file_and_select_partitions_keeps_their_rows_in_table_order(t):
    assert t.get_partition_count() == 3 == len(t.file_paths())
    names = t.file_paths()
    s = t.select_partitions([2, 0])
    same(s.to_pandas_dataframe(), parts(0, 2))
    assert s.file_paths() == [names[0], names[2]] and s.get_partition_count() == 2
    assert [f["name"] for f in s.open_files().files] == sorted([names[0], names[2]])
    same(t.select_partitions(1).to_pandas_dataframe(), parts(1))
    same(t.select_partitions([0, 2]).select_partitions([1]).to_pandas_dataframe(), parts(2))


def test_select_partitions_equals_the_yaml_step_and_commutes_with_filter(t):
    want = parts(0, 2)
    want = want[want["v"] > 3]
    for tbl in (t.filter("v > 3").select_partitions([2, 0]), t.select_partitions([2, 0]).filter("v > 3")):
        same(tbl.to_pandas_dataframe(), want)
    same(export(os.path.join(FX, "sel")), want)
    same(export(ds("sel")), want)
    same(mlt.load(ds("sel")).to_pandas_dataframe(), want)
    # after a take on rows it is refused when rows are read; before it, fine
    same(t.select_partitions([1]).take(3).to_pandas_dataframe(), parts(1).head(3))
    e = raises(MLTableError, lambda: t.take(3).select_partitions([0]).to_pandas_dataframe(),
               "select_partitions after 'take'")
    e = raises(MLTableError, lambda: t.select_partitions([3]).to_pandas_dataframe(),
               "partition 3 is out of range: the table has 3 partitions")
    assert isinstance(e, ValueError) and isinstance(e, OSError)
    raises(MLTableError, lambda: t.select_partitions([0, 5]).get_partition_count(), "partition 5 is out of range")


def test_select_partitions_of_a_file_set_picks_its_files():
    fs = mlt.from_paths([{"pattern": os.path.join(FX, "pets", "images", "**", "*.jpg")}])
    names = fs.file_paths()
    assert fs.get_partition_count() == 4 and [n.rsplit("/", 2)[1] for n in names] == ["cat", "cat", "dog", "dog"]
    sel = fs.select_partitions([1, 3])
    assert sel.file_paths() == [names[1], names[3]]
    assert list(sel.to_pandas_dataframe()["Path"]) == [names[1], names[3]]
    assert [f["name"] for f in sel.open_files().files] == [names[1], names[3]]


def test_keep_columns_is_select_columns_and_the_yaml_step(t):
    want = export(os.path.join(FX, "keep"))
    assert list(want.columns) == ["v", "id"]
    same(t.keep_columns(["v", "id"]).to_pandas_dataframe(), want)
    same(t.select_columns(["v", "id"]).to_pandas_dataframe(), want)


def test_a_file_set_filtered_on_a_partition_column_lists_the_files_eval_download_gives():
    dl = os.environ["T91_DL"].split()
    for uri in (os.path.join(FX, "dogs"), ds("dogs")):
        tbl = mlt.load(uri)
        if uri.startswith("azureml:"):
            assert sorted(tbl.file_paths()) == dl
        assert [n.rsplit("/", 2)[1] for n in tbl.file_paths()] == ["dog", "dog"]
        assert tbl.get_partition_count() == 2
        # a partition of the filtered set: numbered among the files the filter kept
        assert tbl.select_partitions([1]).file_paths() == tbl.file_paths()[1:]
        assert list(tbl.select_partitions([1]).to_pandas_dataframe()["Path"]) == tbl.file_paths()[1:]
        raises(MLTableError, lambda: tbl.select_partitions([2]).file_paths(), "the file set has 2 partitions")
        assert sorted(f["name"] for f in tbl.open_files().files) == sorted(tbl.file_paths())


@pytest.mark.parametrize("call,words", [
    (lambda t: t.take(-1), ["take", "count must be a non-negative integer", "-1"]),
    (lambda t: t.take("5"), ["take", "count", "'5'"]),
    (lambda t: t.take(2.5), ["take", "count"]),
    (lambda t: t.take(True), ["take", "count"]),
    (lambda t: t.skip(None), ["skip", "count"]),
    (lambda t: t.take_random_sample(1.5), ["take_random_sample", "probability", "from 0 to 1"]),
    (lambda t: t.take_random_sample("half"), ["take_random_sample", "probability"]),
    (lambda t: t.take_random_sample(0.5, seed=-3), ["take_random_sample", "seed"]),
    (lambda t: t.random_split(1.2), ["random_split", "percent", "from 0 to 1"]),
    (lambda t: t.random_split(0.5, seed="x"), ["random_split", "seed"]),
    (lambda t: t.select_partitions([]), ["select_partitions", "empty list"]),
    (lambda t: t.select_partitions([-1]), ["select_partitions", "partition index", "-1"]),
    (lambda t: t.select_partitions(["a"]), ["select_partitions", "partition index"]),
    (lambda t: t.select_partitions([0, 0]), ["select_partitions", "partition 0 is named twice"]),
    (lambda t: t.select_partitions(None), ["select_partitions", "expected a list"]),
    (lambda t: t.select_columns([3]), ["keep_columns", "column names are non-empty strings"]),
    (lambda t: t.keep_columns(None), ["keep_columns", "expected a column name"]),
    (lambda t: t.drop_columns(["id", "id"]), ["drop_columns", "named twice"]),
    (lambda t: t.drop_columns([""]), ["drop_columns", "non-empty strings"]),
    (lambda t: t.filter(3), ["filter", "expected the expression as a string"]),
    (lambda t: t.filter("v >> 3"), ["filter", "position"]),
    (lambda t: t.convert_column_types([]), ["convert_column_types", "expected a dict"]),
    (lambda t: t.convert_column_types({"v": "complex"}), ["convert_column_types", "unknown column type"]),
    (lambda t: t.extract_columns_from_partition_format(None), ["extract_columns_from_partition_format", "string"]),
    (lambda t: t.extract_columns_from_partition_format("nothing"), ["extract_columns_from_partition_format"]),
    (lambda t: t.show(-2), ["show", "count"]),
    (lambda t: next(t.iter_batches(batch_rows=0)), ["iter_batches", "batch_rows"]),
    (lambda t: mlt.DataType.to_datetime("%Y", date_constant="2024-01-01"), ["date_constant"]),
    (lambda t: mlt.from_paths([{"files": "x"}]), ["paths", "expected entries"]),
    (lambda t: mlt.from_delimited_files([{"file": "x.csv"}], header="sometimes"), ["header", "sometimes"]),
], ids=lambda x: "" if callable(x) else x[0])
def test_every_bad_argument_is_an_mltable_error_naming_the_problem(t, call, words):
    raises(MLTableError, lambda: call(t), *words)


def test_no_message_holds_the_key():
    assert len(messages) > 60
    for m in messages:
        assert KEY not in m, m
