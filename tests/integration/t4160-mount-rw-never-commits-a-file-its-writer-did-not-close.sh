#!/usr/bin/env bash
# t4160 — owns "only a file closed (or fsynced) by its writer, every write of it
# successful, is committed" for the read-write mount. Over an existing blob:
# SIGTERM of `ferry run` while its command writes a 100 MiB file (the writer dies
# holding it), and SIGKILL of `ferry run` (the mount server stops with the file
# still open, or the watchdog kills the writer first), leave storage with the old content, byte for byte, and the part
# written kept under <cache>.not-uploaded/; a command that exits 0 while a
# background writer still holds a file open fails the job naming the file, and
# nothing appears in storage; a reader's close of a file being written commits
# nothing; a writer that got ENOSPC gets an error from close(), and storage keeps
# the old content.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=300
# The writers stop by themselves: a write or close into a mount that is gone fails.

c=$(new_container)
az_datastore azstore "$c"
mkdata_random "$TEST_TMP/old.bin" 4M
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
for d in sigterm sigkill small; do
	expect_ok ferry upload "$TEST_TMP/old.bin" "$(az_uri "$c" $d/model.bin)"
done
writer="$PY $ROOT/tests/tools/slow_writer.py"

# wait_for FILE SECONDS — until FILE exists
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do [[ -e $1 ]] && return 0; sleep 0.1; done
	fail "$1 did not appear within $2 s"
}
# job_file NAME COMMAND — a job writing into output `out` at paths/NAME/
job_file() {
	cat >"$TEST_TMP/$1.yml" <<-YML
	command: $2
	outputs:
	  out: {type: uri_folder, mode: rw_mount, path: "azureml://datastores/azstore/paths/$1/"}
	YML
}
# storage_has_old DIR — paths/DIR/ in storage holds only model.bin, the old one
storage_has_old() {
	rm -rf "$TEST_TMP/got"
	expect_ok ferry download "$(az_uri "$c" "$1")" "$TEST_TMP/got"
	assert_file_same "$TEST_TMP/old.bin" "$TEST_TMP/got/model.bin"
	assert_eq 1 "$(find "$TEST_TMP/got" -type f | wc -l)" "files in storage under $1/"
}

step "SIGTERM of ferry run mid-write: the job fails naming the file, storage keeps the old blob"
job_file sigterm "$writer \${{outputs.out}}/model.bin 100 $TEST_TMP/mark-term"
"$FERRY" run "$TEST_TMP/sigterm.yml" --name term1 >"$TEST_TMP/term.out" 2>"$TEST_TMP/term.err" &
run=$!
wait_for "$TEST_TMP/mark-term" 60
kill -TERM "$run"
rc=0
wait "$run" || rc=$?
((rc != 0)) || fail "ferry run exited $rc after SIGTERM: $(tail -c 800 "$TEST_TMP/term.err")"
assert_contains "$TEST_TMP/term.err" "model.bin"
assert_contains "$TEST_TMP/term.err" "not in storage"
kept=$FERRY_HOME/jobs/term1/cap/data-capability/cache/OUTPUT_out.not-uploaded/model.bin
[[ -f $kept ]] || fail "what was written is not kept at $kept"
(($(stat -c %s "$kept") >= 8 * 1024 * 1024)) || fail "the kept copy holds only $(stat -c %s "$kept") bytes"
# the writer died by the signal (its close is not a commit), or the mount ended first
assert_contains "$FERRY_HOME/jobs/term1/logs/system_logs/data_capability/rslex.log" "'sigterm/model.bin' is not uploaded"
storage_has_old sigterm
assert_no_mounts_under "$FERRY_HOME"

