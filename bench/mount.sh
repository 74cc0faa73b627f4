#!/usr/bin/env bash
# shellcheck disable=SC2016 # bench_on_exit takes code, expanded at exit
# mount.sh — owns the mount benchmark: ferry mount (whole-file mode and block mode)
# against rclone mount (--vfs-cache-mode off and full) on the same Azurite data, in
# one run, printing one table with ratios (rclone time / ferry time: > 1 means
# ferry is faster). Every row runs on a fresh mount so no tool reads another's
# page cache.
#
# Every row times what the user waits for, open() included (in whole-file mode
# open() is where the file downloads), on a fresh mount; where the first byte comes
# long before the last, its time (open + first read) is a row of its own.
# Rows: sequential read of one big file, with a stored Content-MD5 (what Azure tools
# upload; ferry checks it) and a copy without one; BENCH_SMALL_COUNT small files read
# by 8 threads (epoch 1, then epoch 2 on the same mount); BENCH_RANDOM_READS (500)
# random 4 KiB reads of the big file; time to the first entry and to the full
# listing of a flat folder of BENCH_LIST_COUNT blobs; peak RSS of the mount process.
# The closing table (bench_table) gives per row and tool the wall time, the CPU of the
# reader plus the mount daemon, and the daemon's peak RSS, against the best rclone mode.
# `walk`: a flat folder of BENCH_WALK_COUNT files of BENCH_WALK_KIB KiB (full:
# 2,000 x 256 KiB) read once by 8 readers in listing order (a DataLoader without
# shuffle: the mount's read-ahead of the next files), and once shuffled, each on a
# fresh mount; `ferry download` of the same folder is timed in the same run (the
# line after the table gives ferry/download and rclone-off/ferry). The tool
# `ferry-noahead` is whole-file mode with FERRY_MOUNT_READ_AHEAD_FILES=0.
# BENCH_WALK_DELAY=S: the walk rows (mounts and download) go through the fixtures'
# fault proxy, every blob GET held S seconds first (a far server: loopback Azurite
# answers in well under a millisecond, a storage account in another region in
# tens); the proxy also closes every connection, for every tool alike.
# BENCH_WALK_INDEX=1: the walk readers take the names (in name order) from an
# index instead of listing the folder (a DataLoader over an annotations file).
#
#   bench/mount.sh                       BENCH_SCALE=small (256 MiB, 500 files, 5,000 blobs)
#   BENCH_SCALE=full bench/mount.sh      1 GiB, 2,000 small files, 100,000 blobs (slow to upload)
#   BENCH_WORKLOADS="seq seqn" …         only these rows (seq seqn cat small random list ttfb walk)
#   BENCH_BIG_MIB=4096 BENCH_WORKLOADS=ttfb BENCH_TOOLS="ferry ferry-block"
#                                        time to first byte of a big file, both modes
#   BENCH_TOOLS="base-block ferry-block rclone-off" BENCH_FERRY_BASE=/path/to/old/ferry
#                                        before/after: base-block is block mode run by
#                                        another build (same data, same run), base its
#                                        whole-file mode
#   BENCH_REPEAT=3 …                     measure and print the table 3 times (one upload)
#   BENCH_TOOLS="ferry-block ferry-block-nomd5"   block mode checking the stored MD5 of a
#                                        file read in order, and with FERRY_VERIFY_MD5=off
#   BENCH_WORKLOADS=cat BENCH_BLOCK_SIZE=1MiB BENCH_TOOLS="base-block ferry-block rclone-off"
#                                        a plain `cat` (the kernel's reads out of order)
#                                        in block mode with 1 MiB blocks, before/after
#   BENCH_TOOLS="ferry-block ferry-block-tight"   block mode with the default memory budget
#                                        and with FERRY_MEMORY_LIMIT=$BENCH_TIGHT_LIMIT (64MiB)
#
# Uses the running fixtures when AZURITE_URL is set, else starts its own. The flat
# folder lives in a private Azurite filled by tests/fixtures/bulk-blobs.py (Azurite
# takes ~7.5 ms of CPU per Put Blob: 100,000 uploads would take over 12 minutes).
set -euo pipefail

