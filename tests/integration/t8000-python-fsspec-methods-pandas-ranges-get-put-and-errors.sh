#!/usr/bin/env bash
# t8000 — owns the Python package's fsspec filesystem (python/ferry over build/libferry.so)
# under Debian's /usr/bin/python3: against an Azurite datastore, ls/info/exists/isdir/glob/
# find/walk/du agree with what was uploaded; random ranged reads and cat_file ranges are
# byte-exact; pandas.read_csv and DataFrame.to_csv on azureml:// URIs; open("wb") lands (read back with
# `ferry download`); get/put of a folder tree round-trip; rm; a missing path raises
# FileNotFoundError, a wrong key PermissionError/OSError naming the blob and never the key;
# every path form (emulator URL, wasbs, abfss, https, long-form azureml, a data asset and
# paths inside it) lists and reads the same; one handle read from 8 threads stays exact;
# the library is loaded with CDLL (calls release the GIL); an "azureml" implementation
# registered before `import ferry` is kept.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import fsspec, pandas' 2>/dev/null || skip "Debian's python3-fsspec and python3-pandas are not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

c=$(new_container)
az_datastore pyds "$c"
mk_small_tree "$TEST_TMP/tree" 60 1 16
printf 'sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,3.3,virginica\n' >"$TEST_TMP/iris.csv"
head -c 3000000 /dev/urandom >"$TEST_TMP/big.bin"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/pyds/paths/tree/"
expect_ok ferry upload "$TEST_TMP/iris.csv" "azureml://datastores/pyds/paths/iris.csv"
expect_ok ferry upload "$TEST_TMP/big.bin" "azureml://datastores/pyds/paths/big.bin"

# A second datastore over the same container with a wrong key.
sed "s/^name: pyds/name: badkey/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-pyds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"

# A data asset naming the datastore's folder (its storage path is remote: nothing uploaded).
expect_ok ferry data create --name pytree --path "azureml://datastores/pyds/paths/tree/" --type uri_folder
export T8_TMP=$TEST_TMP T8_CONTAINER=$c T8_KEY=$AZURITE_KEY T8_AZURITE=$AZURITE_URL T8_CONN=$AZURITE_CONN
run_py() { # run_py NAME — run $TEST_TMP/NAME.py under Debian's python
	step "python: $1"
	timeout -k 5 120 $PY "$TEST_TMP/$1.py" >"$TEST_TMP/$1.out" 2>&1 || { cat "$TEST_TMP/$1.out"; fail "$1"; }
	cat "$TEST_TMP/$1.out"
}

cat >"$TEST_TMP/clobber.py" <<'PY'
import fsspec
from fsspec.spec import AbstractFileSystem
class Mine(AbstractFileSystem):
    protocol = "azureml"
fsspec.register_implementation("azureml", Mine)
import ferry
assert fsspec.get_filesystem_class("azureml") is Mine, fsspec.get_filesystem_class("azureml")
assert type(ferry.filesystem()).__name__ == "FerryFileSystem"
print("an azureml implementation registered before import ferry is kept")
PY
run_py clobber

cat >"$TEST_TMP/listing.py" <<'PY'
import os, ferry, fsspec
T = os.environ["T8_TMP"]
fs = fsspec.filesystem("azureml")
assert type(fs).__name__ == "FerryFileSystem", type(fs)
base = "azureml://datastores/pyds/paths"
local = {}
for d, _, files in os.walk(T + "/tree"):
    for f in files:
        p = os.path.join(d, f)
        local[os.path.relpath(p, T + "/tree")] = os.path.getsize(p)
top = sorted(os.listdir(T + "/tree"))
got = fs.ls(base + "/tree", detail=True)
assert sorted(e["name"].rsplit("/", 1)[1] for e in got) == top, (got, top)
for e in got:
    want = "directory" if os.path.isdir(T + "/tree/" + e["name"].rsplit("/", 1)[1]) else "file"
    assert e["type"] == want, e
