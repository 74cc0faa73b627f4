#!/usr/bin/env bash
# check-layers.sh — owns the include rules of src/: every `#include "dir/…"`
# and every include of a library that belongs to one layer must be allowed by
# the layer table in docs/STYLE.md (between the `layers:begin` / `layers:end`
# markers), the table must list layers bottom-up (a layer may include only the
# layers above its row, so the graph has no cycles), and each layer's main
# header must state its row in a line `Layer <name> may include: <list>.`.
#
#   tools/check-layers.sh            check src/ (exit 1 and one line per fault)
#
# Run by tests/run.sh as one numbered step; the table is the only place the
# rules are written, so changing a rule is changing docs/STYLE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TABLE=docs/STYLE.md

declare -A deps=() header=() libs=() exports=() seen=()
order=()
faults=0
fault() { echo "$*"; faults=$((faults + 1)); }

# Rows: | `layer` | `header` | may include | libraries | exports |
while IFS='|' read -r _ layer hdr may lib exp _; do
	layer=$(echo "$layer" | tr -d ' `')
	[[ $layer =~ ^[a-z]+$ && $layer != layer ]] || continue
	hdr=$(echo "$hdr" | tr -d ' `')
	may=$(echo "$may" | tr -d ' `' | sed 's/—//; s/nothing//')
	lib=$(echo "$lib" | tr -d ' `' | sed 's/—//')
	exp=$(echo "$exp" | tr -d ' `' | sed 's/—//')
	for d in ${may//,/ }; do
		[[ -n ${seen[${d%\*}]:-} ]] ||
			fault "$TABLE: layer $layer may include '${d%\*}', which is not on a row above it (the table is bottom-up; a cycle?)"
	done
	seen[$layer]=1
	order+=("$layer")
	deps[$layer]=,$may,
	header[$layer]=$hdr
	libs[$layer]=,$lib,
	exports[$layer]=,$exp,
done < <(sed -n '/<!-- layers:begin -->/,/<!-- layers:end -->/p' "$TABLE")
[[ ${#order[@]} -gt 0 ]] || { echo "$TABLE: no layer table between the layers:begin/end markers"; exit 1; }

# Each layer's header repeats its row, so whoever edits the layer sees it.
for layer in "${order[@]}"; do
	h=${header[$layer]}
	want=$(echo "${deps[$layer]}" | sed 's/^,//; s/,$//; s/,/, /g')
	[[ -n $want ]] || want=nothing
	line="Layer $layer may include: $want."
	if [[ -z $h || $h == — ]]; then
		fault "$TABLE: layer $layer names no main header (every layer states its row in one)"
	elif [[ ! -f src/$h ]]; then
		fault "$TABLE: layer $layer names header src/$h, which does not exist"
	elif ! grep -qF "$line" "src/$h"; then
		fault "src/$h: its top comment must say '$line' (the row of $TABLE)"
	fi
done

# Library headers that belong to one layer: <pattern> in the libraries column.
restricted=()
for layer in "${order[@]}"; do
	for l in ${libs[$layer]//,/ }; do restricted+=("$l"); done
done

for f in src/main.c src/*/*.[ch]; do
	if [[ $f == src/main.c ]]; then layer=main; else layer=${f#src/}; layer=${layer%%/*}; fi
	if [[ -z ${deps[$layer]+x} ]]; then
		fault "$f: src/$layer/ is not a layer in $TABLE"
		continue
	fi
	while IFS=: read -r n inc; do
		if [[ $inc =~ \#[[:space:]]*include[[:space:]]*\"([a-z]+)/([^\"]+)\" ]]; then
			to=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]}
			[[ $to == "$layer" ]] && continue
			if [[ ${deps[$layer]} == *",$to*,"* ]]; then
				continue
			elif [[ ${deps[$layer]} != *",$to,"* ]]; then
				fault "$f:$n: layer $layer may not include $to/$file (allowed: $(echo "${deps[$layer]}" | sed 's/^,//; s/,$//; s/,/, /g'); see $TABLE)"
			elif [[ ${exports[$to]:-,,} != ",," && ${exports[$to]} != *",$file,"* ]]; then
				fault "$f:$n: $to/$file is inside layer $to; others include only $(echo "${exports[$to]}" | sed 's/^,//; s/,$//; s/,/, /g') (see $TABLE)"
			fi
		elif [[ $inc =~ \#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
			sys=${BASH_REMATCH[1]}
			for l in "${restricted[@]}"; do
				# shellcheck disable=SC2053
				if [[ $sys == $l && ${libs[$layer]} != *",$l,"* ]]; then
					fault "$f:$n: <$sys> belongs to another layer; layer $layer may not include it (see $TABLE)"
				fi
			done
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f")
done

if [[ $faults -gt 0 ]]; then
	echo "check-layers: $faults fault(s)"
	exit 1
fi
echo "check-layers: ${#order[@]} layers, every include of src/ is allowed"
