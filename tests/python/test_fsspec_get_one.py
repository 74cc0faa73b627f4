"""get_file and get of one file (python/ferry/fsspec.py over Engine.get_many:
ferry_api_get_many in src/api/cat.c), run by t8075 against Azurite and its fault proxy.
Environment: T8_TMP (the local tree the datastore "gds" holds under tree/: big.bin of 24 MiB,
small.bin, empty.bin, dir/{a,b}.bin, dir/sub/c.bin), T8_FAULT_CTL (the fault proxy's control
URL; datastore "gdsfault" is the same container through it)."""
import io
import os
import subprocess
import sys
import tempfile

import pytest
from fsspec.spec import AbstractFileSystem

import ferry
from faultctl import delayed, fault, fault_stats  # noqa: F401 (delayed: a fixture)

T = os.environ["T8_TMP"] + "/tree"
BASE = "azureml://datastores/gds/paths/tree"
FAULT = "azureml://datastores/gdsfault/paths/tree"
PART = 1 << 20
BIG = open(T + "/big.bin", "rb").read()
SMALL = open(T + "/small.bin", "rb").read()
# parts pinned at 1 MiB (FERRY_TRANSFER_PART_SIZE_MAX: no growth from the first GET's timing)
SETTINGS = {"FERRY_TRANSFER_PART_SIZE": PART, "FERRY_TRANSFER_PART_SIZE_MAX": PART, "RSLEX_DOWNLOADER_THREADS": 6}


@pytest.fixture(scope="module")
def fs():
    return ferry.filesystem(settings=SETTINGS)


def listing(d):
    return sorted(os.listdir(d))


@pytest.mark.parametrize("how", ["get_file", "get"])
def test_a_small_file_is_one_get(fs, tmp_path, how):
    """One GET: no stat, no HEAD, no listing (the old get_file went through the transfer
    engine's download: a stat, a HEAD and a GET)."""
    fault("clear")
    getattr(fs, how)(FAULT + "/small.bin", str(tmp_path / "x.bin"))
    st = fault_stats()
    assert open(tmp_path / "x.bin", "rb").read() == SMALL
    assert st["methods"] == {"GET": 1}, st["methods"]
    assert listing(tmp_path) == ["x.bin"]  # no temporary left beside it


def test_a_large_file_goes_in_parallel_parts(tmp_path, delayed):
    f6 = ferry.filesystem(settings=SETTINGS)
    f6.get_file(FAULT + "/big.bin", str(tmp_path / "big.bin"))
    st = fault_stats()
    assert open(tmp_path / "big.bin", "rb").read() == BIG
    assert st["methods"] == {"GET": 24} and st["max_inflight"] == 6, st
    fault("clear")
    fault("every", "1 delay")
    f6.get(FAULT + "/big.bin", str(tmp_path / "again.bin"))
    st = fault_stats()
    assert open(tmp_path / "again.bin", "rb").read() == BIG
    assert st["methods"] == {"GET": 24} and st["max_inflight"] == 6, st


def test_an_empty_file(fs, tmp_path):
    fs.get_file(BASE + "/empty.bin", str(tmp_path / "e"))
    assert open(tmp_path / "e", "rb").read() == b""
    assert listing(tmp_path) == ["e"]


@pytest.mark.parametrize("name,schedule", [("small.bin", "corrupt"), ("big.bin", "corrupt"),
                                           ("big.bin", "ok,ok,ok,ok,corrupt")])