source "$(dirname "$0")/lib.sh" mount rclone

case ${BENCH_SCALE:-small} in
full) big=1024 small_n=2000 list_n=100000 walk_n=2000 ;;
small) big=256 small_n=500 list_n=5000 walk_n=500 ;;
*) echo "bench: BENCH_SCALE is full or small" >&2; exit 2 ;;
esac
big=${BENCH_BIG_MIB:-$big} small_n=${BENCH_SMALL_COUNT:-$small_n} list_n=${BENCH_LIST_COUNT:-$list_n}
walk_n=${BENCH_WALK_COUNT:-$walk_n} walk_kib=${BENCH_WALK_KIB:-256}

server_pid=
bench_on_exit 'if grep -qF " $MNT " /proc/self/mountinfo; then umount -l "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; fi'
bench_on_exit '[[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null'
bench_on_exit '$PY tests/fixtures/bulk-blobs.py stop "$WORK/bulk" 2>/dev/null'
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY

WORKLOADS=${BENCH_WORKLOADS:-seq seqn small random list walk} # a subset leaves the other rows empty
echo "bench: making data: 1 x $big MiB, $small_n x 64 KiB, $walk_n x $walk_kib KiB, a flat folder of $list_n blobs" >&2
DATA=$WORK/data
mkdir -p "$DATA/big" "$DATA/small" "$DATA/walk"
: >"$DATA/big/file.bin"
for ((mib = 0; mib < big; mib += 256)); do # openssl rand stops below 2 GiB at once
	openssl rand $(((big - mib < 256 ? big - mib : 256) * 1048576)) >>"$DATA/big/file.bin"
