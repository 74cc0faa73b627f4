# lib.sh — owns the helpers every integration test sources: assertions, test data,
# Azurite containers, and the `ferry` wrapper (a fresh FERRY_HOME per test).
#
# A test is `tests/integration/tNNNN-<behaviour>.sh`, run by tests/run.sh as its own
# bash process with FERRY, FERRY_ASAN, FERRY_TSAN and the fixture env (AZURITE_URL,
# AZURITE_KEY, AZURITE_CONN, NGINX_URL, NGINX_ROOT, FAULT_URL, FAULT_CONN, FAULT_CTL;
# S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_FAULT_ENDPOINT, S3_FAULT_CTL when an S3
# server runs; S3RVER_ENDPOINT, S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY when the bench's
# s3rver does) exported. It exits 0 on success, non-zero on failure, 77 after `skip REASON`.
# Each test case announces itself with `step "what it shows"` so a failure's tail
# says which behaviour broke.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
AZCLI="$PY $ROOT/tests/fixtures/azcli.py"
TEST_NAME=$(basename "$0" .sh)
FERRY=${FERRY:-$ROOT/build/ferry}
FERRY_ASAN=${FERRY_ASAN:-$ROOT/build/asan/ferry}
FERRY_TSAN=${FERRY_TSAN:-$ROOT/build/tsan/ferry}
# Data generated once per run of the suite (big random files) lives here.
FERRY_TEST_CACHE=${FERRY_TEST_CACHE:-${TMPDIR:-/tmp}/ferry-test-cache}
mkdir -p "$FERRY_TEST_CACHE"

TEST_TMP=$(mktemp -d "${FERRY_TEST_TMP:-${TMPDIR:-/tmp}}/$TEST_NAME.XXXXXX")
chmod 755 "$TEST_TMP"
export FERRY_HOME=$TEST_TMP/home
mkdir -p "$FERRY_HOME"
_lib_cleanup() { # _lib_cleanup RC
	local rc=$1
	if [[ $rc -ne 0 && $rc -ne 77 ]]; then
		if [[ -n ${FERRY_TEST_TMP:-} && ${FERRY_KEEP_TMP:-0} != 1 ]]; then
			echo "# $TEST_NAME: failed (exit $rc); FERRY_KEEP_TMP=1 keeps its files after the run" >&2
		else
			echo "# $TEST_NAME: failed (exit $rc); files kept in $TEST_TMP" >&2
		fi
	elif [[ ${FERRY_KEEP_TMP:-0} != 1 ]]; then
		rm -rf "$TEST_TMP"
	fi
}
# at_exit CMD — run the shell text CMD when the test exits, however it exits, before
# the test's folder is removed: the last registered runs first (like a stack of
# defers); each runs even when an earlier one fails; the test's exit status is kept.
# Tests and libraries register here and never `trap ... EXIT` themselves (a second
# trap would replace this one and leave the test's folder and servers behind).
_AT_EXIT=()
at_exit() { _AT_EXIT=("$1" "${_AT_EXIT[@]}"); }
_lib_exit() {
	local rc=$? c
	_EXIT_RC=$rc  # the test's exit status, for handlers that keep logs of a failure
	_IN_AT_EXIT=1 # fail() in a handler returns instead of leaving the others undone
	for c in "${_AT_EXIT[@]}"; do eval "$c" || true; done
	_lib_cleanup "$rc"
}
trap _lib_exit EXIT

[[ -x $FERRY ]] || { echo "not built: $FERRY (run make)" >&2; exit 1; }

# step WHAT — announce a test case, with the seconds the test has run so far (a
# slow test's log shows where its time goes).
step() { echo "== $TEST_NAME: $* [at ${SECONDS} s]"; }
fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	[[ -z ${_IN_AT_EXIT:-} ]] || return 1
	exit 1
}
skip() {
	echo "skip: $*"
	exit 77
}

# ferry ARGS... — the binary under test, with this test's FERRY_HOME, bounded by
# FERRY_CMD_TIMEOUT seconds (default 600; a timeout exits 124).
ferry() { timeout -k 5 "${FERRY_CMD_TIMEOUT:-600}" "$FERRY" "$@"; }

