#!/usr/bin/env bash
# t8021 — owns ferry.run (python/ferry/jobs.py) and `ferry job show NAME --json`: pytest under
# Debian's /usr/bin/python3 (tests/python/test_run.py). A job run from Python with
# set={"inputs.epochs": 3} returns its record (Completed, exit code 0, the literal input as
# set, the output's URI, whose file holds what the command wrote) and the command's output
# passes through; a failing command is a Failed record with its exit code; a bad job file, a
# missing one and a bad --set raise ferry.JobError (a ValueError) with ferry's file:line
# message; no account key in a record, an exception or the output; Ctrl-C of the Python
# process cancels the job (record Canceled, the command gone); FERRY_BIN names the program.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import pytest' 2>/dev/null || skip "Debian's python3-pytest is not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

c=$(new_container)
az_datastore runds "$c"
sed "s/^name: runds/name: badkey/; s|account_key: .*|account_key: $(printf 'wrong-key-0123456789' | base64)|" \
	"$TEST_TMP/ds-runds.yml" >"$TEST_TMP/ds-bad.yml"
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"
printf 'hello from storage\n' >"$TEST_TMP/in.txt"
expect_ok ferry upload "$TEST_TMP/in.txt" azureml://datastores/runds/paths/in.txt

step "job show --json needs a name"
expect_fail "job show --json takes one job name" ferry job show --json

step "pytest tests/python/test_run.py"
mkdir -p "$TEST_TMP/py"
export T8_TMP=$TEST_TMP/py T8_KEY=$AZURITE_KEY T8_FERRY=$FERRY
PYTEST_DIR=$TEST_TMP/py run_pytest test_run.py
! grep -qE ' (failed|skipped|error)' "$TEST_TMP/pytest.out" || fail "pytest: something failed or was skipped"
