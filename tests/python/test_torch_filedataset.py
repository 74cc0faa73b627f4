"""test_torch_filedataset.py — ferry.torch.FileDataset under Debian's python3 + torch + pytest,
run by tests/integration/t8030 (which uploads the tree and sets the T8_* variables): a
DataLoader with 4 workers reads every file exactly once per epoch with the uploaded bytes,
pattern filtering, the same items from a datastore folder, a data asset, a Blob URL and a
local folder, transform, indexing, spawn workers, and errors as Python exceptions that never
carry the account key."""
import collections
import hashlib
import os
import re

import pytest
import torch
from torch.utils.data import DataLoader

import ferry
from ferry.torch import FileDataset, glob_regex

T = os.environ["T8_TMP"]
LOCAL = T + "/tree"
BASE = "azureml://datastores/tds/paths/tree"
KEY = os.environ["T8_KEY"]


def local_files():
    out = {}
    for d, _, files in os.walk(LOCAL):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, LOCAL)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


WANT = local_files()


pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


def as_list(batch):  # module-level: spawn workers pickle the collate function
    return batch


def epoch(ds, **kw):
    """(path, sha256) of every item a DataLoader delivers, in delivery order."""
    dl = DataLoader(ds, batch_size=kw.pop("batch_size", 32), collate_fn=as_list, **kw)
    return [(p, hashlib.sha256(b).hexdigest()) for batch in dl for p, b in batch]


def test_dataloader_four_workers_every_file_once_with_its_bytes():
    ds = FileDataset(BASE + "/", pattern="**/*")
    assert len(ds) == len(WANT) >= 2000
    for _ in range(2):  # two epochs: each file exactly once in each, bytes as uploaded
        got = epoch(ds, num_workers=4, shuffle=True)
        counts = collections.Counter(p for p, _ in got)
        assert set(counts) == set(WANT) and set(counts.values()) == {1}, counts.most_common(3)
        assert dict(got) == WANT


def test_single_items_transform_and_indexing():
    ds = FileDataset(BASE, pattern="**/*.jpg", transform=lambda b: torch.frombuffer(bytearray(b), dtype=torch.uint8))
    assert ds.paths == sorted(ds.paths)
    p, t = ds[0]
    assert isinstance(t, torch.Tensor) and hashlib.sha256(t.numpy().tobytes()).hexdigest() == WANT[p]
    assert ds[-1][0] == ds.paths[-1]
    assert ds.uri_of(0) == BASE + "/" + p
    with pytest.raises(IndexError):
        ds[len(ds)]
    # a batch without workers goes through __getitems__ and keeps the order asked
    idx = [5, 0, 3, 3]
    assert [x[0] for x in ds.__getitems__(idx)] == [ds.paths[i] for i in idx]


@pytest.mark.parametrize("pattern,want", [
    ("**/*.jpg", lambda p: p.endswith(".jpg")),
    ("*.txt", lambda p: p.endswith(".txt") and "/" not in p),
    ("**/*.txt", lambda p: p.endswith(".txt")),
    ("d0[0-2]/**", lambda p: re.match(r"d0[0-2]/", p) is not None),
    ("d01/*/f?????.bin", lambda p: re.fullmatch(r"d01/[^/]+/f.....\.bin", p) is not None),
    ("**/nothing-*", lambda p: False),
])
def test_pattern_filtering(pattern, want):
    ds = FileDataset(BASE, pattern=pattern)
    assert ds.paths == sorted(p for p in WANT if want(p)), pattern
    if len(ds):
        assert dict(epoch(ds, num_workers=2)) == {p: WANT[p] for p in ds.paths}


def test_glob_regex_rules():
    rx = glob_regex("**/*.jpg")
    assert rx.match("a.jpg") and rx.match("x/y/a.jpg") and not rx.match("a.jpgx") and not rx.match("a/jpg")
    assert not glob_regex("*.jpg").match("x/a.jpg")
    assert glob_regex("a/**").match("a/b/c") and not glob_regex("a/**").match("ab/c")
    assert glob_regex("[!a]*").match("b1") and not glob_regex("[!a]*").match("a1")
    assert glob_regex("a+b(1).txt").match("a+b(1).txt")


@pytest.mark.parametrize("uri", [
    "azureml:tdsasset:1",
    os.environ["T8_AZURITE"] + "/" + os.environ["T8_CONTAINER"] + "/tree",
    LOCAL,
])
def test_same_items_from_asset_url_and_local_folder(uri):
    ds = FileDataset(uri, pattern="**/*.jpg")
    want = {p: h for p, h in WANT.items() if p.endswith(".jpg")}
    assert dict(epoch(ds, num_workers=4, batch_size=8)) == want


def test_a_file_uri_is_a_dataset_of_that_file():
    p = sorted(WANT)[0]
    ds = FileDataset(BASE + "/" + p)
    assert len(ds) == 1 and ds[0][0] == p.rsplit("/", 1)[-1]
    assert hashlib.sha256(ds[0][1]).hexdigest() == WANT[p]


def test_spawn_workers_get_a_dataset_without_handles():
    ds = FileDataset(BASE, pattern="d00/**/*.jpg")
    assert len(ds) > 0
    got = epoch(ds, num_workers=2, multiprocessing_context="spawn", batch_size=4)
    assert dict(got) == {p: WANT[p] for p in ds.paths}


def no_key(exc):
    for text in (str(exc), repr(exc), repr(exc.args)):
        assert KEY not in text and KEY[:20] not in text, text


def test_errors_are_exceptions_without_credentials():
    with pytest.raises(FileNotFoundError) as e:
        FileDataset(BASE + "/no-such-folder")
    no_key(e.value)
    assert "no-such-folder" in str(e.value)
    with pytest.raises((PermissionError, OSError)) as e:
        FileDataset("azureml://datastores/tdsbad/paths/tree")
    no_key(e.value)
    # a file removed after the listing fails the worker's batch: the DataLoader raises it
    gone = "azureml://datastores/tds/paths/gone"
    ds = FileDataset(gone)
    assert len(ds) == 3
    ferry.filesystem().rm(gone + "/" + ds.paths[1])
    with pytest.raises(FileNotFoundError) as e:
        epoch(ds, num_workers=2, batch_size=1)
    no_key(e.value)
    assert "gone/" + ds.paths[1] in str(e.value)
    # a file rewritten with another size since the listing is an OSError naming it
    ferry.filesystem().pipe_file(gone + "/" + ds.paths[0], b"short")
    with pytest.raises(OSError) as e:
        ds[0]
    assert "changed since the dataset listed it" in str(e.value)
