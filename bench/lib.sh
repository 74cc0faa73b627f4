# shellcheck shell=bash disable=SC2034 # (PY, BT_*, ...: read by the scripts)
# bench/lib.sh — the common start of the benchmarks, sourced after `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib.sh" NAME [rclone] [time] [nofixtures]
#
# sets ROOT (and cd's there), PY (Debian's Python), FERRY (checked built), WORK (a
# fresh folder ${TMPDIR:-/tmp}/ferry-NAME-bench.XXXXXX, removed on exit), MNT
# ($WORK/mnt) and FERRY_HOME; checks that rclone and /usr/bin/time are there when
# named; uses the running fixtures when AZURITE_URL and NGINX_ROOT are set, else
# starts its own (tests/fixtures/services.sh; BENCH_OWN_FIXTURES=1) and stops them on exit
# (`nofixtures`: none, for a bench of local files). A script adds its own clean-up with
# `bench_on_exit 'COMMAND'` (run first, in order, at exit; variables are read then).
#
# Every script reports each measurement with `bench_row` and ends with `bench_table`
# (below): one line per row and ferry tool with its wall time, CPU and peak RSS, the best
# peer's, and the three ratios ferry / peer (bench/table.py says how the peer is chosen);
# with BENCH_SUMMARY=FILE the row lines are also appended there (bench/all.sh reads them).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
FERRY=${FERRY:-$ROOT/build/ferry}
[[ -x $FERRY ]] || { echo "bench: $FERRY not built (make)" >&2; exit 1; }
for _need in "${@:2}"; do
	case $_need in
	rclone) command -v rclone >/dev/null || { echo "bench: rclone missing (apt-get install rclone)" >&2; exit 1; } ;;
	time) [[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; } ;;
	nofixtures) ;;
	*) echo "bench/lib.sh: unknown need $_need" >&2; exit 2 ;;
	esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-$1-bench.XXXXXX")
chmod 755 "$WORK" # nginx (another user) serves files below it
MNT=$WORK/mnt
mkdir -p "$MNT"
_bench_exit=()
BENCH_OWN_FIXTURES=0
# bench_datastore CONTAINER — the workspace datastore "bench": Azurite's CONTAINER with
# the account key (the benches' jobs name it azureml://datastores/bench/paths/...).
bench_datastore() {
	cat >"$WORK/ds.yml" <<YML
name: bench
type: azure_blob
account_name: devstoreaccount1
container_name: $1
endpoint: $AZURITE_URL
credentials:
  account_key: $AZURITE_KEY
YML
	"$FERRY" datastore create --file "$WORK/ds.yml" >/dev/null
}

