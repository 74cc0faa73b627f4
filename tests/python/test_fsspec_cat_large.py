"""cat_file of a large file in parallel ranged GETs straight into the bytes object returned
(Engine.cat: ferry_api_cat_open/fill in src/api/cat.c), and get of a list or a glob in one
engine call (Engine.get_many: ferry_api_get_many), run by t8070 against Azurite and its fault
proxy. Environment: T8_TMP (the local tree the datastore "lds" holds under tree/: big.bin of
40 MiB, small.bin, many/*.bin, many/sub/*.bin), T8_FAULT_CTL (the fault proxy's control URL;
datastore "ldsfault" is the same container through it)."""
import os
import subprocess
import sys
import threading
import time

import pytest
from fsspec.spec import AbstractFileSystem

import ferry
from faultctl import delayed, fault, fault_stats  # noqa: F401 (delayed: a fixture)

T = os.environ["T8_TMP"]
BASE = "azureml://datastores/lds/paths/tree"
FAULT = "azureml://datastores/ldsfault/paths/tree"
PART = 1 << 20
BIG = open(T + "/tree/big.bin", "rb").read()
SMALL = open(T + "/tree/small.bin", "rb").read()
# parts pinned at 1 MiB (FERRY_TRANSFER_PART_SIZE_MAX: no growth from the first GET's timing)
SETTINGS = {"FERRY_TRANSFER_PART_SIZE": PART, "FERRY_TRANSFER_PART_SIZE_MAX": PART, "RSLEX_DOWNLOADER_THREADS": 6}


@pytest.fixture(scope="module")
def fs():
    return ferry.filesystem(settings=SETTINGS)


def test_cat_file_of_a_many_part_file_is_byte_exact(fs):
    assert len(BIG) == 40 * PART
    assert fs.cat_file(BASE + "/big.bin") == BIG
    assert fs.cat(BASE + "/big.bin") == BIG
    assert fs.cat_file(BASE + "/small.bin") == SMALL
    with pytest.raises(FileNotFoundError):
        fs.cat_file(BASE + "/none.bin")
    with pytest.raises(IsADirectoryError):
        fs.cat_file(BASE + "/many")


@pytest.mark.parametrize("start,end", [
    (PART - 10, 3 * PART + 5),          # across three part borders
    (PART, 2 * PART),                   # exactly one part, on its borders
    (5, 7 * PART - 1),
    (17 * PART + 3, None),              # to the end
    (39 * PART + 100, 41 * PART),       # past the end
    (41 * PART, None),                  # at or past the end: empty
    (-3 * PART - 7, None),              # from the end
    (0, 1),
])
def test_ranges_across_part_borders(fs, start, end):
    assert fs.cat_file(BASE + "/big.bin", start=start, end=end) == BIG[start:end]


def test_one_get_per_part_and_parts_run_at_once(fs, delayed):
    """Through the proxy, every request delayed: the 40 MiB file is 40 ranged GETs of 1 MiB
    (FERRY_TRANSFER_PART_SIZE), no HEAD, no listing, 6 (RSLEX_DOWNLOADER_THREADS) in flight
    at once; a small file is still exactly one GET."""
    f6 = ferry.filesystem(settings=SETTINGS)
    assert f6.cat_file(FAULT + "/big.bin") == BIG
    st = fault_stats()
    assert st["methods"] == {"GET": 40}, st["methods"]
    assert st["max_inflight"] == 6, st
    fault("clear")
    fault("every", "1 delay")
    assert f6.cat_file(FAULT + "/small.bin") == SMALL
    assert f6.cat_file(FAULT + "/big.bin", start=PART - 1, end=PART + 1) == BIG[PART - 1:PART + 1]
    assert f6.cat_file(FAULT + "/big.bin", start=PART - 1, end=2 * PART + 1) == BIG[PART - 1:2 * PART + 1]
    st = fault_stats()
    # one for the small file, one for the 2-byte range, two for the range of a part and 2 bytes
    assert st["methods"] == {"GET": 4}, st["methods"]


def test_slow_requests_make_larger_parts(delayed):
    """Every request 0.2 s to its first byte (the proxy's delay) against a 1 MiB first part
    that streams in milliseconds: the rest goes in larger parts (an even share per thread,
    transfer/partsize.h, as the download engine chooses), so fewer than 40 GETs; with
    FERRY_TRANSFER_PART_SIZE_MAX at the part size, 40."""
    grow = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": PART, "RSLEX_DOWNLOADER_THREADS": 6})
    assert grow.cat_file(FAULT + "/big.bin") == BIG
    st = fault_stats()
    assert st["methods"] == {"GET": 1 + 6}, st["methods"]  # 39 MiB in 6 shares of 7 MiB (rounded up)


