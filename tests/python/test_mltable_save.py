"""ferry.mltable MLTable.save (run by t8090, which makes the tables; see that script): round trips
of tables with steps added in Python through local folders, an Azurite datastore, a SAS
datastore and a Blob URL, compared with the table before saving and with the CLI's
`ferry mltable export` of the saved folder; colocated copies; overwrite and if_err_remove_files;
errors without credentials.

Environment (from t8090): T9_TMP, T9_FX (local tables), T9_DS (account-key datastore holding
trips/), T9_SASDS (read-write SAS datastore, same container), T9_RODS (read-only SAS datastore),
T9_KEY, T9_SAS, T9_ROSAS (no message may hold them), T9_FERRY (the CLI), T9_BLOB (the
container's Blob URL; AZURE_STORAGE_CONNECTION_STRING is set).
"""
import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

import ferry
import ferry.mltable as mlt
from ferry.mltable import MLTableError
from seen import Seen

T = os.environ["T9_TMP"]
FX = os.environ["T9_FX"]
DS = os.environ["T9_DS"]
SECRETS = [os.environ["T9_KEY"], os.environ["T9_SAS"], os.environ["T9_ROSAS"],
           os.environ["T9_SAS"].split("sig=")[-1]]
FERRY = os.environ["T9_FERRY"]
BLOB = os.environ["T9_BLOB"]
messages = Seen()  # every exception text seen: none may hold a credential
raises = messages.raises


def ds(path, name=DS):
    return "azureml://datastores/%s/paths/%s" % (name, path)


def export(uri):
    """`ferry mltable export URI --to jsonl` as a DataFrame (columns in the table's order)."""
    out = subprocess.run([FERRY, "mltable", "export", uri, "--to", "jsonl", "-"], check=True,
                         capture_output=True, text=True).stdout
    rows = [json.loads(ln, object_pairs_hook=lambda kv: kv) for ln in out.splitlines() if ln.strip()]
    return [dict(r) for r in rows], ([k for k, _ in rows[0]] if rows else [])


def same(a, b):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def same_as_cli(df, uri):
    rows, cols = export(uri)
    assert cols == list(df.columns), (cols, list(df.columns))
    assert len(rows) == len(df)
    assert [r["id"] for r in rows] == [int(x) for x in df["id"]]
    assert [r["city"] for r in rows] == list(df["city"])


def saved_doc(folder):
    with open(os.path.join(folder, "MLTable")) as f:
        return f.read()


def steps(t):
    return (t.filter('fare > 3 and city != "Bergen"')
             .convert_column_types({"paid": mlt.DataType.to_bool(true_values=["yes"], false_values=["no"])})
             .select_columns(["id", "city", "paid", "fare"])
             .take(50))


@pytest.fixture(scope="module")
def local():
    return steps(mlt.load(os.path.join(FX, "trips")))


@pytest.fixture(scope="module")
def want(local):
    df = local.to_pandas_dataframe()
    assert len(df) == 50 and str(df["paid"].dtype) == "bool", df
    return df


@pytest.fixture(scope="module")
def remote():
    return steps(mlt.load(ds("trips")))


def test_a_local_table_saved_elsewhere_names_its_data_relatively_and_reads_the_same(local, want):
    dest = os.path.join(T, "saved", "local", "deep")
    with pytest.warns(UserWarning, match="names local data outside"):
        assert local.save(dest) is local
    text = saved_doc(dest)
    assert '"../../../fx/trips/parts/*.csv"' in text, text  # relative to the new folder
    for s in ("read_delimited", "filter", "convert_column_types", "keep_columns", "take: 50"):
        assert s in text, (s, text)
    same(mlt.load(dest).to_pandas_dataframe(), want)
    same_as_cli(want, dest)
    # path=None: the current folder, as Azure's
    cwd = os.getcwd()
    os.makedirs(os.path.join(T, "cwd"), exist_ok=True)
    os.chdir(os.path.join(T, "cwd"))
    try:
        local.save(show_warnings=False)
    finally:
        os.chdir(cwd)
    same(mlt.load(os.path.join(T, "cwd")).to_pandas_dataframe(), want)


