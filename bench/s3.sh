#!/usr/bin/env bash
# bench/s3.sh — the S3 rows of bench/download.sh alone: ferry against rclone's s3 backend
# (provider Other, path-style, the fixtures' keys from the environment, --transfers 8) on
# the fixtures' moto server, downloads and uploads of one big file, ten medium files and
# many small files, with wall, CPU, peak RSS and ferry's ratios. Same knobs as
# bench/download.sh (BENCH_SCALE=small for a quick run, BENCH_OUT=FILE for the table).
# Needs a Python with moto and boto3 (tests/fixtures/services.sh finds it).
set -euo pipefail
export BENCH_SOURCES=${BENCH_SOURCES:-s3 s3-up} BENCH_TOOLS=${BENCH_TOOLS:-ferry rclone}
[[ -n ${S3_ENDPOINT:-} ]] || [[ -z ${AZURITE_URL:-} ]] ||
	{ echo "bench/s3.sh: fixtures are running without an S3 server (S3_ENDPOINT unset)" >&2; exit 1; }
exec "$(dirname "$0")/download.sh" "$@"