done
[[ " $WORKLOADS " == *" walk "* ]] || walk_n=0
$PY - "$DATA" "$small_n" "$list_n" "$walk_n" "$walk_kib" <<'EOF'
import os, sys
root, n, m, w, wk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for i in range(n):
    d = os.path.join(root, "small", "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "s%05d.bin" % i), "wb") as f:
        f.write(os.urandom(65536))
for i in range(w):
    with open(os.path.join(root, "walk", "w%05d.bin" % i), "wb") as f:
        f.write(os.urandom(wk * 1024))
EOF
container=mbench-$$-$RANDOM
$PY tests/fixtures/azcli.py mkcontainer "$container"
echo "bench: uploading to Azurite ($container)" >&2
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN \
	"$FERRY" upload "$DATA" "$AZURITE_URL/$container/bench" >/dev/null 2>&1
[[ " $WORKLOADS " != *" seqn "* ]] || AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_VERIFY_MD5=off \
	"$FERRY" upload "$DATA/big/file.bin" "$AZURITE_URL/$container/bench/big-nomd5/file.bin" >/dev/null 2>&1
sas=$($PY tests/fixtures/azcli.py sas --perms rl --hours 12)
BULK_URL=
if [[ " $WORKLOADS " == *" list "* ]]; then
	echo "bench: $list_n empty blobs in a private Azurite" >&2
	BULK_URL=$($PY tests/fixtures/bulk-blobs.py start "$WORK/bulk" flat bench/flat/n "$list_n" |
		sed -n 's/^AZURITE_BULK_URL=//p')
fi
BULK_CONN="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=$BULK_URL;"

# mount_tool TOOL [bulk] — mount the container's bench folder (or the bulk
# Azurite's) at $MNT; sets server_pid.
mount_tool() {
	local url=$AZURITE_URL cont=$container conn=$AZURITE_CONN dir=bench
	# The flat folder itself is the mount's root: Azurite answers a delimiter
	# listing of its parent by walking all its blobs (minutes for 100,000).
	[[ ${2:-} == bulk ]] && url=$BULK_URL cont=flat conn=$BULK_CONN dir=bench/flat
	[[ ${2:-} == far ]] && url=$FAULT_URL conn=$FAULT_CONN
	case $1 in
	ferry | ferry-block | ferry-noahead | base | base-block | ferry-block-tight | ferry-block-nomd5)
		local sets=() bin=$FERRY
		[[ $1 == *-block* ]] && sets=(--set DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true)
		[[ $1 == *-tight ]] && sets+=(--set "FERRY_MEMORY_LIMIT=${BENCH_TIGHT_LIMIT:-64MiB}")
		[[ $1 == *-noahead ]] && sets=(--set FERRY_MOUNT_READ_AHEAD_FILES=0)
		[[ $1 == *-nomd5 ]] && sets+=(--set FERRY_VERIFY_MD5=off)
		[[ $1 == *-block* && -n ${BENCH_BLOCK_SIZE:-} ]] && sets+=(--set "DATASET_MOUNT_READ_BLOCK_SIZE=$BENCH_BLOCK_SIZE")
		[[ $1 == base* ]] && bin=${BENCH_FERRY_BASE:?base and base-block need BENCH_FERRY_BASE}
		AZURE_STORAGE_CONNECTION_STRING=$conn "$bin" mount "$url/$cont/$dir" "$MNT" \
			--cache-dir "$WORK/cache-ferry" "${sets[@]}"
		server_pid=$(grep -o "served by process [0-9]*" "$FERRY_HOME/logs/mount.log" | tail -1 | awk '{print $4}')
		;;
	rclone-off | rclone-full)
		RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$url/$cont?$sas" \
			rclone mount --config /dev/null --read-only --vfs-cache-mode "${1#rclone-}" \
			--cache-dir "$WORK/cache-rclone" "az:$cont/$dir" "$MNT" >"$WORK/rclone.log" 2>&1 &
		server_pid=$!
		for _ in $(seq 1 100); do grep -qF " $MNT " /proc/self/mountinfo && break; sleep 0.1; done
		;;
	esac
}
unmount_tool() {
	read -r daemon_cpu peak_kb < <(bench_proc "$server_pid") # the daemon's CPU and peak RSS
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$server_pid" 2>/dev/null || true
	server_pid=
	rm -rf "$WORK/cache-ferry" "$WORK/cache-rclone"
}

