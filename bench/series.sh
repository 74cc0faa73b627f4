#!/usr/bin/env bash
# bench/series.sh — owns the cost of the job's time series (issue 14): one job whose
# command reads a big file (default 1 GiB) through an ro_mount input from Azurite, run
# with sampling on (FERRY_SAMPLE=on, one sample a second) and off, alternating,
# BENCH_RUNS times each, in one run of the script. Printed per run: wall seconds of
# `ferry run`, CPU seconds of everything it started (user+sys, /usr/bin/time), and the
# CPU seconds of the `ferry run` process itself (where the sampler thread runs; read
# from /proc/<pid>/stat every 0.1 s until it exits), and with sampling on the CPU the
# sampling itself took (the series' own `sampler_s`, measured per sample with the thread's
# CPU clock) and per sample; then the medians and on/off ratios.
#
#   bench/series.sh                                 1 GiB, 3 runs each
#   BENCH_SIZE=256M BENCH_RUNS=5 bench/series.sh
#   BENCH_INTERVAL_MS=100 bench/series.sh           ten samples a second (a harder case)
set -euo pipefail

source "$(dirname "$0")/lib.sh" series time

SIZE=${BENCH_SIZE:-1G}
RUNS=${BENCH_RUNS:-3}
INTERVAL=${BENCH_INTERVAL_MS:-1000}
bytes=$($PY -c 'import sys; s=sys.argv[1]; m={"K":1<<10,"M":1<<20,"G":1<<30}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s))' "$SIZE")
echo "bench: $SIZE of random data" >&2
head -c "$bytes" /dev/urandom >"$WORK/big.bin"
want=$(md5sum <"$WORK/big.bin" | cut -d' ' -f1)
container=sbench-$$-$RANDOM
$PY tests/fixtures/azcli.py mkcontainer "$container"
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN "$FERRY" upload "$WORK/big.bin" "$AZURITE_URL/$container/big/big.bin" >/dev/null 2>&1
rm -f "$WORK/big.bin"
bench_datastore "$container"
cat >"$WORK/job.yml" <<YML
command: md5sum \${{inputs.big}} | grep -q $want
inputs:
  big: {type: uri_file, path: "azureml://datastores/bench/paths/big/big.bin", mode: ro_mount}
environment_variables:
  DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: "true"
  FERRY_SAMPLE_INTERVAL_MS: "$INTERVAL"
YML

# self_cpu PID — CPU seconds of PID (utime+stime) at the last look before it exits.
self_cpu() {
	local last=0 v tick
	tick=$(getconf CLK_TCK)
	while v=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null); do
		last=$v
		sleep 0.1
	done
	awk -v t="$last" -v k="$tick" 'BEGIN {printf "%.3f", t / k}'
}

declare -A W C S
P='' SM=''
printf '%-4s %-4s %8s %8s %10s %10s %8s %13s\n' run mode wall_s cpu_s ferry_cpu_s sampler_ms samples per_sample_us
for ((i = 1; i <= RUNS; i++)); do
	for mode in on off; do
		name=s$$_${mode}_$i
		s0=$(bench_servers_cpu)
		FERRY_SAMPLE=$mode /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
			"$FERRY" run "$WORK/job.yml" --name "$name" >/dev/null 2>"$WORK/err" &
		tpid=$!
		sleep 0.05
		fpid=$(pgrep -P "$tpid" -x ferry | head -1 || true)
		self=$( [[ -n $fpid ]] && self_cpu "$fpid" || echo -)
		wait "$tpid" || { cat "$WORK/err" >&2; exit 1; }
		read -r wall u s rss < <(tail -1 "$WORK/time")
		cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
		# sampling off is the reference the sampling's cost is measured against
		bench_row "series: a job reading $SIZE via ro_mount, sampling on vs off" \
			"$([[ $mode == on ]] && echo ferry || echo "sampling off")" "$wall" "$cpu" "$rss" "$(bench_servers_since "$s0")"
		read -r sms n per < <(
			if [[ $mode == on ]]; then
				$PY -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])][1:]; s=l[-1]["sampler_s"]; print("%.2f %d %.0f" % (s * 1e3, len(l), s * 1e6 / max(len(l) - 1, 1)))' \
					"$FERRY_HOME/jobs/$name/series.jsonl" || echo "! ! !"
			else
				echo "- - -"
			fi)
		[[ $sms != "!" ]] || { echo "bench: sampling on but no series for $name" >&2; exit 1; }
		printf '%-4s %-4s %8s %8s %10s %10s %8s %13s\n' "$i" "$mode" "$wall" "$cpu" "$self" "$sms" "$n" "$per"
		W[$mode]+="$wall "
		C[$mode]+="$cpu "
		S[$mode]+="$self "
		P+="$per "
		[[ $mode == off ]] || SM+="$sms "
	done
done
median() { tr ' ' '\n' | grep -v '^-\?$' | sort -g | awk '{v[NR]=$1} END {if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2); else print "-"}'; }
echo
printf '%-8s %8s %8s %10s\n' median wall_s cpu_s ferry_cpu_s
for mode in on off; do
	printf '%-8s %8s %8s %10s\n' "$mode" "$(median <<<"${W[$mode]}")" "$(median <<<"${C[$mode]}")" "$(median <<<"${S[$mode]}")"
done
awk -v a="$(median <<<"${W[on]}")" -v b="$(median <<<"${W[off]}")" -v c="$(median <<<"${C[on]}")" -v d="$(median <<<"${C[off]}")" \
	'BEGIN {printf "on/off   wall %.3fx  cpu %.3fx\n", a / b, c / d}'
echo "sampling's own CPU: median $(median <<<"$SM") ms per job, $(median <<<"$P") us per sample"
echo "($SIZE through ro_mount (block mode), sampling every $INTERVAL ms, load $(cut -d' ' -f1-3 /proc/loadavg))"
bench_table
