"""ferry.torch.FileDataset and ferry.mltable.FileSet over an MLTable file set (run by t8041, which
uploads the set and runs a job with an eval_download input of it into T8_EVDL): the items are the
eval_download tree, name for name and byte for byte.
"""
import os
import pickle

import pytest
import torch.utils.data as tud

import ferry.mltable as mlt
from ferry.torch import FileDataset

KEY = os.environ["T8_KEY"]
CA, CB = os.environ["T8_CA"], os.environ["T8_CB"]
EVDL = os.environ["T8_EVDL"]
URI = "azureml://datastores/petds/paths/pets"


def evdl():
    """{tree name: bytes} of the job's eval_download input."""
    out = {}
    for d, _, files in os.walk(EVDL):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, EVDL)] = fh.read()
    return out


WANT = evdl()


def test_the_eval_download_tree_is_the_mltables_files():
    a = "devstoreaccount1/%s/pets/images/" % CA
    assert sorted(WANT) == sorted([a + n for n in ("cat/1.jpg", "cat/2.jpg", "cat/3.jpg", "cat/empty.jpg",
                                                   "dog/1.jpg", "dog/2.jpg", "dog/old/3.jpg")]
                                  + ["devstoreaccount1/%s/extra/labels.csv" % CB])


@pytest.mark.parametrize("src", [URI, URI + "/", URI + "/MLTable", "azureml:petset:1", "azureml:petset@latest"])
def test_every_form_of_the_table_reads_the_eval_download_files(src):
    ds = FileDataset(src)
    assert ds.paths == sorted(WANT), src
    assert {ds[i][0]: ds[i][1] for i in range(len(ds))} == WANT
    assert dict(ds.__getitems__(list(range(len(ds))))) == WANT  # 8 threads at once


def test_a_table_with_added_steps_and_a_pattern_over_tree_names():
    tbl = mlt.load(URI).filter('col("Path").endswith(".jpg") and not col("Path").contains("/old/")')
    ds = FileDataset(tbl)
    want = sorted(n for n in WANT if n.endswith(".jpg") and "/old/" not in n)
    assert ds.paths == want and len(want) == 6
    assert FileDataset(tbl.take(2)).paths == mlt.load(URI).file_paths()[:2]
    dogs = FileDataset(URI, pattern="**/dog/**/*.jpg")
    assert dogs.paths == sorted(n for n in WANT if "/dog/" in n) and len(dogs) == 3
    assert FileDataset(URI, pattern="*/%s/**" % CB).paths == ["devstoreaccount1/%s/extra/labels.csv" % CB]
    # rows act on files: a filter on a column the partition format adds picks the set's files
    labelled = mlt.load(URI).extract_columns_from_partition_format("{account}/{container}/pets/images/{label}/{rest}")
    dogs = sorted(n for n in WANT if "/dog/" in n)
    assert FileDataset(labelled.filter('label == "dog"')).paths == dogs
    assert FileDataset(labelled.filter('label == "dog"').take(2)).paths == dogs[:2]
    assert FileDataset(labelled.drop_columns(["Path"])).paths == sorted(WANT)  # no Path: the set stays
    fs = tbl.open_files()
    assert {f["name"]: fs.read(f["name"]) for f in fs.files} == {n: WANT[n] for n in want}
    assert [f["size"] for f in fs.files] == [len(WANT[n]) for n in want]


def test_a_dataloader_with_two_fork_workers_reads_every_file_once():
    ds = FileDataset(URI)
    got = {}
    dl = tud.DataLoader(ds, batch_size=3, num_workers=2, collate_fn=lambda b: b,
                        multiprocessing_context="fork")
    for epoch in range(2):
        seen = [item for batch in dl for item in batch]
        assert sorted(n for n, _ in seen) == sorted(WANT), epoch
        got = dict(seen)
        assert got == WANT
    # a pickled dataset (what spawn workers get) opens its own set and reads the same
    again = pickle.loads(pickle.dumps(ds))
    assert {again[i][0]: again[i][1] for i in range(len(again))} == WANT


def test_fork_workers_read_the_parents_files_of_an_unseeded_sample():
    # each evaluation of an unseeded sample picks other files: the workers must read the
    # parent's names (their own set holds every file the paths name), not evaluate it again
    for attempt in range(3):
        ds = FileDataset(mlt.load(URI).take_random_sample(0.5))
        if 0 < len(ds) < len(WANT):
            break
    dl = tud.DataLoader(ds, batch_size=1, num_workers=2, collate_fn=lambda b: b, multiprocessing_context="fork")
    got = dict(item for batch in dl for item in batch)
    assert sorted(got) == ds.paths and all(got[n] == WANT[n] for n in got)
    again = pickle.loads(pickle.dumps(ds))
    assert [again[i][0] for i in range(len(again))] == ds.paths


def test_mltable_false_lists_the_folder_itself():
    ds = FileDataset(URI, mltable=False)
    assert "MLTable" in ds.paths and "images/notes.txt" in ds.paths and len(ds) == 9
    with pytest.raises(FileNotFoundError):
        FileDataset("azureml://datastores/petds/paths/pets/images", mltable=True)


def test_errors_are_exceptions_without_the_key():
    fs = mlt.load(URI).open_files()
    with pytest.raises(FileNotFoundError) as ei:
        fs.read("devstoreaccount1/%s/pets/images/cat/none.jpg" % CA, 10)
    assert KEY not in str(ei.value)
    with pytest.raises(OSError) as ei:
        FileDataset("azureml://datastores/petbad/paths/pets")
    assert KEY not in str(ei.value) and KEY not in repr(ei.value)
    with pytest.raises(FileNotFoundError) as ei:
        FileDataset("azureml://datastores/petds/paths/no-such-table/MLTable")