# Each workload prints seconds (or "a b" for two figures), the clock started
# before open().
# w_seq [big|big-nomd5]: "all first": the whole file, and its first MiB.
w_seq() { $PY -c 'import sys,time;t=time.monotonic();f=open(sys.argv[1],"rb",buffering=0)
f.read(1<<20); t1=time.monotonic()-t
while f.read(1<<20): pass
print("%.3f %.3f"%(time.monotonic()-t,t1))' "$MNT/${1:-big}/file.bin"; }
w_seqn() { w_seq big-nomd5; }
# w_cat: a plain `cat` of the big file (128 KiB reads through the kernel's
# read-ahead, which reach the mount slightly out of order), clock before open.
w_cat() { $PY -c 'import subprocess,sys,time;t=time.monotonic()
subprocess.run(["cat",sys.argv[1]],stdout=subprocess.DEVNULL,check=True)
print("%.3f"%(time.monotonic()-t))' "$MNT/big/file.bin"; }
w_small() {
	$PY - "$MNT/small" <<'EOF'
import os, sys, time
from concurrent.futures import ThreadPoolExecutor
root = sys.argv[1]
def epoch():
    t = time.monotonic()
    files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda p: len(open(p, "rb").read()), files))
    return time.monotonic() - t
print("%.3f %.3f" % (epoch(), epoch()))
EOF
}
# w_walk [shuffled]: 8 readers open every file of walk/ in listing order (or
# shuffled), as a DataLoader's workers do; the clock starts before the listing.
w_walk() {
	$PY - "$MNT/walk" "${1:-}" <<'EOF'
import os, random, sys, time
from concurrent.futures import ThreadPoolExecutor
t = time.monotonic()
n = int(os.environ.get("WALK_INDEX") or 0)  # names from an index, no listing
names = ["w%05d.bin" % i for i in range(n)] if n else os.listdir(sys.argv[1])
if sys.argv[2]:
    random.Random(1).shuffle(names)
def read(p):
    with open(os.path.join(sys.argv[1], p), "rb") as f:
        return len(f.read())
with ThreadPoolExecutor(8) as ex:
    n = sum(ex.map(read, names))
print("%.3f %d" % (time.monotonic() - t, n))
EOF
}
w_walkshuf() { w_walk shuffled; }
w_random() {
	$PY - "$MNT/big/file.bin" "$NRANDOM" <<'EOF'
import os, random, sys, time
size = os.stat(sys.argv[1]).st_size; rnd = random.Random(1)
t = time.monotonic()
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(int(sys.argv[2])):
    os.pread(fd, 4096, rnd.randrange(size - 4096))
    if i == 0:
        t1 = time.monotonic() - t
print("%.3f %.3f" % (time.monotonic() - t, t1))
EOF
}
# w_ttfb: open + the first 4 KiB of the big file, nothing more (time to first
# byte: in whole-file mode open() no longer waits for the whole file).
w_ttfb() { $PY -c 'import os,sys,time;t=time.monotonic();fd=os.open(sys.argv[1],os.O_RDONLY)
os.pread(fd,4096,0); print("%.3f"%(time.monotonic()-t))' "$MNT/big/file.bin"; }
w_list() {
	$PY - "$MNT" <<'EOF'
import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
t = time.monotonic(); d = libc.opendir(sys.argv[1].encode()); libc.readdir(d); t1 = time.monotonic() - t
while libc.readdir(d): pass
print("%.3f %.3f" % (t1, time.monotonic() - t)); libc.closedir(d)
EOF
}

# settle — before each mount, wait (at most 60 s) until our own Azurite has been
# idle for a second: after the upload (and after rclone full's cache filling) it
# keeps a core busy for seconds, which the next row would otherwise pay for.
AZ_PID=
[[ $BENCH_OWN_FIXTURES -eq 1 && -f $FERRY_FIXTURE_DIR/azurite.pid ]] && AZ_PID=$(cat "$FERRY_FIXTURE_DIR/azurite.pid")
settle() {
	[[ -n $AZ_PID && -r /proc/$AZ_PID/stat ]] || return 0
	$PY - "$AZ_PID" <<'EOF' || true
import os, sys, time
def ticks(pid):
    v = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])
hz = os.sysconf("SC_CLK_TCK"); end = time.monotonic() + 60
while time.monotonic() < end:
    a = ticks(sys.argv[1]); time.sleep(1)
    if ticks(sys.argv[1]) - a < 0.05 * hz: break
EOF
}

# mount_row_label WORKLOAD — the row's name in bench_row's table
mount_row_label() {
	case $1 in
	seq) echo "mount: open + read ${big} MiB, Content-MD5" ;;
	seqn) echo "mount: open + read ${big} MiB, no MD5" ;;
	cat) echo "mount: cat of ${big} MiB, Content-MD5" ;;
	small) echo "mount: ${small_n} x 64 KiB, 8 threads, epochs 1 + 2" ;;
	random) echo "mount: open + ${NRANDOM} random 4 KiB reads of ${big} MiB" ;;
	ttfb) echo "mount: open + first 4 KiB of ${big} MiB" ;;
	walk) echo "mount: ${walk_n} x ${walk_kib} KiB, 8 readers, listing order" ;;
	walkshuf) echo "mount: ${walk_n} x ${walk_kib} KiB, 8 readers, shuffled" ;;
	list) echo "mount: full listing of ${list_n} blobs" ;;
	esac
}
# mount_row TOOL WORKLOAD OUT — bench_row of one workload on a fresh mount: the reader's
# wall time (both epochs for small, the full listing for list), CPU of the reader plus
# the mount daemon, the daemon's peak RSS
mount_row() {
	local wall cpu
	case $2 in
	small) wall=$(bench_add "${3% *}" "${3#* }") ;;
	list) wall=${3#* } ;;
	*) wall=${3%% *} ;;
	esac
	cpu=$(awk -v d="${daemon_cpu:-0}" 'END { printf "%.2f", $(NF - 1) + $NF + d }' "$WORK/reader.time" 2>/dev/null || echo -)
	bench_row "$(mount_row_label "$2")" "$1" "$wall" "$cpu" "${peak_kb:-0}" \
		"$(bench_servers_since "$srv0")"
}

