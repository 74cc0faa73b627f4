#!/usr/bin/env bash
# t8092 — owns this session's C of the MLTable API under ASan/UBSan: select_partitions (parsed,
# applied in place before the read and after it, out of range, after take, twice, in a file set),
# ferry_api_mltable_doc (MLTable.save of local and datastore tables, a folder and its MLTable
# file named, a document with every kind of scalar) and ferry_mltable_set_files (a file set
# filtered on a partition column: file_paths, `ferry mltable show`), driven from Debian's Python
# over the sanitizer build of libferry.so and through the sanitizer build of the CLI (leak
# checking on), with no report.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-san.sh"
need_fixtures
$PY -c 'import pandas, numpy' 2>/dev/null || skip "Debian's python3-pandas is not installed"
need_asan_lib
[[ -x $FERRY_ASAN ]] || skip "the ASan build of the CLI is missing: $FERRY_ASAN (make asan)"
export FERRY_CMD_TIMEOUT=120

step "tables: three CSV files, one with every kind of YAML scalar, a filtered file set"
fx=$TEST_TMP/fx
mkdir -p "$fx/t/parts" "$fx/odd" "$fx/pets/images/cat" "$fx/pets/images/dog" "$fx/dogs"
for p in 0 1 2; do printf 'a,b\n%d,x\n%d,y\n' $p $((p + 10)) >"$fx/t/parts/p$p.csv"; done
printf 'paths:\n  - pattern: ./parts/*.csv\ntransformations:\n  - read_delimited:\n      header: all_files_same_headers\n' >"$fx/t/MLTable"
cat >"$fx/odd/MLTable" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
type: mltable
metadata: {owner: ~, n: 12, big: 123456789012345678901234, f: 1.5e3, yes: true, q: "true", e: ""}
paths:
  - file: ../t/parts/p1.csv
  - pattern: ../t/parts/p[02].csv
transformations:
  - read_delimited: {header: all_files_same_headers, delimiter: ",", empty_as_string: false}
  - select_partitions: [2, 0]
  - take_random_sample: {probability: 0.75, seed: 18446744073709551615}
  - filter: 'col("a") >= 0'
YML
for l in cat dog; do for i in 1 2; do printf '%s%s' $l $i >"$fx/pets/images/$l/$i.jpg"; done; done
printf 'paths:\n  - pattern: ../pets/images/**/*.jpg\ntransformations:\n  - extract_columns_from_partition_format: "{account}/{container}/pets/images/{label}/{rest}"\n  - filter: label == "dog"\n' >"$fx/dogs/MLTable"
c=$(new_container)
az_datastore asansave "$c"
expect_ok ferry upload "$fx" azureml://datastores/asansave/paths/

cat >"$TEST_TMP/smoke.py" <<'PY'
import os, sys, ferry.mltable as mlt
fx, tmp = sys.argv[1], sys.argv[2]
for base in (fx, "azureml://datastores/asansave/paths"):
    t = mlt.load(base + "/t")
    assert t.get_partition_count() == 3
    assert len(t.select_partitions([2, 0]).to_pandas_dataframe()) == 4
    assert len(t.select_partitions([0, 2]).select_partitions([1]).filter("a > 0").to_pandas_dataframe()) == 2
    for bad in (lambda: t.select_partitions([3]).to_pandas_dataframe(),
                lambda: t.take(1).select_partitions([0]).to_pandas_dataframe(),
                lambda: t.skip(1).select_partitions([0]).file_paths()):
        try:
            bad()
            raise AssertionError("no error")
        except mlt.MLTableError as e:
            print(e)
    d = mlt.load(base + "/dogs")
    assert len(d.file_paths()) == 2 and len(d.select_partitions([1]).file_paths()) == 1
    for i, src in enumerate((base + "/odd", base + "/odd/MLTable", base + "/t")):
        tb = mlt.load(src)
        (tb.select_partitions([0]) if src.endswith("/t") else tb.filter("a >= 0")).save(os.path.join(tmp, "s%d" % i))
        n = len(mlt.load(os.path.join(tmp, "s%d" % i)).to_pandas_dataframe())
        if base == fx:
            tb.save(os.path.join(tmp, "c%d" % i), colocated=True)
        print(src, n)
mlt.load(fx + "/t").select_partitions([1]).save("azureml://datastores/asansave/paths/saved", colocated=True)
assert len(mlt.load("azureml://datastores/asansave/paths/saved").to_pandas_dataframe()) == 2
try:
    mlt.load(fx + "/nope").save(tmp + "/x")
    raise AssertionError("no error")
except FileNotFoundError as e:
    print(e)
print("asan mltable save ok")
PY
step "select_partitions, save and filtered file sets under ASan/UBSan (Python over the ASan libferry.so)"
py_under_asan 240 "asan mltable save ok" "$TEST_TMP/smoke.py" "$fx" "$TEST_TMP"

step "the ASan CLI: show of a filtered file set, select_partitions in YAML and its errors (leaks checked)"
logs=$TEST_TMP/asan-cli
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:exitcode=66" UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1"
FERRY=$FERRY_ASAN
expect_ok ferry mltable show "$fx/dogs"
assert_contains "$TEST_TMP/last.stdout" "files: 2 " "show"
expect_ok ferry mltable export "$fx/odd" --to csv "$TEST_TMP/odd.csv"
expect_ok ferry mltable show azureml://datastores/asansave/paths/dogs
for v in '[9]' '[]' '[1, 1]' '[x]'; do
	printf 'paths:\n  - pattern: ../t/parts/*.csv\ntransformations:\n  - read_delimited\n  - select_partitions: %s\n' "$v" >"$fx/odd/MLTable"
	expect_fail select_partitions ferry mltable export "$fx/odd" --to csv -
done
no_reports "the ASan CLI" "$logs"
