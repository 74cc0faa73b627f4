# lib-py.sh — owns what the Python (pytest) integration tests share: the
# prologue that needs Debian's Python packages, the fault proxy, and this
# checkout's package and library; and the pytest run whose output is checked.
# Source after lib.sh.

# need_py MODULE... — need the fixtures and Debian's python3 with MODULE...
# (pytest always); PYTHONPATH and FERRY_LIB name this checkout's python/ and
# build/libferry.so (T8_PYTHONPATH/T8_FERRY_LIB point them elsewhere, to run
# the same test against an older build).
need_py() {
	need_fixtures
	export FERRY_CMD_TIMEOUT=120
	local mods
	mods=$(printf '%s, ' pytest "$@")
	$PY -c "import ${mods%, }" 2>/dev/null || skip "Debian's python3 lacks one of: ${mods%, }"
	export PYTHONPATH=${T8_PYTHONPATH:-$ROOT/python} FERRY_LIB=${T8_FERRY_LIB:-$ROOT/build/libferry.so}
	[[ -f $FERRY_LIB ]] || fail "$FERRY_LIB was not built by make"
}

# need_py_fault MODULE... — need_py, and the fault proxy, whose schedule and
# delay are reset at exit.
need_py_fault() {
	need_py "$@"
	need_fault
	at_exit 'fault delay 0.3 2>/dev/null'
}

# run_pytest FILE [PYTEST_ARGS...] — run tests/python/FILE under Debian's
# python3 (in $PYTEST_DIR, default $TEST_TMP; at most $PYTEST_TIMEOUT s, default
# 300): fail unless every case passed and some case ran, and unless the output
# is free of the Azurite account key. The output stays in $TEST_TMP/pytest.out.
run_pytest() {
	local file=$1
	shift
	(cd "${PYTEST_DIR:-$TEST_TMP}" &&
		timeout -k 5 "${PYTEST_TIMEOUT:-300}" $PY -m pytest -q -p no:cacheprovider "$@" "$ROOT/tests/python/$file") \
		>"$TEST_TMP/pytest.out" 2>&1 || { cat "$TEST_TMP/pytest.out"; fail "pytest $file failed"; }
	cat "$TEST_TMP/pytest.out"
	grep -q " passed" "$TEST_TMP/pytest.out" || fail "pytest $file ran no test"
	[[ -z ${AZURITE_KEY:-} ]] || assert_not_contains "$TEST_TMP/pytest.out" "$AZURITE_KEY" "the account key"
}
