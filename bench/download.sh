#!/usr/bin/env bash
# bench/download.sh — owns ferry's download benchmark against its peers. In one run,
# from Azurite, from nginx and from an S3 server (all on loopback, started by
# tests/fixtures/services.sh: s3rver when installed, whose ranged GET reads only the
# range as real S3's costs the range; else moto, which reads the whole object for every
# ranged GET, so its rows measure moto; BENCH_S3_SERVER=s3rver|moto picks),
# on three shapes — one big file, ten medium files, many small files — it times
#   ferry download        (build/ferry, default settings)
#   rclone copy           (Debian's rclone; azureblob through a container SAS URL,
#                          http through nginx's HTML index, s3 with the fixture's
#                          keys, path-style; --transfers 8 to match
#                          ferry's default of cores x 4 = 8 on this machine)
#   curl                  (one curl for a file; xargs -P 8 curl batches for many files;
#                          not on S3: it would need a SigV4 signer per request)
#   cp                    (the same bytes from local disk: the machine's ceiling)
# with /usr/bin/time (wall, user+sys CPU, peak RSS), checks every result byte for
# byte, and prints a table and ferry's ratios to each peer.
# Content-MD5: the Azurite data is there twice. Under bench/ every blob carries a
# stored Content-MD5, as Azure holds it for anything uploaded with one Put Blob or by
# azcopy/SDKs/rclone/ferry with the MD5 set (source "azurite": ferry checks it, with
# FERRY_VERIFY_MD5's default `auto`); under bench-nomd5/ the big and medium files
# carry none (source "azurite-nomd5", uploaded with FERRY_VERIFY_MD5=off; small files
# are single Put Blobs, which always get one, so that shape is not repeated there).
# With S3 it also times uploads of the same three shapes into the S3 server (rows
# "s3 upload": `ferry upload` vs `rclone copy` to its s3 backend, each under a fresh
# prefix, checked afterwards by downloading it back; BENCH_S3_UPLOAD=0 leaves them out).
# bench/s3.sh runs the S3 rows alone.
#
#   bench/download.sh                       full: 1 GiB, 10 x 100 MiB, 2,000 x 256 KiB
#   BENCH_SCALE=small bench/download.sh     quick: 128 MiB, 10 x 16 MiB, 300 x 64 KiB
#   BENCH_OUT=docs/bench-results.md ...     also write the markdown table there
# Overrides: BENCH_BIG, BENCH_MED_COUNT, BENCH_MED_SIZE, BENCH_SMALL_COUNT,
# BENCH_SMALL_SIZE, BENCH_TOOLS (default "ferry rclone curl cp"), BENCH_SOURCES
# ("azurite azurite-nomd5 nginx s3"; s3 only when the fixtures run an S3 server; s3-up: the uploads),
# BENCH_SHAPES (default "big med small"), BENCH_RUNS (default 1: each measurement that
# many times, one row each, interleaved tool by tool), BENCH_FERRY_BASE (another ferry
# binary, e.g. the previous commit's, timed as tool "ferry-base" next to "ferry"). All
# files are in page cache for every tool (no cache drop).
set -euo pipefail

source "$(dirname "$0")/lib.sh" download time

case ${BENCH_SCALE:-full} in
full) big=1G med_n=10 med=100M small_n=2000 small=256K ;;
small) big=128M med_n=10 med=16M small_n=300 small=64K ;;
*) echo "bench: BENCH_SCALE is full or small" >&2; exit 2 ;;
esac
big=${BENCH_BIG:-$big} med_n=${BENCH_MED_COUNT:-$med_n} med=${BENCH_MED_SIZE:-$med}
small_n=${BENCH_SMALL_COUNT:-$small_n} small=${BENCH_SMALL_SIZE:-$small}
TOOLS=${BENCH_TOOLS:-ferry rclone curl cp}
SOURCES=${BENCH_SOURCES:-azurite azurite-nomd5 nginx s3}
SHAPES=${BENCH_SHAPES:-big med small}
RUNS=${BENCH_RUNS:-1}
FERRY_BASE=${BENCH_FERRY_BASE:-}
[[ -z $FERRY_BASE ]] || TOOLS+=" ferry-base"

bytes() {
	local s=$1
	case $s in
	*K) echo $((${s%K} * 1024)) ;; *M) echo $((${s%M} * 1048576)) ;;
	*G) echo $((${s%G} * 1073741824)) ;; *) echo "$s" ;;
	esac
}