def test_cat_of_a_list_reads_the_parts_of_its_large_files_at_once(delayed):
    """cat of a list with the 40 MiB file among small ones: one GET per small file, the large
    one's 40 parts, 6 in flight; cat_ranges of a large span goes in parts too."""
    f6 = ferry.filesystem(settings=SETTINGS)
    names = ["big.bin", "small.bin"] + ["many/" + n for n in MANY[:4]]
    got = f6.cat([FAULT + "/" + n for n in names])
    st = fault_stats()
    assert got == {FAULT + "/" + n: open(T + "/tree/" + n, "rb").read() for n in names}
    assert st["methods"] == {"GET": 40 + 5}, st["methods"]
    assert st["max_inflight"] == 6, st
    fault("clear")
    fault("every", "1 delay")
    got = f6.cat_ranges([FAULT + "/big.bin", FAULT + "/small.bin"], [3, 0], [3 + 4 * PART, 10])
    assert got == [BIG[3:3 + 4 * PART], SMALL[:10]]
    assert fault_stats()["methods"] == {"GET": 4 + 1}


@pytest.mark.parametrize("schedule", ["corrupt", "ok,ok,ok,ok,corrupt"])
def test_a_flipped_byte_is_an_error_not_wrong_bytes(fs, schedule):
    """The blob carries a stored Content-MD5: a byte flipped in transit (the proxy's corrupt
    fault) in the first GET or in a later part fails the read with an MD5 mismatch."""
    assert fs.info(BASE + "/big.bin")["md5"], "the upload stored no Content-MD5"
    fault("clear")
    fault("schedule", schedule)
    try:
        with pytest.raises(OSError, match="MD5 mismatch"):
            fs.cat_file(FAULT + "/big.bin")
        st = fault_stats()
    finally:
        fault("clear")
    assert st["injected"]["corrupt"] == 1, st
    fault("schedule", "corrupt")
    try:
        with pytest.raises(OSError, match="MD5 mismatch"):
            fs.cat_file(FAULT + "/small.bin")  # one GET, checked too
    finally:
        fault("clear")
    assert fs.cat_file(FAULT + "/big.bin") == BIG  # and without a fault it reads


def test_a_blob_replaced_between_parts_is_an_error(delayed):
    """One part at a time, each request delayed: the blob is replaced (same size, other
    bytes) after the first parts; the read fails instead of mixing two versions."""
    one = ferry.filesystem(settings=dict(SETTINGS, RSLEX_DOWNLOADER_THREADS=1))
    plain = ferry.filesystem()
    path = BASE + "/replaced.bin"
    plain.pipe_file(path, BIG[:12 * PART])
    out = {}

    def read():
        try:
            out["data"] = one.cat_file(FAULT + "/replaced.bin")
        except Exception as e:  # noqa: BLE001 — the test inspects it
            out["error"] = e

    t = threading.Thread(target=read)
    t.start()
    deadline = time.time() + 20
    while fault_stats()["data_requests"] < 3 and time.time() < deadline:
        time.sleep(0.05)
    plain.pipe_file(path, BIG[PART:13 * PART])
    t.join(60)
    assert not t.is_alive()
    assert "data" not in out, "a blob replaced mid-read was returned (%s)" % (
        "the old version" if out["data"] == BIG[:12 * PART] else "mixed bytes")
    assert isinstance(out["error"], OSError) and "changed since it was opened" in str(out["error"]), out


@pytest.mark.parametrize("call", ["fs.cat_file(B + '/big.bin')",
                                  "fs.cat([B + '/big.bin', B + '/small.bin'])[B + '/big.bin']"])
