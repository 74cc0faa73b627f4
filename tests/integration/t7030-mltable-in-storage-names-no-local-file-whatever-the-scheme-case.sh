#!/usr/bin/env bash
# t7030 — owns issue 10 items 1 and 2 for MLTables: an MLTable read from storage may
# not name a local file however its scheme is spelled (file:, FILE:, File:, a bare
# /path) — `ferry mltable head` does not print /etc/passwd and an eval_download job
# does not copy it; one case-insensitive scheme parser decides. Absolute entries
# with a '.' or '..' segment (raw or percent-encoded) are refused, and so is an
# encoded dot segment in a relative entry (plain '..' still folds inside the store).
source "$(dirname "$0")/lib.sh"
need_fixtures

c=$(new_container)
other=$(new_container)
az_datastore sets "$c"
printf 'a,b\n1,2\n' >"$TEST_TMP/t.csv"
azcli put "$c" ok/t.csv "$TEST_TMP/t.csv"
azcli put "$other" x/t.csv "$TEST_TMP/t.csv"

put_mltable() { # put_mltable FOLDER ENTRY — an MLTable in storage with one file entry
	printf 'paths:\n  - file: "%s"\ntransformations:\n  - read_delimited:\n      delimiter: ","\n' "$2" \
		>"$TEST_TMP/MLTable"
	azcli put "$c" "$1/MLTable" "$TEST_TMP/MLTable"
}

step "a well-formed MLTable in storage reads"
put_mltable ok t.csv
expect_ok ferry mltable head azureml://datastores/sets/paths/ok
assert_contains "$TEST_TMP/last.stdout" "1,2"

n=0
for entry in "FILE:///etc/passwd" "File:///etc/passwd" "file:///etc/passwd" "fIlE:/etc/passwd" "/etc/passwd"; do
	n=$((n + 1))
	step "an MLTable in storage naming '$entry' is refused (head and eval_download)"
	put_mltable "l$n" "$entry"
	expect_fail "names a local file, but this MLTable is in storage" \
		ferry mltable head "azureml://datastores/sets/paths/l$n"
	assert_not_contains "$TEST_TMP/last.stdout" "root:"
	cat >"$TEST_TMP/job.yml" <<-YML
	command: cp -r \${{inputs.t}} $TEST_TMP/copied$n
	inputs:
	  t: {type: mltable, path: "azureml://datastores/sets/paths/l$n", mode: eval_download}
	YML
	expect_fail "names a local file" ferry run "$TEST_TMP/job.yml"
	[[ ! -e $TEST_TMP/copied$n ]] || fail "the job ran and copied: $(ls -R "$TEST_TMP/copied$n")"
done

step "absolute entries with dot segments cannot climb into another container"
for entry in "azureml://datastores/sets/paths/../$other/x/t.csv" \
	"azureml://datastores/sets/paths/%2e%2e/$other/x/t.csv" \
	"$(az_uri "$c" ".%2E/$other/x/t.csv")"; do
	put_mltable dots "$entry"
	expect_fail "path segment" ferry mltable head azureml://datastores/sets/paths/dots
	assert_contains "$LAST_STDERR" "dots/MLTable:2"
done

step "a relative entry with an encoded dot segment is refused; plain '..' folds inside the store"
put_mltable enc/sub "%2e%2e/%2e%2e/ok/t.csv"
expect_fail "an encoded '.' or '..' segment" ferry mltable head azureml://datastores/sets/paths/enc/sub
put_mltable rel/sub "../../ok/t.csv"
expect_ok ferry mltable head azureml://datastores/sets/paths/rel/sub
assert_contains "$TEST_TMP/last.stdout" "1,2"
echo "ok"