S3_SERVER=${BENCH_S3_SERVER:-}
if [[ -z $S3_SERVER ]]; then
	S3_SERVER=moto
	[[ -z ${S3RVER_ENDPOINT:-} ]] || S3_SERVER=s3rver
fi
S3_STALL=${FERRY_STALL_TIMEOUT_SECONDS:-20}
case $S3_SERVER in
s3rver)
	S3_STALL=${FERRY_STALL_TIMEOUT_SECONDS:-300}
	[[ -n ${S3RVER_ENDPOINT:-} ]] || { echo "bench: BENCH_S3_SERVER=s3rver but the fixtures run none (./setup.sh installs it)" >&2; exit 1; }
	S3_ENDPOINT=$S3RVER_ENDPOINT S3_ACCESS_KEY=$S3RVER_ACCESS_KEY S3_SECRET_KEY=$S3RVER_SECRET_KEY
	;;
moto) ;;
*) echo "bench: BENCH_S3_SERVER is s3rver or moto" >&2; exit 2 ;;
esac
if [[ -z ${S3_ENDPOINT:-} ]]; then
	kept=""
	for s in $SOURCES; do [[ $s == s3* ]] || kept+="$s "; done
	SOURCES=$kept
elif [[ " $SOURCES " == *" s3 "* && " $SOURCES " != *" s3-up "* && ${BENCH_S3_UPLOAD:-1} == 1 ]]; then
	SOURCES+=" s3-up"