assert fs.ls(base + "/tree/", detail=False) == [e["name"] for e in got]
found = fs.find(base + "/tree")
assert sorted(p[len(base) + 6:] for p in found) == sorted(local), (found, local)
assert fs.du(base + "/tree") == sum(local.values())
walked = sorted(os.path.relpath(os.path.join(r, f), base + "/tree") for r, _, fl in fs.walk(base + "/tree") for f in fl)
assert walked == sorted(local), walked
rel, size = sorted(local.items())[-1]
info = fs.info(base + "/tree/" + rel)
assert info["type"] == "file" and info["size"] == size, info
assert fs.isdir(base + "/tree") and not fs.isfile(base + "/tree")
assert fs.exists(base + "/iris.csv") and not fs.exists(base + "/no-such.csv")
# glob agrees with fsspec's own local filesystem on the same tree, pattern by pattern
lfs = fsspec.filesystem("file")
root = os.path.realpath(T + "/tree")
for pat in ["**", "**/*.bin", "*/*.bin", "d0?/d*/f0000*.bin", "*.bin"]:
    g = sorted(p[len(base) + 6:] for p in fs.glob(base + "/tree/" + pat))
    w = sorted(p[len(root) + 1:] for p in lfs.glob(root + "/" + pat))
    assert g == w and w, (pat, g, w)
g1 = fs.glob(base + "/*.csv")
assert g1 == [base + "/iris.csv"], g1
print("listing ok:", len(local), "files,", "files")
PY
run_py listing

cat >"$TEST_TMP/reads.py" <<'PY'
import os, random, ferry, fsspec, pandas as pd, ctypes
T = os.environ["T8_TMP"]
base = "azureml://datastores/pyds/paths"
data = open(T + "/big.bin", "rb").read()
rnd = random.Random(8000)
with fsspec.open(base + "/big.bin", "rb") as f:
    for _ in range(200):
        off = rnd.randrange(len(data) + 10)
        n = rnd.choice([1, 7, 4096, 65536, 1 << 20])
        f.seek(off)
        assert f.read(n) == data[off:off + n], (off, n)
fs = ferry.filesystem()
for s, e in [(0, 10), (100, 5000), (len(data) - 3, None), (-100, None), (-100, -10), (5, 5), (len(data) + 5, None), (None, 17)]:
    assert fs.cat_file(base + "/big.bin", start=s, end=e) == data[s:e], (s, e)
assert fs.cat_file(base + "/big.bin") == data
df = pd.read_csv(base + "/iris.csv")
assert list(df.columns) == ["sepal_length", "sepal_width", "species"] and len(df) == 3, df
assert df["sepal_length"].sum() == 5.1 + 4.9 + 6.3
# every path form of the same folder lists the same files and reads the same bytes
c = os.environ["T8_CONTAINER"]
os.environ["AZURE_STORAGE_CONNECTION_STRING"] = os.environ["T8_CONN"]
want = sorted(fs.find(base + "/tree"))
want = [p[len(base) + 6:] for p in want]
one = want[0]
local = open(T + "/tree/" + one, "rb").read()
for uri in [os.environ["T8_AZURITE"] + "/" + c + "/tree",
            "wasbs://%s@devstoreaccount1.blob.core.windows.net/tree" % c,
            "abfss://%s@devstoreaccount1.dfs.core.windows.net/tree" % c,
            "https://devstoreaccount1.blob.core.windows.net/%s/tree" % c,
            "azureml://subscriptions/s1/resourcegroups/rg1/workspaces/ws1/datastores/pyds/paths/tree",
            "azureml:pytree:1"]:
    got = [p[len(uri) + 1:] for p in fs.find(uri)]
    assert sorted(got) == want, (uri, got[:3])
    assert fs.cat_file(uri + "/" + one) == local, uri
    with fs.open(uri + "/" + one, "rb") as f:
        f.seek(100)
        assert f.read(50) == local[100:150], uri
# one handle read from 8 threads at once (the GIL released in C) stays byte-exact
import concurrent.futures as cf
h = fs.engine.open(base + "/big.bin")
spans = [(rnd.randrange(len(data)), rnd.choice([1, 5000, 300000])) for _ in range(64)]
with cf.ThreadPoolExecutor(8) as ex:
    got = list(ex.map(lambda sp: h.read(*sp), spans))
    cats = list(ex.map(lambda k: fs.cat_file("%s/tree/%s" % (base, want[k % len(want)])), range(32)))
h.close()
assert all(g == data[o:o + n] for g, (o, n) in zip(got, spans))
assert all(c == open(T + "/tree/" + want[k % len(want)], "rb").read() for k, c in enumerate(cats))
# the library is a CDLL: ctypes releases the GIL around each call
assert isinstance(ferry._lib.lib(), ctypes.CDLL) and not isinstance(ferry._lib.lib(), ctypes.PyDLL)
print("reads ok")
PY
run_py reads