step "SIGKILL of ferry run mid-write: the mount server keeps the open file, storage keeps the old blob"
job_file sigkill "$writer \${{outputs.out}}/model.bin 100 $TEST_TMP/mark-kill"
"$FERRY" run "$TEST_TMP/sigkill.yml" --name kill1 >/dev/null 2>&1 &
run=$!
wait_for "$TEST_TMP/mark-kill" 60
kill -KILL "$run"
wait "$run" 2>/dev/null || true
kept=$FERRY_HOME/jobs/kill1/cap/data-capability/cache/OUTPUT_out.not-uploaded/model.bin
wait_for "$kept" 30
# The mount server's unmount finds the file still open, or the watchdog that
# kills a dead `ferry run`'s command got there first and the writer's death
# broke the file: either way it is named and not uploaded.
assert_contains "$FERRY_HOME/jobs/kill1/logs/system_logs/data_capability/rslex.log" \
	"'sigkill/model.bin' is not uploaded"
storage_has_old sigkill

step "a command exiting 0 while a background writer holds a file open: the job fails naming it"
job_file bg "($writer \${{outputs.out}}/bg.bin 4 $TEST_TMP/mark-bg 20 >/dev/null 2>&1 &) ; while [ ! -e $TEST_TMP/mark-bg ]; do sleep 0.1; done"
expect_fail "bg.bin" ferry run "$TEST_TMP/bg.yml" --name bg1
assert_contains "$LAST_STDERR" "not in storage"
[[ -f $FERRY_HOME/jobs/bg1/cap/data-capability/cache/OUTPUT_out.not-uploaded/bg.bin ]] ||
	fail "what the background writer wrote is not kept"
rc=0
ferry download "$(az_uri "$c" bg/bg.bin)" "$TEST_TMP/got-bg" >/dev/null 2>&1 || rc=$?
((rc != 0)) || fail "a file still open when the job ended is in storage"

step "a reader's close commits nothing: only the writer's close puts the file in storage"
mnt=$TEST_TMP/mnt-rd
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "$(az_uri "$c" rd)" "$mnt"
$PY - "$mnt/f.bin" "$TEST_TMP/rd-half" "$TEST_TMP/rd-go" <<'PY' &
import os, sys, time
f = open(sys.argv[1], "wb", buffering=0)
f.write(b"a" * (1 << 20))
open(sys.argv[2], "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
f.write(b"b" * (1 << 20))
f.close()
PY
w=$!
wait_for "$TEST_TMP/rd-half" 30
cat "$mnt/f.bin" >/dev/null || fail "reading a file being written failed"
rc=0
ferry download "$(az_uri "$c" rd/f.bin)" "$TEST_TMP/got-rd" >/dev/null 2>&1 || rc=$?
((rc != 0)) || fail "a reader's close put the half-written file in storage"
touch "$TEST_TMP/rd-go"
wait "$w" || fail "the writer's close failed"
expect_ok ferry download "$(az_uri "$c" rd/f.bin)" "$TEST_TMP/got-rd2"
assert_eq $((2 << 20)) "$(stat -c %s "$TEST_TMP/got-rd2/f.bin")" "size in storage"
unmount_at "$mnt"

step "a writer that got ENOSPC: close() fails and storage keeps the old blob"
mnt=$TEST_TMP/mnt-small
rw_mount_small_disk "$(az_uri "$c" small)" "$mnt"
$PY - "$mnt/model.bin" >"$TEST_TMP/enospc.out" <<'PY'
import errno, sys
f = open(sys.argv[1], "wb", buffering=0)
try:
    for _ in range(32):
        f.write(b"x" * (1 << 20))
    print("WRITES-OK")
except OSError as e:
    print("WRITE-FAILED", errno.errorcode.get(e.errno))
try:
    f.close()
    print("CLOSE-OK")
except OSError as e:
    print("CLOSE-FAILED", errno.errorcode.get(e.errno))
PY
assert_contains "$TEST_TMP/enospc.out" "WRITE-FAILED ENOSPC"
assert_contains "$TEST_TMP/enospc.out" "CLOSE-FAILED"
assert_contains "$FERRY_HOME/logs/mount.log" "'small/model.bin' is not uploaded: a write to it failed"
storage_has_old small
unmount_at "$mnt"
storage_has_old small
echo ok