fi
if [[ -z ${SOURCES// /} ]]; then
	echo "bench: nothing to measure: the S3 rows need s3rver (./setup.sh) or a Python with moto and boto3 (see tests/fixtures/services.sh)" >&2
	exit 1
fi
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY

# --- data: made once, uploaded to Azurite, served by nginx ----------------------
# only the shapes measured (BENCH_SHAPES): the uploads below are minutes per shape
[[ " $SHAPES " == *" med "* ]] || med_n=0
[[ " $SHAPES " == *" small "* ]] || small_n=0
echo "bench: making data ($SHAPES): $([[ " $SHAPES " == *" big "* ]] && echo "1 x $big, ")$med_n x $med, $small_n x $small" >&2
DATA=$WORK/data
mkdir -p "$DATA/big" "$DATA/med" "$DATA/small"
if [[ " $SHAPES " == *" big "* ]]; then
	openssl rand "$(bytes "$big")" >"$DATA/big/file.bin" 2>/dev/null ||
		head -c "$(bytes "$big")" /dev/urandom >"$DATA/big/file.bin"
fi
for ((i = 0; i < med_n; i++)); do openssl rand "$(bytes "$med")" >"$DATA/med/m$i.bin"; done
$PY - "$DATA/small" "$small_n" "$(bytes "$small")" <<'EOF'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "s%05d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
EOF
chmod -R a+rX "$DATA"

container=bench-$$-$RANDOM
$PY tests/fixtures/azcli.py mkcontainer "$container"
echo "bench: uploading to Azurite ($container): bench/ with Content-MD5, bench-nomd5/ without" >&2
AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN "$FERRY" upload "$DATA" "$AZURITE_URL/$container/bench" >/dev/null
if [[ " $SOURCES " == *" azurite-nomd5 "* ]]; then
	for shape in big med; do
		[[ " $SHAPES " == *" $shape "* ]] || continue
		AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN FERRY_VERIFY_MD5=off \
			"$FERRY" upload "$DATA/$shape" "$AZURITE_URL/$container/bench-nomd5/$shape" >/dev/null
	done
fi
sas=$($PY tests/fixtures/azcli.py sas --perms rl --hours 12)
webname=bench-$$
web=$NGINX_ROOT/$webname
cp -al "$DATA" "$web" 2>/dev/null || cp -r "$DATA" "$web"
bucket=bench-$$-$RANDOM
if [[ " $SOURCES " == *" s3"* && $S3_SERVER == s3rver ]]; then
	curl -sSf -X PUT "$S3_ENDPOINT/$bucket" >/dev/null # s3rver makes buckets for anyone
elif [[ " $SOURCES " == *" s3"* ]]; then
	S3_ENDPOINT=$S3_ENDPOINT S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY \
		"$S3_PYTHON" tests/fixtures/s3cli.py mkbucket "$bucket"
fi
if [[ " $SOURCES " == *" s3 "* ]]; then
	echo "bench: uploading to the S3 server, $S3_SERVER ($bucket)" >&2
	AWS_ENDPOINT_URL=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
		FERRY_STALL_TIMEOUT_SECONDS=$S3_STALL "$FERRY" upload "$DATA" "s3://$bucket/bench/" >/dev/null
fi

# --- one measurement ----------------------------------------------------------
RESULTS=$WORK/results.tsv # source shape tool wall cpu rss_kib bytes
: >"$RESULTS"

file_list() { (cd "$DATA/$1" && find . -type f -printf '%P\n' | LC_ALL=C sort); }

# curl_many BASE_URL QUERY DEST SHAPE — xargs -P 8, 50 files per curl process
curl_many() {
	local base=$1 query=$2 dest=$3 shape=$4
	file_list "$shape" | while IFS= read -r f; do
		printf '%s\n%s\n' "-o" "$dest/$f" && printf '%s\n' "$base/$f${query:+?$query}"
	done | xargs -d '\n' -P 8 -n 150 curl -sSf --create-dirs
}

# ferry_s3 ARGS... — ferry with the fixture's S3 server and keys (environment only).
# s3rver answers CompleteMultipartUpload only once it has concatenated every part,
# silent meanwhile (19 s for 1 GiB at load 20), past ferry's 20 s stall timeout, and
# a retried Complete finds the parts gone (500): against it ferry gets rclone's
# 5-minute patience (its --timeout default).
ferry_s3() {
	AWS_ENDPOINT_URL=$S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
		FERRY_STALL_TIMEOUT_SECONDS=$S3_STALL "$FERRY" "$@"
}

# rclone_s3 FROM TO — rclone copy with its s3 backend on the fixture's server: provider
# Other, path-style, keys in the environment (never in argv). Without AWS_CA_BUNDLE
# (set on some machines): rclone refuses its own transport with it.
rclone_s3() {
	RCLONE_CONFIG_S3_TYPE=s3 RCLONE_CONFIG_S3_PROVIDER=Other RCLONE_CONFIG_S3_ENDPOINT=$S3_ENDPOINT \
		RCLONE_CONFIG_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
		RCLONE_CONFIG_S3_FORCE_PATH_STYLE=true RCLONE_CONFIG_S3_REGION=us-east-1 \
		env -u AWS_CA_BUNDLE rclone copy --config /dev/null --transfers 8 "$1" "$2"
}

# run_tool SOURCE SHAPE TOOL DEST — download SHAPE from SOURCE into DEST with TOOL
# (ferry-base: the BENCH_FERRY_BASE binary in ferry's place)
run_tool() {
	local src=$1 shape=$2 tool=$3 dest=$4 path uri prefix=bench
	path=$shape
	[[ $shape == big ]] && path=big/file.bin
	[[ $src == azurite-nomd5 ]] && src=azurite prefix=bench-nomd5
	if [[ $tool == ferry-base ]]; then
		tool=ferry FERRY=$FERRY_BASE
	fi
	case $src/$tool in
	azurite/ferry) AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN "$FERRY" download "$AZURITE_URL/$container/$prefix/$path" "$dest" ;;
	s3/ferry) ferry_s3 download "s3://$bucket/bench/$path" "$dest" ;;
	s3/rclone) rclone_s3 "s3:$bucket/bench/$path" "$dest" ;;
	s3-up/ferry) ferry_s3 upload "$DATA/$path" "s3://$bucket/$dest/" ;; # DEST: a key prefix
	s3-up/rclone) rclone_s3 "$DATA/$path" "s3:$bucket/$dest" ;;
	nginx/ferry)
		uri=$NGINX_URL/$webname/$path
		[[ $shape == big ]] || uri+=/
		"$FERRY" download "$uri" "$dest"
		;;
	azurite/rclone)
		RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG_AZ_SAS_URL="$AZURITE_URL/$container?$sas" \
			rclone copy --config /dev/null --transfers 8 "az:$container/$prefix/$path" "$dest"
		;;
	nginx/rclone)
		RCLONE_CONFIG_WEB_TYPE=http RCLONE_CONFIG_WEB_URL="$NGINX_HTML_URL/$webname/" \
			rclone copy --config /dev/null --transfers 8 "web:$path" "$dest"
		;;
	azurite/curl)
		if [[ $shape == big ]]; then
			mkdir -p "$dest" && curl -sSf -o "$dest/file.bin" "$AZURITE_URL/$container/$prefix/$path?$sas"
		else curl_many "$AZURITE_URL/$container/$prefix/$shape" "$sas" "$dest" "$shape"; fi
		;;
	nginx/curl)
		if [[ $shape == big ]]; then
			mkdir -p "$dest" && curl -sSf -o "$dest/file.bin" "$NGINX_URL/$webname/$path"
		else curl_many "$NGINX_URL/$webname/$shape" "" "$dest" "$shape"; fi
		;;
	*/cp)
		if [[ $shape == big ]]; then mkdir -p "$dest" && cp "$DATA/$path" "$dest/"
		else cp -r "$DATA/$shape" "$dest"; fi
		;;
	esac
}
export -f run_tool curl_many file_list rclone_s3 ferry_s3
export FERRY FERRY_BASE AZURITE_URL AZURITE_CONN NGINX_URL NGINX_HTML_URL DATA container sas webname bucket
export S3_ENDPOINT=${S3_ENDPOINT:-} S3_ACCESS_KEY=${S3_ACCESS_KEY:-} S3_SECRET_KEY=${S3_SECRET_KEY:-} S3_STALL

