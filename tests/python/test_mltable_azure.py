"""ferry.mltable's Azure-shaped API (run by t8040, which uploads the tables; see that script):
filter in bare and col() forms, convert_column_types with DataType, paths, partition columns
over a file set, from_* — each against the CLI's `ferry mltable export` of an MLTable file that
holds the same step in YAML, and against pandas on the whole frame.

Environment (from t8040): T8_TMP, T8_DS (the datastore), T8_KEY (the account key, which no
message may contain), T8_FERRY (the CLI), T8_CONTAINER, T8_BARE (the filter in t8040's YAML).
"""
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

import ferry.mltable as mlt
from ferry.mltable import DataType, MLTableError

T = os.environ["T8_TMP"]
DS = os.environ["T8_DS"]
KEY = os.environ["T8_KEY"]
FERRY = os.environ["T8_FERRY"]
CONTAINER = os.environ["T8_CONTAINER"]
BARE = os.environ["T8_BARE"]
COLF = ('(col("fare") > 3 and col("trip distance") <= 8.5) or not (col("city") != \'Oslo\' or '
        'col("col") >= 4)')


def ds(path):
    return "azureml://datastores/%s/paths/%s" % (DS, path)


def export(uri):
    """The rows of `ferry mltable export URI --to jsonl` (dicts in column order)."""
    out = subprocess.run([FERRY, "mltable", "export", uri, "--to", "jsonl", "-"], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def trips():
    return mlt.load(ds("trips"))


@pytest.fixture(scope="module")
def full(trips):
    df = trips.to_pandas_dataframe()
    assert len(df) == 120 and df["fare"].isna().sum() == 7, df
    return df


def ids(df):
    return [int(x) for x in df["id"]]


def test_bare_and_col_forms_equal_the_cli_export_of_the_same_yaml_filter(trips, full):
    assert BARE.startswith("(fare > 3")
    want = full[((full["fare"] > 3) & (full["trip distance"] <= 8.5)) | ((full["city"] == "Oslo") & (full["col"] < 4))]
    assert 10 < len(want) < 110, len(want)
    for expr, yaml_table in ((BARE, "bare"), (COLF, "colform")):
        got = trips.filter(expr).to_pandas_dataframe()
        assert ids(got) == ids(want), expr
        assert [r["id"] for r in export(ds(yaml_table))] == ids(want), yaml_table  # the YAML path: same rows
        assert got.dtypes.tolist() == full.dtypes.tolist()


def test_the_issues_form_col_gt_3_is_the_column_named_col(trips, full):
    assert ids(trips.filter("col > 3").to_pandas_dataframe()) == ids(full[full["col"] > 3])
    assert ids(trips.filter('col("col") > 3').to_pandas_dataframe()) == ids(full[full["col"] > 3])
    # a literal on the left, != on nulls (a null fare is only != anything), a chain of filters
    assert ids(trips.filter("3 < col").to_pandas_dataframe()) == ids(full[full["col"] > 3])
    assert ids(trips.filter("fare != 1000").to_pandas_dataframe()) == list(range(120))
    assert ids(trips.filter("fare == fare").to_pandas_dataframe()) == ids(full[full["fare"].notna()])
    got = trips.filter("id >= 10").filter("id < 20").filter("not paid == 'no'").to_pandas_dataframe()
    assert ids(got) == [i for i in range(10, 20) if i % 3]


def test_strings_non_ascii_and_datetimes(trips, full):
    assert ids(trips.filter('city == "New York"').to_pandas_dataframe()) == ids(full[full["city"] == "New York"])
    assert ids(trips.filter("city.startswith('Z') and city == 'Zürich'").to_pandas_dataframe()) == \
        ids(full[full["city"] == "Zürich"])
    typed = trips.convert_column_types({"when": DataType.to_datetime("%d/%m/%Y %H:%M:%S")})
    tf = typed.to_pandas_dataframe()
    assert str(tf["when"].dtype) == "datetime64[ns]"
    lo, hi = pd.Timestamp(2024, 6, 1), pd.Timestamp(2024, 9, 1, 12)
    want = ids(tf[(tf["when"] >= lo) & (tf["when"] < hi)])
    assert 0 < len(want) < 120
    assert ids(typed.filter("when >= datetime(2024, 6, 1) and when < datetime(2024, 9, 1, 12)")
               .to_pandas_dataframe()) == want
    assert ids(typed.filter('when >= "2024-06-01" and when < "2024-09-01T12:00"').to_pandas_dataframe()) == want
    # a date string is its midnight, so > excludes a value at midnight exactly
    at = tf["when"].iloc[0]
    assert at == pd.Timestamp(2024, 1, 1)
    day = at.strftime("%Y-%m-%d")
    assert 0 not in ids(typed.filter('when > "%s"' % day).to_pandas_dataframe())
    assert 0 in ids(typed.filter('when >= "%s"' % day).to_pandas_dataframe())


@pytest.mark.parametrize("expr,pos", [
    ("fare >", 7), ("fare >> 3", 7), ('col("fare" > 3', 12), ("fare > 3 and", 13), ("3 > 4", 6),
    ("when > datetime(2024, 13, 1)", 8), ("fare > 3 junk", 10), ("(fare > 3", 10),
])
def test_a_bad_expression_is_refused_when_added_naming_its_position(trips, expr, pos):
    with pytest.raises(MLTableError) as ei:
        trips.filter(expr)
    e = ei.value
    assert isinstance(e, ValueError) and isinstance(e, OSError)
    assert "filter(%r)" % expr in str(e) and "at position %d" % pos in str(e), str(e)
    assert KEY not in str(e) and KEY not in repr(e)


def test_column_lists_as_azures_empty_changes_nothing_twice_is_refused(trips, full):
    pd.testing.assert_frame_equal(trips.drop_columns([]).to_pandas_dataframe(), full)
    pd.testing.assert_frame_equal(trips.select_columns(()).to_pandas_dataframe(), full)
    with pytest.raises(MLTableError):
        trips.drop_columns(["fare", "city", "fare"])
    with pytest.raises(MLTableError):
        trips.take(-1)
    assert list(trips.select_columns(("city", "id")).take(1).to_pandas_dataframe().columns) == ["city", "id"]


def test_an_unknown_column_names_it_when_rows_are_read(trips):
    with pytest.raises(OSError) as ei:
        trips.filter("nope > 3 or fare > 1").to_pandas_dataframe()
    assert "nope" in str(ei.value) and "added transformations" in str(ei.value)
    assert KEY not in str(ei.value)


def cli_typed_frame():
    rows = export(ds("typed"))
    df = pd.DataFrame(rows)
    df["when"] = pd.to_datetime(df["when"])
    return df


def test_convert_column_types_equals_the_cli_export_of_the_same_yaml_step():
    src = mlt.from_delimited_files([{"file": ds("trips/trips.csv")}], infer_column_types=False)
    assert src.to_pandas_dataframe().dtypes.tolist() == [np.dtype(object)] * 7  # nothing inferred
    typed = src.convert_column_types({
        ("id", "col"): DataType.to_int(),
        "fare": DataType.to_float(),
        "paid": DataType.to_bool(true_values=["yes"], false_values=["no"]),
        "when": DataType.to_datetime(["%d/%m/%Y %H:%M:%S"]),
        "trip distance": DataType.to_string(),
    })
    got = typed.to_pandas_dataframe()
    assert {c: str(t) for c, t in got.dtypes.items()} == {
        "id": "int64", "fare": "float64", "trip distance": "object", "city": "object",
        "when": "datetime64[ns]", "paid": "bool", "col": "int64"}
    want = cli_typed_frame()
    assert list(got.columns) == list(want.columns)
    for c in got.columns:
        g, w = got[c].tolist(), want[c].tolist()
        if c == "fare":
            assert [None if pd.isna(x) else x for x in g] == [None if pd.isna(x) else x for x in w]
        else:
            assert g == w, c
    # the short spellings give the same table
    same = src.convert_column_types({("id", "col"): int, "fare": "float", "paid": DataType.to_bool(["yes"], ["no"]),
                                     "when": DataType.to_datetime("%d/%m/%Y %H:%M:%S"), "trip distance": str})
    pd.testing.assert_frame_equal(same.to_pandas_dataframe(), got)
    # a value that does not convert names itself when rows are read; a bad type when added
    with pytest.raises(OSError) as ei:
        src.convert_column_types({"city": "int"}).to_pandas_dataframe()
    assert "Oslo" in str(ei.value) and "city" in str(ei.value)
    with pytest.raises(MLTableError):
        src.convert_column_types({"city": "complex"})
    with pytest.raises(MLTableError):
        src.convert_column_types({"city": DataType.to_bool(mismatch_as="maybe")})
    with pytest.raises(MLTableError):
        DataType.to_stream()


def test_paths_are_azures_and_iteration_gives_the_files_tree_names():
    assert mlt.load(ds("trips")).paths == [{"file": "./trips.csv"}]
    assert mlt.load(ds("bare")).paths == [{"file": "../trips/trips.csv"}]
    pets = mlt.load(ds("pets"))
    assert pets.paths == [{"pattern": "./images/**/*.jpg"}]
    want = ["devstoreaccount1/%s/pets/images/%s/%d.jpg" % (CONTAINER, l, i) for l in ("cat", "dog") for i in (1, 2, 3)]
    assert list(pets) == want and pets.file_paths() == want
    assert pets.to_pandas_dataframe()["Path"].tolist() == want
    assert pets.get_partition_count() == 6
    assert list(pets.filter('col("Path").contains("/dog/")')) == want[3:]


def test_partition_columns_over_a_file_set_equal_the_cli_export():
    fmt = "{account}/{container}/pets/images/{label}/{file}.jpg"
    got = mlt.load(ds("pets")).extract_columns_from_partition_format(fmt).drop_columns(["account"])
    df = got.to_pandas_dataframe()
    assert df.to_dict("records") == export(ds("pets-part"))
    assert list(df.columns) == ["Path", "container", "label", "file"]
    assert df["label"].tolist() == ["cat"] * 3 + ["dog"] * 3 and set(df["container"]) == {CONTAINER}
    assert df["file"].tolist() == ["1", "2", "3"] * 2
    dogs = got.filter('label == "dog" and file != "2"').to_pandas_dataframe()
    assert dogs["Path"].str.endswith(("dog/1.jpg", "dog/3.jpg")).all() and len(dogs) == 2
    with pytest.raises(MLTableError):
        mlt.load(ds("pets")).extract_columns_from_partition_format("no braces")


def test_from_paths_and_from_delimited_files_without_an_mltable_file(full):
    fs = mlt.from_paths([{"pattern": ds("pets/images/*/*.jpg")}])
    assert list(fs) == list(mlt.load(ds("pets")))
    t = mlt.from_delimited_files([{"file": ds("trips/trips.csv")}])
    pd.testing.assert_frame_equal(t.to_pandas_dataframe(), full)
    t.take(1).validate()
    with pytest.raises(FileNotFoundError):
        mlt.from_delimited_files([{"file": ds("trips/none.csv")}]).validate()
