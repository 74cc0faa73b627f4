"""fsspec open("rb") of large files read from the end (Parquet footer readers: pyarrow,
fastparquet, pandas.read_parquet) moves the bytes those readers need, not the first 8 MiB;
small files and an empty blob stay one request. Run by t8080 against Azurite and its fault
proxy (request and body-byte counts). Environment: T8_TMP (the local tree the datastore "pds"
holds under tree/), T8_FAULT_CTL (the fault proxy's control URL; datastore "pdsfault" is the
same container through it).

Debian 12 has no pyarrow or fastparquet (neither apt nor npm gives one), so the readers' access
patterns are replayed with plain seeks and reads on the file object they would be handed:
- pyarrow (ParquetFile(f), read_row_group, and pandas.read_parquet through fsspec, which wraps
  the filesystem in pyarrow's FSSpecHandler): size by seek(0, 2)/tell, the last 64 KiB
  (arrow's default footer read), the rest of the footer if longer, then one read per column
  chunk it needs; pandas first calls info() and isfile() (FSSpecHandler.open_input_file);
- fastparquet: seek(-8, 2), read(8), seek(-(len + 8), 2), read(len).
The file is tests/fixtures/parquet/gen-big.mjs's (npm's hyparquet-writer); where its column
chunks lie comes from its sidecar (npm's hyparquet read the footer), and every read is checked
byte for byte against the local copy."""
import json
import os
import random
import time

import pytest

import ferry
from faultctl import fault, fault_log, fault_stats

T = os.environ["T8_TMP"]
BASE = "azureml://datastores/pds/paths/tree"
FAULT = "azureml://datastores/pdsfault/paths/tree"
MiB = 1 << 20
FOOTER_READ = 64 << 10  # arrow's kDefaultFooterReadSize


def local(rel):
    with open(os.path.join(T, "tree", rel), "rb") as f:
        return f.read()


BIG = local("big.parquet")
SIDE = json.load(open(os.path.join(T, "big.parquet.json")))


@pytest.fixture(scope="module")
def fs():
    return ferry.filesystem()


def counted(fn, at_least=0):
    """Run fn with the fault proxy's counters cleared: (fn's result, requests, body bytes).
    The proxy adds a response's bytes to its count just after sending the last one, so a
    client holding them all can ask first: the counts are read until they reach at_least
    bytes and two reads 0.1 s apart agree (at most ~10 s)."""
    fault("clear")
    out = fn()
    st = fault_stats()
    for _ in range(100):
        time.sleep(0.1)
        again = fault_stats()
        if again == st and st["body_bytes"] >= at_least:
            break
        st = again
    if os.environ.get("T8_MEASURE"):
        print("\nMEASURE %s: %d requests, %d body bytes" % (fn.__name__, st["requests"], st["body_bytes"]))
    return out, st["requests"], st["body_bytes"]


def read_at(f, off, n, want):
    f.seek(off)
    got = f.read(n)
    assert got == want[off:off + n], (off, n)
    return got


def arrow_footer(f, want):
    """pyarrow's ParquetFile(f): the size, the last 64 KiB, the rest of a longer footer."""
    f.seek(0, 2)
    size = f.tell()
    assert size == len(want)
    n = min(size, FOOTER_READ)
    tail = read_at(f, size - n, n, want)
    assert tail[-4:] == b"PAR1"
    flen = int.from_bytes(tail[-8:-4], "little")
    if flen + 8 > n:
        read_at(f, size - flen - 8, flen + 8 - n, want)
    return flen


def arrow_columns(f, want, groups, cols):
    for k in groups:
        for c in cols:
            off, n = SIDE["row_groups"][k]["columns"][c]
            read_at(f, off, n, want)


def test_a_parquet_footer_read_moves_far_less_than_8_mib(fs):
    """ParquetFile(fs.open(big)): the open and the footer read move ~1 MiB of a 64 MiB file
    in two requests (the old open's GET alone moved its first 8 MiB)."""
    def footer():
        with fs.open(FAULT + "/big.parquet", "rb") as f:
            return arrow_footer(f, BIG)
    flen, reqs, moved = counted(footer)
    assert flen == SIDE["footer_len"]
    assert reqs <= 2 and moved <= 2 * MiB, (reqs, moved)


