#!/usr/bin/env bash
# bench/s3.sh — the S3 rows of bench/download.sh alone: ferry against rclone's s3 backend
# (provider Other, path-style, the fixtures' keys from the environment, --transfers 8) on
# the fixtures' s3rver (npm, file-backed: a ranged GET reads only the range, as S3's
# costs the range), downloads and uploads of one big file, ten medium files and many
# small files, with wall, CPU, peak RSS and ferry's ratios, and the local-disk ceiling
# (cp) of each shape. Same knobs as bench/download.sh (BENCH_SCALE=small for a quick
# run, BENCH_OUT=FILE for the table, BENCH_S3_SERVER=moto for the tests' moto server,
# which reads the whole object for every ranged GET: its rows measure moto).
set -euo pipefail
export BENCH_SOURCES=${BENCH_SOURCES:-s3 s3-up} BENCH_TOOLS=${BENCH_TOOLS:-ferry rclone cp}
[[ -n ${S3RVER_ENDPOINT:-}${S3_ENDPOINT:-} ]] || [[ -z ${AZURITE_URL:-} ]] ||
	{ echo "bench/s3.sh: fixtures are running without an S3 server (S3RVER_ENDPOINT and S3_ENDPOINT unset)" >&2; exit 1; }
exec "$(dirname "$0")/download.sh" "$@"
