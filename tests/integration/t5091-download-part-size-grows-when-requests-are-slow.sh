#!/usr/bin/env bash
# t5091 — owns the adaptive part size of a large download (transfer/partsize.h): a
# file of more base parts (FERRY_TRANSFER_PART_SIZE) than threads goes first as one
# base part per thread (the probes); the first probe's time to first byte against its
# throughput sets the part size of the rest. Behind the fault proxy's 0.3 s per
# request the rest goes in a few large parts (the log line and the proxy's request
# count agree), bytes and Content-MD5 right; FERRY_TRANSFER_PART_SIZE_MAX at the base
# pins every part at it; a byte flipped inside a large part is caught by the MD5,
# which is hashed in base units while the large parts land, and nothing is published.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50 FERRY_CMD_TIMEOUT=120
# 64 base parts of 1 MiB, 4 at once: 4 probes, then 60 MiB to split
export FERRY_TRANSFER_PART_SIZE=1MiB RSLEX_DOWNLOADER_THREADS=4
MiB=1048576

data_requests() { curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])'; }

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$big" "$(az_uri "$c" big.bin)"
[[ -n $(azcli md5 "$c" big.bin) ]] || fail "the upload stored no Content-MD5 (the test needs the check on)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN

step "FERRY_TRANSFER_PART_SIZE_MAX is a setting (default 128 MiB)"
expect_ok ferry settings
assert_contains "$TEST_TMP/last.stdout" "FERRY_TRANSFER_PART_SIZE_MAX=134217728" "ferry settings"

step "pinned (FERRY_TRANSFER_PART_SIZE_MAX = the base): 64 ranged GETs of 1 MiB behind 0.3 s each"
fault clear
fault every "1 delay"
FERRY_TRANSFER_PART_SIZE_MAX=1MiB expect_ok ferry -v download "$(fault_uri "$c" big.bin)" "$TEST_TMP/pinned"
assert_file_same "$big" "$TEST_TMP/pinned/big.bin"
assert_eq 64 "$(data_requests)" "data requests with fixed parts"
assert_not_contains "$LAST_STDERR" "took" "a probe log line with fixed parts"

step "adaptive, same slow server: the rest of the file in a few large parts, bytes and MD5 right"
fault clear
fault every "1 delay"
expect_ok ferry -v download "$(fault_uri "$c" big.bin)" "$TEST_TMP/adaptive"
assert_file_same "$big" "$TEST_TMP/adaptive/big.bin"
line=$(grep -o "the other $((60 * MiB)) bytes in [0-9]* parts of [0-9]* bytes" "$LAST_STDERR") ||
	fail "no part-size choice in the log: $(tail -c 800 "$LAST_STDERR")"
read -r n part < <(echo "$line" | sed 's/.* in \([0-9]*\) parts of \([0-9]*\) bytes/\1 \2/')
echo "chosen: $n parts of $part bytes; $(grep -o "took [0-9]* ms to its first byte and [0-9]* ms more" "$LAST_STDERR")"
# 0.3 s before the first byte is worth 8 x 0.3 s of streaming: far more than a
# thread's share (60 MiB / 4 = 15 MiB) unless 1 MiB took over 0.15 s to stream
[[ $part -ge $((4 * MiB)) && $((part % MiB)) -eq 0 && $part -le $((15 * MiB)) ]] ||
	fail "part size $part: expected a 1 MiB multiple between 4 MiB and the 15 MiB share"
assert_eq $((4 + n)) "$(data_requests)" "data requests (4 probes + the rest's parts)"
[[ $n -le 15 ]] || fail "$n parts for the rest: the part size did not grow"

step "a byte flipped inside a large part fails the MD5 check; nothing is published"
fault clear
fault schedule "delay,delay,delay,delay,corrupt" # the probes slow, the first large part corrupted
expect_fail "MD5 mismatch" ferry -v download "$(fault_uri "$c" big.bin)" "$TEST_TMP/bad"
grep -q "the other $((60 * MiB)) bytes in [0-9]* parts of [0-9]* bytes" "$LAST_STDERR" ||
	fail "no part-size choice in the log: $(tail -c 800 "$LAST_STDERR")"
[[ $(curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected"]["corrupt"])') -eq 1 ]] ||
	fail "the proxy did not corrupt a response: $(curl -s "$FAULT_CTL/stats")"
assert_no_temp_files "$TEST_TMP/bad"
[[ ! -e $TEST_TMP/bad/big.bin ]] || fail "a corrupted big.bin was published"

step "a file of no more base parts than threads goes in base parts, no probe"
fault clear
small=$TEST_TMP/four.bin
mkdata_random "$small" 4M
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$small" "$(az_uri "$c" four.bin)"
expect_ok ferry -v download "$(fault_uri "$c" four.bin)" "$TEST_TMP/four"
assert_file_same "$small" "$TEST_TMP/four/four.bin"
assert_eq 4 "$(data_requests)" "data requests"
assert_not_contains "$LAST_STDERR" "took" "a probe log line"
