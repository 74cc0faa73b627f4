#!/usr/bin/env bash
# t4250 — owns block mode's MD5 check of a file read through in order: a block-mode
# mount (DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true) of files whose listing carries a
# stored Content-MD5 hashes their blocks in order as they land (prefetched ones too)
# and answers the read of the last byte only after the comparison. A byte flipped in
# transit by the fault proxy, in the first block or in a later (prefetched) one, makes
# `cat` fail with EIO and the runtime log name the blob; a re-open after `fault clear`
# reads the right bytes (the failed version's blocks were dropped, the kernel's pages
# too). A clean read through counts as checked; a reader that jumps is not failed and
# counts as not checked; FERRY_VERIFY_MD5=off checks nothing; FERRY_VERIFY_MD5=require
# refuses (EIO at open, no data request) a file that has no stored MD5, as whole-file
# mode does. Figures from the mount's summary in the runtime log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50

c=$(new_container)
for f in first later jump off; do
	size=16M; [[ $f == jump ]] && size=40M
	mkdata_random "$TEST_TMP/$f.bin" $size
	AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$TEST_TMP/$f.bin" "$(az_uri "$c" data/$f.bin)"
	[[ -n $(azcli md5 "$c" data/$f.bin) ]] || fail "data/$f.bin carries no stored Content-MD5"
done

export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
mnt=$TEST_TMP/mnt
# no RAM cache: every block read leaves RAM once let go, unless the check holds it
block=(DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true DATASET_MOUNT_READ_BLOCK_SIZE=1MiB DATASET_MOUNT_MEMORY_CACHE_SIZE=0)
# eio FILE — reading FILE whole must fail with EIO, one response corrupted
eio() {
	read_fails_eio "$1"
	assert_eq 1 "$(fault_injected corrupt)" "responses corrupted"
}
# md5_summary — the block-mode MD5 line of the last mount's summary (after unmount_at)
md5_summary() {
	local i
	for i in $(seq 40); do
		(($(grep -c "mount MD5 of files read in order" "$log") >= $1)) && break
		sleep 0.25
	done
	grep "mount MD5 of files read in order" "$log" | sed -n "$1p"
}
field() { sed -E "s/.* ([0-9]+) $2.*/\\1/" <<<"$1"; }

fault clear
mount_at "$(fault_uri "$c" data)" "$mnt" "${block[@]}"
ls -l "$mnt" >/dev/null # the listing: attributes (and MD5s) of every file

step "a byte flipped in the first block: cat fails with EIO, the log names the blob"
fault clear
fault schedule "corrupt"
eio "$mnt/first.bin"
assert_contains "$log" "read of blob 'data/first.bin': MD5 mismatch (storage says" "runtime log"

step "a byte flipped in a later, prefetched block (the 4th GET of the stream): EIO"
fault clear
fault schedule "ok,ok,ok,corrupt"
eio "$mnt/later.bin"
assert_contains "$log" "read of blob 'data/later.bin': MD5 mismatch (storage says" "runtime log"

step "re-opened after fault clear, both read right (blocks dropped, fetched again) and are checked"
fault clear
cmp "$TEST_TMP/first.bin" "$mnt/first.bin" || fail "first.bin read wrong after the corrupted attempt"
cmp "$TEST_TMP/later.bin" "$mnt/later.bin" || fail "later.bin read wrong after the corrupted attempt"

step "a reader that jumps is not failed (and not checked), even one that jumps to the end"
$PY - "$TEST_TMP/jump.bin" "$mnt/jump.bin" <<-'PYEOF' || fail "a reader that jumps read wrong bytes"
	import os, random, sys
	a, b = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
	size = os.fstat(a).st_size
	def same(off, n):
	    if os.pread(a, n, off) != os.pread(b, n, off):
	        sys.exit("%d bytes at %d differ" % (n, off))
	for off in range(0, 3 << 20, 128 << 10):  # in order for three blocks ...
	    same(off, 128 << 10)
	same(size - 4096, 4096)                  # ... then the end
	rnd = random.Random(4250)
	for _ in range(32):
	    same(rnd.randrange(size - 4096), 4096)
	same(size - 100, 100)
	PYEOF
unmount_at "$mnt"
s=$(md5_summary 1)
echo "$s"
assert_eq 2 "$(field "$s" checked)" "files checked (first.bin and later.bin re-read)"
assert_eq 2 "$(field "$s" mismatches)" "mismatches"
assert_eq 1 "$(field "$s" "not checked")" "files not checked (jump.bin)"

step "FERRY_VERIFY_MD5=off: the same corruption reaches the reader, nothing is checked"
mount_at "$(fault_uri "$c" data)" "$mnt" "${block[@]}" FERRY_VERIFY_MD5=off
ls -l "$mnt" >/dev/null
fault clear
fault schedule "corrupt"
cat "$mnt/off.bin" >"$TEST_TMP/off-read.bin" || fail "reading with FERRY_VERIFY_MD5=off failed"
cmp -s "$TEST_TMP/off.bin" "$TEST_TMP/off-read.bin" && fail "the proxy's corruption did not reach the reader"
fault clear
unmount_at "$mnt"
s=$(md5_summary 2)
echo "$s"
assert_eq "0 0 0" "$(field "$s" checked) $(field "$s" mismatches) $(field "$s" "not checked")" "checks with off"

step "FERRY_VERIFY_MD5=require: a file without a stored MD5 is refused at open, before any byte moves"
# in blocks (under the single-put bound Azurite stores an MD5 itself)
FERRY_VERIFY_MD5=off FERRY_UPLOAD_SINGLE_PUT_MAX=4M AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN \
	expect_ok ferry upload "$TEST_TMP/off.bin" "$(az_uri "$c" data/nomd5.bin)"
assert_eq "" "$(azcli md5 "$c" data/nomd5.bin)" "stored Content-MD5 of data/nomd5.bin"
mount_at "$(fault_uri "$c" data)" "$mnt" "${block[@]}" FERRY_VERIFY_MD5=require
ls -l "$mnt" >/dev/null
fault clear
if cat "$mnt/nomd5.bin" >/dev/null 2>"$TEST_TMP/req.err"; then
	fail "data/nomd5.bin, which has no stored MD5, was read under FERRY_VERIFY_MD5=require"
fi
assert_contains "$TEST_TMP/req.err" "Input/output error" "cat's error for nomd5.bin"
assert_contains "$log" "blob 'data/nomd5.bin' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: not opened unchecked" "runtime log"
assert_eq 0 "$(curl -sf --max-time 5 "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])')" "data requests for the refused file"
step "... a file with one reads right under require, and is checked"
cmp "$TEST_TMP/first.bin" "$mnt/first.bin" || fail "first.bin read wrong under require"
unmount_at "$mnt"
s=$(md5_summary 3)
echo "$s"
assert_eq "1 0" "$(field "$s" checked) $(field "$s" mismatches)" "files checked and mismatches under require"
echo "ok"
