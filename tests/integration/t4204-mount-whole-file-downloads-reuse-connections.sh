#!/usr/bin/env bash
# t4204 — owns connection reuse across the mount's short-lived download threads:
# whole-file mode fetches each file (and each file read ahead) on a thread of its
# own, and each thread's curl handle — with its kept-alive connection — was
# cleaned up when the thread ended, so 8 readers walking 300 small files opened
# ~257 TCP connections to the server (`ferry download` of the same folder: 16).
# On Azure every one is a TLS handshake; on Azurite they cost its one Node thread
# a third more CPU than the download's requests. Ended threads now hand their
# handle on (store/httpc.c), so the walk opens about as many connections as
# requests run at once. Counted as the client sockets in TIME_WAIT towards
# Azurite's port after the unmount (ferry closes them, so they wait on our side).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
command -v ss >/dev/null || skip "ss (iproute2) not installed"

n=300
walk_folder "$n" 4204 262144 262144
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
port=${AZURITE_URL##*:}
port=${port%%/*}
closed() { ss -Htan state time-wait "( dport = :$port )" | wc -l; }
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"

step "8 readers walk 300 files through a whole-file mount: connections are reused"
before=$(closed)
mount_at "$(az_uri "$c" data)" "$mnt"
$PY - "$mnt/walk" "$TEST_TMP/src/walk" <<'PYEOF'
import os, sys
from concurrent.futures import ThreadPoolExecutor
def same(name):
    with open(os.path.join(sys.argv[1], name), "rb") as a, open(os.path.join(sys.argv[2], name), "rb") as b:
        return a.read() == b.read()
names = os.listdir(sys.argv[1])
with ThreadPoolExecutor(8) as ex:
    bad = [n for n, ok in zip(names, ex.map(same, names)) if not ok]
assert len(names) == 300 and not bad, (len(names), bad[:5])
PYEOF
unmount_at "$mnt"
sleep 1
opened=$(($(closed) - before))
echo "connections opened for the walk: $opened"
summary=$(grep "mount summary:" "$FERRY_HOME/logs/mount.log" | tail -1)
echo "$summary"
[[ $summary == *"300 opens"* ]] || fail "expected 300 opens: $summary"
((opened < 100)) || fail "the walk opened $opened connections for 300 files: handles of ended threads were not reused"
echo ok
