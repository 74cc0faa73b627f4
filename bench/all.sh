#!/usr/bin/env bash
# bench/all.sh — owns the quiet-machine table (issue 15 item 6): every bench/ script run
# back to back, each starting its own fixtures, at a scale that fits ~25 minutes on the
# 2-core development machine (29 min measured at load 9–20; each part's duration is in
# docs/performance.md, "Quiet-machine table"), and one markdown table of ferry against
# the best peer of every row (wall, CPU, peak RSS and their ratios: bench/table.py)
# written to BENCH_OUT (else stdout). Before and after each script it records the load average; it warns when
# the machine is not quiet (1-minute load above 0.5 at the start, or another process
# using more than a fifth of a core over a second before a script), and the table says so.
#
#   BENCH_OUT=/tmp/quiet-table.md bench/all.sh           the quiet run (< 29 min)
#   BENCH_ALL_SCALE=tiny bench/all.sh                     a trial of the harness (~6 min)
#   BENCH_ALL_ONLY="download mount" bench/all.sh          some parts only (names below)
#   BENCH_ALL_RUNS=3 bench/all.sh                         every measurement 3 times (each
#                                                         script's BENCH_RUNS / BENCH_REPEAT;
#                                                         the table gives medians, python.sh
#                                                         the fastest round); the measuring
#                                                         part of the run grows about 3x
#   BENCH_ALL_DIR=DIR                                     keep the logs there (default: a
#                                                         fresh /tmp/ferry-bench-all.XXXXXX)
# Parts (quiet scale; see `parts` below for the exact knobs): download (Azurite 1 GiB with
# and without Content-MD5, 1,000 x 256 KiB; ferry, rclone, curl, cp), s3 (s3rver, 1 GiB
# download and upload; ferry, rclone), mount (1 GiB with Content-MD5, 500 random 4 KiB
# reads, first byte, 2,000 x 256 KiB in listing order and shuffled; ferry whole-file and
# block, rclone --vfs-cache-mode off and full; `ferry download` of the same folder),
# upload (512 MiB and 1,000 x 64 KiB: upload and rw mount, ferry vs rclone), python
# (fsspec and the SDK: 1,000 x 256 KiB and 512 MiB), mltable (256 MiB CSV to CSV and JSON
# lines, pandas; 128 MiB Parquet to CSV, hyparquet), python-mltable (1,000,000 rows),
# distributed (4 ranks read 512 MiB: ferry 1x4, 2x2, 4 rclone mounts), series (sampling
# on/off, 512 MiB, 2 runs each). Every script's own output is in DIR/NAME.log, its row
# lines in DIR/rows.tsv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
SCALE=${BENCH_ALL_SCALE:-quiet}
[[ -x build/ferry && -f build/libferry.so ]] || { echo "bench/all.sh: build first (make)" >&2; exit 1; }
DIR=${BENCH_ALL_DIR:-$(mktemp -d /tmp/ferry-bench-all.XXXXXX)}
mkdir -p "$DIR"
ROWS=$DIR/rows.tsv
: >"$ROWS"

# parts: NAME SCRIPT KNOBS... (quiet scale; tiny: the same rows on a few MiB)
if [[ $SCALE == quiet ]]; then
	parts=(
		"download download.sh BENCH_SOURCES='azurite azurite-nomd5' BENCH_SHAPES='big small' BENCH_BIG=1G BENCH_SMALL_COUNT=1000 BENCH_SMALL_SIZE=256K"
		"s3 s3.sh BENCH_SHAPES=big BENCH_BIG=1G BENCH_TOOLS='ferry rclone'"
		"mount mount.sh BENCH_BIG_MIB=1024 BENCH_SMALL_COUNT=0 BENCH_WALK_COUNT=2000 BENCH_WORKLOADS='seq random ttfb walk' BENCH_TOOLS='ferry ferry-block rclone-off rclone-full'"
		"upload upload.sh BENCH_BIG_MIB=512 BENCH_SMALL_COUNT=1000"
		"python python.sh BENCH_FILES=1000 BENCH_SIZE=512M BENCH_KINDS='small big'"
		"mltable mltable.sh MLTABLE_BENCH_SIZE=256M MLTABLE_BENCH_PQ_SIZE=128M BENCH_PANDAS=1"
		"python-mltable python-mltable.sh BENCH_ROWS=1000000 BENCH_RUNS=1"
		"distributed distributed.sh BENCH_SIZE=512M"
		"series series.sh BENCH_SIZE=512M BENCH_RUNS=2"
	)
elif [[ $SCALE == tiny ]]; then
	parts=(
		"download download.sh BENCH_SOURCES='azurite azurite-nomd5' BENCH_SHAPES='big small' BENCH_BIG=32M BENCH_SMALL_COUNT=50 BENCH_SMALL_SIZE=256K"
		"s3 s3.sh BENCH_SHAPES=big BENCH_BIG=32M BENCH_TOOLS='ferry rclone'"
		"mount mount.sh BENCH_BIG_MIB=32 BENCH_SMALL_COUNT=0 BENCH_WALK_COUNT=50 BENCH_WORKLOADS='seq random ttfb walk' BENCH_TOOLS='ferry ferry-block rclone-off rclone-full' BENCH_RANDOM_READS=50"
		"upload upload.sh BENCH_BIG_MIB=32 BENCH_SMALL_COUNT=50"
		"python python.sh BENCH_FILES=50 BENCH_SIZE=32M BENCH_KINDS='small big'"
		"mltable mltable.sh MLTABLE_BENCH_SIZE=16M MLTABLE_BENCH_PQ_SIZE=8M BENCH_PANDAS=1"
		"python-mltable python-mltable.sh BENCH_ROWS=20000 BENCH_RUNS=1"
		"distributed distributed.sh BENCH_SIZE=32M"
		"series series.sh BENCH_SIZE=32M BENCH_RUNS=1"
	)