# row_label SOURCE SHAPE — the row's name in bench_row's table
row_label() {
	local n="1 x ${big}iB"
	[[ $2 == med ]] && n="$med_n x ${med}iB"
	[[ $2 == small ]] && n="$small_n x ${small}iB"
	case $1 in
	s3) echo "download s3 ($S3_SERVER) $n" ;; s3-up) echo "upload s3 ($S3_SERVER) $n" ;;
	azurite) echo "download azurite, Content-MD5 checked, $n" ;; azurite-nomd5) echo "download azurite, no MD5, $n" ;;
	*) echo "download $1 $n" ;;
	esac
}

# measure SOURCE SHAPE TOOL — SOURCE s3-up is an upload into the S3 server, under a
# fresh prefix, checked afterwards (untimed) by downloading it back with ferry.
measure() {
	local src=$1 shape=$2 tool=$3 dest=$WORK/dest tf=$WORK/time.out rc=0 target srv0
	rm -rf "$dest"
	sync
	target=$dest
	[[ $src == s3-up ]] && target=up-$tool-$shape-$RANDOM
	srv0=$(bench_servers_cpu)
	/usr/bin/time -f '%e %U %S %M' -o "$tf" bash -c "run_tool $src $shape $tool $target" \
		>"$WORK/tool.log" 2>&1 || rc=$?
	if [[ $src == s3-up && $rc -eq 0 ]]; then
		echo "(checking the upload: ferry download of s3://$bucket/$target/)" >>"$WORK/tool.log"
		ferry_s3 download "s3://$bucket/$target/" "$dest" >>"$WORK/tool.log" 2>&1 || rc=$?
	fi
	local want=$DATA/$shape
	if [[ $rc -ne 0 ]]; then
		echo "bench: $tool from $src ($shape) failed (exit $rc): $(tail -c 300 "$WORK/tool.log")" >&2
		printf '%s\t%s\t%s\tFAIL\tFAIL\tFAIL\t0\n' "$src" "$shape" "$tool" >>"$RESULTS"
		bench_row "$(row_label "$src" "$shape")" "$tool" FAIL FAIL FAIL
		return
	fi
	if ! diff -rq "$want" "$dest" >/dev/null; then
		echo "bench: $tool from $src ($shape) gave different bytes" >&2
		printf '%s\t%s\t%s\tWRONG\tWRONG\tWRONG\t0\n' "$src" "$shape" "$tool" >>"$RESULTS"
		bench_row "$(row_label "$src" "$shape")" "$tool" WRONG WRONG WRONG
		return
	fi
	local wall user sys rss total
	read -r wall user sys rss <"$tf"
	bench_row "$(row_label "$src" "$shape")" "$tool" "$wall" "$(bench_add "$user" "$sys")" "$rss" \
		"$(bench_servers_since "$srv0")"
	total=$(du -sb "$want" | cut -f1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$src" "$shape" "$tool" "$wall" \
		"$(awk "BEGIN { print $user + $sys }")" "$rss" "$total" >>"$RESULTS"
	echo "bench: $src $shape $tool: ${wall}s" >&2
}

for src in $SOURCES; do
	for shape in $SHAPES; do
		[[ $src == azurite-nomd5 && $shape == small ]] && continue # Put Blobs: always an MD5
		for ((run = 0; run < RUNS; run++)); do
			for tool in $TOOLS; do
				[[ $tool == cp && $src != "${SOURCES%% *}" ]] && continue # ceiling measured once
				[[ $tool == curl && $src == s3* ]] && continue               # curl cannot sign per file
				[[ $tool == cp && $src == s3-up ]] && continue
				[[ $tool == ferry-base && $src == s3-up ]] && continue
				measure "$src" "$shape" "$tool"
			done
		done
	done
done

# --- report -------------------------------------------------------------------
$PY - "$RESULTS" "$big" "$med_n" "$med" "$small_n" "$small" "${BENCH_OUT:-}" "$S3_SERVER" <<'EOF'
import sys, collections, statistics
path, big, med_n, med, small_n, small, out, s3_server = sys.argv[1:9]
shapes = {"big": "1 x %s" % big, "med": "%s x %s" % (med_n, med), "small": "%s x %s" % (small_n, small)}
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
def label(src):
    return {"s3": "s3 (%s)" % s3_server, "s3-up": "s3 upload (%s)" % s3_server}.get(src, src)
lines = ["| source | shape | tool | wall s | CPU s | peak RSS MiB | MiB/s |",
         "|---|---|---|---:|---:|---:|---:|"]
by = collections.defaultdict(dict)
for src, shape, tool, wall, cpu, rss, total in rows:
    src_label = "local disk" if tool == "cp" else label(src)
    if wall in ("FAIL", "WRONG"):
        lines.append("| %s | %s | %s | %s | | | |" % (src_label, shapes[shape], tool, wall))
        continue
    wall, cpu, rss, total = float(wall), float(cpu), int(rss), int(total)
    by[(src, shape)].setdefault(tool, []).append((wall, cpu, rss))
    lines.append("| %s | %s | %s | %.2f | %.2f | %.0f | %.0f |" % (
        src_label, shapes[shape], tool, wall, cpu, rss / 1024, total / 1048576 / max(wall, 1e-3)))
def med(runs):  # the median run of each measure (one run: itself)
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))
by = {k: {t: med(r) for t, r in v.items()} for k, v in by.items()}
lines += ["", "ferry vs each peer (ratio = ferry / peer, medians when a row ran several times; below 1 means ferry is faster / leaner):", "",
          "| source | shape | peer | wall ratio | CPU ratio | RSS ratio |", "|---|---|---|---:|---:|---:|"]
