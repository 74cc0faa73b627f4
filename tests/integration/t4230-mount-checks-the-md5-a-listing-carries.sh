#!/usr/bin/env bash
# t4230 — owns the mount's MD5 check when a file's attributes come from a listing
# (issue 15 item 1): readdir hands each entry's stored Content-MD5 to the lookups it
# answers (fs/ahead.c) and the open passes it to the whole-file cache, so a file of
# one part is checked too (before: `auto` checked only files of several parts, by a
# HEAD of their own) and a file of several parts is checked without that HEAD. A byte
# flipped by the fault proxy (a 200 with the right length) fails `cat` with EIO for a
# one-part file, a several-part file and files fetched ahead by the folder walk; no
# HEAD is sent; a clean re-open reads the right bytes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
need_fault
export FERRY_RETRY_BASE_DELAY_MS=50

c=$(new_container)
mkdata_random "$TEST_TMP/small.bin" 300K
azcli put "$c" data/small.bin "$TEST_TMP/small.bin" # one Put Blob: Azurite stores its MD5
big=$TEST_TMP/big.bin
mkdata_random "$big" 20M
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN expect_ok ferry upload "$big" "$(az_uri "$c" data/big.bin)"
[[ -n $(azcli md5 "$c" data/small.bin) && -n $(azcli md5 "$c" data/big.bin) ]] ||
	fail "the fixtures carry no stored Content-MD5"
for i in 0 1 2 3 4 5; do
	mkdata_random "$TEST_TMP/w$i.bin" 64K
	azcli put "$c" data/walk/f$i.bin "$TEST_TMP/w$i.bin"
done

export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
mnt=$TEST_TMP/mnt
heads() { curl -s "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["methods"].get("HEAD", 0))'; }
eio() { read_fails_eio "$1"; }

fault clear
mount_at "$(fault_uri "$c" data)" "$mnt" FERRY_TRANSFER_PART_SIZE=8MiB
ls -l "$mnt" "$mnt/walk" >/dev/null # the listings: attributes (and MD5s) of every file

step "a one-part file whose MD5 came with the listing: a flipped byte fails the read, no HEAD sent"
fault clear
fault every "1 corrupt"
eio "$mnt/small.bin"
assert_contains "$log" "blob 'data/small.bin': MD5 mismatch" "runtime log"

step "a file of three parts: a flipped byte fails the read, checked without a HEAD"
eio "$mnt/big.bin"
assert_contains "$log" "blob 'data/big.bin': MD5 mismatch" "runtime log"
assert_eq 0 "$(heads)" "HEADs sent for the two checked opens"

step "files of a folder walked in order (fetched ahead) are checked too"
for i in 0 1 2 3 4 5; do eio "$mnt/walk/f$i.bin"; done
assert_eq 0 "$(heads)" "HEADs sent"

step "a clean re-open downloads again and reads the right bytes"
fault clear
cmp "$TEST_TMP/small.bin" "$mnt/small.bin" || fail "small.bin read wrong after the corrupted attempt"
cmp "$big" "$mnt/big.bin" || fail "big.bin read wrong after the corrupted attempt"
for i in 0 1 2 3 4 5; do cmp "$TEST_TMP/w$i.bin" "$mnt/walk/f$i.bin" || fail "walk/f$i.bin read wrong"; done
assert_eq 0 "$(heads)" "HEADs sent"
unmount_at "$mnt"

step "FERRY_VERIFY_MD5=off: the same corruption reaches the reader (the check is what caught it)"
mount_at "$(fault_uri "$c" data)" "$mnt" FERRY_VERIFY_MD5=off
ls -l "$mnt" >/dev/null
fault clear
fault every "1 corrupt"
cat "$mnt/small.bin" >"$TEST_TMP/off.bin" || fail "reading with FERRY_VERIFY_MD5=off failed"
cmp -s "$TEST_TMP/small.bin" "$TEST_TMP/off.bin" && fail "the proxy's corruption did not reach the reader"
fault clear
unmount_at "$mnt"
echo "ok"