def test_one_copy_of_the_data_in_the_process(call):
    """Peak RSS of a fresh interpreter grows by about the file's size (the bytes object the
    engine filled), not twice it (a C buffer plus its copy into Python): cat_file, and a
    large file in cat of a list."""
    # VmHWM (this process's peak RSS), not ru_maxrss: Linux carries the forking pytest's
    # peak over the exec into ru_maxrss
    code = r"""
import sys, ferry
def hwm():
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]) * 1024
fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": %d, "RSLEX_DOWNLOADER_THREADS": 6})
fs.cat_file(sys.argv[1] + "/small.bin")  # libraries, threads and connections in place
B = sys.argv[1]
before = hwm()
b = %s
print(len(b), hwm() - before)
""" % (PART, call)
    out = subprocess.run([sys.executable, "-c", code, BASE], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    n, grew = map(int, out.stdout.split())
    assert n == len(BIG)
    print("peak RSS grew by %.2f x the file's size" % (grew / n))
    assert grew < 1.4 * n, "peak RSS grew by %d bytes for a %d-byte file (%.2f x)" % (grew, n, grew / n)


class Generic(ferry.FerryFileSystem):
    """ferry's filesystem with fsspec's own generic get and get_file: the reference (the
    target's folder made first, which this fsspec's get_file leaves to the caller)."""
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


MANY = sorted(n for n in os.listdir(T + "/tree/many") if n.endswith(".bin"))


@pytest.mark.parametrize("case", ["list-to-dir", "list-to-list", "glob", "glob-recursive", "list-recursive",
                                  "one-glob-match"])
def test_get_names_targets_as_fsspec_does(fs, tmp_path, case):
    """get of a list or a glob lands the same files under the same names as fsspec's own
    generic get and get_file (AbstractFileSystem's: one file after another, read through
    open(); a folder made with makedirs). Before, a folder in a recursive list failed."""
    src = {
        "list-to-dir": ([BASE + "/many/" + n for n in MANY[:7]] + [BASE + "/small.bin"], "out/", {}),
        "list-to-list": ([BASE + "/many/" + n for n in MANY[:3]], ["o/x1", "o/y/x2", "o/x3.bin"], {}),
        "glob": (BASE + "/many/*.bin", "out", {}),
        "glob-recursive": (BASE + "/many/s*", "out/", {"recursive": True}),
        "list-recursive": ([BASE + "/many/sub", BASE + "/small.bin"], "out/", {"recursive": True}),
        "one-glob-match": (BASE + "/many/" + MANY[0][:-1] + "?", "out/one.bin", {}),
    }[case]
    rpath, lpath, kw = src
    ref, mine = tmp_path / "ref", tmp_path / "mine"
    for d in (ref, mine):
        d.mkdir()
    cwd = os.getcwd()
    try:
        for d, get in ((ref, Generic(settings=SETTINGS).get), (mine, fs.get)):
            os.chdir(d)
            get(rpath, [str(d / p) for p in lpath] if isinstance(lpath, list) else str(d) + "/" + lpath, **kw)
    finally:
        os.chdir(cwd)
    want = tree(ref)
    assert want, "fsspec's get landed nothing"
    assert tree(mine) == want
    dirs = lambda r: sorted(os.path.relpath(d, r) for d, _, _ in os.walk(r))  # noqa: E731
    assert dirs(mine) == dirs(ref)


def test_get_of_a_list_downloads_files_at_once(delayed, tmp_path):
    """36 small files through the proxy, every request delayed: one GET each, no HEAD, and
    RSLEX_DOWNLOADER_THREADS (6) downloads in flight from one Python call (fsspec's own get
    takes one file after another)."""
    six = ferry.filesystem(settings=SETTINGS)
    names = MANY[:36]
    six.get([FAULT + "/many/" + n for n in names], str(tmp_path) + "/")
    st = fault_stats()
    assert tree(tmp_path) == {n: open(T + "/tree/many/" + n, "rb").read() for n in names}
    assert st["methods"] == {"GET": 36}, st["methods"]
    assert st["max_inflight"] == 6, st


def test_get_failure_names_the_file_and_leaves_no_partial_file(fs, tmp_path):
    paths = [BASE + "/many/" + n for n in MANY[:10]]
    with pytest.raises(FileNotFoundError) as e:
        fs.get(paths[:5] + [BASE + "/many/none.bin"] + paths[5:], str(tmp_path) + "/")
    assert "none.bin" in str(e.value)
    assert sorted(os.listdir(tmp_path)) == MANY[:10]  # the others landed; nothing else
    # a flipped byte in one file (the first request: which file is the engine's choice)
    out = tmp_path / "c"
    fault("clear")
    fault("schedule", "corrupt")
    try:
        with pytest.raises(OSError, match="MD5 mismatch") as e:
            fs.get([FAULT + "/many/" + n for n in MANY[:10]], str(out) + "/")
    finally:
        fault("clear")
    bad = [n for n in MANY[:10] if n in str(e.value)]
    assert len(bad) == 1, str(e.value)
    assert sorted(os.listdir(out)) == sorted(set(MANY[:10]) - set(bad))  # no partial, no temporary
    assert tree(out) == {n: open(T + "/tree/many/" + n, "rb").read() for n in MANY[:10] if n != bad[0]}


def test_get_of_a_large_file_in_a_list_goes_in_parts(fs, tmp_path, delayed):
    f6 = ferry.filesystem(settings=SETTINGS)
    f6.get([FAULT + "/big.bin"], str(tmp_path) + "/")
    st = fault_stats()
    assert open(tmp_path / "big.bin", "rb").read() == BIG
    assert st["methods"] == {"GET": 40} and st["max_inflight"] == 6, st