bench_on_exit() { _bench_exit+=("$1"); }
_bench_cleanup() {
	local c
	for c in "${_bench_exit[@]}"; do eval "$c" || true; done
	if [[ $BENCH_OWN_FIXTURES -eq 1 ]]; then tests/fixtures/services.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$WORK"
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM
if [[ " ${*:2} " != *" nofixtures "* ]] && [[ -z ${AZURITE_URL:-} || -z ${NGINX_ROOT:-} ]]; then
	export FERRY_FIXTURE_DIR=$WORK/fixtures
	eval "$(tests/fixtures/services.sh start)"
	BENCH_OWN_FIXTURES=1
fi
export FERRY_HOME=$WORK/ferry-home

# --- rows: wall, CPU and peak RSS per tool, ratios against the best peer -------
BENCH_SCRIPT=${BENCH_SCRIPT:-$1} # the table's "script" column (bench/all.sh: its part's name)
_bench_rows=$WORK/rows.tsv
: >"$_bench_rows"

# bench_row ROW TOOL WALL_S CPU_S RSS_KIB [SERVER_CPU_S [LOAD]] — one measurement of TOOL on
# ROW (a label naming the work and its size; the same label for every tool of the row).
# WALL_S: what the user waits for; CPU_S: user+sys of the tool's whole process tree, a
# mount's daemon included; RSS_KIB: the peak RSS of the tool's largest process (for a
# mount: its daemon's); SERVER_CPU_S: what the storage server (Azurite, s3rver, moto)
# spent meanwhile, "-" when not known — never part of the tool's figures. A figure may be
# FAIL, WRONG or ">S" (timed out). TOOL names starting with "ferry" are ferry; cp and cat
# are local ceilings; any other tool is a peer. LOAD: the 1-minute load average when it
# was measured (default: now). Line written (tab-separated, also to
# $BENCH_SUMMARY when set): script row tool wall cpu rss_kib server_cpu load1.
bench_row() {
	local line
	line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$BENCH_SCRIPT" "$1" "$2" "$3" "$4" "$5" "${6:--}" \
		"${7:-$(cut -d' ' -f1 /proc/loadavg)}")
	printf '%s\n' "$line" >>"$_bench_rows"
	[[ -z ${BENCH_SUMMARY:-} ]] || printf '%s\n' "$line" >>"$BENCH_SUMMARY"
}

# bench_table — print this run's rows: ferry against the best peer (bench/table.py).
bench_table() {
	echo
	echo "ferry against the best peer of each row (ratio = ferry / peer: below 1, ferry is faster / uses less):"
	$PY "$ROOT/bench/table.py" "$_bench_rows"
}

# bench_time CMD... — run CMD under /usr/bin/time; sets BT_RC (its exit status), BT_WALL
# (seconds), BT_CPU (user+sys seconds of CMD and every process it waited for, directly
# or not), BT_RSS (KiB, the largest of those processes' peak RSS) and BT_SRV (the
# servers' CPU seconds meanwhile, bench_servers_cpu).
bench_time() {
	local u s s0
	BT_RC=0
	s0=$(bench_servers_cpu)
	/usr/bin/time -f '%e %U %S %M' -o "$WORK/bench_time.out" "$@" || BT_RC=$?
	read -r BT_WALL u s BT_RSS < <(tail -1 "$WORK/bench_time.out")
	BT_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	BT_SRV=$(bench_servers_since "$s0")
}

# bench_proc PID — "CPU_S RSS_KIB" of a running process: user+sys seconds of all its
# threads so far, and its peak RSS (VmHWM); "0 0" once it is gone. For a mount daemon,
# read just before the unmount.
bench_proc() {
	local cpu rss
	cpu=$(awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null) || cpu=0
	rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null) || rss=0
	echo "${cpu:-0} ${rss:-0}"
}

# bench_servers_cpu — CPU seconds so far of the fixtures' storage servers (Azurite,
# s3rver, moto, the fault proxy), when their pids are known (FERRY_FIXTURE_DIR).
bench_servers_cpu() {
	local n total=0 c
	for n in azurite s3rver s3server faultproxy; do
		[[ -r ${FERRY_FIXTURE_DIR:-/nonexistent}/$n.pid ]] || continue
		read -r c _ < <(bench_proc "$(cat "$FERRY_FIXTURE_DIR/$n.pid")")
		total=$(awk -v a="$total" -v b="$c" 'BEGIN { print a + b }')
	done
	echo "$total"
}

# bench_servers_since CPU0 — the servers' CPU seconds since bench_servers_cpu said CPU0
bench_servers_since() { awk -v a="$1" -v b="$(bench_servers_cpu)" 'BEGIN { printf "%.2f", b - a }'; }

# bench_children_cpu VAR — VAR = user+sys seconds of every child this shell has waited
# for so far (bash's `times`; in the shell itself, not in $(...): a subshell starts at 0)
bench_children_cpu() {
	times >"$WORK/bench_times.out"
	printf -v "$1" '%s' "$(awk 'END { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
		printf "%.2f", s }' "$WORK/bench_times.out")"
}

# bench_add A B — A + B with two decimals (figures that are not numbers pass through)
bench_add() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == a && b + 0 == b) printf "%.2f", a + b; else print a }'; }
