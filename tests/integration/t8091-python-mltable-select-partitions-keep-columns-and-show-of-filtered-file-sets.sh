#!/usr/bin/env bash
# t8091 — owns select_partitions / get_partition_count / keep_columns of ferry.mltable and what
# `ferry mltable show` lists for a file set (issue 13 item 3): a partition is a file of the table
# (files() in order, from 0); select_partitions([2, 0]) gives the rows of files 0 and 2 in table
# order, equal to pandas over those files and to `ferry mltable export` of an MLTable holding
# `select_partitions: [2, 0]` in YAML; it commutes with filter and is refused after take on
# rows; an index past the end, a bad list, the YAML step's bad values are errors naming the
# problem (MLTableError in Python); keep_columns equals select_columns and the YAML step; a file
# set filtered on a partition column: `ferry mltable show`, file_paths(), open_files() and a job's
# eval_download list the same files (show listed every file before); every bad argument of the
# table methods is an MLTableError naming the method, with no key in any message.
# pytest under Debian's python3: tests/python/test_mltable_partitions.py.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py pandas numpy

step "three CSV files, the same table with select_partitions and keep_columns in YAML, a pets file set"
fx=$TEST_TMP/fx
mkdir -p "$fx/t/parts" "$fx/sel" "$fx/keep" "$fx/bad" "$fx/pets/images/cat" "$fx/pets/images/dog" "$fx/dogs"
for p in 0 1 2; do
	{ echo "id,name,v"; for i in $(seq $((p * 10)) $((p * 10 + 9))); do echo "$i,n$i,$((i * 7 % 13))"; done; } \
		>"$fx/t/parts/p$p.csv"
done
read='transformations:
  - read_delimited:
      header: all_files_same_headers'
printf 'paths:\n  - pattern: ./parts/*.csv\n%s\n' "$read" >"$fx/t/MLTable"
printf 'paths:\n  - pattern: ../t/parts/*.csv\n%s\n  - filter: v > 3\n  - select_partitions: [2, 0]\n' "$read" >"$fx/sel/MLTable"
printf 'paths:\n  - pattern: ../t/parts/*.csv\n%s\n  - keep_columns: [v, id]\n' "$read" >"$fx/keep/MLTable"
for l in cat dog; do for i in 1 2; do printf '%s %s' "$l" "$i" >"$fx/pets/images/$l/$i.jpg"; done; done
printf 'paths:\n  - pattern: ../pets/images/**/*.jpg\ntransformations:\n  - extract_columns_from_partition_format: "{account}/{container}/pets/images/{label}/{rest}"\n  - filter: label == "dog"\n' \
	>"$fx/dogs/MLTable"
c=$(new_container)
az_datastore partds "$c"
expect_ok ferry upload "$fx" azureml://datastores/partds/paths/

step "the YAML step's errors, from the CLI"
for v in '[]' '[-1]' '[1, 1]' '[a]' '3' '[7]'; do
	printf 'paths:\n  - pattern: ../t/parts/*.csv\n%s\n  - select_partitions: %s\n' "$read" "$v" >"$fx/bad/MLTable"
	expect_fail select_partitions ferry mltable export "$fx/bad" --to csv -
done
assert_contains "$LAST_STDERR" "partition 7 is out of range: the table has 3 partitions" "out of range"
printf 'paths:\n  - pattern: ../t/parts/*.csv\n%s\n  - take: 3\n  - select_partitions: [0]\n' "$read" >"$fx/bad/MLTable"
expect_fail "select_partitions after 'take'" ferry mltable export "$fx/bad" --to csv -

step "ferry mltable show of a file set filtered on a partition column lists what eval_download gives"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/ev.yml" <<YML
command: cp -r \${{inputs.d}} $TEST_TMP/evdogs
inputs:
  d: {type: mltable, path: "azureml://datastores/partds/paths/dogs", mode: eval_download}
YML
expect_ok ferry run "$TEST_TMP/job/ev.yml"
got_dl=$(cd "$TEST_TMP/evdogs" && find . -type f | sed 's#^./##' | LC_ALL=C sort | xargs)
for where in "$fx/dogs" azureml://datastores/partds/paths/dogs; do
	expect_ok ferry mltable show "$where"
	cat "$TEST_TMP/last.stdout"
	assert_contains "$TEST_TMP/last.stdout" "files: 2 " "show: two files"
	! grep -q '/cat/' "$TEST_TMP/last.stdout" || fail "show of $where lists a cat the filter drops: $(cat "$TEST_TMP/last.stdout")"
done
assert_eq "devstoreaccount1/$c/pets/images/dog/1.jpg devstoreaccount1/$c/pets/images/dog/2.jpg" "$got_dl" "eval_download"
assert_eq "$got_dl" "$(grep -oE 'devstoreaccount1/[^ ]+' "$TEST_TMP/last.stdout" | LC_ALL=C sort | xargs)" "show = eval_download"

step "pytest tests/python/test_mltable_partitions.py"
export T91_FX=$fx T91_DS=partds T91_KEY=$AZURITE_KEY T91_FERRY=$FERRY T91_DL="$got_dl"
run_pytest test_mltable_partitions.py
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"
