"""fsspec open("rb") costs one request for a small file (ferry_api_file_open_first: one ranged
GET that also gives the size and ETag), run by t8060 against Azurite and its fault proxy.
Environment: T8_TMP (the local tree the datastore "ods" holds under tree/), T8_FAULT_CTL (the
fault proxy's control URL; datastore "odsfault" is the same container through it)."""
import io
import os
import random

import pandas as pd
import pytest

import ferry
from faultctl import fault, fault_log

T = os.environ["T8_TMP"]
BASE = "azureml://datastores/ods/paths/tree"
FAULT = "azureml://datastores/odsfault/paths/tree"
SMALL = sorted(n for n in os.listdir(T + "/tree/small"))


def local(rel):
    with open(os.path.join(T, "tree", rel), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def fs():
    return ferry.filesystem()



def test_open_read_of_a_small_file_is_one_get(fs):
    """open().read() of each small file: exactly one request each, a GET of that blob (no
    HEAD, no listing), the bytes exact and size/info from that response."""
    fault("clear")
    for n in SMALL:
        with fs.open(FAULT + "/small/" + n, "rb") as f:
            assert f.size == len(local("small/" + n))
            assert f.read() == local("small/" + n), n
            info = f.info()
            assert info["size"] == f.size and info["type"] == "file" and info["etag"], info
            assert info["mtime"] > 1.6e9, info
    log = fault_log()
    assert len(log) == len(SMALL), log[:8]
    assert all(line.startswith("GET ") for line in log), [x for x in log if not x.startswith("GET ")][:5]
    assert sorted(line.rsplit("/", 1)[1] for line in log) == SMALL


def test_a_20_mib_file_reads_byte_exact_with_random_seeks(fs):
    want = local("big/twenty.bin")
    with fs.open(BASE + "/big/twenty.bin", "rb") as f:
        assert f.size == len(want) == 20 << 20
        assert f.read() == want
        rnd = random.Random(8060)
        for _ in range(40):
            off = rnd.randrange(len(want))
            n = rnd.choice([1, 100, 65536, 3 << 20, 9 << 20])
            f.seek(off)
            assert f.read(n) == want[off:off + n], (off, n)
        f.seek(-5, 2)
        assert f.read() == want[-5:]


def test_pandas_read_csv_is_one_request():
    fault("clear")
    got = pd.read_csv(FAULT + "/small/table.csv")
    log = fault_log()
    assert got.equals(pd.read_csv(io.BytesIO(local("small/table.csv"))))
    assert len(got) == 3000
    assert log == [x for x in log if x.startswith("GET ")] and len(log) == 1, log


def test_a_missing_file_and_a_folder_raise_the_right_errors(fs):
    fault("clear")
    with pytest.raises(FileNotFoundError):
        fs.open(FAULT + "/small/no-such-file.csv", "rb")
    assert len(fault_log()) <= 2  # the GET, and one listing to tell a folder from nothing
    with pytest.raises(IsADirectoryError):
        fs.open(FAULT + "/small", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(BASE + "/big", "rb")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(BASE + "/nothing/here")


def test_an_empty_file_opens_empty(fs):
    with fs.open(BASE + "/empty.bin", "rb") as f:
        assert f.size == 0 and f.read() == b""


def test_a_blob_replaced_while_open_fails_the_next_read_not_mixed_bytes(fs):
    """A 20 MiB blob opened, its first MiB read (from the open's own GET), then replaced by
    other bytes of the same size: reading on past the first chunk (the block cache's reads)
    raises, naming the change, instead of returning bytes of the new version."""
    old = local("big/twenty.bin")
    fs.pipe_file(BASE + "/big/replaced.bin", old)
    f = fs.open(BASE + "/big/replaced.bin", "rb")
    try:
        assert f.read(1 << 20) == old[:1 << 20]
        fs.pipe_file(BASE + "/big/replaced.bin", bytes(b ^ 0xFF for b in old[:1 << 20]) * 20)
        with pytest.raises(OSError, match="changed since it was opened"):
            f.seek(15 << 20)
            f.read(1 << 20)
    finally:
        f.close()
    # a smaller file read in fsspec blocks past the first chunk is pinned the same way
    mid = os.urandom(12 << 20)
    fs.pipe_file(BASE + "/big/mid.bin", mid)
    g = fs.open(BASE + "/big/mid.bin", "rb", cache_type="none")
    try:
        assert g.read(100) == mid[:100]
        fs.pipe_file(BASE + "/big/mid.bin", os.urandom(12 << 20))
        with pytest.raises(OSError, match="changed since it was opened"):
            g.seek(10 << 20)
            g.read(1000)
    finally:
        g.close()
