#!/usr/bin/env bash
# t4240 — owns when a read-write mount uploads a file it creates or truncates:
# once, when its writer is done, never as an empty blob first. A shell's `>`
# (open, dup2, close, write, close) makes one Put Blob; while such a file is open
# and unwritten storage has no blob of it (a new file) or keeps the old content
# (an overwrite); an empty file created and closed (`: >`, touch, Python) lands as
# an empty blob; fsync uploads at once; a file renamed before it was ever uploaded
# lands only under its new name. A job writing its output through a shell lands
# the same files, one upload each, when it reports success. Requests are counted
# from the fault proxy's request log (nothing is faulted).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=120
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN
at_exit 'fault clear 2>/dev/null'

c=$(new_container)
printf 'old content\n' >"$TEST_TMP/old.txt"
azcli put "$c" out/old.txt "$TEST_TMP/old.txt"

# puts BLOB — how many PUT requests (Put Blob, blocks, block lists) the proxy relayed for BLOB
puts() { curl -sf "$FAULT_CTL/log" | grep -cxF "PUT /devstoreaccount1/$c/$1" || true; }
# stored BLOB — the size of BLOB as Azurite lists it (asked directly), or nothing
stored() { azcli ls "$c" "$1" | awk -F'\t' -v n="$1" '$2 == n { print $1 }'; }

mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "$(fault_uri "$c" out)" "$mnt"
fault clear

step "a shell's > makes one upload"
printf 'hello\n' >"$mnt/sh.txt"
assert_eq 1 "$(puts out/sh.txt)" "Put Blob requests for sh.txt"
assert_eq 6 "$(stored out/sh.txt)" "sh.txt in storage when printf returned"

step "a new file open and unwritten is not in storage; it lands once, at its close"
exec 3>"$mnt/open.txt"
assert_eq "" "$(stored out/open.txt)" "open.txt in storage while open and unwritten"
printf 'data' >&3
exec 3>&-
assert_eq 4 "$(stored out/open.txt)" "open.txt in storage after its close"
assert_eq 1 "$(puts out/open.txt)" "Put Blob requests for open.txt"

step "an overwrite open and unwritten leaves the old content in storage"
exec 3>"$mnt/old.txt"
assert_eq 12 "$(stored out/old.txt)" "old.txt in storage while truncated and unwritten"
printf 'new' >&3
exec 3>&-
assert_eq 3 "$(stored out/old.txt)" "old.txt after its close"
assert_eq 1 "$(puts out/old.txt)" "Put Blob requests for old.txt"

step "fsync uploads while the file stays open; the close after it uploads nothing more"
$PY - "$mnt/synced.bin" "$c" "$ROOT/tests/fixtures/azcli.py" <<'PY' || fail "fsync did not upload"
import os, subprocess, sys
path, c, azcli = sys.argv[1:4]
with open(path, "wb") as f:
    f.write(b"s" * 5000)
    f.flush()
    os.fsync(f.fileno())
    ls = subprocess.run([sys.executable, azcli, "ls", c, "out/synced.bin"],
                        check=True, capture_output=True, text=True).stdout
    assert ls.startswith("5000\t"), "after fsync storage lists %r" % ls
PY
assert_eq 1 "$(puts out/synced.bin)" "Put Blob requests for synced.bin"

step "files renamed before they were ever uploaded land only under their new names"
$PY - "$mnt" <<'PY' || fail "write, rename, close of a new file failed"
import os, sys
with open(sys.argv[1] + "/part.tmp", "wb") as f:
    f.write(b"renamed")
    os.rename(sys.argv[1] + "/part.tmp", sys.argv[1] + "/final.txt")
PY
exec 4>"$mnt/empty.tmp" # open, unwritten: its upload waits for the last close
mv "$mnt/empty.tmp" "$mnt/empty-final" || fail "rename of an open new empty file failed"
exec 4>&-
assert_eq 7 "$(stored out/final.txt)" "final.txt after its close"
assert_eq 0 "$(puts out/part.tmp)" "Put Blob requests for part.tmp"
assert_eq 0 "$(puts out/empty.tmp)" "Put Blob requests for empty.tmp"

step "empty files created and closed land as empty blobs, one upload each"
: >"$mnt/colon.txt"
touch "$mnt/touched"
$PY -c 'import sys; open(sys.argv[1], "w").close()' "$mnt/py-empty"
unmount_at "$mnt"
assert_eq "" "$(stored out/part.tmp)$(stored out/empty.tmp)" "old names in storage"
for f in colon.txt touched py-empty empty-final; do
	assert_eq 0 "$(stored out/$f)" "$f in storage"
	assert_eq 1 "$(puts out/$f)" "Put Blob requests for $f"
done
assert_contains "$FERRY_HOME/logs/mount.log" "9 uploads (0.0 MiB), 0 files not uploaded" "mount summary"

step "a job writing through a shell: one upload per file, all in storage at success"
az_datastore viaproxy "$c" "$FAULT_URL"
cat >"$TEST_TMP/job.yml" <<YML
command: >-
  printf abc >\${{outputs.out}}/a.txt && : >\${{outputs.out}}/empty &&
  exec 5>\${{outputs.out}}/last.txt && printf xyz >&5
outputs:
  out: {type: uri_folder, mode: rw_mount, path: "azureml://datastores/viaproxy/paths/job/"}
YML
fault clear
expect_ok ferry run "$TEST_TMP/job.yml" --name j1
assert_contains "$LAST_STDERR" "0 files not uploaded" "job summary"
assert_eq 3 "$(stored job/a.txt)" "job/a.txt"
assert_eq 0 "$(stored job/empty)" "job/empty"
assert_eq 3 "$(stored job/last.txt)" "job/last.txt"
for f in a.txt empty last.txt; do assert_eq 1 "$(puts job/$f)" "Put Blob requests for job/$f"; done
assert_no_mounts_under "$FERRY_HOME"
echo ok
