#!/usr/bin/env bash
# t8033 — owns reads of large files from Python through ferry's block cache
# (ferry_api_file_readahead; python/ferry/fsspec.py READAHEAD_MIN): fsspec.open("rb") of a
# 20 MiB blob on Azurite with 256 KiB blocks reads it whole, byte-exact, in 1 MiB reads and
# in odd-sized reads; seeks and reads 300 random ranges (the reader turns random) byte-exact;
# one readahead handle read from 8 threads at once stays exact; pandas reads a 13 MiB CSV
# through it; a file under the threshold keeps fsspec's own cache.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import fsspec, pandas' 2>/dev/null || skip "Debian's python3-fsspec and python3-pandas are not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

c=$(new_container)
az_datastore ra "$c"
head -c $((20 << 20)) /dev/urandom >"$TEST_TMP/big.bin"
$PY -c 'import sys
with open(sys.argv[1], "w") as f:
    f.write("a,b,c\n")
    for i in range(900000): f.write("%d,%d,x%d\n" % (i, i * 7 % 1000, i % 13))' "$TEST_TMP/t.csv"
expect_ok ferry upload "$TEST_TMP/big.bin" "azureml://datastores/ra/paths/big.bin"
expect_ok ferry upload "$TEST_TMP/t.csv" "azureml://datastores/ra/paths/t.csv"
head -c 100000 "$TEST_TMP/big.bin" >"$TEST_TMP/small.bin"
expect_ok ferry upload "$TEST_TMP/small.bin" "azureml://datastores/ra/paths/small.bin"

cat >"$TEST_TMP/ra.py" <<'PY'
import concurrent.futures as cf, os, random, sys
import pandas as pd
import ferry
T = sys.argv[1]
data = open(T + "/big.bin", "rb").read()
fs = ferry.filesystem(settings={"DATASET_MOUNT_READ_BLOCK_SIZE": 256 * 1024, "DATASET_MOUNT_READ_THREADS": 4})
uri = "azureml://datastores/ra/paths/big.bin"
with fs.open(uri, "rb") as f:
    assert f.cache.name == "none" and f._h.size == len(data), f.cache  # ferry's cache, not fsspec's
    assert b"".join(iter(lambda: f.read(1 << 20), b"")) == data
with fs.open(uri, "rb") as f:
    parts, n = [], 1
    while True:
        b = f.read(n * 7919 % 300000 + 1)
        if not b:
            break
        parts.append(b)
        n += 1
    assert b"".join(parts) == data
rnd = random.Random(8033)
with fs.open(uri, "rb") as f:
    for _ in range(300):
        off, n = rnd.randrange(len(data) + 10), rnd.randrange(1, 400000)
        f.seek(min(off, len(data)))
        assert f.read(n) == data[off:off + n], (off, n)
h = fs.engine.open(uri)
h.readahead()
with cf.ThreadPoolExecutor(8) as ex:
    offs = [rnd.randrange(len(data)) for _ in range(400)] + list(range(0, len(data), 1 << 20))
    assert all(ex.map(lambda o: h.read(o, 300001) == data[o:o + 300001], offs))
h.close()
df = pd.read_csv("azureml://datastores/ra/paths/t.csv")
assert len(df) == 900000 and df["b"].sum() == sum(i * 7 % 1000 for i in range(900000))
with fs.open("azureml://datastores/ra/paths/t.csv", "rb") as f:
    assert f.size > 8 << 20 and f.cache.name == "none"  # read through ferry's cache
with fs.open("azureml://datastores/ra/paths/small.bin", "rb") as f:
    assert f.cache.name == "readahead" and f.read() == data[:100000]  # small: fsspec's cache
with fs.open(uri, "rb", cache_type="readahead") as f:
    assert f.cache.name == "readahead"  # a cache the caller names is kept
print("block-cache reads exact: whole, odd sizes, 300 random ranges, 8 threads, pandas")
PY
step "fsspec open rb of a 20 MiB blob and a 13 MiB CSV through the block cache"
timeout -k 5 300 $PY "$TEST_TMP/ra.py" "$TEST_TMP" >"$TEST_TMP/ra.out" 2>&1 || { cat "$TEST_TMP/ra.out"; fail "block-cache reads"; }
cat "$TEST_TMP/ra.out"