for (src, shape), tools in by.items():
    if "ferry" not in tools:
        continue
    fw, fc, fr = tools["ferry"]
    peers = dict(tools)
    for (s2, sh2), t2 in by.items():  # the local-disk ceiling is measured once per shape
        if sh2 == shape and "cp" in t2 and src != "s3-up":
            peers["cp"] = t2["cp"]
    for peer, (w, c, r) in peers.items():
        if peer == "ferry":
            continue
        lines.append("| %s | %s | %s | %.2f | %.2f | %.2f |" % (
            label(src), shapes[shape], peer, fw / max(w, 1e-3), fc / max(c, 1e-3), fr / max(r, 1)))
text = "\n".join(lines) + "\n"
print(text)
if out:
    open(out, "w").write(text)
EOF

# The floor MD5 sets on a verified download (issue 15 item 1): MD5 is one serial chain
# per file, so a client that checks the stored Content-MD5 needs at least the file's size
# at one core's MD5 speed (rclone 1.60 does not check it: "Src hash empty").
if [[ " $SHAPES " == *" big "* && " $SOURCES " == *" azurite "* ]]; then
	openssl speed -evp md5 -bytes 1048576 -seconds 1 2>/dev/null | awk -v n="$(bytes "$big")" -v big="$big" \
		-v load="$(cut -d' ' -f1 /proc/loadavg)" '/^md5/ { sub(/k$/, "", $2); mbs = $2 / 1000
		printf "MD5 on one core here: %.0f MB/s, so %.2f s of CPU to check %s (load %s)\n", mbs, n / mbs / 1e6, big, load }'
fi

bench_table
