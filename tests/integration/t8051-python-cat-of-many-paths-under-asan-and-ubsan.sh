#!/usr/bin/env bash
# t8051 — owns ferry_api_cat_open_many and _fill (src/api/cat.c) under ASan/UBSan, driven from Debian's
# Python: the sanitizer build of libferry.so (make asan) loaded into /usr/bin/python3 reads
# 200 files of an Azurite datastore and of a local folder with fs.cat(list) on 8 threads,
# 64 threads for 5 items, one thread, ranges (past the end, empty), missing files and a
# folder among the items, and cat_ranges — every byte checked, no sanitizer report. Leak
# checking is off: the interpreter itself keeps memory until exit.
source "$(dirname "$0")/lib.sh"
need_fixtures
$PY -c 'import fsspec' 2>/dev/null || skip "Debian's python3-fsspec is not installed"
LIB=$ROOT/build/asan/libferry.so
[[ -f $LIB ]] || skip "build/asan/libferry.so not built (make asan)"
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
az_datastore asancat "$c"
mk_small_tree "$TEST_TMP/src" 200 2 40
expect_ok ferry upload "$TEST_TMP/src" "azureml://datastores/asancat/paths/src/"

cat >"$TEST_TMP/cat.py" <<'PY'
import os, sys, ferry
T = sys.argv[1]
fs = ferry.filesystem()
local = {}
for d, _, fl in os.walk(T + "/src"):
    for f in fl:
        local[os.path.relpath(os.path.join(d, f), T + "/src")] = open(os.path.join(d, f), "rb").read()
names = sorted(local)
assert len(names) == 200, len(names)
for base in ["azureml://datastores/asancat/paths/src", T + "/src"]:
    got = fs.cat([base + "/" + n for n in names])
    assert all(got[base + "/" + n] == local[n] for n in names), base
    got = fs.cat([base + "/" + n for n in names[:30]], start=3, end=700)
    assert all(got[base + "/" + n] == local[n][3:700] for n in names[:30]), base
    five = [base + "/" + n for n in names[:5]]
    for threads in (1, 64):
        assert fs.engine.cat_many(five, threads=threads) == [local[n] for n in names[:5]]
    mixed = five + [base + "/nope.bin", base + "/" + names[0].split("/")[0]]
    got = fs.engine.cat_many(mixed, [0] * 5 + [0, 0], [None] * 7)
    assert got[:5] == [local[n] for n in names[:5]], base
    assert isinstance(got[5], FileNotFoundError) and isinstance(got[6], IsADirectoryError), got[5:]
    n0 = names[0]
    size = len(local[n0])
    got = fs.cat_ranges([base + "/" + n0] * 4, [size, size + 9, 0, 5], [None, None, 0, 50])
    assert got == [b"", b"", b"", local[n0][5:50]], got
    assert fs.engine.cat_many([]) == []
print("asan cat_many ok")
PY
step "fs.cat of many paths under ASan/UBSan: an Azurite datastore and a local folder"
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
	PYTHONPATH=$ROOT/python FERRY_LIB=$LIB timeout -k 5 120 $PY "$TEST_TMP/cat.py" "$TEST_TMP" \
	>"$TEST_TMP/cat.out" 2>&1 || { cat "$TEST_TMP/cat.out"; fail "python under ASan"; }
cat "$TEST_TMP/cat.out"
assert_not_contains "$TEST_TMP/cat.out" "runtime error" "UBSan"
assert_not_contains "$TEST_TMP/cat.out" "ERROR: AddressSanitizer" "ASan"
assert_contains "$TEST_TMP/cat.out" "asan cat_many ok"
