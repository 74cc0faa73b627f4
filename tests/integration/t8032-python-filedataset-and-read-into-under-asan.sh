#!/usr/bin/env bash
# t8032 — owns ferry_api_read (src/api/) and ferry.torch.FileDataset under ASan/UBSan: the
# sanitizer build of libferry.so (make asan) in Debian's python3 reads an Azurite folder and a
# local folder through FileDataset (batches from 8 threads, then 2 fork workers of a
# DataLoader, whose children drop the parent's curl handle), a readahead file handle read in
# order and from 8 threads (4 KiB blocks), Engine.download's (bytes, files) (it said 0 bytes
# for a Blob folder before), and read_into's edges: a range
# past the end, a short tail, an offset inside, a folder, a missing file, a bad datastore,
# with no sanitizer report. Leak checking is off (the interpreter keeps memory until exit).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
$PY -c 'import torch' 2>/dev/null || skip "Debian's python3-torch is not installed"
need_asan_lib
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
az_datastore asan "$c"
mk_small_tree "$TEST_TMP/src" 40 0 20
expect_ok ferry upload "$TEST_TMP/src" "azureml://datastores/asan/paths/src/"

cat >"$TEST_TMP/smoke.py" <<'PY'
import os, sys, ferry
import torch.utils.data as tud
from ferry.torch import FileDataset
T = sys.argv[1]
want = {}
for d, _, fl in os.walk(T + "/src"):
    for f in fl:
        want[os.path.relpath(os.path.join(d, f), T + "/src")] = open(os.path.join(d, f), "rb").read()
for base in [T + "/src", "azureml://datastores/asan/paths/src"]:
    ds = FileDataset(base, threads=8)
    assert dict(ds.__getitems__(range(len(ds)))) == want, base
    got = [x for b in tud.DataLoader(ds, batch_size=5, num_workers=2, collate_fn=list) for x in b]
    assert dict(got) == want and len(got) == len(want), base
    e = ds._engine
    name = max(want, key=lambda n: len(want[n]))
    data, uri = want[name], base + "/" + name
    buf = bytearray(len(data) + 100)
    assert e.read_into(uri, buf) == len(data) and bytes(buf[:len(data)]) == data
    assert e.read_into(uri, bytearray(10), len(data) + 5) == 0
    assert e.read_into(uri, bytearray(10), len(data) - 3) == 3
    mv = memoryview(bytearray(7))
    assert e.read_into(uri, mv, 11) == 7 and bytes(mv) == data[11:18]
    for bad, exc in [(base, IsADirectoryError), (base + "/nope", FileNotFoundError),
                     ("azureml://datastores/none/paths/x", OSError), (base + "/a/../b", OSError)]:
        try:
            e.read_into(bad, bytearray(16))
            raise AssertionError(bad)
        except exc as x:
            print(type(x).__name__, x)
out = T + "/dl"
for base in [T + "/src", "azureml://datastores/asan/paths/src"]:  # download reports what it moved
    got = ferry.Engine().download(base, out + str(len(base)))
    assert got == (sum(map(len, want.values())), len(want)), (base, got)
import concurrent.futures as cf, random
e = ferry.Engine(settings={"DATASET_MOUNT_READ_BLOCK_SIZE": 4096, "DATASET_MOUNT_READ_THREADS": 3})
rnd = random.Random(8032)
for base in [T + "/src", "azureml://datastores/asan/paths/src"]:
    name = max(want, key=lambda n: len(want[n]))
    data = want[name]
    h = e.open(base + "/" + name)
    h.readahead()  # the handle's own block cache (ferry_api_file_readahead)
    assert b"".join(h.read(o, 1000) for o in range(0, len(data), 1000)) == data
    with cf.ThreadPoolExecutor(8) as ex:
        offs = [rnd.randrange(len(data) + 50) for _ in range(200)]
        assert all(ex.map(lambda o: h.read(o, 5001) == data[o:o + 5001], offs))
    h.close()
print("asan filedataset ok")
PY
step "FileDataset and read_into under ASan/UBSan: local paths and an Azurite datastore"
py_under_asan 300 "asan filedataset ok" "$TEST_TMP/smoke.py" "$TEST_TMP"
