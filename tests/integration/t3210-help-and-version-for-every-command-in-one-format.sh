#!/usr/bin/env bash
# t3210 — owns ferry's help (issue 12 item 8): `ferry --version`, `ferry help`,
# `ferry help COMMAND` and `ferry COMMAND --help|-h` print the same text in one
# format for every command and exit 0; `--help` is never read as a path or a
# value; a misspelt command names the nearest one.
source "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"

step "--version prints the version"
expect_ok ferry --version
grep -Eq '^ferry [0-9]+\.[0-9]+\.[0-9]+$' "$TEST_TMP/last.stdout" ||
	fail "--version printed: $(cat "$TEST_TMP/last.stdout")"

step "ferry help lists the commands"
expect_ok ferry help
cmds=$(sed -n '/^commands:/,$p' "$TEST_TMP/last.stdout" | awk 'NR > 1 {print $1}')
[[ $(echo "$cmds" | wc -w) -ge 10 ]] || fail "too few commands listed: $cmds"
for want in run download upload mount unmount ls datastore data job mltable settings; do
	echo "$cmds" | grep -qx "$want" || fail "ferry help does not list '$want'"
done

step "every command: help COMMAND, COMMAND --help and COMMAND -h agree, never touch a path"
for c in $cmds; do
	expect_ok ferry help "$c"
	cp "$TEST_TMP/last.stdout" "$TEST_TMP/help.$c"
	head -1 "$TEST_TMP/help.$c" | grep -q "^usage: ferry $c" ||
		fail "help $c does not start with 'usage: ferry $c': $(head -3 "$TEST_TMP/help.$c")"
	[[ $(sed -n 2p "$TEST_TMP/help.$c") == "" && $(sed -n 3p "$TEST_TMP/help.$c") == "  "?* ]] ||
		fail "help $c is not 'usage', blank line, description: $(cat "$TEST_TMP/help.$c")"
	for flag in --help -h; do
		expect_ok ferry "$c" "$flag"
		cmp -s "$TEST_TMP/help.$c" "$TEST_TMP/last.stdout" ||
			fail "'ferry $c $flag' differs from 'ferry help $c': $(cat "$TEST_TMP/last.stdout")"
		[[ ! -s $LAST_STDERR ]] || fail "'ferry $c $flag' wrote to stderr: $(cat "$LAST_STDERR")"
	done
	# After other words too: the flag is help, not an argument.
	expect_ok ferry "$c" x y --help
	cmp -s "$TEST_TMP/help.$c" "$TEST_TMP/last.stdout" || fail "'ferry $c x y --help' is not the help"
done
# Nothing was created, listed, mounted or recorded on the way.
[[ -z $(find "$TEST_TMP" -maxdepth 1 -name '-*' -o -maxdepth 1 -name 'x' -o -maxdepth 1 -name 'y') ]] ||
	fail "a help flag was read as a path: $(ls -la "$TEST_TMP")"
[[ ! -e $FERRY_HOME/jobs && ! -e $FERRY_HOME/ferry.db ]] || [[ -z $(ls -A "$FERRY_HOME/jobs" 2>/dev/null) ]] ||
	fail "help created a job: $(ls "$FERRY_HOME/jobs")"

step "ferry ls --help is help, not a listing of a file called --help"
expect_ok ferry ls --help
assert_not_contains "$LAST_STDERR" "not found"
assert_contains "$TEST_TMP/last.stdout" "usage: ferry ls"

step "a misspelt command names the nearest; an unknown one does not guess"
expect_fail "did you mean 'mount'?" ferry mout x y
expect_fail "did you mean 'download'?" ferry downlaod a b
expect_fail "did you mean 'datastore'?" ferry help datastor
expect_fail "unknown command 'zzzzz'" ferry zzzzz
assert_not_contains "$LAST_STDERR" "did you mean"
