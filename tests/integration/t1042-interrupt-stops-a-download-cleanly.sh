#!/usr/bin/env bash
# t1042 — owns Ctrl-C and SIGTERM during a download: ferry stops promptly (it does
# not sit out a stalled request), exits with 128+signal, and DEST holds no partial
# or temporary file — only files that were complete before the signal.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
export FERRY_STALL_TIMEOUT_SECONDS=60 FERRY_CMD_TIMEOUT=120

c=$(new_container)
big=$(cached_random random-64M.bin 64M)
azcli put "$c" data/big.bin "$big"

for sig in INT TERM; do
	step "SIG$sig during a stalled download: prompt exit, no partial file"
	fault clear
	fault every "1 stall" # every data request stalls for 60 s
	dest=$TEST_TMP/dest-$sig
	mkdir -p "$dest"
	"$FERRY" download "$(fault_uri "$c" data/big.bin)" "$dest" 2>"$TEST_TMP/err-$sig" &
	pid=$!
	sleep 2 # the parts are in flight, stalled
	t0=$(date +%s)
	kill -s "$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	took=$(seconds_since "$t0")
	echo "  exit $rc after $took s: $(tail -n 1 "$TEST_TMP/err-$sig")"
	want=130
	[[ $sig == TERM ]] && want=143
	assert_eq "$want" "$rc" "exit status after SIG$sig"
	# generous bound: the stall lasts 60 s, so anything well under it means ferry did not wait it out
	((took < 30)) || fail "ferry took $took s to stop after SIG$sig"
	assert_contains "$TEST_TMP/err-$sig" "interrupted"
	assert_no_temp_files "$dest"
	[[ ! -e $dest/big.bin ]] || fail "a partial big.bin was left"
done
fault clear
echo "ok"
