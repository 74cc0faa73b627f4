#!/usr/bin/env bash
# t3290 — owns progress (issue 12 item 9): on a terminal a line redrawn in place with
# percent, bytes done/total, the current rate, ETA, elapsed, files and retries; off a
# terminal the same as a plain line every 5 s; inside a job it names the input being
# staged; `ferry -q` prints neither. (A slow server: the fault proxy delays each of
# 24 part requests by 0.3 s, one at a time, so a transfer lasts ~7 s.)
source "$(dirname "$0")/lib.sh"
need_fixtures

c=$(new_container)
mkdata_random "$TEST_TMP/src/big.bin" 24M
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/src/big.bin" "$(az_uri "$c" big.bin)"
# Parts pinned at 1 MiB (no adaptive growth), so the transfer stays slow.
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN RSLEX_DOWNLOADER_THREADS=1 FERRY_TRANSFER_PART_SIZE=1M FERRY_TRANSFER_PART_SIZE_MAX=1M
line_re='ferry: download: +[0-9]+% [0-9.]+ [KMG]?i?B / 24.00 MiB, [0-9.]+ [KMG]?i?B/s(, ETA [0-9]+:[0-9]{2})?, [0-9]+:[0-9]{2} elapsed, [01] / 1 files, [0-9]+ retries'

step "off a terminal: a plain progress line every 5 s"
fault clear
fault every "1 delay"
expect_ok ferry download "$(fault_uri "$c" big.bin)" "$TEST_TMP/out1"
assert_file_same "$TEST_TMP/src/big.bin" "$TEST_TMP/out1/big.bin"
grep -Eq "^$line_re\$" "$LAST_STDERR" || fail "no progress line: $(cat "$LAST_STDERR")"
grep -Eq "ETA [0-9]+:[0-9]{2}" "$LAST_STDERR" || fail "no ETA: $(cat "$LAST_STDERR")"
[[ $(grep -c $'\r' "$LAST_STDERR") -eq 0 ]] || fail "terminal control characters off a terminal"

step "on a terminal: the line is redrawn in place"
command -v script >/dev/null || skip "script (util-linux) is not installed"
fault clear
fault every "1 delay"
script -qec "$FERRY download $(fault_uri "$c" big.bin) $TEST_TMP/out2" /dev/null >"$TEST_TMP/tty.out" 2>&1 </dev/null ||
	fail "download on a terminal failed: $(tail -c 500 "$TEST_TMP/tty.out")"
assert_file_same "$TEST_TMP/src/big.bin" "$TEST_TMP/out2/big.bin"
[[ $(grep -c $'\r\e\[Kferry: download: ' "$TEST_TMP/tty.out") -ge 1 ]] || fail "no in-place line: $(head -c 600 "$TEST_TMP/tty.out" | cat -v)"
tr '\r' '\n' <"$TEST_TMP/tty.out" | sed 's/\x1b\[K//' | grep -Eq "^$line_re" || fail "terminal line: $(head -c 600 "$TEST_TMP/tty.out" | cat -v)"

step "inside a job the line names the input being staged"
cat >"$TEST_TMP/job.yml" <<YML
command: ls \${{inputs.weights}}
inputs:
  weights:
    type: uri_file
    path: $(fault_uri "$c" big.bin)
    mode: download
YML
fault clear
fault every "1 delay"
expect_ok ferry run "$TEST_TMP/job.yml" --name prog1
grep -Eq "^ferry: download input 'weights': +[0-9]+% " "$LAST_STDERR" || fail "no labelled line: $(cat "$LAST_STDERR")"

step "ferry -q: no progress at all"
fault clear
fault every "1 delay"
expect_ok ferry -q download "$(fault_uri "$c" big.bin)" "$TEST_TMP/out3"
assert_file_same "$TEST_TMP/src/big.bin" "$TEST_TMP/out3/big.bin"
assert_not_contains "$LAST_STDERR" "elapsed"
fault clear
