#!/usr/bin/env bash
# bench/distributed.sh — owns the distributed-job staging benchmark (issue 11): 4 ranks
# read the same big file (default 1 GiB) through ro_mount, on this machine:
#   ferry 1x4      one `ferry run` of 1 node x 4 ranks (pytorch): one mount shared by the
#                  node's 4 ranks
#   ferry 2x2      2 nodes x 2 ranks: one mount per node
#   rclone 4x      4 independent `rclone mount --vfs-cache-mode off` (one per rank, as
#                  if each rank mounted its own), each read by one reader, all at once
# Every reader checks the file's MD5. Printed per row: wall seconds (the ferry rows
# include the job's start, mount and unmount), bytes Azurite sent (from its
# /proc/PID/io wchar, when the bench runs its own fixtures; else "-"), ferry's own
# count of bytes fetched from storage (nodes/<K>.json), and both as multiples of the
# file's size: ~1x per node for ferry, ~4x for four rclone mounts.
#
#   bench/distributed.sh                    1 GiB
#   BENCH_SIZE=256M bench/distributed.sh    smaller
set -euo pipefail

source "$(dirname "$0")/lib.sh" distributed rclone time

SIZE=${BENCH_SIZE:-1G}
DATA=$WORK/data
mkdir -p "$DATA"
bytes=$($PY -c 'import sys; s=sys.argv[1]; m={"K":1<<10,"M":1<<20,"G":1<<30}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s))' "$SIZE")
echo "bench: $SIZE of random data" >&2
head -c "$bytes" /dev/urandom >"$DATA/big.bin"
want=$(md5sum <"$DATA/big.bin" | cut -d' ' -f1)
container=dbench-$$-$RANDOM
$PY tests/fixtures/azcli.py mkcontainer "$container"
echo "bench: uploading to Azurite ($container)" >&2
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN "$FERRY" upload "$DATA/big.bin" "$AZURITE_URL/$container/big/big.bin" >/dev/null 2>&1
rm -f "$DATA/big.bin"
sas=$($PY tests/fixtures/azcli.py sas --perms rl --hours 12)

AZ_PID=
[[ $BENCH_OWN_FIXTURES -eq 1 && -f ${FERRY_FIXTURE_DIR:-/nonexistent}/azurite.pid ]] && AZ_PID=$(cat "$FERRY_FIXTURE_DIR/azurite.pid")
sent() { [[ -n $AZ_PID && -r /proc/$AZ_PID/io ]] && awk '/^wchar/ {print $2}' "/proc/$AZ_PID/io" || echo ""; }

bench_datastore "$container"

declare -A WALL SENT OWN
# ferry_row LABEL NODES PER_NODE
ferry_row() {
	cat >"$WORK/job.yml" <<-YML
	command: md5sum \${{inputs.big}} | grep -q $want && echo rank \$RANK ok
	inputs:
	  big: {type: uri_file, path: "azureml://datastores/bench/paths/big/big.bin", mode: ro_mount}
	distribution: {type: pytorch, process_count_per_instance: $3}
	resources: {instance_count: $2}
	YML
	local a t0 name=b$$_$2x$3
	a=$(sent)
	s0=$(bench_servers_cpu)
	t0=$(date +%s.%N)
	bench_time "$FERRY" run "$WORK/job.yml" --name "$name" >"$WORK/$name.out" 2>"$WORK/$name.err"
	[[ $BT_RC -eq 0 ]] || { cat "$WORK/$name.err" >&2; exit 1; }
	WALL[$1]=$($PY -c "import sys,time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$t0")
	# the job's whole tree: ferry run, its mounts (forked children), the ranks' md5sum
	bench_row "distributed: 4 ranks read $SIZE via ro_mount" "${1/ /-}" "${WALL[$1]}" "$BT_CPU" "$BT_RSS" \
		"$(bench_servers_since "$s0")"
	[[ $(grep -c "ok" "$FERRY_HOME/jobs/$name"/user_logs/std_log_process_*.txt | awk -F: '{s+=$2} END {print s}') == 4 ]] ||
		{ echo "bench: a rank of $1 read wrong bytes" >&2; exit 1; }
	[[ -n $a ]] && SENT[$1]=$(($(sent) - a))
	OWN[$1]=$($PY - "$FERRY_HOME/jobs/$name/nodes" <<-'PY'
	import glob, json, sys
	print(sum(i.get("mount", {}).get("storage_bytes", 0) for f in glob.glob(sys.argv[1] + "/*.json")
	          for i in json.load(open(f))["figures"]["inputs"]))
	PY
	)
}
rclone_row() {
	local a t0 i pids=() readers=() c0 c1 s0 rss=0 r
	a=$(sent)
	s0=$(bench_servers_cpu)
	bench_children_cpu c0
	t0=$(date +%s.%N)
	for i in 0 1 2 3; do
		mkdir -p "$WORK/r$i"
		RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$AZURITE_URL/$container?$sas" \
			rclone mount --config /dev/null --read-only --vfs-cache-mode off \
			"az:$container/big" "$WORK/r$i" >"$WORK/rclone$i.log" 2>&1 &
		pids+=($!)
	done
	for i in 0 1 2 3; do
		for _ in $(seq 1 100); do grep -qF " $WORK/r$i " /proc/self/mountinfo && break; sleep 0.1; done
		(md5sum "$WORK/r$i/big.bin" | grep -q "$want") &
		readers+=($!)
	done
	for i in 0 1 2 3; do wait "${readers[$i]}" || { echo "bench: rclone reader $i read wrong bytes" >&2; exit 1; }; done
	for p in "${pids[@]}"; do # the largest peak RSS of the four daemons
		read -r _ r < <(bench_proc "$p")
		((r > rss)) && rss=$r
	done
	for i in 0 1 2 3; do umount "$WORK/r$i" 2>/dev/null || umount -l "$WORK/r$i"; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	WALL[$1]=$($PY -c "import sys,time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$t0")
	bench_children_cpu c1 # the four daemons and the readers: all waited for above
	bench_row "distributed: 4 ranks read $SIZE via ro_mount" "${1/ /-}" "${WALL[$1]}" \
		"$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" "$rss" "$(bench_servers_since "$s0")"
	[[ -n $a ]] && SENT[$1]=$(($(sent) - a))
	OWN[$1]=-
}

echo "bench: ferry 1 node x 4 ranks" >&2
ferry_row "ferry 1x4" 1 4
echo "bench: ferry 2 nodes x 2 ranks" >&2
ferry_row "ferry 2x2" 2 2
echo "bench: 4 x rclone mount" >&2
rclone_row "rclone 4x"

printf '%-12s %9s %16s %8s %16s %8s\n' row "wall (s)" "Azurite sent" "x size" "ferry fetched" "x size"
for row in "ferry 1x4" "ferry 2x2" "rclone 4x"; do
	s=${SENT[$row]:-} o=${OWN[$row]:-}
	printf '%-12s %9s %16s %8s %16s %8s\n' "$row" "${WALL[$row]}" "${s:--}" \
		"$([[ -n $s ]] && $PY -c "print('%.2fx' % ($s / $bytes))" || echo -)" "${o:--}" \
		"$([[ $o =~ ^[0-9]+$ ]] && $PY -c "print('%.2fx' % ($o / $bytes))" || echo -)"
done
$PY -c "import sys; print('wall time, 4 x rclone mount / ferry 1x4: %.2fx' % (float(sys.argv[1]) / float(sys.argv[2])))" \
	"${WALL[rclone 4x]}" "${WALL[ferry 1x4]}"
bench_table