assert_eq() { # assert_eq EXPECTED ACTUAL [WHAT]
	[[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_contains() { # assert_contains HAYSTACK_FILE NEEDLE [WHAT]
	grep -qF -- "$2" "$1" || fail "${3:-$1} does not contain '$2': $(tail -c 600 "$1")"
}

assert_not_contains() { # assert_not_contains FILE NEEDLE [WHAT]
	if grep -qF -- "$2" "$1"; then fail "${3:-$1} contains '$2'"; fi
}

assert_file_same() { # assert_file_same A B
	[[ -f $1 ]] || fail "missing file $1"
	[[ -f $2 ]] || fail "missing file $2"
	cmp -s "$1" "$2" || fail "files differ: $1 $2 ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)"
}

# tree_listing DIR — every file under DIR as "<size> <relative path>", sorted.
tree_listing() { (cd "$1" && find . -type f -printf '%s %P\n' | LC_ALL=C sort); }

assert_tree_same() { # assert_tree_same DIR1 DIR2 — same file list, same bytes
	[[ -d $1 ]] || fail "missing folder $1"
	[[ -d $2 ]] || fail "missing folder $2"
	local d
	if ! d=$(diff <(tree_listing "$1") <(tree_listing "$2")); then
		fail "trees differ: $1 $2: $(echo "$d" | head -20)"
	fi
	# Bytes of every regular file, in one process (a cmp per file costs ~4 ms of
	# fork and exec: 9 s for 2,000 files on the busy 2-core machine).
	$PY - "$1" "$2" <<-'PYEOF' || fail "bytes differ: $1 $2"
	import os, stat, sys
	a, b = sys.argv[1], sys.argv[2]
	def same(p, q):
	    try:
	        with open(p, "rb") as x, open(q, "rb") as y:
	            while True:
	                u, v = x.read(1 << 20), y.read(1 << 20)
	                if u != v:
	                    return False
	                if not u:
	                    return True
	    except OSError as e:
	        print(e, file=sys.stderr)
	        return False
	for d, _, files in os.walk(a):
	    for f in files:
	        p = os.path.join(d, f)
	        if stat.S_ISREG(os.lstat(p).st_mode) and not same(p, os.path.join(b, os.path.relpath(p, a))):
	            print("bytes differ:", os.path.relpath(p, a), file=sys.stderr)
	            sys.exit(1)
	PYEOF
}

assert_no_temp_files() { # assert_no_temp_files DIR — nothing but complete files
	local n
	n=$(find "$1" -mindepth 1 | wc -l)
	[[ $n -eq 0 ]] || fail "expected nothing under $1, found: $(find "$1" -mindepth 1 | head -10)"
}

# expect_fail SUBSTRING CMD... — CMD exits non-zero (not a crash) and its stderr
# contains SUBSTRING (case-insensitive). Stderr is kept in $LAST_STDERR.
LAST_STDERR=$TEST_TMP/last.stderr
expect_fail() {
	local want=$1 rc=0
	shift
	"$@" >"$TEST_TMP/last.stdout" 2>"$LAST_STDERR" || rc=$?
	if [[ $rc -eq 0 ]]; then
		fail "expected failure from '$*', it succeeded; stderr: $(tail -c 400 "$LAST_STDERR")"
	fi
	if [[ $rc -ge 124 ]]; then
		fail "'$*' crashed or timed out (exit $rc) instead of failing cleanly: $(tail -c 1500 "$LAST_STDERR")"
	fi
	grep -qiF -- "$want" "$LAST_STDERR" ||
		fail "'$*' failed (exit $rc) but stderr lacks '$want': $(tail -c 600 "$LAST_STDERR")"
}

# expect_ok CMD... — run CMD, show its stderr tail if it fails.
expect_ok() {
	local rc=0
	"$@" >"$TEST_TMP/last.stdout" 2>"$LAST_STDERR" || rc=$?
	[[ $rc -eq 0 ]] || fail "'$*' exited $rc: $(tail -c 1500 "$LAST_STDERR")"
}

# size_bytes 64M -> 67108864 (K, M, G are powers of 1024)
size_bytes() {
	local s=$1
	case $s in
	*K) echo $((${s%K} * 1024)) ;;
	*M) echo $((${s%M} * 1024 * 1024)) ;;
	*G) echo $((${s%G} * 1024 * 1024 * 1024)) ;;
	*) echo "$s" ;;
	esac
}

# mkdata_random FILE SIZE — SIZE random bytes (openssl rand is ~10x /dev/urandom).
mkdata_random() {
	local bytes
	bytes=$(size_bytes "$2")
	mkdir -p "$(dirname "$1")"
	if command -v openssl >/dev/null; then
		# openssl rand refuses counts above INT_MAX: write in 256 MiB pieces.
		local piece=$((256 * 1024 * 1024)) left=$bytes
		: >"$1"
		while ((left > 0)); do
			local n=$((left < piece ? left : piece))
			openssl rand "$n" >>"$1"
			left=$((left - n))
		done
	else
		head -c "$bytes" /dev/urandom >"$1"
	fi
}

# cached_random NAME SIZE — path of a random file made once per suite run.
cached_random() {
	local f=$FERRY_TEST_CACHE/$1
	if [[ ! -f $f ]]; then
		mkdata_random "$f.tmp.$$" "$2"
		mv "$f.tmp.$$" "$f"
	fi
	echo "$f"
}

