#!/usr/bin/env bash
# t4221 — owns the memory budget of the download engine (issue 15 item 4):
# `ferry download` of four big files (parts of 8 MiB, stored Content-MD5 checked
# while the parts land) with FERRY_MEMORY_LIMIT=8MiB and 16 threads lands every
# byte right, its memory line shows that part buffers waited for the budget and
# that the reserved peak never passed the limit, and the process's peak RSS
# (VmHWM) stays under the limit plus a fixed overhead. Without the budget the
# same download holds 16 part buffers and four mapped 8 MiB parts at once.
source "$(dirname "$0")/lib.sh"
need_fixtures

limit=$((8 << 20))
# Outside the budget: the binary and its libraries, libcurl's 16 connections,
# the worker threads' stacks, the listing. Measured here: 20 MiB (28.1 MiB peak with the budget, 47.8 MiB without it).
overhead=$((26 << 20))

src=$TEST_TMP/src
mkdir -p "$src"
for i in 1 2 3 4; do mkdata_random "$src/big$i.bin" $(((40 << 20) + i * 12345)); done
c=$(new_container)
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$src" "$(az_uri "$c" data)"

step "download of 4 × 40 MiB with FERRY_MEMORY_LIMIT=8MiB and 16 threads: bytes right, budget held"
out=$TEST_TMP/out
FERRY_MEMORY_LIMIT=8MiB RSLEX_DOWNLOADER_THREADS=16 ferry -v download "$(az_uri "$c" data)" "$out" \
	>"$TEST_TMP/dl.out" 2>&1 || fail "download failed: $(tail -5 "$TEST_TMP/dl.out")"
assert_tree_same "$src" "$out"
m=$(grep "download memory:" "$TEST_TMP/dl.out" | tail -1)
[[ -n $m ]] || fail "no memory line in the download's log: $(tail -5 "$TEST_TMP/dl.out")"
echo "# $m"
reserved=$(sed -E 's/.*memory: peak ([0-9.]+) of.*/\1/' <<<"$m")
waits=$(sed -E 's/.* ([0-9]+) waits .*/\1/' <<<"$m")
rss=$(sed -E 's/.*process peak RSS ([0-9.]+) MiB.*/\1/' <<<"$m")
awk -v p="$reserved" 'BEGIN { exit !(p <= 8.0) }' || fail "reserved peak $reserved MiB passed the 8 MiB limit: $m"
# 16 workers each want a 1 MiB part buffer against 8 MiB: some must wait.
((waits > 0)) || fail "no part buffer ever waited for the 8 MiB budget: $m"
awk -v r="$rss" -v b=$(((limit + overhead) >> 20)) 'BEGIN { exit !(r <= b) }' ||
	fail "peak RSS $rss MiB is over the budget 8 MiB + $((overhead >> 20)) MiB: $m"
