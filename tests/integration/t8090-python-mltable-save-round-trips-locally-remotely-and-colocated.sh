#!/usr/bin/env bash
# t8090 — owns ferry.mltable's MLTable.save (issue 13 item 3, Azure's save(path, overwrite,
# colocated, show_warnings, if_err_remove_files)): a table with steps added in Python saved to a
# local folder, to an Azurite datastore (azureml://), through a SAS datastore and a Blob URL,
# loads again to the same DataFrame and `ferry mltable export` of the saved folder gives the same
# rows; relative paths are rewritten (a local table's relative to the new folder, a remote
# table's as absolute URIs); colocated=True copies (uploads) the local data next to the MLTable
# file and the copy stands alone; a local table saved to a remote folder without colocated, an
# existing MLTable with overwrite=False, a file as the folder, bad arguments are MLTableErrors
# naming the problem; a failed save removes what it wrote (if_err_remove_files); no account key
# or SAS token in any message. Then a job's `type: mltable` eval_download and eval_mount inputs
# over the folder save() wrote to the datastore hold the files its select_partitions keeps, byte
# for byte; a table saved to s3:// (colocated) exports the same rows (when the fixtures run an S3
# server). pytest under Debian's python3: tests/python/test_mltable_save.py.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py pandas numpy

step "a table of three CSV files (a relative pattern), on disk and on an Azurite datastore; SAS datastores"
fx=$TEST_TMP/fx
mkdir -p "$fx/trips/parts"
$PY - "$fx/trips/parts" <<'PY'
import random, sys
rnd = random.Random(8090)
for p in range(3):
    with open("%s/p%d.csv" % (sys.argv[1], p), "w") as f:
        f.write("id,fare,city,paid\n")
        for i in range(p * 40, p * 40 + 40):
            f.write("%d,%.2f,%s,%s\n" % (i, rnd.random() * 30, ["Oslo", "Bergen", "New York"][i % 3],
                                        "yes" if i % 2 else "no"))
PY
printf 'type: mltable\npaths:\n  - pattern: ./parts/*.csv\ntransformations:\n  - read_delimited:\n      header: all_files_same_headers\n' \
	>"$fx/trips/MLTable"
c=$(new_container)
az_datastore saveds "$c"
expect_ok ferry upload "$fx/trips" azureml://datastores/saveds/paths/trips/
expect_ok ferry data create --name tripset --type mltable --path "azureml://datastores/saveds/paths/trips/"
sas=$(azcli sas --perms rwdlac)
rosas=$(azcli sas --perms rl)
for n in sasds:$sas rosasds:$rosas; do
	cat >"$TEST_TMP/ds-${n%%:*}.yml" <<YML
name: ${n%%:*}
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  sas_token: "?${n#*:}"
YML
	expect_ok ferry datastore create --file "$TEST_TMP/ds-${n%%:*}.yml"
done

step "pytest tests/python/test_mltable_save.py"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
export T9_TMP=$TEST_TMP T9_FX=$fx T9_DS=saveds T9_SASDS=sasds T9_RODS=rosasds T9_KEY=$AZURITE_KEY T9_SAS=$sas \
	T9_ROSAS=$rosas T9_FERRY=$FERRY T9_BLOB=$(az_uri "$c")
run_pytest test_mltable_save.py
for secret in "$AZURITE_KEY" "$sas" "$rosas" "${sas##*sig=}"; do
	assert_not_contains "$TEST_TMP/pytest.out" "$secret" "a credential"
done
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"

step "a job's mltable eval_download input over the folder save() wrote to the datastore"
[[ -f $TEST_TMP/job-files.txt ]] || fail "pytest did not write the saved table's files"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/ev.yml" <<YML
command: cp -r \${{inputs.t}} $TEST_TMP/evdl
inputs:
  t: {type: mltable, path: "azureml://datastores/saveds/paths/saved/job", mode: eval_download}
YML
cat >"$TEST_TMP/job/em.yml" <<YML
command: cp -r \${{inputs.t}} $TEST_TMP/evmount
inputs:
  t: {type: mltable, path: "azureml://datastores/saveds/paths/saved/job", mode: eval_mount}
YML
expect_ok ferry run "$TEST_TMP/job/ev.yml"
assert_eq "$(cat "$TEST_TMP/job-files.txt")" "$(cd "$TEST_TMP/evdl" && find . -type f ! -name MLTable | sed 's#^./##' | LC_ALL=C sort | xargs)" \
	"eval_download of the saved table: the files its select_partitions keeps"
expect_ok ferry run "$TEST_TMP/job/em.yml"
for p in p0 p2; do
	assert_file_same "$fx/trips/parts/$p.csv" "$TEST_TMP/evdl/devstoreaccount1/$c/trips/parts/$p.csv"
	assert_file_same "$fx/trips/parts/$p.csv" "$TEST_TMP/evmount/devstoreaccount1/$c/trips/parts/$p.csv"
done
[[ ! -e $TEST_TMP/evmount/devstoreaccount1/$c/trips/parts/p1.csv ]] || fail "eval_mount holds the partition not selected"

step "save to s3:// (colocated: the local files uploaded beside it), read back by the CLI"
if [[ -n ${S3_ENDPOINT:-} ]]; then
	s3_env
	b=$(new_bucket)
	$PY - "$fx/trips" "s3://$b/saved/t" <<'PY' || fail "save to s3"
import sys, ferry.mltable as mlt
t = mlt.load(sys.argv[1]).filter("id >= 30").take(60)
t.save(sys.argv[2], colocated=True)
assert mlt.load(sys.argv[2]).to_pandas_dataframe().equals(t.to_pandas_dataframe())
PY
	expect_ok ferry mltable export "s3://$b/saved/t" --to csv "$TEST_TMP/s3.csv"
	assert_eq 61 "$(wc -l <"$TEST_TMP/s3.csv")" "rows (and a header) of the table saved to s3"
	assert_eq "id,fare,city,paid" "$(head -1 "$TEST_TMP/s3.csv")" "columns"
	assert_eq 30 "$(sed -n 2p "$TEST_TMP/s3.csv" | cut -d, -f1)" "the first row the filter keeps"
else
	echo "no S3 server in the fixtures: the s3:// step did not run"
fi
