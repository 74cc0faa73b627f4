#!/usr/bin/env bash
# t3025 — owns issue 10 item 13: hostile YAML and job input fail fast with a reason.
# A 2.7 MB job file of 200,000 keys is refused at once (duplicate keys are found with
# a hash set; a map holds at most 10,000 keys, a document 1,000,000 nodes, a value
# 1 MiB, nesting 64 levels — each cap an error naming file and line); a command too
# long for Linux to start fails saying why (not a bare exit 127); an overflowing
# limits.timeout is refused; an MLTable option key holding commas is refused.
# No timed assertions: FERRY_CMD_TIMEOUT bounds each command (the quadratic check
# took minutes on these files).
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=60
job=$TEST_TMP/job.yml
marker=$TEST_TMP/ran
gen() { $PY -c "$1" >"$job"; }

step "200,000 keys in one map: refused naming the line of the 10,001st key"
gen "
print('command: touch $marker\nenvironment_variables:')
for i in range(200000): print('  K%07d: v' % i)"
expect_fail "$job:10003: a map with more than 10000 keys" ferry run "$job"
[[ ! -e $marker ]] || fail "the command ran"

step "200,000 keys in twenty maps load in linear time, then the unknown field is named"
gen "
print('command: touch $marker\nzz:')
for m in range(20):
    print('  m%d:' % m)
    for i in range(10000): print('    K%07d: v' % i)"
expect_fail "$job:2: field 'zz'" ferry run "$job"

step "a duplicate key among 10,000 is still found"
gen "
print('command: touch $marker\nenvironment_variables:')
for i in range(9999): print('  K%07d: v' % i)
print('  K0004321: again')"
expect_fail "$job:10002: field 'K0004321' appears twice" ferry run "$job"

step "more than 1,000,000 nodes in one document"
gen "print('command: touch $marker\ntags: [' + ','.join(['1'] * 1000001) + ']')"
expect_fail "$job:2: more than 1000000 keys, values and list items" ferry run "$job"

step "a value over 1 MiB"
gen "print('command: touch $marker\ndescription: \"' + 'y' * (2 << 20) + '\"')"
expect_fail "$job:2: a value of 2097152 bytes (at most 1048576)" ferry run "$job"

step "nesting deeper than 64"
gen "print('command: touch $marker\ntags: ' + '[' * 100 + ']' * 100)"
expect_fail "$job:2: nesting deeper than 64" ferry run "$job"

step "a command too long to start fails saying why"
gen "print('command: \"touch $marker; true ' + 'x' * 200000 + '\"')"
expect_fail "Linux starts no program with an argument of 131072 bytes" ferry run "$job"
[[ ! -e $marker ]] || fail "the command ran"

step "an overflowing limits.timeout is refused"
for t in 99999999999999999999 9223372036854775807 31622401; do
	printf 'command: touch %s\nlimits:\n  timeout: %s\n' "$marker" "$t" >"$job"
	expect_fail "$job:3: field 'limits.timeout': $t seconds is too long" ferry run "$job"
done
printf 'command: touch %s\nlimits:\n  timeout: 31622400\n' "$marker" >"$job"
expect_ok ferry run "$job"
[[ -e $marker ]] || fail "a job with the longest timeout did not run"

step "an MLTable option key holding commas is refused"
mkdir -p "$TEST_TMP/mlt"
printf '{"a":1}\n' >"$TEST_TMP/mlt/t.jsonl"
printf 'paths:\n  - file: t.jsonl\ntransformations:\n  - read_json_lines:\n      "include_path_column,invalid_lines": utf8\n' \
	>"$TEST_TMP/mlt/MLTable"
expect_fail "MLTable:5: field 'include_path_column,invalid_lines': unknown option of read_json_lines" \
	ferry mltable show "$TEST_TMP/mlt"
printf 'paths:\n  - file: t.jsonl\ntransformations:\n  - read_json_lines:\n      encoding: utf8\n' >"$TEST_TMP/mlt/MLTable"
expect_ok ferry mltable show "$TEST_TMP/mlt"
echo "ok"
