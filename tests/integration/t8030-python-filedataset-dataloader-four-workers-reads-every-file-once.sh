#!/usr/bin/env bash
# t8030 — owns ferry.torch.FileDataset (python/ferry/torch.py) under Debian's python3, torch
# and pytest (tests/python/test_torch_filedataset.py): 2,000+ small files on an Azurite
# datastore read by a DataLoader with 4 workers, every file exactly once per epoch with the
# uploaded bytes (sha256); pattern filtering ("**/*.jpg", "*.txt", classes, folders); the same
# items from a datastore folder, a data asset, a Blob URL and a local folder; transform;
# spawn workers; a missing folder, a wrong key, a file removed or rewritten after the
# listing as Python exceptions with no key in their text or repr.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import torch, pytest' 2>/dev/null || skip "Debian's python3-torch and python3-pytest are not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

step "a tree of 2,100 small files (.bin, .jpg, top-level .txt) on an Azurite datastore"
$PY - "$TEST_TMP/tree" <<'PY'
import os, random, sys
root, rnd = sys.argv[1], random.Random(8030)
for i in range(2100):
    if i < 40:
        rel = "t%03d.txt" % i
    else:
        ext = ".jpg" if i % 10 == 0 else ".bin"
        rel = "d%02d/s%d/f%05d%s" % (i % 7, i % 3, i, ext)
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(os.urandom(rnd.randint(0, 4096) if i % 97 else 0))
PY
mkdir -p "$TEST_TMP/gone"
for k in a b c; do head -c 3000 /dev/urandom >"$TEST_TMP/gone/$k.bin"; done
c=$(new_container)
az_datastore tds "$c"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/tds/paths/tree/"
expect_ok ferry upload "$TEST_TMP/gone" "azureml://datastores/tds/paths/gone/"
expect_ok ferry data create --name tdsasset --path "azureml://datastores/tds/paths/tree/" --type uri_folder
sed "s/^name: tds/name: tdsbad/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-tds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"

step "pytest: FileDataset with DataLoader workers, patterns, path forms, errors"
export T8_TMP=$TEST_TMP T8_CONTAINER=$c T8_KEY=$AZURITE_KEY T8_AZURITE=$AZURITE_URL
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
PYTEST_TIMEOUT=600 run_pytest test_torch_filedataset.py
