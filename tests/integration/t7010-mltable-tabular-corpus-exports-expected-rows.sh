#!/usr/bin/env bash
# t7010 — owns MLTable tables: every case of tests/data/mltable/ (MLTable files in the
# shapes Azure ML's examples publish: read_delimited with from_first_file /
# all_files_same_headers / no_header / all_files_different_headers, encoding ascii and
# latin1, convert_column_types to datetime/int/float/boolean, take, skip,
# include_path_column, read_json_lines, filter, keep/drop_columns, partition columns,
# read_parquet over a file that is not Parquet) is uploaded to an Azurite container and read through a datastore; its
# `ferry mltable export` output must equal expected.csv / expected.jsonl byte for byte
# (@TREE@ stands for <account>/<container>), `show` must print expected.schema, and a
# case with expected.err must fail with that text (file and line) and write no output.
# Also: `head -n`, exporting to a file, and that pandas reads the exported CSV of the
# titanic case as it reads the original.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
DATA=$ROOT/tests/data/mltable

c=$(new_container)
az_datastore corpus "$c"
tree="devstoreaccount1/$c"
for f in $(cd "$DATA" && find . -type f ! -name 'expected.*' | sed 's#^\./##' | sort); do
	azcli put "$c" "$f" "$DATA/$f"
done

n=0
for dir in "$DATA"/*/; do
	case=$(basename "$dir")
	uri="azureml://datastores/corpus/paths/$case"
	if [[ -f $dir/expected.err ]]; then
		step "$case: fails with '$(cat "$dir/expected.err")'"
		rm -f "$TEST_TMP/out"
		expect_fail "$(cat "$dir/expected.err")" ferry mltable export "$uri" --to csv "$TEST_TMP/out"
		[[ ! -e $TEST_TMP/out ]] || fail "$case: a failed export left $TEST_TMP/out"
		n=$((n + 1))
		continue
	fi
	for fmt in csv jsonl; do
		[[ -f $dir/expected.$fmt ]] || continue
		step "$case: export --to $fmt gives expected.$fmt"
		sed "s#@TREE@#$tree#g" "$dir/expected.$fmt" >"$TEST_TMP/want"
		expect_ok ferry mltable export "$uri" --to "$fmt" "$TEST_TMP/got"
		cmp -s "$TEST_TMP/want" "$TEST_TMP/got" || fail "$case ($fmt) differs: $(diff "$TEST_TMP/want" "$TEST_TMP/got" | head -20)"
		n=$((n + 1))
	done
	if [[ -f $dir/expected.schema ]]; then
		step "$case: show prints the schema"
		expect_ok ferry mltable show "$uri"
		sed -n '/^schema:/,$p' "$TEST_TMP/last.stdout" | tail -n +2 | sed 's/^  //' >"$TEST_TMP/got"
		diff "$dir/expected.schema" "$TEST_TMP/got" >/dev/null || fail "$case schema: $(diff "$dir/expected.schema" "$TEST_TMP/got")"
	fi
done
[[ $n -ge 14 ]] || fail "only $n corpus checks ran"

step "read_parquet over a file that is not Parquet: show lists the files, then names the file's problem"
expect_fail "part-0.parquet: not a Parquet file ferry can read" ferry mltable show azureml://datastores/corpus/paths/taxi-parquet
assert_contains "$TEST_TMP/last.stdout" "$tree/taxi-parquet/part-0.parquet"

step "head -n 2 prints the header and two rows; -n 0 only the header"
expect_ok ferry mltable head azureml://datastores/corpus/paths/titanic -n 2
assert_eq "$(head -3 "$DATA/titanic/titanic.csv")" "$(cat "$TEST_TMP/last.stdout")" "head -n 2"
expect_ok ferry mltable head azureml://datastores/corpus/paths/titanic -n 0
assert_eq "$(head -1 "$DATA/titanic/titanic.csv")" "$(cat "$TEST_TMP/last.stdout")" "head -n 0"

step "pandas reads ferry's export of titanic as it reads the original"
expect_ok ferry mltable export azureml://datastores/corpus/paths/titanic --to csv "$TEST_TMP/t.csv"
$PY - "$DATA/titanic/titanic.csv" "$TEST_TMP/t.csv" <<-'PYEOF' || fail "pandas sees a different table"
import sys, pandas as pd
a, b = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
pd.testing.assert_frame_equal(a, b)
PYEOF

step "a local folder's files are read in name order, not the file system's listing order"
mkdir -p "$TEST_TMP/local/parts"
for i in $(seq -w 0 29); do printf 'n\n%s\n' "$i" >"$TEST_TMP/local/parts/p$i.csv"; done
printf 'paths:\n  - folder: ./parts\n  - pattern: ./parts/p2*.csv\ntransformations:\n  - read_delimited: {}\n' \
	>"$TEST_TMP/local/MLTable"
expect_ok ferry mltable export "$TEST_TMP/local" --to csv "$TEST_TMP/order.csv"
assert_eq "$(printf 'n\n'; seq -w 0 29)" "$(cat "$TEST_TMP/order.csv")" "rows in name order (each file once)"

step "bad usage is a usage error"
rc=0
ferry mltable export azureml://datastores/corpus/paths/titanic "$TEST_TMP/x" 2>"$TEST_TMP/err" || rc=$?
assert_eq 2 "$rc" "exit status without --to"
assert_contains "$TEST_TMP/err" "usage: ferry mltable"
expect_fail "no MLTable file in 'azureml://datastores/corpus/paths/partitions/data'" \
	ferry mltable show azureml://datastores/corpus/paths/partitions/data
expect_fail "no MLTable at 'azureml://datastores/corpus/paths/nope': it does not exist" \
	ferry mltable show azureml://datastores/corpus/paths/nope

step "every corpus case under ASan/UBSan (leaks on): same results, no sanitizer report"
[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for dir in "$DATA"/*/; do
	case=$(basename "$dir")
	for fmt in csv jsonl; do
		rc=0
		FERRY=$FERRY_ASAN ferry mltable export "azureml://datastores/corpus/paths/$case" --to "$fmt" "$TEST_TMP/asan.out" \
			2>"$TEST_TMP/asan.err" || rc=$?
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$TEST_TMP/asan.err" || [[ $rc -gt 1 ]]; then
			fail "$case ($fmt) under ASan: exit $rc: $(head -30 "$TEST_TMP/asan.err")"
		fi
		if [[ -f $dir/expected.$fmt ]]; then
			sed "s#@TREE@#$tree#g" "$dir/expected.$fmt" | cmp -s - "$TEST_TMP/asan.out" || fail "$case ($fmt) differs under ASan"
		fi
	done
	FERRY=$FERRY_ASAN ferry mltable show "azureml://datastores/corpus/paths/$case" >/dev/null 2>"$TEST_TMP/asan.err" || true
	if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$TEST_TMP/asan.err"; then
		fail "$case (show) under ASan: $(head -30 "$TEST_TMP/asan.err")"
	fi
done
echo "ok"
