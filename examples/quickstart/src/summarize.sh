#!/bin/sh
# summarize.sh CSV OUTDIR — per-species row count and mean of each numeric
# column of an iris-like CSV (header row, species last), written to
# OUTDIR/summary.txt. POSIX sh + awk only.
set -eu
csv=$1
out=$2
mkdir -p "$out"
awk -F, '
NR == 1 { for (i = 1; i < NF; i++) col[i] = $i; ncol = NF - 1; next }
NF > 1 {
	s = $NF; if (!(s in n)) order[++ns] = s
	n[s]++; rows++
	for (i = 1; i <= ncol; i++) sum[s, i] += $i
}
END {
	printf "rows: %d\n", rows
	for (k = 1; k <= ns; k++) {
		s = order[k]
		printf "%s: n=%d", s, n[s]
		for (i = 1; i <= ncol; i++) printf " mean_%s=%.3f", col[i], sum[s, i] / n[s]
		printf "\n"
	}
}' "$csv" > "$out/summary.txt"
echo "wrote $out/summary.txt ($(wc -l < "$out/summary.txt") lines)"