@pytest.mark.parametrize("how", ["get_file", "get"])
def test_a_flipped_byte_fails_and_leaves_nothing_under_the_final_name(fs, tmp_path, how, name, schedule):
    """The blobs carry a stored Content-MD5: a byte flipped in transit in the first GET or
    in a later part fails with an MD5 mismatch; no file lands under the final name (an old
    file there keeps its bytes) and no temporary is left beside it."""
    assert fs.info(BASE + "/" + name)["md5"], "the upload stored no Content-MD5"
    (tmp_path / "old.bin").write_bytes(b"old bytes")
    for target in ("new.bin", "old.bin"):
        fault("clear")
        fault("schedule", schedule)
        try:
            with pytest.raises(OSError, match="MD5 mismatch") as e:
                getattr(fs, how)(FAULT + "/" + name, str(tmp_path / target))
            st = fault_stats()
        finally:
            fault("clear")
        assert st["injected"]["corrupt"] == 1, st
        assert name in str(e.value)
        assert listing(tmp_path) == ["old.bin"]
        assert (tmp_path / "old.bin").read_bytes() == b"old bytes"
    getattr(fs, how)(FAULT + "/" + name, str(tmp_path / "old.bin"))  # without a fault it lands
    assert (tmp_path / "old.bin").read_bytes() == open(T + "/" + name, "rb").read()


class Generic(ferry.FerryFileSystem):
    """ferry's filesystem with fsspec's own generic get and get_file (the reference)."""
    get = AbstractFileSystem.get

    def get_file(self, rpath, lpath, **kw):
        os.makedirs(os.path.dirname(lpath), exist_ok=True)
        return AbstractFileSystem.get_file(self, rpath, lpath, **kw)


def tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


@pytest.mark.parametrize("lpath", ["out/", "out/x.bin", "a/b/c/x.bin", "x.bin"])
def test_get_names_the_target_as_fsspec_does(fs, tmp_path, lpath):
    """get of one file lands where fsspec's generic get puts it (a target ending in "/" is
    a folder the file goes into under its name; folders not there yet are made)."""
    ref, mine = tmp_path / "ref", tmp_path / "mine"
    ref.mkdir()
    mine.mkdir()
    Generic(settings=SETTINGS).get(BASE + "/small.bin", str(ref) + "/" + lpath)
    fs.get(BASE + "/small.bin", str(mine) + "/" + lpath)
    assert tree(ref) and tree(mine) == tree(ref)


