#!/usr/bin/env bash
# t8031 — owns fork safety of libferry.so (src/store/httpc.c drops the forking thread's
# connections in the child): a Python process reads from Azurite (its main thread then holds
# a kept-alive connection), forks 4 children that read 300 files each through the same
# Engine while the parent goes on reading on its own connection, and every byte in every
# process is the uploaded one; then a DataLoader with 4 fork workers over a FileDataset built
# in the same process reads every file once with its bytes. Before the fix the children sent
# their requests down the parent's socket ("Received HTTP/0.9", or another file's bytes).
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
$PY -c 'import torch' 2>/dev/null || skip "Debian's python3-torch is not installed"
export PYTHONPATH=$ROOT/python FERRY_LIB=$ROOT/build/libferry.so
[[ -f $FERRY_LIB ]] || fail "build/libferry.so was not built by make"

mk_fixed_tree "$TEST_TMP/src" 300 6K
c=$(new_container)
az_datastore fork "$c"
expect_ok ferry upload "$TEST_TMP/src" "azureml://datastores/fork/paths/src/"

step "4 forked children and the parent read through one Engine at once"
cat >"$TEST_TMP/fork.py" <<'PY'
import hashlib, os, sys
import ferry
from ferry.torch import FileDataset
src, base = sys.argv[1], "azureml://datastores/fork/paths/src/"
want = {}
for d, _, fl in os.walk(src):
    for f in fl:
        want[os.path.relpath(os.path.join(d, f), src)] = hashlib.md5(open(os.path.join(d, f), "rb").read()).digest()
names = sorted(want)
e = ferry.Engine()
assert hashlib.md5(e.cat(base + names[0])).digest() == want[names[0]]  # a live connection in this thread

def read_all(who):
    bad = [n for n in names if hashlib.md5(e.cat(base + n)).digest() != want[n]]
    assert not bad, "%s read wrong bytes for %d files, e.g. %s" % (who, len(bad), bad[:3])

kids = []
for w in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            read_all("child %d" % w)
            os._exit(0)
        except BaseException as x:
            print("child %d: %s" % (w, x), flush=True)
            os._exit(1)
    kids.append(pid)
read_all("parent")
st = [os.waitpid(p, 0)[1] for p in kids]
assert st == [0, 0, 0, 0], st
print("4 children and the parent read %d files each, all exact" % len(names))

import torch.utils.data as tud
ds = FileDataset(base, threads=4)  # listed here, in the parent
seen = [(p, hashlib.md5(b).digest()) for batch in tud.DataLoader(ds, batch_size=16, num_workers=4,
                                                                 collate_fn=list) for p, b in batch]
assert sorted(p for p, _ in seen) == names and dict(seen) == want
print("a DataLoader with 4 fork workers read every file once, exact")
PY
timeout -k 5 300 $PY "$TEST_TMP/fork.py" "$TEST_TMP/src" >"$TEST_TMP/fork.out" 2>&1 || { cat "$TEST_TMP/fork.out"; fail "forked readers"; }
cat "$TEST_TMP/fork.out"
