"""fsspec cat of many paths and cat_ranges through one engine call (Engine.cat_many:
ferry_api_cat_open_many on C threads, then _fill), run by t8050 against Azurite and its fault proxy.
Environment: T8_TMP (the local tree the datastore "cds" holds under tree/), T8_KEY
(the account key: never in an exception), T8_FAULT_CTL (the fault proxy's control URL;
datastore "cdsfault" is the same container through it)."""
import hashlib
import os

import pytest

import ferry
from faultctl import fault, fault_stats

T = os.environ["T8_TMP"]
BASE = "azureml://datastores/cds/paths/tree"
FAULT = "azureml://datastores/cdsfault/paths/tree"


def local_files():
    out = {}
    for d, _, files in os.walk(T + "/tree"):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, T + "/tree")] = open(p, "rb").read()
    return out


LOCAL = local_files()
NAMES = sorted(LOCAL)


@pytest.fixture(scope="module")
def fs():
    return ferry.filesystem()



def test_cat_of_a_list_returns_every_file_byte_exact(fs):
    paths = [BASE + "/" + n for n in NAMES]
    got = fs.cat(paths)
    assert list(got) == sorted(paths)
    bad = [n for n in NAMES if got[BASE + "/" + n] != LOCAL[n]]
    assert not bad, "%d of %d files differ, e.g. %s" % (len(bad), len(NAMES), bad[:3])
    assert any(len(LOCAL[n]) == 0 for n in NAMES) and got[BASE + "/empty.bin"] == b""


def test_one_get_per_file_and_the_reads_run_at_once(fs):
    """Through the fault proxy, every data request delayed: one GET per file, no HEAD
    and no listing, and the engine keeps RSLEX_DOWNLOADER_THREADS (here 6) reads open at
    once from one Python call (fsspec's own cat reads one file after another)."""
    six = ferry.filesystem(settings={"RSLEX_DOWNLOADER_THREADS": 6})
    names = [n for n in NAMES if n.startswith("a/")][:36]
    fault("clear")
    fault("delay", "0.2")
    fault("every", "1 delay")
    try:
        got = six.cat([FAULT + "/" + n for n in names])
        st = fault_stats()
    finally:
        fault("clear")
        fault("delay", "0.3")
    assert all(got[FAULT + "/" + n] == LOCAL[n] for n in names)
    assert st["methods"] == {"GET": len(names)}, st["methods"]
    assert st["data_requests"] == len(names), st
    assert st["max_inflight"] == 6, st


def test_glob_and_recursive_expand_as_fsspec_and_leave_folders_out(fs):
    got = fs.cat(BASE + "/a/*.bin")
    want = {BASE + "/" + n: LOCAL[n] for n in NAMES if n.startswith("a/") and "/" not in n[2:]}
    assert got == want
    got = fs.cat(BASE + "/b", recursive=True)
    want = {BASE + "/" + n: LOCAL[n] for n in NAMES if n.startswith("b/")}
    assert got == want  # b/deep (a folder) has no entry
    assert any(n.startswith("b/deep/") for n in NAMES)
    assert fs.cat(BASE + "/" + NAMES[0]) == LOCAL[NAMES[0]]  # one path: bytes, not a dict


def test_start_and_end_apply_to_every_path(fs):
    paths = [BASE + "/" + n for n in NAMES[:20]]
    got = fs.cat(paths, start=100, end=1000)
    assert got == {BASE + "/" + n: LOCAL[n][100:1000] for n in NAMES[:20]}
    got = fs.cat(paths, start=-50)  # from the end: fsspec's own path, still right
    assert got == {BASE + "/" + n: LOCAL[n][-50:] for n in NAMES[:20]}


def test_a_missing_file_among_many(fs):
    paths = [BASE + "/" + n for n in NAMES[:10]] + [BASE + "/no-such.bin"] + [BASE + "/" + n for n in NAMES[10:20]]
    with pytest.raises(FileNotFoundError) as e:
        fs.cat(paths)
    assert "no-such.bin" in str(e.value)
    got = fs.cat(paths, on_error="omit")
    assert got == {BASE + "/" + n: LOCAL[n] for n in NAMES[:20]}
    got = fs.cat(paths, on_error="return")
    assert isinstance(got[BASE + "/no-such.bin"], FileNotFoundError)
    assert all(got[BASE + "/" + n] == LOCAL[n] for n in NAMES[:20])


def test_a_folder_in_the_list_is_an_error_of_its_own(fs):
    got = fs.cat([BASE + "/a", BASE + "/" + NAMES[0]], on_error="return")
    assert isinstance(got[BASE + "/a"], IsADirectoryError), got[BASE + "/a"]
    assert got[BASE + "/" + NAMES[0]] == LOCAL[NAMES[0]]


def test_cat_ranges(fs):
    names = [n for n in NAMES if len(LOCAL[n]) > 5000][:30]
    starts = [(i * 37) % 4000 for i in range(len(names))]
    ends = [s + 1 + (i * 101) % 3000 if i % 5 else None for i, s in enumerate(starts)]
    got = fs.cat_ranges([BASE + "/" + n for n in names], starts, ends)
    assert got == [LOCAL[n][s:e] for n, s, e in zip(names, starts, ends)]
    big = names[0]
    size = len(LOCAL[big])
    got = fs.cat_ranges([BASE + "/" + big] * 3, [size, size + 10, 0], [size + 5, None, 0])
    assert got == [b"", b"", b""]  # at or past the end, and an empty range, read as empty
    got = fs.cat_ranges([BASE + "/" + big, BASE + "/" + big], [-10, 0], [None, -size + 3])
    assert got == [LOCAL[big][-10:], LOCAL[big][:3]]
    got = fs.cat_ranges([BASE + "/gone.bin", BASE + "/" + big], [0, 0], [10, 10], on_error="return")
    assert isinstance(got[0], FileNotFoundError) and got[1] == LOCAL[big][:10]
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges([BASE + "/gone.bin"], [0], [10], on_error="raise")


def test_a_wrong_key_is_a_permission_error_without_the_key(fs):
    key = os.environ["T8_KEY"]
    got = fs.cat(["azureml://datastores/cdsbad/paths/tree/" + n for n in NAMES[:3]], on_error="return")
    assert len(got) == 3
    for e in got.values():
        assert isinstance(e, PermissionError), e
        assert key not in str(e) and key not in repr(e)


def test_engine_cat_many_order_and_many_threads(fs):
    """The engine call itself: results in the order asked, duplicates included, with more
    threads than items and with one thread."""
    uris = [BASE + "/" + n for n in NAMES[:5]] * 2
    for threads in (1, 64):
        got = fs.engine.cat_many(uris, threads=threads)
        assert [hashlib.sha256(b).hexdigest() for b in got] == \
            [hashlib.sha256(LOCAL[n]).hexdigest() for n in NAMES[:5]] * 2
    assert fs.engine.cat_many([]) == []
