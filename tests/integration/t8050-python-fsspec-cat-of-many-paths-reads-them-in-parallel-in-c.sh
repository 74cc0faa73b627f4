#!/usr/bin/env bash
# t8050 — owns fsspec cat of many paths and cat_ranges in one engine call (python/ferry/fsspec.py
# cat/cat_ranges over Engine.cat_many, ferry_api_cat_open_many and _fill in src/api/cat.c) under Debian's
# python3 and pytest (tests/python/test_fsspec_cat_many.py): ~250 files of a tree (an empty
# one too) byte-exact from one cat(list); through the fault proxy with every data request
# delayed, one GET per file (no HEAD, no listing) and exactly RSLEX_DOWNLOADER_THREADS reads
# open at once from one Python call; globs and recursive as fsspec expands them (folders left
# out); start/end; a missing file or a folder among many (raise/omit/return); cat_ranges
# (past the end, from the end); a wrong key as PermissionError without the key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py_fault fsspec

step "a tree of 250 small files (one empty) in a, b, b/deep on an Azurite datastore"
$PY - "$TEST_TMP/tree" <<'PY'
import os, random, sys
root, rnd = sys.argv[1], random.Random(8050)
for i in range(250):
    rel = ("a/f%03d.bin", "b/g%03d.bin", "b/deep/h%03d.bin", "t%03d.bin")[i % 4] % i
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(os.urandom(rnd.randint(1, 70000)))
open(os.path.join(root, "empty.bin"), "wb").close()
PY
c=$(new_container)
az_datastore cds "$c"
az_datastore cdsfault "$c" "$FAULT_URL"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/cds/paths/tree/"
sed "s/^name: cds/name: cdsbad/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-cds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"

step "pytest: cat of many paths, cat_ranges, errors, one GET per file, reads in flight"
export T8_TMP=$TEST_TMP T8_KEY=$AZURITE_KEY T8_FAULT_CTL=$FAULT_CTL
run_pytest test_fsspec_cat_many.py
echo "ok"
