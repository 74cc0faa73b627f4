#!/usr/bin/env bash
# t3200 — owns the shell of a job's command (issue 12 item 2): /bin/bash -c, as on
# Azure ML's images (`source`, arrays, `[[`); /bin/sh -c only where /bin/bash is
# absent, and ferry says so.
source "$(dirname "$0")/lib.sh"

mkdir -p "$TEST_TMP/job/src"
cat >"$TEST_TMP/job/src/env.sh" <<'SH'
GREETING=hello-from-source
SH
cat >"$TEST_TMP/job/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  source env.sh &&
  arr=(a b c) &&
  [[ ${#arr[@]} -eq 3 ]] &&
  echo "G=$GREETING N=${arr[2]} ${{inputs.word}}"
inputs:
  word: done
environment:
  image: library/python:latest
compute: azureml:cpu-cluster
YML

step "source, arrays and [[ work: the command runs with bash"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name bash1
assert_eq "G=hello-from-source N=c done" "$(grep '^G=' "$TEST_TMP/last.stdout")" "command output"
assert_not_contains "$LAST_STDERR" "/bin/bash is absent"

step "without /bin/bash the command runs with sh, and ferry says so"
command -v unshare >/dev/null || skip "unshare not installed"
[[ $(id -u) -eq 0 ]] || skip "hiding /bin/bash needs root (a private mount namespace)"
: >"$TEST_TMP/not-bash"
chmod 644 "$TEST_TMP/not-bash"
cat >"$TEST_TMP/job/sh.yml" <<'YML'
command: echo "shell says ${{inputs.word}}"
inputs:
  word: hi
YML
# A private mount namespace in which /bin/bash is a non-executable file; ferry
# itself is started directly, not through bash.
rc=0
unshare -m /bin/sh -c 'mount --make-rprivate / && mount --bind "$1" /bin/bash && shift && exec "$@"' \
	sh "$TEST_TMP/not-bash" timeout 60 "$FERRY" run "$TEST_TMP/job/sh.yml" --name sh1 \
	>"$TEST_TMP/last.stdout" 2>"$LAST_STDERR" || rc=$?
assert_eq 0 "$rc" "exit status without bash ($(tail -c 600 "$LAST_STDERR"))"
assert_contains "$TEST_TMP/last.stdout" "shell says hi"
assert_contains "$LAST_STDERR" "/bin/bash is absent: the command runs with /bin/sh -c"
assert_contains "$FERRY_HOME/jobs/sh1/logs/system_logs/data_capability/rslex.log" "/bin/bash is absent"

step "Azure-only fields ferry does not act on are named in one line"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name bash2
assert_eq 1 "$(grep -c 'Azure ML only' "$LAST_STDERR")" "note lines"
assert_contains "$LAST_STDERR" "ferry: note: not used when running here (Azure ML only): environment;"