TOOLS=${BENCH_TOOLS:-ferry ferry-block rclone-off rclone-full}
WALK_DELAY=${BENCH_WALK_DELAY:-}
if [[ -n $WALK_DELAY ]]; then
	if ! curl -sf -X POST -d "$WALK_DELAY" "$FAULT_CTL/delay" >/dev/null ||
		! curl -sf -X POST -d "1 delay" "$FAULT_CTL/every" >/dev/null; then
		echo "bench: the fault proxy ($FAULT_CTL) does not answer" >&2
		exit 1
	fi
	echo "bench: walk rows through the fault proxy, every blob GET held $WALK_DELAY s" >&2
fi
TMO=${BENCH_TIMEOUT:-120}        # seconds per workload; a slower one shows as ">TMO"
NRANDOM=${BENCH_RANDOM_READS:-500}
for rep in $(seq 1 "${BENCH_REPEAT:-1}"); do
((${BENCH_REPEAT:-1} == 1)) || echo "bench: repetition $rep, load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A R
for tool in $TOOLS; do
	echo "bench: $tool" >&2
	peak=0
	for w in ${WORKLOADS/walk/walk walkshuf}; do
		[[ $w == list ]] || settle
		srv0=$(bench_servers_cpu)
		mount_tool "$tool" "$([[ $w == list ]] && echo bulk)$([[ $w == walk* && -n $WALK_DELAY ]] && echo far)"
		out=$(/usr/bin/time -f '%U %S' -o "$WORK/reader.time" timeout "$TMO" \
			bash -c "$(declare -f w_seq w_walk "w_$w"); MNT=$MNT PY=$PY NRANDOM=$NRANDOM WALK_INDEX=${BENCH_WALK_INDEX:+$walk_n} w_$w" 2>/dev/null ||
			echo ">$TMO >$TMO")
		unmount_tool
		mount_row "$tool" "$w" "$out"
		((${peak_kb:-0} > peak)) && peak=$peak_kb
		case $w in
		small) R[$tool,small1]=${out% *} R[$tool,small2]=${out#* } ;;
		list) R[$tool,first]=${out% *} R[$tool,listall]=${out#* } ;;
		ttfb) R[$tool,ttfb]=${out% *} ;;
		*) R[$tool,$w]=${out% *} R[$tool,${w}1]=${out#* } ;;
		esac
	done
	R[$tool,rss]=$((peak / 1024))
done
if [[ " $WORKLOADS " == *" walk "* ]]; then
	# the same folder through the download engine, into a fresh folder
	settle
	rm -rf "$WORK/dl-walk" "$WORK/download.time"
	srv0=$(bench_servers_cpu)
	t0=$(date +%s.%N)
	if [[ -n $WALK_DELAY ]]; then
		AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN /usr/bin/time -f '%U %S %M' -o "$WORK/download.time" "$FERRY" download "$FAULT_URL/$container/bench/walk" \
			"$WORK/dl-walk" >/dev/null 2>&1 || echo "bench: ferry download of walk/ failed" >&2
	else
		AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN /usr/bin/time -f '%U %S %M' -o "$WORK/download.time" \
			"$FERRY" download "$AZURITE_URL/$container/bench/walk" \
			"$WORK/dl-walk" >/dev/null 2>&1 || echo "bench: ferry download of walk/ failed" >&2
	fi
	R[download,walk]=$($PY -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$(date +%s.%N)")
	[[ ! -s $WORK/download.time ]] || bench_row "$(mount_row_label walk)" ferry-download "${R[download,walk]}" \
		"$(awk 'END { printf "%.2f", $1 + $2 }' "$WORK/download.time")" "$(awk 'END { print $3 }' "$WORK/download.time")" \
		"$(bench_servers_since "$srv0")"
	rm -rf "$WORK/dl-walk"
fi

rows="seq:sequential read ${big} MiB, open included, with Content-MD5 (s) seq1:same, first MiB (open + first read) (s) seqn:sequential read ${big} MiB, no stored MD5 (s) seqn1:same, first MiB (s) cat:cat of ${big} MiB, Content-MD5 (s) small1:${small_n} small files, 8 threads, epoch 1 (s) small2:same, epoch 2 (s) random:open + ${NRANDOM} random 4 KiB reads (s) random1:same, open + first read (s) ttfb:open + first 4 KiB of ${big} MiB (s) walk:${walk_n} x ${walk_kib} KiB, 8 readers ${BENCH_WALK_INDEX:+by name from an index, not }in listing order (s) walkshuf:same, shuffled (s) first:first entry of ${list_n} (s) listall:full listing of ${list_n} (s) rss:peak RSS of the mount (MiB)"
printf '%-56s' "row"
for tool in $TOOLS; do printf ' %12s' "$tool"; done
printf ' %s\n' "  rclone-off/ferry  rclone-full/ferry (best ferry mode)  rclone-off/whole  whole/block"
for key in seq seq1 seqn seqn1 cat small1 small2 random random1 ttfb walk walkshuf first listall rss; do
	label=$(echo "$rows" | grep -o "$key:[^:]*" | sed "s/^$key://; s/ [a-z0-9]*$//")
	printf '%-56s' "$label"
	for tool in $TOOLS; do printf ' %12s' "${R[$tool,$key]:-}"; done
	$PY - "${R[ferry,$key]:-}" "${R[ferry-block,$key]:-}" "${R[rclone-off,$key]:-}" "${R[rclone-full,$key]:-}" <<'EOF'
import sys
def f(x):
    try: return float(x.lstrip(">"))
    except ValueError: return None
a, b, off, full = (f(x) for x in sys.argv[1:])
best = min(x for x in (a, b) if x is not None) if (a is not None or b is not None) else None
r = lambda o: "%.2fx" % (o / best) if o is not None and best else "-"
# A '>' figure (timed out) gives a lower bound of the ratio.
q = lambda x, y: "%.2fx" % (x / y) if x is not None and y else "-"
# whole-file mode on its own: against rclone off, and against block mode
print("  %8s  %8s  %8s  %8s" % (r(off), r(full), q(off, a), q(a, b)))
EOF
done
if [[ " $WORKLOADS " == *" walk "* ]]; then
	$PY - "${R[ferry,walk]:-}" "${R[rclone-off,walk]:-}" "${R[download,walk]:-}" "${R[ferry-noahead,walk]:-}" <<'EOF'
import sys
def f(x):
    try: return float(x.lstrip(">"))
    except ValueError: return None
m, off, dl, noahead = (f(x) for x in sys.argv[1:])
r = lambda a, b: "%.2fx" % (a / b) if a is not None and b else "-"
print("walk, listing order: ferry mount %s s, rclone-off %s s (rclone-off/ferry %s), ferry download %s s "
      "(ferry mount/download %s), read-ahead off %s s (off/on %s)"
      % (sys.argv[1] or "-", sys.argv[2] or "-", r(off, m), sys.argv[3] or "-", r(m, dl), sys.argv[4] or "-", r(noahead, m)))
EOF
fi
done
bench_table
