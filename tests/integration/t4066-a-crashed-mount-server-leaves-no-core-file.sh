#!/usr/bin/env bash
# t4066 — owns core files (issue 10 item 14): a mount server serving an account-key
# datastore that crashes (SIGSEGV) writes no core file holding the key, even when the
# user who started it allows cores (ulimit -c unlimited): every ferry process is
# non-dumpable with RLIMIT_CORE 0 (src/core/proc.c). Its stale mount is then cleaned
# up as for any dead server.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=60
pattern=$(cat /proc/sys/kernel/core_pattern)
[[ $pattern != '|'* ]] || skip "core_pattern pipes cores to a helper ($pattern): no core file to look for"
ulimit -c unlimited 2>/dev/null || skip "cannot allow core files here (hard limit $(ulimit -Hc))"

c=$(new_container)
echo "blob" >"$TEST_TMP/b.txt"
azcli put "$c" data/b.txt "$TEST_TMP/b.txt"
az_datastore azstore "$c"

step "a mount server started with cores allowed runs with RLIMIT_CORE 0"
mkdir -p "$TEST_TMP/cwd"
cd "$TEST_TMP/cwd"
mount_at azureml://datastores/azstore/paths/data "$TEST_TMP/mnt"
assert_eq blob "$(cat "$TEST_TMP/mnt/b.txt")" "the mounted blob"
pid=
for e in "$FERRY_HOME"/mounts/*.mount; do pid=$(tr '\0' '\n' <"$e" | sed -n 1p); done
[[ -n $pid ]] && kill -0 "$pid" || fail "no live mount server registered"
grep '^Max core file size' "/proc/$pid/limits"
grep -q '^Max core file size *0 *0 ' "/proc/$pid/limits" || fail "the mount server may dump core"
cwd=$(readlink "/proc/$pid/cwd")

step "SIGSEGV of the server leaves no core file"
kill -SEGV "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the server survived SIGSEGV"
sleep 1 # a core is written before the process is reaped; give a slow disk a moment
for d in "$cwd" "$TEST_TMP/cwd"; do
	cores=$(find "$d" -maxdepth 1 -name 'core*' 2>/dev/null | head -3)
	[[ -z $cores ]] || fail "core file(s) left in $d: $cores"
done
if [[ $pattern == /* ]]; then
	cores=$(find "$(dirname "$pattern")" -maxdepth 1 -newer "$TEST_TMP/b.txt" -name "$(basename "${pattern%%%*}")*" 2>/dev/null | head -3)
	[[ -z $cores ]] || fail "core file(s) written to $(dirname "$pattern"): $cores"
fi

step "the stale mount is cleaned up by the next start"
expect_ok ferry job list
is_mounted "$TEST_TMP/mnt" && fail "the crashed server's mount is still there"
echo "ok"