def test_fastparquet_footer_read_moves_far_less_than_8_mib(fs):
    def fastparquet_footer():
        with fs.open(FAULT + "/big.parquet", "rb") as f:
            f.seek(-8, 2)
            tail = f.read(8)
            assert tail == BIG[-8:]
            n = int.from_bytes(tail[:4], "little")
            f.seek(-(n + 8), 2)
            assert f.read(n) == BIG[-(n + 8):-8]
    _, reqs, moved = counted(fastparquet_footer)
    assert reqs <= 2 and moved <= 2 * MiB, (reqs, moved)


def test_read_row_group_moves_about_that_columns_chunk(fs):
    """ParquetFile(f).read_row_group(k, columns=["c"]): the footer, then one ~1.9 MiB column
    chunk, fetched exactly: bytes moved are the chunk, the open's 1 MiB head and the footer's
    128 KiB range (the old open moved 8 MiB, and the block cache the aligned 2 MiB blocks
    around the chunk)."""
    k = len(SIDE["row_groups"]) // 2
    chunk = SIDE["row_groups"][k]["columns"]["c"][1]

    def read_row_group():
        with fs.open(FAULT + "/big.parquet", "rb") as f:
            arrow_footer(f, BIG)
            arrow_columns(f, BIG, [k], ["c"])
    _, reqs, moved = counted(read_row_group, chunk)
    assert chunk <= moved <= chunk + 1 * MiB + (128 << 10), (chunk, moved)


def test_pandas_read_parquet_of_one_column_moves_about_its_chunks(fs):
    """pd.read_parquet(path, columns=["b"]) through fsspec: info(), isfile(), open, the footer,
    column b of every row group: the column's bytes (a sixth of the file), the open's head and
    the footer's range."""
    chunks = sum(rg["columns"]["b"][1] for rg in SIDE["row_groups"])

    def read_parquet():
        assert fs.info(FAULT + "/big.parquet")["size"] == len(BIG)
        assert fs.isfile(FAULT + "/big.parquet")
        with fs.open(FAULT + "/big.parquet", "rb") as f:
            arrow_footer(f, BIG)
            arrow_columns(f, BIG, range(len(SIDE["row_groups"])), ["b"])
    _, reqs, moved = counted(read_parquet, chunks)
    assert chunks <= moved <= chunks + 1 * MiB + (128 << 10), (chunks, moved)


def test_a_small_parquet_file_read_whole_is_one_request(fs):
    """A Parquet file under the footer head (1 MiB): open and every read from its one GET."""
    want = local("small.parquet")

    def small():
        with fs.open(FAULT + "/small.parquet", "rb") as f:
            f.seek(-8, 2)
            assert f.read(8) == want[-8:]
            f.seek(0)
            assert f.read() == want
            assert f.info()["size"] == len(want) and f.info()["etag"]
    _, reqs, moved = counted(small, len(want))
    log = fault_log()
    assert reqs == 1 and log[0].startswith("GET ") and moved == len(want), (reqs, log)


def test_an_empty_blob_opens_in_one_request(fs):
    """An empty blob: its range's 416 says it exists and is empty (was: the 416, then a HEAD
    and a listing to stat it)."""
    def empty():
        with fs.open(FAULT + "/empty.parquet", "rb") as f:
            assert f.size == 0 and f.read() == b""
            f.seek(0, 2)
            assert f.tell() == 0 and f.read(10) == b""
        with fs.open(FAULT + "/empty.bin", "rb") as f:
            assert f.read() == b""
    _, reqs, _ = counted(empty)
    assert reqs == 2, fault_log()
    with fs.open(BASE + "/empty.bin", "rb") as f:  # info() of it still names its version
        info = f.info()
        assert info["size"] == 0 and info["type"] == "file" and info["etag"], info