@pytest.mark.parametrize("how", ["get_file", "get"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_an_existing_folder_takes_the_file_under_its_name(fs, tmp_path, how, slash):
    (tmp_path / "d").mkdir()
    getattr(fs, how)(BASE + "/small.bin", str(tmp_path / "d") + slash)
    assert tree(tmp_path) == {"d/small.bin": SMALL}


def test_get_file_into_an_open_file(fs):
    buf = io.BytesIO()
    fs.get_file(BASE + "/small.bin", buf)
    assert buf.getvalue() == SMALL


@pytest.mark.parametrize("how", ["get_file", "get"])
def test_a_missing_file_is_file_not_found_naming_it(fs, tmp_path, how):
    with pytest.raises(FileNotFoundError) as e:
        getattr(fs, how)(BASE + "/none.bin", str(tmp_path / "x.bin"))
    assert "none.bin" in str(e.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("how", ["get_file", "get"])
def test_a_folder_is_a_directory_error_unless_recursive(fs, tmp_path, how):
    with pytest.raises(IsADirectoryError) as e:
        getattr(fs, how)(BASE + "/dir", str(tmp_path / "x"))
    assert "dir" in str(e.value)
    assert listing(tmp_path) == []
    fs.get(BASE + "/dir", str(tmp_path / "x"), recursive=True)  # the engine's folder download
    want = {n: open(T + "/dir/" + n, "rb").read() for n in ("a.bin", "b.bin", "sub/c.bin")}
    got = tree(tmp_path / "x")
    assert got == want, sorted(got)


def test_cat_of_many_small_files_holds_their_bytes_once():
    """Peak RSS of a fresh interpreter during cat(list) of 160 x 256 KiB grows by about the
    results' size, after a cat_file of a large file (whose freed 8 MiB first-part buffer
    raises glibc's mmap threshold, so the small files' C buffers come from the heap, where a
    freed block stays in the process): before, the freed buffers stayed beside the bytes
    objects (1.9x)."""
    code = r"""
import sys, ferry
def hwm():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]) * 1024
fs = ferry.filesystem()
B = sys.argv[1]
big = fs.cat_file(B + "/big.bin")
del big
paths = [B + "/many/m%03d.bin" % i for i in range(160)]
fs.cat(paths[:2])  # libraries, threads and connections in place
open("/proc/self/clear_refs", "w").write("5")  # VmHWM starts again from the RSS now
before = hwm()
got = fs.cat(paths)
print(sum(map(len, got.values())), hwm() - before)
"""
    out = subprocess.run([sys.executable, "-c", code, BASE], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    n, grew = map(int, out.stdout.split())
    assert n == 160 << 18
    print("peak RSS grew by %.2f x the results' size" % (grew / n))
    assert grew < 1.3 * n, "peak RSS grew by %d bytes for %d bytes of results (%.2f x)" % (grew, n, grew / n)


@pytest.mark.parametrize("verify", ["auto", "off"])
def test_get_file_of_a_large_file_lets_go_of_its_pages(verify):
    """Peak RSS of a fresh interpreter during get_file of the 24 MiB file stays well below the
    file's size: the parts are written with pwrite and hashed back through the page cache, so
    the process holds the parts in flight, not the file. Through a shared mapping of the whole
    temporary (the first version) every page was in the process's RSS until the end (1.1x)."""
    code = r"""
import os, sys, ferry
def hwm():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]) * 1024
fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": 1 << 20, "FERRY_TRANSFER_PART_SIZE_MAX": 1 << 20,
                                "RSLEX_DOWNLOADER_THREADS": 4, "FERRY_VERIFY_MD5": sys.argv[3]})
fs.get_file(sys.argv[1] + "/small.bin", sys.argv[2] + "/warm.bin")  # libraries, threads, connections
open("/proc/self/clear_refs", "w").write("5")  # VmHWM starts again from the RSS now
before = hwm()
fs.get_file(sys.argv[1] + "/big.bin", sys.argv[2] + "/big.bin")
print(os.path.getsize(sys.argv[2] + "/big.bin"), hwm() - before)
"""
    out_dir = tempfile.mkdtemp(dir=os.environ["T8_TMP"])
    out = subprocess.run([sys.executable, "-c", code, BASE, out_dir, verify], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    n, grew = map(int, out.stdout.split())
    assert n == len(BIG) and open(out_dir + "/big.bin", "rb").read() == BIG
    print("get_file (MD5 %s): peak RSS grew by %.2f x the file's size" % (verify, grew / n))
    assert grew < 0.5 * n, "peak RSS grew by %d bytes for a %d-byte file (%.2f x)" % (grew, n, grew / n)


def write_calls():
    return int([l for l in open("/proc/self/io") if l.startswith("syscw:")][0].split()[1])


@pytest.mark.parametrize("verify", ["auto", "off"])
def test_get_file_writes_a_mib_at_a_time(verify, tmp_path):
    """libcurl hands a response over in pieces of at most 16 KiB; get_file gathers a part's
    pieces and writes 1 MiB at a time, as the download engine does. The 24 MiB file, in 24
    parts of 1 MiB, takes a few dozen write calls of this process (/proc/self/io syscw), not
    one per piece: the first version made ~1,600 (about 10% of a large get_file's time)."""
    f = ferry.filesystem(settings=dict(SETTINGS, FERRY_VERIFY_MD5=verify))
    f.get_file(BASE + "/small.bin", str(tmp_path / "warm.bin"))  # threads, connections, logs
    before = write_calls()
    f.get_file(BASE + "/big.bin", str(tmp_path / "big.bin"))
    calls = write_calls() - before
    assert open(tmp_path / "big.bin", "rb").read() == BIG
    print("get_file of 24 MiB (MD5 %s): %d write calls" % (verify, calls))
    assert calls <= 3 * 24, "%d write calls for 24 parts of 1 MiB" % calls