# mk_small_tree DIR COUNT [MIN_KIB MAX_KIB] — COUNT files of random size in nested
# folders (up to 3 levels, ~20 files a folder), deterministic for a given COUNT.
mk_small_tree() {
	$PY - "$1" "$2" "${3:-1}" "${4:-64}" <<-'EOF'
	import os, random, sys
	root, count, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
	rnd = random.Random(count)
	for i in range(count):
	    depth = i % 4
	    parts = ["d%02d" % ((i // 20 + k) % 10) for k in range(depth)]
	    d = os.path.join(root, *parts)
	    os.makedirs(d, exist_ok=True)
	    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
	        f.write(os.urandom(rnd.randint(lo * 1024, hi * 1024)))
	EOF
}

# mk_fixed_tree DIR COUNT SIZE — COUNT files of exactly SIZE in a few folders.
mk_fixed_tree() {
	$PY - "$1" "$2" "$(size_bytes "$3")" <<-'EOF'
	import os, sys
	root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	for i in range(count):
	    d = os.path.join(root, "g%02d" % (i % 10))
	    os.makedirs(d, exist_ok=True)
	    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
	        f.write(os.urandom(size))
	EOF
}

azcli() { $AZCLI "$@"; }

# new_container [--public] — create a uniquely named container, print its name.
_container_seq=0
new_container() {
	_container_seq=$((_container_seq + 1))
	local name
	name=$(echo "${TEST_NAME%%-*}-$$-$_container_seq-$RANDOM" | tr 'A-Z_' 'a-z-' | cut -c1-63)
	azcli mkcontainer "$name" "$@" >&2 || fail "could not create container $name"
	echo "$name"
}

# az_datastore NAME CONTAINER [ENDPOINT] — register an account-key datastore over
# CONTAINER on Azurite (ENDPOINT: another way to it, e.g. $FAULT_URL, the fault proxy).
az_datastore() {
	cat >"$TEST_TMP/ds-$1.yml" <<-YML
	name: $1
	type: azure_blob
	account_name: devstoreaccount1
	container_name: $2
	endpoint: ${3:-$AZURITE_URL}
	credentials:
	  account_key: $AZURITE_KEY
	YML
	expect_ok ferry datastore create --file "$TEST_TMP/ds-$1.yml"
}

# az_uri CONTAINER [PATH] — the emulator URI of a container or blob on Azurite.
az_uri() { echo "$AZURITE_URL/$1${2:+/$2}"; }
# fault_uri CONTAINER [PATH] — the same blob, through the fault proxy.
fault_uri() { echo "$FAULT_URL/$1${2:+/$2}"; }

# need_s3 — skip unless the fixtures run an S3 server (moto; see services.sh).
need_s3() {
	[[ -n ${S3_ENDPOINT:-} ]] ||
		skip "no S3 server in the fixtures (needs a Python with moto and boto3; see tests/fixtures/services.sh)"
}

# s3cli ARGS... — tests/fixtures/s3cli.py with the S3 server's Python.
s3cli() { "$S3_PYTHON" "$ROOT/tests/fixtures/s3cli.py" "$@"; }

# new_bucket — create a uniquely named bucket on the S3 server, print its name.
_bucket_seq=0
new_bucket() {
	_bucket_seq=$((_bucket_seq + 1))
	local name
	name=$(echo "${TEST_NAME%%-*}-$$-$_bucket_seq-$RANDOM" | tr 'A-Z_' 'a-z-' | cut -c1-63)
	s3cli mkbucket "$name" >&2 || fail "could not create bucket $name"
	echo "$name"
}

# s3_env — point ferry's s3:// at the fixture's S3 server with the test user's keys
# (AWS_* exported for this test's process and everything it runs).
s3_env() {
	export AWS_ENDPOINT_URL=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
	export AWS_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=$TEST_TMP/no-aws-credentials
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
}

# fault CMD [BODY] — POST CMD (with BODY) to the fault proxy's control URL, $FAULT_CTL
# (the S3 tests set FAULT_CTL=$S3_FAULT_CTL); see tests/fixtures/faultproxy.py.
fault() { curl -sf --max-time 5 -X POST "$FAULT_CTL/$1" ${2:+-d "$2"} >/dev/null || fail "fault proxy control $1 failed"; }

# need_fault — skip when the fault proxy is not running; its faults are cleared when
# the test exits (after the test's own at_exit handlers registered later).
need_fault() {
	[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
	at_exit 'fault clear 2>/dev/null'
}

# need_fixtures — skip when the suite's servers are not running.
need_fixtures() {
	[[ -n ${AZURITE_URL:-} && -n ${NGINX_URL:-} ]] ||
		skip "fixtures not running (run via tests/run.sh, or eval \"\$(tests/fixtures/services.sh start)\")"
}

# alive PID — PID runs (a zombie waiting to be reaped has ended).
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $st != Z* ]]
}
# seconds_since START — elapsed wall seconds (integer) since `date +%s` START.
seconds_since() { echo $(($(date +%s) - $1)); }
