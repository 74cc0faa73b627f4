#!/usr/bin/env bash
# coverage.sh — owns measuring what the fuzz corpora reach: runs each coverage
# build of `make fuzz-cov` (build/fuzz-cov/<t>) once over the target's seeds,
# regression cases and grown corpus (build/fuzz/work/<t>), and prints llvm-cov's
# line and branch coverage of the source files that target exists for.
#
#   tests/fuzz/coverage.sh [--seeds-only] [TARGET...]      (default: all targets)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14)
COV=$(command -v llvm-cov || command -v llvm-cov-14)

# What each target is about (what its coverage figure is of): files, each with
# an optional ":REGEX" of the functions counted (default: all of the file's);
# ":!REGEX" counts all but those.
scope_of() {
	case $1 in
	uri) echo src/core/uri.c ;;
	jobspec) echo 'src/job/jobspec.c:!^ferry_(jobspec_(load|set_name|set_env|env)|job_name_generate)$' \
		src/job/expand.c 'src/job/yaml.c:!^ferry_yaml_load$' 'src/core/yaml.c:!^ferry_yaml_load$' ;;
	datastore) echo 'src/cli/datastore.c:^(scalar|valid_chars|valid_bucket|parse_.*|cli_datastore_parse)$' \
		'src/cli/common.c:^cli_yaml_tags$' ;;
	data_asset) echo 'src/cli/data.c:^(scalar|type_ok|cli_data_asset_parse)$' ;;
	mltable) echo src/mltable/doc.c src/mltable/expr.c ;;
	expr) echo src/mltable/expr.c ;;
	azblob_list) echo 'src/store/azblob.c:^(ferry_azblob_parse_list|fill_entry_md5)$' 'src/store/wire.c:^ferry_wire_(parse_xml|child|text)$' \
		'src/store/flatns.c:^ferry_flatns_add$' ;;
	s3_list) echo 'src/store/s3.c:^(ferry_s3_parse_list|iso8601)$' 'src/store/wire.c:^ferry_wire_(parse_xml|child|text)$' \
		'src/store/flatns.c:^ferry_flatns_add$' ;;
	aztoken) echo 'src/store/aztoken.c:^(ferry_aztoken_parse_response|parse_token_json|json_time|ferry_jwt_exp)$' ;;
	csv) echo src/mltable/csv.c ;;
	esac
}

grown=1
if [[ ${1:-} == --seeds-only ]]; then grown=0; shift; fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	for f in tests/fuzz/*.c; do targets+=("$(basename "$f" .c)"); done
fi
out=build/fuzz-cov/profiles
mkdir -p "$out"
for t in "${targets[@]}"; do
	dirs=()
	for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
		[[ -d $d ]] && dirs+=("$d")
	done
	[[ $grown -eq 1 && -d build/fuzz/work/$t ]] && dirs+=("build/fuzz/work/$t")
	rm -f "$out/$t".*.profraw
	LLVM_PROFILE_FILE="$out/$t.%p.profraw" build/fuzz-cov/"$t" -runs=0 "${dirs[@]}" >"$out/$t.log" 2>&1
	"$PROFDATA" merge -sparse "$out/$t".*.profraw -o "$out/$t.profdata"
	echo "== $t: $(find "${dirs[@]}" -type f | wc -l) inputs"
	for spec in $(scope_of "$t"); do
		f=${spec%%:*} re=.
		[[ $spec == *:* ]] && re=${spec#*:}
		[[ -f $f ]] || continue
		"$COV" report build/fuzz-cov/"$t" -instr-profile="$out/$t.profdata" -show-functions "$f" |
			awk -v f="$f" -v re="$re" '
				BEGIN { neg = substr(re, 1, 1) == "!"; if (neg) re = substr(re, 2) }
				NF == 10 && $1 != "TOTAL" && $2 ~ /^[0-9]+$/ { n = $1; sub(/^.*:/, "", n)
					if ((n ~ re) != neg) { k++; l += $5; lm += $6; b += $8; bm += $9 } }
				END { printf "   %-22s %3d functions  lines %5d/%-5d %6.2f%%  branches %4d/%-4d %6.2f%%\n",
					f, k, l - lm, l, l ? 100 * (l - lm) / l : 0, b - bm, b, b ? 100 * (b - bm) / b : 0 }'
	done
done