cat >"$TEST_TMP/writes.py" <<'PY'
import os, ferry
T = os.environ["T8_TMP"]
base = "azureml://datastores/pyds/paths"
fs = ferry.filesystem()
payload = os.urandom(5 * 1024 * 1024 + 123)
with fs.open(base + "/written/w.bin", "wb") as f:
    for k in range(0, len(payload), 1000003):
        f.write(payload[k:k + 1000003])
    assert not fs.exists(base + "/written/w.bin"), "nothing lands before close"
assert fs.info(base + "/written/w.bin")["size"] == len(payload)
open(T + "/w.expected", "wb").write(payload)
fs.put(T + "/tree", base + "/putdir", recursive=True)
fs.get(base + "/putdir", T + "/got", recursive=True)
fs.get("azureml:pytree:1", T + "/got-asset", recursive=True)
fs.get_file(base + "/iris.csv", T + "/iris.copy")
assert open(T + "/iris.copy", "rb").read() == open(T + "/iris.csv", "rb").read()
assert not [n for n in os.listdir(T) if n.startswith(".ferry")], os.listdir(T)
fs.put_file(T + "/iris.csv", base + "/one/iris2.csv")
assert fs.cat_file(base + "/one/iris2.csv") == open(T + "/iris.csv", "rb").read()
fs.rm(base + "/one/iris2.csv")
assert not fs.exists(base + "/one/iris2.csv")
import pandas as pd
df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
df.to_csv(base + "/pandas/out.csv", index=False)
assert pd.read_csv(base + "/pandas/out.csv").equals(df)
fs.pipe_file(base + "/empty.bin", b"")
assert fs.cat_file(base + "/empty.bin") == b"" and fs.info(base + "/empty.bin")["size"] == 0
with fs.open(base + "/empty.bin", "rb") as f:
    assert f.read() == b""
fs.mkdir(base + "/newdir")
print("writes ok")
PY
run_py writes
step "what open('wb') wrote downloads byte-exact with the CLI"
expect_ok ferry download "azureml://datastores/pyds/paths/written/w.bin" "$TEST_TMP/dl"
assert_file_same "$TEST_TMP/w.expected" "$TEST_TMP/dl/w.bin"
step "get/put of a folder tree round-trips"
assert_tree_same "$TEST_TMP/tree" "$TEST_TMP/got"
assert_tree_same "$TEST_TMP/tree" "$TEST_TMP/got-asset"

cat >"$TEST_TMP/errors.py" <<'PY'
import os, ferry, pandas as pd
T, key = os.environ["T8_TMP"], os.environ["T8_KEY"]
base = "azureml://datastores/pyds/paths"
fs = ferry.filesystem()
def expect(exc, fn, *a, **k):
    try:
        fn(*a, **k)
    except exc as e:
        assert key not in str(e) and key not in repr(e), "key in message"
        print(type(e).__name__, e)
        return e
    raise AssertionError("%s did not raise %s" % (fn, exc))
e = expect(FileNotFoundError, fs.info, base + "/no/such.csv")
assert "no/such.csv" in str(e), e
expect(FileNotFoundError, fs.ls, base + "/no/such/")
expect(FileNotFoundError, fs.open, base + "/no/such.csv", "rb")
expect(FileNotFoundError, fs.cat_file, base + "/no/such.csv")
expect(FileNotFoundError, fs.cat_file, base + "/no/such.csv", start=0, end=0)
expect(FileNotFoundError, pd.read_csv, base + "/no/such.csv")
expect(FileNotFoundError, fs.cat_file, "azureml://datastores/nosuchstore/paths/x.csv")
expect(IsADirectoryError, fs.open, base + "/tree", "rb")
expect(IsADirectoryError, fs.cat_file, base + "/tree")
e = expect(OSError, fs.cat_file, "azureml://datastores/badkey/paths/iris.csv")
assert isinstance(e, PermissionError) or "403" in str(e) or "auth" in str(e).lower(), e
assert "iris.csv" in str(e) or "badkey" in str(e), e
expect(OSError, fs.info, "notascheme://x/y")
e = expect(OSError, fs.cat_file, "azureml:pytree:1/d00/../../iris.csv")
assert "'..'" in str(e), e
e = expect(OSError, ferry.Engine(settings={"NO_SUCH_SETTING": 1}).stat, base + "/iris.csv")
assert "NO_SUCH_SETTING" in str(e), e
print("errors ok")
PY
run_py errors
assert_not_contains "$TEST_TMP/errors.out" "$AZURITE_KEY" "the account key"
