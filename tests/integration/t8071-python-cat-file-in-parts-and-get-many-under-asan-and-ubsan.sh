#!/usr/bin/env bash
# t8071 — owns ferry_api_cat_open/fill/close and ferry_api_get_many (src/api/cat.c) and the
# in-memory MD5 hasher (core/md5order.c ferry_md5order_new_mem) under ASan/UBSan, driven from
# Debian's Python: the sanitizer build of libferry.so (make asan) loaded into /usr/bin/python3
# reads a 9 MiB file with a stored MD5 in 256 KiB parts on 1, 4 and 64 threads (whole, ranges
# across part borders, past the end, empty), through the fault proxy with a byte flipped (an
# MD5 mismatch) and with a blob replaced between parts, a local file (no ranged read that
# tells the size), and fs.get of a list with a missing file and a folder among the items —
# every byte checked, no sanitizer report (and the same under TSan with build/tsan/libferry.so).
# Leak checking is off: the interpreter keeps memory.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
$PY -c 'import fsspec' 2>/dev/null || skip "Debian's python3-fsspec is not installed"
LIB=$ROOT/build/asan/libferry.so
[[ -f $LIB ]] || skip "build/asan/libferry.so not built (make asan)"
export FERRY_CMD_TIMEOUT=120
at_exit 'fault clear 2>/dev/null; fault delay 0.3 2>/dev/null'

c=$(new_container)
az_datastore asanbig "$c"
az_datastore asanbigf "$c" "$FAULT_URL"
mk_small_tree "$TEST_TMP/src/many" 30 2 40
head -c $((9 << 20)) /dev/urandom >"$TEST_TMP/src/big.bin"
expect_ok ferry upload "$TEST_TMP/src" "azureml://datastores/asanbig/paths/src/"

cat >"$TEST_TMP/big.py" <<'PY'
import os, sys, threading, time, ferry
sys.path.insert(0, os.environ["FAULTCTL_DIR"])
from faultctl import fault, fault_stats
T = sys.argv[1]
K = 256 << 10
big = open(T + "/src/big.bin", "rb").read()
for base in ["azureml://datastores/asanbig/paths/src", T + "/src"]:
    for threads in (1, 4, 64):
        fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": K, "RSLEX_DOWNLOADER_THREADS": threads})
        assert fs.cat_file(base + "/big.bin") == big, (base, threads)
        for s, e in ((K - 1, 3 * K + 1), (5, 9 << 20), ((9 << 20) - 3, None), (10 << 20, None), (7, 7)):
            assert fs.cat_file(base + "/big.bin", start=s, end=e) == big[s:e], (base, threads, s, e)
    many = sorted(os.listdir(T + "/src/many"))
    out = T + "/got/" + str(len(base))
    fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": K})
    try:
        fs.get([base + "/many/" + n for n in many] + [base + "/none.bin", base + "/big.bin"], out + "/")
        raise SystemExit("no error for a missing file")
    except FileNotFoundError as e:
        assert "none.bin" in str(e), e
    assert open(out + "/big.bin", "rb").read() == big
    for n in many:
        src = T + "/src/many/" + n
        if os.path.isfile(src):
            assert open(out + "/many/" + n, "rb").read() == open(src, "rb").read(), n
        else:  # a folder in the list (not recursive): made, as fsspec's get_file makes it
            assert os.path.isdir(out + "/many/" + n), n
fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": K, "RSLEX_DOWNLOADER_THREADS": 4})
F = "azureml://datastores/asanbigf/paths/src/big.bin"
fault("clear")
fault("schedule", "ok,ok,ok,corrupt")
try:
    fs.cat_file(F)
    raise SystemExit("a flipped byte was not noticed")
except OSError as e:
    assert "MD5 mismatch" in str(e), e
fault("clear")
one = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": K, "FERRY_TRANSFER_PART_SIZE_MAX": K,
                                 "RSLEX_DOWNLOADER_THREADS": 1})
fault("delay", "0.1")
fault("every", "1 delay")
out = {}
def read():
    try:
        out["data"] = one.cat_file(F)
    except OSError as e:
        out["error"] = str(e)
t = threading.Thread(target=read)
t.start()
deadline = time.time() + 60
while fault_stats()["data_requests"] < 3 and time.time() < deadline:
    time.sleep(0.02)
ferry.filesystem().pipe_file("azureml://datastores/asanbig/paths/src/big.bin", big[::-1])
t.join()
fault("clear")
assert "changed since it was opened" in out.get("error", ""), out.keys()
print("asan cat parts ok")
PY
step "cat_file in parts and get of many files under ASan/UBSan: Azurite, its fault proxy, a local folder"
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=66 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
	FAULTCTL_DIR=$ROOT/tests/python T8_FAULT_CTL=$FAULT_CTL \
	PYTHONPATH=$ROOT/python FERRY_LIB=$LIB timeout -k 5 240 $PY "$TEST_TMP/big.py" "$TEST_TMP" \
	>"$TEST_TMP/big.out" 2>&1 || { cat "$TEST_TMP/big.out"; fail "python under ASan"; }
cat "$TEST_TMP/big.out"
assert_not_contains "$TEST_TMP/big.out" "runtime error" "UBSan"
assert_not_contains "$TEST_TMP/big.out" "ERROR: AddressSanitizer" "ASan"
assert_contains "$TEST_TMP/big.out" "asan cat parts ok"

TLIB=$ROOT/build/tsan/libferry.so
[[ -f $TLIB ]] || { echo "build/tsan/libferry.so not built (make tsan): the TSan step is skipped"; exit 0; }
step "the same under TSan (the parts' threads, the in-memory MD5 hasher, get_many's workers)"
expect_ok ferry upload "$TEST_TMP/src/big.bin" "azureml://datastores/asanbig/paths/src/big.bin"
TSAN_OPTIONS=halt_on_error=1:exitcode=66 LD_PRELOAD="$(gcc -print-file-name=libtsan.so)" \
	FAULTCTL_DIR=$ROOT/tests/python T8_FAULT_CTL=$FAULT_CTL \
	PYTHONPATH=$ROOT/python FERRY_LIB=$TLIB timeout -k 5 240 $PY "$TEST_TMP/big.py" "$TEST_TMP" \
	>"$TEST_TMP/tsan.out" 2>&1 || { cat "$TEST_TMP/tsan.out"; fail "python under TSan"; }
cat "$TEST_TMP/tsan.out"
assert_not_contains "$TEST_TMP/tsan.out" "ThreadSanitizer" "TSan"
assert_contains "$TEST_TMP/tsan.out" "asan cat parts ok"
