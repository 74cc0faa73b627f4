#!/usr/bin/env bash
# setup.sh — owns getting a fresh Debian 12 machine to a built ferry: installs the
# apt packages and the npm tools (Azurite, s3rver) that are missing, builds build/ferry and
# build/libferry.so, makes `import ferry` work in /usr/bin/python3 and the first python3
# on PATH (a ferry.pth in each one's site-packages naming python/), and runs the quickstart job. The README's first command. Safe to re-run: it checks
# before installing (dpkg -s, the Azurite binary), so a second run is offline and fast.
#
#   ./setup.sh              install what is missing, build, run examples/quickstart/job.yml
#   ./setup.sh --deps-only  install what is missing, nothing else (what .ci/run uses)
#   ./setup.sh --no-quickstart   install and build, skip the quickstart
set -euo pipefail
cd "$(dirname "$0")"

deps_only=0 quickstart=1
for arg in "$@"; do
	case $arg in
	--deps-only) deps_only=1 ;;
	--no-quickstart) quickstart=0 ;;
	-h | --help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

SUDO=
if [[ $EUID -ne 0 ]]; then SUDO=sudo; fi

# Build: compiler and libraries. Tests: nginx, rclone (bench peer), FUSE, Debian's
# Python stack, curl, openssl (fast random test data), time (bench measurements),
# nodejs/npm (Azurite), slurm-wlm + munge (a real Slurm cluster for distributed jobs).
# Fuzzing (make fuzz): clang, and libclang-rt-14-dev for its libFuzzer and sanitizer
# runtimes (only recommended by clang, so named here).
APT_PACKAGES=(
	build-essential pkg-config libcurl4-openssl-dev libyaml-dev libxml2-dev libsqlite3-dev
	libssl-dev libjansson-dev libmicrohttpd-dev clang libclang-rt-14-dev
	nginx-light rclone fuse3 libfuse3-dev python3-fsspec python3-pandas python3-pytest
	curl openssl time ca-certificates
	slurm-wlm munge
)
# Parquet (read_parquet): Debian's codec libraries; zstd compresses the test fixtures.
APT_PACKAGES+=(zlib1g-dev libsnappy-dev libzstd-dev zstd)
# Distributed jobs' tests: a real torch.distributed gloo all-reduce across ranks.
APT_PACKAGES+=(python3-torch)
# bench/python.sh's peer: Azure's own Python SDK.
APT_PACKAGES+=(python3-azure)
# `ferry job report`'s test opens the page in headless Chromium (t3410).
APT_PACKAGES+=(chromium)
# Live monitoring's tests: /metrics read by the Prometheus project's own parser, and
# `ferry job top` watched through tmux.
APT_PACKAGES+=(python3-prometheus-client tmux)
# Node: use what is on PATH if it is there (any node >= 18), else Debian's.
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
	APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "setup.sh: installing ${missing[*]}"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "setup.sh: apt packages present"
fi

if [[ ! -x tools/node_modules/.bin/azurite-blob ]]; then
	echo "setup.sh: installing Azurite (npm) into tools/node_modules"
	if [[ -f tools/package-lock.json ]]; then
		(cd tools && npm ci --no-audit --no-fund)
	else
		(cd tools && npm install --no-audit --no-fund)
	fi
else
	echo "setup.sh: Azurite present"
fi

# The benchmarks' S3 server (npm's s3rver, file-backed: a ranged GET reads only the
# range), pinned by tools/s3rver/package-lock.json; tests/fixtures/services.sh starts it.
if [[ ! -x tools/s3rver/node_modules/.bin/s3rver ]]; then
	echo "setup.sh: installing s3rver (npm) into tools/s3rver"
	(cd tools/s3rver && npm ci --no-audit --no-fund)
else
	echo "setup.sh: s3rver present"
fi

# The Parquet fixtures' writer and reader (npm's hyparquet-writer, hyparquet), an
# implementation independent of ferry's; pinned by tests/fixtures/parquet/package-lock.json.
if [[ ! -d tests/fixtures/parquet/node_modules/hyparquet-writer ]]; then
	echo "setup.sh: installing hyparquet-writer and hyparquet (npm) into tests/fixtures/parquet"
	(cd tests/fixtures/parquet && npm ci --no-audit --no-fund)
else
	echo "setup.sh: Parquet fixture tools present"
fi

[[ $deps_only -eq 1 ]] && exit 0

echo "setup.sh: building (make -j2)"
make -j2

# `import ferry` (python/ferry, over build/libferry.so) in Debian's Python and in the
# first python3 on PATH: a one-line ferry.pth in each interpreter's site-packages names
# this checkout's python/ folder. An interpreter whose site-packages we may not write
# (or a virtualenv made later) gets PYTHONPATH=$PWD/python instead (README, "Python").
pth_dir=$(pwd)/python
declare -A done_py=()
for py in /usr/bin/python3 "$(command -v python3 || true)"; do
	[[ -n $py && -x $py ]] || continue
	real=$(readlink -f "$py")
	[[ -z ${done_py[$real]:-} ]] || continue
	done_py[$real]=1
	site=$("$py" -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null) || continue
	if $SUDO mkdir -p "$site" 2>/dev/null && echo "$pth_dir" | $SUDO tee "$site/ferry.pth" >/dev/null 2>&1; then
		echo "setup.sh: import ferry: $py ($site/ferry.pth)"
	else
		echo "setup.sh: note: cannot write $site; use PYTHONPATH=$pth_dir with $py" >&2
	fi
done

if [[ $quickstart -eq 0 ]]; then exit 0; fi
if [[ -f examples/quickstart/job.yml ]]; then
	echo "setup.sh: running the quickstart: build/ferry run examples/quickstart/job.yml"
	build/ferry run examples/quickstart/job.yml
else
	echo "setup.sh: note: examples/quickstart/job.yml is not there yet; skipping the quickstart"
fi