def test_colocated_copies_the_local_data_and_the_copy_stands_alone(want):
    src = os.path.join(T, "private")
    shutil.copytree(os.path.join(FX, "trips"), src)
    t = steps(mlt.load(src))
    dest = os.path.join(T, "saved", "colocated")
    t.save(dest, colocated=True)
    assert sorted(os.listdir(os.path.join(dest, "parts"))) == ["p0.csv", "p1.csv", "p2.csv"]
    assert '"./parts/*.csv"' in saved_doc(dest)
    shutil.rmtree(src)  # the data it was saved from is gone
    same(mlt.load(dest).to_pandas_dataframe(), want)
    same_as_cli(want, dest)
    # file entries keep their place below the MLTable's folder; one outside it goes by its name
    src2 = os.path.join(T, "private3")
    shutil.copytree(os.path.join(FX, "trips"), os.path.join(src2, "t"))
    with open(os.path.join(src2, "t", "MLTable"), "w") as f:
        f.write("paths:\n  - file: ./parts/p1.csv\n  - file: ../t/parts/p2.csv\n  - file: %s\n"
                "transformations:\n  - read_delimited\n" % os.path.join(src2, "t", "parts", "p0.csv"))
    t2 = mlt.load(os.path.join(src2, "t"))
    t2.save(os.path.join(T, "saved", "colocated-files"), colocated=True)
    text = saved_doc(os.path.join(T, "saved", "colocated-files"))
    assert '"./parts/p1.csv"' in text and '"./parts/p2.csv"' in text and '"./parts/p0.csv"' in text, text
    shutil.rmtree(src2)
    got = mlt.load(os.path.join(T, "saved", "colocated-files")).to_pandas_dataframe()
    assert [int(x) for x in got["id"]] == list(range(40, 120)) + list(range(40)), got
    # saved again into its own folder: nothing to copy, the same table
    mlt.load(dest).take(5).save(dest, colocated=True)
    assert len(mlt.load(dest).to_pandas_dataframe()) == 5


def test_a_remote_table_saved_locally_names_its_data_by_absolute_uri(remote, want):
    same(remote.to_pandas_dataframe(), want)
    dest = os.path.join(T, "saved", "from-remote")
    remote.save(dest)
    text = saved_doc(dest)
    assert '"%s"' % ds("trips/parts/*.csv") in text, text
    same(mlt.load(dest).to_pandas_dataframe(), want)
    same_as_cli(want, dest)


def test_a_table_of_a_data_asset_names_the_assets_storage(want):
    t = steps(mlt.load("azureml:tripset:1"))
    dest = os.path.join(T, "saved", "from-asset")
    t.save(dest)
    assert '"%s"' % ds("trips/parts/*.csv") in saved_doc(dest), saved_doc(dest)
    same(mlt.load(dest).to_pandas_dataframe(), want)
    same_as_cli(want, dest)


def test_saved_to_a_datastore_a_sas_datastore_and_a_blob_url(remote, local, want):
    for dest in (ds("saved/r1"), ds("saved/r2", "sasds"), BLOB + "/saved/r3"):
        remote.save(dest)
        same(mlt.load(dest).to_pandas_dataframe(), want)
        same_as_cli(want, dest)
    # the job input t8090 downloads: the saved table keeps partitions 2 and 0 of the three files
    part = mlt.load(ds("trips")).select_partitions([2, 0])
    part.save(ds("saved/job"))
    with open(os.path.join(T, "job-files.txt"), "w") as f:
        f.write(" ".join(sorted(part.file_paths())))
    assert [p.rsplit("/", 1)[1] for p in part.file_paths()] == ["p0.csv", "p2.csv"]
    same(mlt.load(ds("saved/job")).to_pandas_dataframe(), part.to_pandas_dataframe())


