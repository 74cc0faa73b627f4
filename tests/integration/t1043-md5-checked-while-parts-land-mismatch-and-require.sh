#!/usr/bin/env bash
# t1043 — owns MD5 verification (FERRY_VERIFY_MD5): a block upload stores the whole
# file's Content-MD5 (as a Put Blob would); a download in parts and the mount's
# whole-file cache check it; a byte flipped in the middle of the file by the fault
# proxy (a 200 with the right length: only a checksum can tell) fails the download
# and the open, and nothing is published; `off` skips the check; `require` refuses a
# blob without a stored MD5 with a clear error and fetches nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50 FERRY_CMD_TIMEOUT=120

step "FERRY_VERIFY_MD5 takes auto, off or require, and says so otherwise"
FERRY_VERIFY_MD5=sometimes expect_fail 'FERRY_VERIFY_MD5="sometimes" is not one of auto|off|require' ferry settings
FERRY_VERIFY_MD5=REQUIRE expect_ok ferry settings
assert_contains "$TEST_TMP/last.stdout" "FERRY_VERIFY_MD5=require" "ferry settings"

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
want=$($PY -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.md5(open(sys.argv[1],"rb").read()).digest()).decode())' "$big")

step "a block upload (64 MiB in 8 MiB blocks) stores the file's Content-MD5"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$big" "$(az_uri "$c" md5/big.bin)"
assert_eq "$want" "$(azcli md5 "$c" md5/big.bin)" "stored Content-MD5"
step "... and FERRY_VERIFY_MD5=off uploads it without one (the bench's no-MD5 fixture)"
FERRY_VERIFY_MD5=off expect_ok ferry upload "$big" "$(az_uri "$c" nomd5/big.bin)"
assert_eq "" "$(azcli md5 "$c" nomd5/big.bin)" "stored Content-MD5"

export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
step "a download in parts checks the MD5 and gets the bytes right"
fault clear
expect_ok ferry download "$(fault_uri "$c" md5/big.bin)" "$TEST_TMP/ok"
assert_file_same "$big" "$TEST_TMP/ok/big.bin"

step "a byte flipped in a middle part fails the download; no file is published"
fault clear
fault schedule "ok,ok,ok,corrupt" # the 4th of 8 ranged GETs
expect_fail "MD5 mismatch" ferry download "$(fault_uri "$c" md5/big.bin)" "$TEST_TMP/bad"
assert_contains "$LAST_STDERR" "big.bin" "error names the blob"
[[ $(curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected"]["corrupt"])') -eq 1 ]] ||
	fail "the proxy did not corrupt a response: $(curl -s "$FAULT_CTL/stats")"
assert_no_temp_files "$TEST_TMP/bad"
[[ ! -e $TEST_TMP/bad/big.bin ]] || fail "a corrupted big.bin was published"

step "with FERRY_VERIFY_MD5=off the same corruption goes unnoticed (the check is what caught it)"
fault clear
fault schedule "ok,ok,ok,corrupt"
FERRY_VERIFY_MD5=off expect_ok ferry download "$(fault_uri "$c" md5/big.bin)" "$TEST_TMP/off"
cmp -s "$big" "$TEST_TMP/off/big.bin" && fail "the proxy's corruption did not reach the file"

step "require: a blob without a stored MD5 is refused before any byte moves"
fault clear
FERRY_VERIFY_MD5=require expect_fail "no stored Content-MD5 and FERRY_VERIFY_MD5=require" \
	ferry download "$(fault_uri "$c" nomd5/big.bin)" "$TEST_TMP/req"
assert_contains "$LAST_STDERR" "big.bin" "error names the blob"
assert_no_temp_files "$TEST_TMP/req"
[[ $(curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])') -eq 0 ]] ||
	fail "require fetched data before refusing: $(curl -s "$FAULT_CTL/stats")"
step "... a blob with one downloads under require; auto downloads the one without"
FERRY_VERIFY_MD5=require expect_ok ferry download "$(fault_uri "$c" md5/big.bin)" "$TEST_TMP/req-ok"
assert_file_same "$big" "$TEST_TMP/req-ok/big.bin"
expect_ok ferry download "$(fault_uri "$c" nomd5/big.bin)" "$TEST_TMP/auto"
assert_file_same "$big" "$TEST_TMP/auto/big.bin"

step "a small file (one Put Blob, one GET) is checked as it streams"
mkdata_random "$TEST_TMP/small.bin" 300K
azcli put "$c" md5/small.bin "$TEST_TMP/small.bin"
fault clear
fault schedule "corrupt"
AZUREML_DATASET_HTTP_RETRY_COUNT=0 expect_fail "MD5 mismatch" \
	ferry download "$(fault_uri "$c" md5/small.bin)" "$TEST_TMP/small-bad"
assert_no_temp_files "$TEST_TMP/small-bad"

if fuse_ok=$( (need_fuse) 2>&1 ); then
	step "mount, whole-file mode: a corrupted part fails the open with EIO; a clean open then reads right"
	log=$FERRY_HOME/logs/mount.log
	fault clear
	mnt=$TEST_TMP/mnt
	mount_at "$(fault_uri "$c" md5)" "$mnt"
	fault schedule "ok,ok,corrupt"
	if cat "$mnt/big.bin" >"$TEST_TMP/mnt-bad.bin" 2>"$TEST_TMP/cat.err"; then
		fail "reading a corrupted file through the mount succeeded"
	fi
	assert_contains "$TEST_TMP/cat.err" "Input/output error" "cat's error"
	assert_contains "$log" "blob 'md5/big.bin': MD5 mismatch" "runtime log"
	fault clear
	cmp "$big" "$mnt/big.bin" || fail "the mount read wrong bytes after the corrupted attempt"
	unmount_at "$mnt"
	step "mount under require: a blob without a stored MD5 fails to open"
	mnt=$TEST_TMP/mnt-req
	mount_at "$(fault_uri "$c" nomd5)" "$mnt" FERRY_VERIFY_MD5=require
	cat "$mnt/big.bin" >/dev/null 2>&1 && fail "require opened a blob without a stored MD5"
	assert_contains "$log" "no stored Content-MD5 and FERRY_VERIFY_MD5=require" "runtime log"
	unmount_at "$mnt"
else
	echo "(mount steps skipped: $fuse_ok)"
fi
echo "ok"
