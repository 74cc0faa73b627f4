# bench/lib.sh — the common start of the benchmarks that run against the fixtures
# (download.sh, mount.sh, upload.sh), sourced after `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib.sh" NAME [rclone] [time]
#
# sets ROOT (and cd's there), PY (Debian's Python), FERRY (checked built), WORK (a
# fresh folder ${TMPDIR:-/tmp}/ferry-NAME-bench.XXXXXX, removed on exit), MNT
# ($WORK/mnt) and FERRY_HOME; checks that rclone and /usr/bin/time are there when
# named; uses the running fixtures when AZURITE_URL and NGINX_ROOT are set, else
# starts its own (tests/fixtures/services.sh; BENCH_OWN_FIXTURES=1) and stops them on exit. A script adds
# its own clean-up with `bench_on_exit 'COMMAND'` (run first, in order, at exit;
# variables are read then).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
FERRY=${FERRY:-$ROOT/build/ferry}
[[ -x $FERRY ]] || { echo "bench: $FERRY not built (make)" >&2; exit 1; }
for _need in "${@:2}"; do
	case $_need in
	rclone) command -v rclone >/dev/null || { echo "bench: rclone missing (apt-get install rclone)" >&2; exit 1; } ;;
	time) [[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; } ;;
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
if [[ -z ${AZURITE_URL:-} || -z ${NGINX_ROOT:-} ]]; then
	export FERRY_FIXTURE_DIR=$WORK/fixtures
	eval "$(tests/fixtures/services.sh start)"
	BENCH_OWN_FIXTURES=1
fi
export FERRY_HOME=$WORK/ferry-home
