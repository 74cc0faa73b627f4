#!/usr/bin/env bash
# t3402 — owns `ferry mount --stats FILE` and `ferry download --stats FILE` (issue 14
# item 4): a standalone mount (background or -f) and a download write the time series a
# job writes (docs/jobs.md "The time series"), sampled while the mount is served (by a
# small forked sampler for a background mount) or the download runs; counters only grow,
# and the last sample holds the totals: the bytes read through the mount, the bytes and
# files fetched by the download.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fuse
export FERRY_CMD_TIMEOUT=60
series() { $PY "$ROOT/tests/fixtures/series.py" "$@"; }
mkdir -p "$TEST_TMP/data/sub" "$TEST_TMP/mnt"
mkdata_random "$TEST_TMP/data/a.bin" 24M
mkdata_random "$TEST_TMP/data/sub/b.bin" 1M
size=$((25 * 1024 * 1024))

step "a background mount with --stats: sampled until the server ends, totals in the last sample"
# a sample every 0.25 s: a loaded machine still gets several in the 1.2 s below
FERRY_SAMPLE_INTERVAL_MS=250 expect_ok ferry mount "$TEST_TMP/data" "$TEST_TMP/mnt" --stats "$TEST_TMP/mount.jsonl"
at_exit "ferry unmount '$TEST_TMP/mnt' >/dev/null 2>&1 || true"
cat "$TEST_TMP/mnt/a.bin" "$TEST_TMP/mnt/sub/b.bin" | cmp - <(cat "$TEST_TMP/data/a.bin" "$TEST_TMP/data/sub/b.bin")
sleep 1.2
expect_ok ferry unmount "$TEST_TMP/mnt"
for _ in $(seq 50); do # the sampler takes its last sample once the server is gone
	[[ $(tail -1 "$TEST_TMP/mount.jsonl") == *'"phase":"outputs"'* ]] && break
	sleep 0.1
done
n=$(series "$TEST_TMP/mount.jsonl" check) || fail "the mount's series breaks its invariants"
((n >= 3)) || fail "a mount served for more than a second has $n samples"
assert_eq ro_mount "$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["io"][0]["mode"])' "$TEST_TMP/mount.jsonl")"
assert_eq "$size" "$(series "$TEST_TMP/mount.jsonl" last mount read)" "bytes read through the mount"
assert_eq "$size" "$(series "$TEST_TMP/mount.jsonl" last mount storage)" "bytes fetched by the mount"
assert_eq 2 "$(series "$TEST_TMP/mount.jsonl" last mount opens)" "opens"
tail -1 "$TEST_TMP/mount.jsonl" | grep -q '"phase":"outputs"' || fail "no last sample after the server ended"

step "a foreground mount (-f) with --stats"
ferry mount "$TEST_TMP/data" "$TEST_TMP/mnt" -f --stats "$TEST_TMP/fg.jsonl" &
fg=$!
for _ in $(seq 100); do mountpoint -q "$TEST_TMP/mnt" && break; sleep 0.1; done
cat "$TEST_TMP/mnt/a.bin" >/dev/null
expect_ok ferry unmount "$TEST_TMP/mnt"
wait $fg || fail "ferry mount -f exited $?"
series "$TEST_TMP/fg.jsonl" check >/dev/null || fail "the -f mount's series breaks its invariants"
assert_eq $((24 * 1024 * 1024)) "$(series "$TEST_TMP/fg.jsonl" last mount read)" "bytes read through the -f mount"

step "a download with --stats: its bytes, files and requests in the last sample"
expect_ok ferry download "$TEST_TMP/data" "$TEST_TMP/dl" --stats "$TEST_TMP/dl.jsonl"
series "$TEST_TMP/dl.jsonl" check >/dev/null || fail "the download's series breaks its invariants"
assert_eq "$size" "$(series "$TEST_TMP/dl.jsonl" last download storage)" "bytes downloaded"
assert_eq 2 "$(series "$TEST_TMP/dl.jsonl" last download files)" "files downloaded"
req=$(series "$TEST_TMP/dl.jsonl" last download requests)
((req >= 2)) || fail "$req requests for 2 files"
expect_fail "--stats" ferry download "$TEST_TMP/data" "$TEST_TMP/dl2" --stats