def test_missing_files_and_folders_still_raise_at_open(fs):
    with pytest.raises(FileNotFoundError):
        fs.open(BASE + "/nothing.parquet", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(BASE + "/sub.parquet", "rb")  # a folder with a Parquet-like name
    with pytest.raises(FileNotFoundError):
        fs.open(BASE + "/nothing.bin", "rb")


def test_random_seeks_from_the_end_and_the_start_are_byte_exact(fs):
    rnd = random.Random(8080)
    with fs.open(BASE + "/big.parquet", "rb") as f:
        for _ in range(40):
            n = rnd.choice([1, 8, 4096, 65536, 300000, 3 * MiB])
            if rnd.random() < 0.5:
                back = rnd.randint(1, len(BIG))
                f.seek(-back, 2)
                off = len(BIG) - back
            else:
                off = rnd.randrange(len(BIG))
                f.seek(off)
            assert f.tell() == off
            assert f.read(n) == BIG[off:off + n], (off, n)


def test_a_big_parquet_file_read_whole_in_order_is_exact(fs):
    """f.read() of the whole file after a footer read: the bytes exact and each fetched once
    (about the file's size moved)."""
    def whole():
        with fs.open(FAULT + "/big.parquet", "rb") as f:
            arrow_footer(f, BIG)
            f.seek(0)
            got = b""
            while True:
                b = f.read(4 * MiB)
                if not b:
                    break
                got += b
            assert got == BIG
    _, reqs, moved = counted(whole, len(BIG))
    assert len(BIG) <= moved <= len(BIG) + 4 * MiB, moved


def test_the_open_head_is_not_fetched_twice(fs):
    """A 20 MiB .bin opened (its first 8 MiB in the open's GET), then read(10 MiB) from 0 and
    the rest: every byte crosses the wire once (the old read(10 MiB) went to the block cache
    from byte 0, fetching the first 8 MiB a second time)."""
    want = local("twenty.bin")

    def straddle():
        with fs.open(FAULT + "/twenty.bin", "rb") as f:
            assert f.read(10 * MiB) == want[:10 * MiB]
            assert f.read() == want[10 * MiB:]
    _, reqs, moved = counted(straddle, len(want))
    assert moved == len(want), moved


def test_block_size_sets_the_opens_head(fs):
    """open(block_size=N): the open's GET reads N bytes, not 8 MiB."""
    want = local("twenty.bin")

    def small_head():
        with fs.open(FAULT + "/twenty.bin", "rb", block_size=256 << 10) as f:
            f.seek(-100, 2)
            assert f.read() == want[-100:]
    _, reqs, moved = counted(small_head)
    assert moved <= 512 << 10, moved


def test_a_parquet_blob_replaced_while_open_raises(fs):
    """Opened, its footer read, then replaced by other bytes: reading a column chunk raises
    instead of mixing versions."""
    fs.pipe_file(BASE + "/replaced.parquet", BIG)
    f = fs.open(BASE + "/replaced.parquet", "rb")
    try:
        arrow_footer(f, BIG)
        fs.pipe_file(BASE + "/replaced.parquet", BIG[::-1])
        off, n = SIDE["row_groups"][1]["columns"]["a"]
        f.seek(off)
        with pytest.raises(OSError, match="changed since it was opened"):
            f.read(n)
    finally:
        f.close()


def test_one_handle_read_from_eight_threads_is_byte_exact(fs):
    """The C handle under fsspec (head, block cache, exact jumps) read at once from 8 threads
    (ctypes releases the GIL): ranges straddling the head, jumps of column-chunk size, small
    reads near the end."""
    import concurrent.futures as cf
    h = fs.engine.open(BASE + "/big.parquet", first=1 << 20)
    try:
        h.readahead()

        def worker(seed):
            rnd = random.Random(seed)
            for _ in range(12):
                off = rnd.choice([rnd.randrange(2 * MiB), rnd.randrange(len(BIG)), len(BIG) - rnd.randint(1, MiB)])
                n = rnd.choice([100, 65536, MiB, 3 * MiB, 5 * MiB])
                assert h.read(off, n) == BIG[off:off + n], (off, n)
        with cf.ThreadPoolExecutor(8) as ex:
            list(ex.map(worker, range(8)))
    finally:
        h.close()
