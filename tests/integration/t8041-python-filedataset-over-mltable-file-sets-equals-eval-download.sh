#!/usr/bin/env bash
# t8041 — owns ferry.torch.FileDataset and ferry.mltable.FileSet over MLTable file sets (issue 13):
# an MLTable on an Azurite datastore whose paths span two containers (a relative pattern and an
# absolute Blob URL) is read by tree name through the set `ferry mltable eval_download` evaluates
# (ferry_api_mltable_fileset): the dataset's items are exactly the files a job's eval_download
# input holds, byte for byte, under the same <account>/<container>/<path> names, whether given as
# the MLTable's folder, the MLTable file, an mltable data asset or a ferry.mltable.MLTable with
# added steps (filter on Path, take, a filter on a column extract_columns_from_partition_format
# added — also in YAML through eval_download); pattern over tree names; a DataLoader with 2 fork workers
# reads every file once; a pickled dataset (spawn) reads the same; mltable=False lists the
# folder as before; a missing file and a wrong key are exceptions without the key.
# pytest under Debian's python3 + torch: tests/python/test_torch_mltable.py.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
$PY -c 'import torch, pytest' 2>/dev/null || skip "Debian's python3-torch and python3-pytest are not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

step "an MLTable file set over two containers, a data asset of it, and a job's eval_download of it"
ca=$(new_container)
cb=$(new_container)
mkdir -p "$TEST_TMP/up/pets/images/cat" "$TEST_TMP/up/pets/images/dog/old" "$TEST_TMP/other"
for f in cat/1 cat/2 cat/3 dog/1 dog/2 dog/old/3; do
	head -c $((RANDOM % 5000 + 1)) /dev/urandom >"$TEST_TMP/up/pets/images/$f.jpg"
done
: >"$TEST_TMP/up/pets/images/cat/empty.jpg"
printf 'not named by the MLTable' >"$TEST_TMP/up/pets/images/notes.txt"
printf 'file,label\n1.jpg,cat\n' >"$TEST_TMP/other/labels.csv"
cat >"$TEST_TMP/up/pets/MLTable" <<YML
type: mltable
paths:
  - pattern: ./images/**/*.jpg
  - file: $(az_uri "$cb" extra/labels.csv)
YML
# the same set, its files picked by a column that a partition format adds (rows act on files)
mkdir -p "$TEST_TMP/up/dogs"
cat >"$TEST_TMP/up/dogs/MLTable" <<'YML'
paths:
  - pattern: ../pets/images/**/*.jpg
transformations:
  - extract_columns_from_partition_format: "{account}/{container}/pets/images/{label}/{rest}"
  - filter: label == "dog"
YML
az_datastore petds "$ca"
sed "s/^name: petds/name: petbad/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-petds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"
expect_ok ferry upload "$TEST_TMP/up" azureml://datastores/petds/paths/
azcli put "$cb" extra/labels.csv "$TEST_TMP/other/labels.csv"
expect_ok ferry data create --name petset --type mltable --path "azureml://datastores/petds/paths/pets/"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/ev.yml" <<YML
command: cp -r \${{inputs.t}} $TEST_TMP/evdl && cp -r \${{inputs.d}} $TEST_TMP/evdogs
inputs:
  t: {type: mltable, path: "azureml://datastores/petds/paths/pets", mode: eval_download}
  d: {type: mltable, path: "azureml://datastores/petds/paths/dogs", mode: eval_download}
YML
expect_ok ferry run "$TEST_TMP/job/ev.yml"
[[ -f $TEST_TMP/evdl/devstoreaccount1/$cb/extra/labels.csv ]] || fail "eval_download lacks the other container's file"
assert_eq "dog/1.jpg dog/2.jpg dog/old/3.jpg" \
	"$(cd "$TEST_TMP/evdogs/devstoreaccount1/$ca/pets/images" && find . -type f | sed 's#^./##' | LC_ALL=C sort | xargs)" \
	"eval_download of a file set filtered on a partition column"

step "pytest tests/python/test_torch_mltable.py"
export T8_TMP=$TEST_TMP T8_KEY=$AZURITE_KEY T8_CA=$ca T8_CB=$cb T8_EVDL=$TEST_TMP/evdl
run_pytest test_torch_mltable.py
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"
