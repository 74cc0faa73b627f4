#!/usr/bin/env bash
# t4210 — owns whole-file mode's reads during the download (issue 15 item 3):
# open() returns before the file is downloaded (the first 4 KiB are read while
# most parts are still to be asked for: counted at the fault proxy, which makes
# every data GET wait 0.3 s); a read far ahead of the download front is served by
# one ranged GET; sequential, random and 8 concurrent readers sharing the one
# download all read the right bytes; a storage failure mid-download fails the
# handle's later reads with EIO and a re-open downloads again and reads right;
# closing every handle early lets the download finish in the background, so the
# next open costs no request; unmounting cancels a running download. Counters come from the proxy and the mount summary.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50

big=$(cached_random random-64M.bin 64M)
c=$(new_container)
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$big" "$(az_uri "$c" data/big.bin)"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
parts=64 # 64 MiB in 1 MiB parts, two at a time: >= 32 × 0.3 s behind the slow proxy
slow=(FERRY_TRANSFER_PART_SIZE=1MiB RSLEX_DOWNLOADER_THREADS=2)
mnt=$TEST_TMP/mnt

readers() { $PY "$ROOT/tests/fixtures/wholefile-readers.py" "$big" "$@"; }
data_requests() { curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])'; }
summary() { nth_summary "$log" "$1"; } # the Nth mount summary line (lib-mount.sh)
# field LINE REGEX — the number in LINE before REGEX.
field() { sed -E "s/.* ([0-9]+) $2.*/\\1/" <<<"$1"; }

step "open returns and the first 4 KiB arrive while most of the file is still to be fetched"
fault clear
fault every "1 delay"
mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}"
out=$(readers "$mnt/big.bin" first far "mixed:8") || fail "reads differ: $out"
n=$(sed -n 's/^data_requests=//p' <<<"$out")
echo "# data GETs begun when the first read returned: $n of $parts parts (+ ranged reads)"
[[ -n $n ]] && ((n < parts / 2)) || fail "the first read returned after $n data GETs: open waited for the download"
fault every 0
unmount_at "$mnt"
s=$(summary 1)
echo "# $s"
ranged=$(field "$s" "random reads by small ranges") waited=$(field "$s" "reads waited for a download")
step "... a read far ahead of the front came by ranged GET; the readers shared one download"
((ranged >= 1)) || fail "no read was served by a ranged GET ahead of the download: $s"
((waited >= 1)) || fail "no read waited for the download's front: $s"
grep -q "misses 1 " <<<"$s" || fail "the readers did not share one download: $s"

step "a storage failure mid-download: the handle's reads fail with EIO, a re-open downloads again"
fault clear
mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}" AZUREML_DATASET_HTTP_RETRY_COUNT=0
fault schedule "ok,ok,ok,ok,500" # the 5th part
$PY - "$mnt/big.bin" <<-'PYEOF' || fail "a failed download was not reported as EIO"
	import errno, os, sys
	fd = os.open(sys.argv[1], os.O_RDONLY)
	try:
	    for off in range(0, 64 << 20, 1 << 20):
	        os.pread(fd, 1 << 20, off)
	    sys.exit("read the whole file through a failed download")
	except OSError as e:
	    assert e.errno == errno.EIO, e
	try:
	    os.pread(fd, 4096, 40 << 20) # after the failure, any read fails
	    sys.exit("a read after the failure succeeded")
	except OSError as e:
	    assert e.errno == errno.EIO, e
	PYEOF
assert_contains "$log" "read of blob 'data/big.bin' bytes" "runtime log"
fault clear
readers "$mnt/big.bin" whole >/dev/null || fail "the re-open read wrong bytes"
unmount_at "$mnt"
s=$(summary 2)
echo "# $s"
grep -q "misses 2 " <<<"$s" || fail "the re-open did not download again: $s"

step "closing every handle early: the download finishes in the background, the next open sends nothing"
fault clear
fault every "1 delay"
mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}"
out=$(readers "$mnt/big.bin" first) || fail "first read differs: $out"
n=$(sed -n 's/^data_requests=//p' <<<"$out")
((n < parts / 2)) || fail "closed after $n data GETs: not before the download's end"
for _ in $(seq 120); do
	(($(data_requests) >= parts)) && break
	sleep 0.5
done
fault every 0
sleep 1
before=$(data_requests)
((before == parts)) || fail "the download did not go on after the last close: $before of $parts parts fetched"
readers "$mnt/big.bin" whole >/dev/null || fail "the finished copy reads wrong bytes"
assert_eq "$parts" "$(data_requests)" "data GETs after reopening the finished file"
unmount_at "$mnt"

step "unmounting while a download runs cancels it: no part is asked for after the server is gone"
fault clear
fault every "1 delay"
mount_at "$(fault_uri "$c" data)" "$mnt" "${slow[@]}"
readers "$mnt/big.bin" first >/dev/null || fail "first read differs"
unmount_at "$mnt"
summary 4 >/dev/null # the server has ended
n=$(data_requests)
((n < parts)) || fail "the download ran to its end ($n data GETs) before the server ended"
sleep 1
assert_eq "$n" "$(data_requests)" "data GETs after the mount server ended"
[[ -z $(ls -A "$FERRY_HOME/cache" 2>/dev/null) ]] || fail "unmount left files in the cache: $(ls -R "$FERRY_HOME/cache" | head)"
echo "ok"