else
	echo "bench/all.sh: BENCH_ALL_SCALE is quiet or tiny" >&2
	exit 2
fi

# busy — the processes outside this run that used more than a fifth of a core over one
# second ("PID COMM PERCENT" a line), measured from /proc
busy() {
	$PY - "$$" <<'EOF'
import os, sys, time
def tree(root):  # this run's own processes
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                kids.setdefault(open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[1], []).append(p)
            except OSError:
                pass
    out, todo = set(), [root]
    while todo:
        p = todo.pop()
        out.add(p)
        todo += kids.get(p, [])
    return out
def ticks():
    t = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                s = open("/proc/%s/stat" % p).read()
                f = s.rsplit(")", 1)[1].split()
                t[p] = (s[s.index("(") + 1:s.rindex(")")], int(f[11]) + int(f[12]))
            except (OSError, ValueError):
                pass
    return t
a = ticks(); time.sleep(1); b = ticks(); mine = tree(sys.argv[1]) | {str(os.getpid())}
hz = os.sysconf("SC_CLK_TCK")
used = {p: ((t - a[p][1]) / hz, name) for p, (name, t) in b.items() if p in a and p not in mine}
for p, (u, name) in sorted(used.items(), key=lambda x: -x[1][0]):
    if u > 0.2:
        print("%s %s %.0f%%" % (p, name, u * 100))
EOF
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
warnings=()
start_load=$(load)
if awk -v l="${start_load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
	warnings+=("load average $start_load at the start (above 0.5): not a quiet machine")
	echo "bench/all.sh: WARNING: load average $start_load at the start: the machine is not quiet" >&2
fi
echo "bench/all.sh: $SCALE scale, logs in $DIR, load $start_load, $(nproc) cores" >&2

ONLY=${BENCH_ALL_ONLY:-}
META=$DIR/parts.tsv # name seconds load_before load_after busy rc
: >"$META"
t_all=$(date +%s)
for part in "${parts[@]}"; do
	read -r name script knobs <<<"$part"
	[[ -z $ONLY || " $ONLY " == *" $name "* ]] || continue
	b=$(busy | tr '\n' ';')
	if [[ -n $b ]]; then
		warnings+=("before $name, other processes were busy: ${b%;}")
		echo "bench/all.sh: WARNING: busy before $name: ${b%;}" >&2
	fi
	l0=$(load)
	[[ -z ${BENCH_ALL_RUNS:-} ]] || knobs+=" BENCH_RUNS=$BENCH_ALL_RUNS BENCH_REPEAT=$BENCH_ALL_RUNS"
	echo "bench/all.sh: $name: $knobs bench/$script (load $l0)" >&2
	t0=$(date +%s)
	rc=0
	# the knobs are the script's environment; BENCH_SUMMARY collects its rows; BENCH_DIR
	# (mltable.sh) keeps its files in this run's folder at this run's size
	env BENCH_SUMMARY="$ROWS" BENCH_SCRIPT="$name" BENCH_DIR="$DIR/mltable" \
		bash -c "export $knobs; exec bench/$script" >"$DIR/$name.log" 2>&1 </dev/null || rc=$?
	secs=$(($(date +%s) - t0))
	l1=$(load)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "$l0" "$l1" "${b%;}" "$rc" | sed 's/\t\t/\t—\t/' >>"$META"
	echo "bench/all.sh: $name: ${secs} s, exit $rc, load $l1" >&2
	((rc == 0)) || warnings+=("$name failed (exit $rc): see $DIR/$name.log")
done
rm -rf "$DIR/mltable"
total=$(($(date +%s) - t_all))

{
	echo "Produced by \`BENCH_ALL_SCALE=$SCALE${BENCH_ALL_RUNS:+ BENCH_ALL_RUNS=$BENCH_ALL_RUNS} bench/all.sh\` at commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
		"$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $((total / 60)) min $((total % 60)) s in all;" \
		"load average $start_load at the start, $(load) at the end."
	echo "Ratios are ferry / best peer (below 1: ferry is faster, uses less CPU, less memory); the best"
	echo "peer is the row's fastest tool that is not ferry (cp and cat, the local-disk ceilings, never are)."
	echo "CPU: user+sys of the tool's processes (a mount's daemon and its reader included); RSS: the peak"
	echo "of the tool's largest process (a mount's daemon; python rows: what the row added to the Python"
	echo "process, plus its largest child's); server CPU: Azurite's / s3rver's, in no tool's figures."
	echo
	if ((${#warnings[@]})); then
		echo "**Not a quiet run:**"
		for w in "${warnings[@]}"; do echo "- $w"; done
		echo
	fi
	$PY "$ROOT/bench/table.py" "$ROWS" --script
	echo
	echo "| script | knobs | seconds | load before | load after | busy before | exit |"
	echo "|---|---|---:|---|---|---|---:|"
	while IFS=$'\t' read -r name secs l0 l1 b rc; do
		for part in "${parts[@]}"; do
			read -r n s k <<<"$part"
			# shellcheck disable=SC2016 # the backquotes are markdown
			[[ $n == "$name" ]] && printf '| %s | `%s` | %s | %s | %s | %s | %s |\n' "bench/$s" "$k" "$secs" "$l0" "$l1" "$b" "$rc"
		done
	done <"$META"
} >"$DIR/table.md"
if [[ -n ${BENCH_OUT:-} ]]; then
	cp "$DIR/table.md" "$BENCH_OUT"
	echo "bench/all.sh: table in $BENCH_OUT (logs in $DIR)" >&2
else
	cat "$DIR/table.md"
fi