def test_a_local_table_goes_to_a_remote_folder_only_colocated(local, want):
    dest = ds("saved/loc-remote")
    raises(MLTableError, lambda: local.save(dest), "is on this machine", "colocated=True")
    fs = ferry.filesystem()
    assert not fs.exists(dest + "/MLTable")  # nothing written
    local.save(dest, colocated=True)
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(dest + "/parts", detail=False)) == ["p0.csv", "p1.csv", "p2.csv"]
    same(mlt.load(dest).to_pandas_dataframe(), want)
    same_as_cli(want, dest)


def test_overwrite_false_refuses_an_existing_mltable(local, remote):
    dest = os.path.join(T, "saved", "ow")
    local.take(3).save(dest, show_warnings=False)
    before = saved_doc(dest)
    e = raises(MLTableError, lambda: local.save(dest, overwrite=False), "exists", "overwrite=False", dest)
    assert isinstance(e, FileExistsError.__mro__[1]) and e.errno == 17
    raises(MLTableError, lambda: local.save(dest, overwrite="fail"), "exists")
    assert saved_doc(dest) == before
    local.take(4).save(dest, overwrite=True, show_warnings=False)
    assert len(mlt.load(dest).to_pandas_dataframe()) == 4
    remote.take(2).save(ds("saved/ow"))
    raises(MLTableError, lambda: remote.save(ds("saved/ow"), overwrite=False), "exists", "overwrite=False")
    assert len(mlt.load(ds("saved/ow")).to_pandas_dataframe()) == 2
    raises(MLTableError, lambda: local.save(dest, overwrite="sometimes"), "overwrite must be")


def test_a_failed_save_removes_what_it_wrote_unless_told_not_to():
    src = os.path.join(T, "private2")
    shutil.copytree(os.path.join(FX, "trips"), src)
    t = mlt.load(src)
    for keep in (True, False):
        dest = os.path.join(T, "saved", "fail-%s" % keep)
        os.makedirs(os.path.join(dest, "parts"))
        with open(os.path.join(dest, "parts", "p1.csv"), "w") as f:
            f.write("someone else's\n")
        raises(MLTableError, lambda: t.save(dest, overwrite=False, colocated=True, if_err_remove_files=keep),
               "p1.csv", "exists")
        assert not os.path.exists(os.path.join(dest, "MLTable"))
        assert os.path.exists(os.path.join(dest, "parts", "p0.csv")) == (not keep)  # written before p1
        assert open(os.path.join(dest, "parts", "p1.csv")).read() == "someone else's\n"
        assert not [n for n in os.listdir(dest) + os.listdir(os.path.join(dest, "parts")) if n.startswith(".")]
    # 'skip' keeps the data file that is there and writes the MLTable file
    t.save(dest, overwrite="skip", colocated=True)
    assert open(os.path.join(dest, "parts", "p1.csv")).read() == "someone else's\n"
    assert os.path.exists(os.path.join(dest, "MLTable"))


def test_bad_arguments_and_failures_name_the_problem_without_credentials(local):
    f = os.path.join(T, "a-file")
    open(f, "w").close()
    raises(MLTableError, lambda: local.save(f), "is a file", f)
    raises(MLTableError, lambda: local.save(3), "path must be a folder")
    raises(MLTableError, lambda: local.save(""), "path must be a folder")
    raises(MLTableError, lambda: local.save(os.path.join(T, "x"), colocated="yes"), "colocated must be")
    remote = mlt.load(ds("trips"))
    e = raises(OSError, lambda: remote.save(ds("saved/ro", "rosasds")))
    assert isinstance(e, PermissionError) or "403" in str(e) or "denied" in str(e).lower(), e
    raises(FileNotFoundError, lambda: mlt.load(ds("nope")).save(os.path.join(T, "x2")))
    raises(MLTableError, lambda: mlt.load(os.path.join(FX, "trips")).save(ds("saved/e1", "rosasds")),
           "is on this machine")
    for m in messages:
        for s in SECRETS:
            assert s not in m, m
    assert len(messages) >= 20
