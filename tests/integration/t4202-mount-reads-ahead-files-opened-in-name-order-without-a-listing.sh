#!/usr/bin/env bash
# t4202 — owns the mount's read-ahead for folders nobody lists (issue 15 item 2
# follow-up; fs/ahead.c "Folders never listed"): a reader that takes names from
# a saved list (`xargs cat`, a DataLoader over an index file) opens the files of
# a folder in name order without a readdir. Through the fault proxy (which
# counts blob GETs) in front of Azurite, with the kernel's dentries dropped:
#  - in name order: bytes right, one GET per file, the folder listed once in
#    the background and most files fetched ahead (all of them opened);
#  - 4 DataLoader-like workers taking batches of 10 names of the sorted list
#    round robin: bytes right, one listing, files fetched ahead and opened;
#  - shuffled: bytes right, at most one listing, no storm of cancelled
#    read-ahead, GETs bounded;
#  - FERRY_MOUNT_READ_AHEAD_FILES=0 and block mode: no listing, nothing fetched
#    ahead, bytes right.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse

n=200
walk_folder "$n" 4202 1024 16384
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
log=$FERRY_HOME/logs/mount.log
mnt=$TEST_TMP/mnt
(cd "$TEST_TMP/src/walk" && ls | LC_ALL=C sort) >"$TEST_TMP/sorted.txt"
$PY -c 'import random,sys; l=open(sys.argv[1]).read().split(); random.Random(4202).shuffle(l); print("\n".join(l))' \
	"$TEST_TMP/sorted.txt" >"$TEST_TMP/shuffled.txt"

stats() { curl -sf --max-time 5 "$FAULT_CTL/stats"; }
jf() { $PY -c 'import json,sys; s=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
lines() { grep -c "read-ahead summary:" "$log" 2>/dev/null || true; }
seen=0
mount_here() { seen=$(lines); mount_at "$@"; }
summary() {
	local i
	for i in $(seq 1 100); do (($(lines) > seen)) && break; sleep 0.2; done
	grep "read-ahead summary:" "$log" | tail -1
}
# field LINE WHAT — the number before WHAT in a summary line (0 when absent).
field() {
	local v
	v=$(sed -nE "s/.*[ (]([0-9]+) $2.*/\\1/p" <<<"$1")
	echo "${v:-0}"
}

# cat_list LIST — `xargs cat` of walk/'s files named in LIST, from inside the
# mount (no readdir: names come from the list), compared with the source.
cat_list() {
	[[ -w /proc/sys/vm/drop_caches ]] && echo 2 >/proc/sys/vm/drop_caches # no dentries left
	(cd "$mnt/walk" && xargs cat <"$1") >"$TEST_TMP/got" || fail "xargs cat through the mount failed"
	(cd "$TEST_TMP/src/walk" && xargs cat <"$1") | cmp -s - "$TEST_TMP/got" || fail "bytes differ ($1)"
}

step "$n files opened in name order from a list, no readdir: one GET each, one listing, most read ahead"
mount_here "$(fault_uri "$c" data)" "$mnt"
fault clear
cat_list "$TEST_TMP/sorted.txt"
st=$(stats)
unmount_at "$mnt"
s=$(summary)
echo "# $s"
echo "# proxy: $(jf "$st" 's["methods"]'), $(jf "$st" 's["data_requests"]') blob GETs"
gets=$(jf "$st" 's["data_requests"]')
ahead=$(field "$s" "files read ahead") used=$(field "$s" "used") listed=$(field "$s" "folders listed")
((gets == n)) || fail "$gets blob GETs for $n files (one each expected): $st"
((ahead >= n / 2)) || fail "only $ahead of $n files opened in name order were fetched ahead: $s"
((listed == 1)) || fail "walk/ listed $listed times for the opens in name order (once expected): $s"
((used == ahead)) || fail "$((ahead - used)) files fetched ahead were never opened: $s"

step "4 DataLoader-like workers take batches of the sorted list: one listing, files read ahead"
mount_here "$(fault_uri "$c" data)" "$mnt"
fault clear
[[ -w /proc/sys/vm/drop_caches ]] && echo 2 >/proc/sys/vm/drop_caches
$PY - "$TEST_TMP/src/walk" "$mnt/walk" "$TEST_TMP/sorted.txt" <<-'PYEOF' || fail "bytes differ (batches)"
import os, sys
from concurrent.futures import ThreadPoolExecutor
src, mnt, names = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().split()
def same(name):
    with open(os.path.join(src, name), "rb") as a, open(os.path.join(mnt, name), "rb") as b:
        if a.read() != b.read():
            sys.exit("walk/%s differs" % name)
nb = (len(names) + 9) // 10
with ThreadPoolExecutor(4) as ex:
    list(ex.map(lambda w: [same(x) for b in range(w, nb, 4) for x in names[b * 10:(b + 1) * 10]], range(4)))
PYEOF
st=$(stats)
unmount_at "$mnt"
s=$(summary)
echo "# $s"
gets=$(jf "$st" 's["data_requests"]')
ahead=$(field "$s" "files read ahead") used=$(field "$s" "used") listed=$(field "$s" "folders listed")
((gets == n)) || fail "$gets blob GETs for $n files (one each expected): $st"
((ahead >= n / 4)) || fail "only $ahead of $n files taken in batches were fetched ahead: $s"
((used == ahead)) || fail "$((ahead - used)) files fetched ahead were never opened: $s"
((listed == 1)) || fail "walk/ listed $listed times for batches in name order (once expected): $s"

step "the same files in random order: bytes right, at most one listing, no cancelled read-ahead storm"
mount_here "$(fault_uri "$c" data)" "$mnt"
fault clear
cat_list "$TEST_TMP/shuffled.txt"
st=$(stats)
unmount_at "$mnt"
s=$(summary)
echo "# $s"
gets=$(jf "$st" 's["data_requests"]')
ahead=$(field "$s" "files read ahead") used=$(field "$s" "used") cancelled=$(field "$s" "cancelled")
listed=$(field "$s" "folders listed")
echo "# shuffled: $gets GETs, $ahead read ahead, $used used, $cancelled cancelled, $listed listings"
((listed <= 1)) || fail "walk/ listed $listed times for random opens (at most once per TTL): $s"
# In a folder this small, random opens often land near one of the 8 streams
# and read-ahead runs for a while (as after a readdir); what it fetches must
# still be mostly opened, and cancels stay few.
((cancelled <= n / 10)) || fail "$cancelled read-ahead files cancelled for random opens: $s"
((ahead - used <= n / 10)) || fail "$((ahead - used)) files fetched ahead and never opened: $s"
((gets <= n + n / 10)) || fail "$gets GETs for $n files opened at random: $st"

step "read-ahead off, and block mode: no listing, nothing fetched ahead, bytes right"
for sets in FERRY_MOUNT_READ_AHEAD_FILES=0 DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true; do
	mount_here "$(fault_uri "$c" data)" "$mnt" "$sets"
	fault clear
	cat_list "$TEST_TMP/sorted.txt"
	unmount_at "$mnt"
	s=$(summary)
	echo "# $sets: $s"
	ahead=$(field "$s" "files read ahead") listed=$(field "$s" "folders listed") looked=$(field "$s" "lookups answered")
	((ahead == 0 && listed == 0 && looked == 0)) ||
		fail "$sets: $ahead fetched ahead, $listed listings, $looked lookups from listings: $s"
done

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
