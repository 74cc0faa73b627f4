#!/usr/bin/env bash
# t8075 — owns fsspec get_file and get of ONE file (python/ferry/fsspec.py get/get_file over
# Engine.get_many, ferry_api_get_many in src/api/cat.c), under Debian's python3 and pytest
# (tests/python/test_fsspec_get_one.py): through the fault proxy a small file costs exactly
# one GET (no stat, no HEAD), a 24 MiB file goes in 1 MiB parts with 6 in flight, byte-exact;
# a byte flipped in transit (first or a later part) fails with an MD5 mismatch and leaves
# nothing under the final name (an old file there untouched, no temporary left); lpath an
# existing folder, ending in "/", in folders not yet made, or an open file; a missing file
# raises FileNotFoundError naming it, a folder IsADirectoryError unless recursive=True. And
# cat(list) of 160 x 256 KiB after a large cat_file: peak RSS about 1x the results (the C
# buffers freed back to the system as the bytes are made; was 1.9x).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py_fault fsspec

step "a 24 MiB file, a 70 kB file, an empty file, a folder of 3 files, 160 x 256 KiB on an Azurite datastore"
$PY - "$TEST_TMP/tree" <<'PY'
import os, sys
root = sys.argv[1]
os.makedirs(root + "/dir/sub")
with open(root + "/big.bin", "wb") as f:
    f.write(os.urandom(24 << 20))
with open(root + "/small.bin", "wb") as f:
    f.write(os.urandom(70000))
open(root + "/empty.bin", "wb").close()
for n in ("dir/a.bin", "dir/b.bin", "dir/sub/c.bin"):
    with open(root + "/" + n, "wb") as f:
        f.write(os.urandom(5000))
os.makedirs(root + "/many")
for i in range(160):
    with open("%s/many/m%03d.bin" % (root, i), "wb") as f:
        f.write(os.urandom(256 << 10))
PY
c=$(new_container)
az_datastore gds "$c"
az_datastore gdsfault "$c" "$FAULT_URL"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/gds/paths/tree/"

step "pytest: get_file and get of one file; cat(list)'s peak RSS"
export T8_TMP=$TEST_TMP T8_FAULT_CTL=$FAULT_CTL
run_pytest test_fsspec_get_one.py

step "a full disk: get_file fails naming the file, and leaves nothing behind"
if [[ $(id -u) -eq 0 ]] && mkdir -p "$TEST_TMP/tiny" && mount -t tmpfs -o size=4m tmpfs "$TEST_TMP/tiny"; then
	at_exit "umount -l '$TEST_TMP/tiny' 2>/dev/null"
	$PY - "$TEST_TMP/tiny" <<'PY' || fail "get_file into a full disk"
import os, sys, ferry
tiny = sys.argv[1]
try:
    ferry.filesystem().get_file("azureml://datastores/gds/paths/tree/big.bin", tiny + "/big.bin")
    raise SystemExit("24 MiB landed on a 4 MiB disk")
except OSError as e:
    assert "big.bin" in str(e) and "No space left" in str(e), e
    print("error:", e)
assert os.listdir(tiny) == [], os.listdir(tiny)  # no temporary, no partial file
PY
else
	echo "# not root or no tmpfs here: full-disk step skipped"
fi
echo "ok"
