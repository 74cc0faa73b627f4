#!/usr/bin/env bash
# t8010 — owns the C API (src/api/) under ASan/UBSan, driven from Debian's Python: the
# sanitizer build of libferry.so (make asan) loaded into /usr/bin/python3 (libasan and
# libubsan preloaded) runs stat, list, find, ranged reads from 8 threads at once, cat,
# open("wb"), get/put of a tree, rm and the error paths, on local paths and on an Azurite
# datastore, with no sanitizer report. Leak checking is off: the interpreter itself keeps
# memory until exit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
$PY -c 'import fsspec' 2>/dev/null || skip "Debian's python3-fsspec is not installed"
need_asan_lib
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
az_datastore asan "$c"
mk_small_tree "$TEST_TMP/src" 20 1 64
expect_ok ferry upload "$TEST_TMP/src" "azureml://datastores/asan/paths/src/"

cat >"$TEST_TMP/smoke.py" <<'PY'
import concurrent.futures as cf, os, sys, ferry
T = sys.argv[1]
fs = ferry.filesystem()
for base in [T + "/src", "azureml://datastores/asan/paths/src"]:
    files = fs.find(base)
    assert len(files) == 20, (base, files)
    fs.ls(base, detail=True)
    one = files[-1]
    data = open(T + "/src/" + one[len(base) + 1:], "rb").read()
    assert fs.cat_file(one, 10, 5000) == data[10:5000]
    assert fs.cat_file(one, len(data) + 4) == b""
    h = fs.engine.open(one)
    with cf.ThreadPoolExecutor(8) as ex:
        assert all(ex.map(lambda o: h.read(o, 7000) == data[o:o + 7000], range(0, len(data), 1501)))
    h.close()
    out = "%s/out-%d" % (T, len(base))
    fs.get(base, out, recursive=True)
    dest = base + "-up" if base.startswith("azureml") else T + "/up"
    fs.put(out, dest, recursive=True)
    with fs.open(dest + "/w.bin", "wb") as f:
        f.write(data)
    assert fs.cat_file(dest + "/w.bin") == data
    fs.rm(dest, recursive=True)
    for bad in [base + "/nope", "azureml:nosuch:1/x", "azureml://datastores/none/paths/x", base + "/a/../b"]:
        try:
            fs.cat_file(bad)
            raise AssertionError(bad)
        except OSError as e:
            print(type(e).__name__, e)
    try:
        fs.open(base, "rb")
        raise AssertionError("opened a folder")
    except IsADirectoryError:
        pass
print("asan smoke ok")
PY
step "the API under ASan/UBSan: local paths and an Azurite datastore"
py_under_asan 120 "asan smoke ok" "$TEST_TMP/smoke.py" "$TEST_TMP"
