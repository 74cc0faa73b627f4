#!/usr/bin/env bash
# t4060 — owns the registry of live mounts ($FERRY_HOME/mounts): a mount server
# killed outright (SIGKILL: no chance to unmount) leaves a stale mount and its cache;
# the next start of any ferry command unmounts it, removes the cache and drops the
# entry, with one warning line each — for a background `ferry mount` and for the
# ro_mount inputs of a `ferry run` killed together with its servers. Live mounts are
# left alone, and concurrent ferry starts clean each dead entry exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
mk_small_tree "$TEST_TMP/src" 30 1 64
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" tree)"
unset AZURE_STORAGE_CONNECTION_STRING
az_datastore azstore "$c"
uri="azureml://datastores/azstore/paths/tree"

# entries — the live-mount entries of the workspace, one a line.
entries() { ls "$FERRY_HOME/mounts" 2>/dev/null | grep '\.mount$' || true; }
# cache_of DIR — the cache folder registered for DIR.
cache_of() {
	local e
	for e in "$FERRY_HOME"/mounts/*.mount; do
		if tr '\0' '\n' <"$e" | sed -n 3p | grep -qxF "$1"; then
			tr '\0' '\n' <"$e" | sed -n 4p
			return 0
		fi
	done
	return 1
}
# kill_server DIR — SIGKILL the server of DIR; wait until the mount is dead.
kill_server() {
	local pid
	pid=$(server_pid "$1") || fail "no registry entry for $1: $(entries)"
	kill -KILL "$pid"
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if ls "$1" >/dev/null 2>&1; then fail "$1 still answers after its server was killed"; fi
}

step "a background mount is registered while it serves, with its folder and cache"
m1=$TEST_TMP/m1
mount_at "$uri" "$m1" DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED=true
assert_eq 1 "$(entries | wc -l)" "registry entries of one live mount"
cache1=$(cache_of "$m1") || fail "the entry does not name $m1"
cat "$m1"/d00/f00001.bin >/dev/null # put something in its cache
[[ -d $cache1 ]] || fail "cache folder $cache1 does not exist while mounted"

step "an unrelated ferry command leaves a live mount alone"
expect_ok ferry job list
is_mounted "$m1" || fail "ferry job list unmounted a live mount"
assert_eq 1 "$(entries | wc -l)" "registry entries after a start with a live mount"
assert_not_contains "$LAST_STDERR" "died"

step "SIGKILL of the server: the next ferry start unmounts, removes the cache, drops the entry"
kill_server "$m1"
is_mounted "$m1" || fail "expected a stale mount at $m1 after SIGKILL (nothing to clean up?)"
expect_ok ferry job list
is_mounted "$m1" && fail "$m1 is still mounted after the next ferry start"
[[ ! -e $cache1 ]] || fail "cache folder $cache1 left behind: $(find "$cache1" | head -5)"
assert_eq 0 "$(entries | wc -l)" "registry entries after the cleanup"
assert_eq 1 "$(grep -c "died; unmounted its stale mount $m1" "$LAST_STDERR")" "warning lines"
ls "$m1" >/dev/null || fail "$m1 is not a usable folder after the cleanup"

step "the next start after that has nothing to do and says nothing"
expect_ok ferry job list
[[ ! -s $LAST_STDERR ]] || fail "unexpected output: $(cat "$LAST_STDERR")"

step "ferry unmount of a killed server's folder unmounts it and cleans its entry and cache"
m2=$TEST_TMP/m2
mount_at "$uri" "$m2"
cache2=$(cache_of "$m2")
cat "$m2"/d00/f00001.bin >/dev/null
kill_server "$m2"
unmount_at "$m2"
[[ ! -e $cache2 ]] || fail "cache folder $cache2 left behind"
assert_eq 0 "$(entries | wc -l)" "registry entries after ferry unmount"

step "ferry run killed with its mount servers: the next start cleans the job's mounts"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/long.yml" <<-YML
command: >-
  echo \$\$ >$TEST_TMP/job/cmd.pid && ls \${{inputs.tree}} >/dev/null && echo started && sleep 120
inputs:
  tree: {type: uri_folder, path: "$uri/"}
  other: {type: uri_folder, path: "$uri/d00/", mode: ro_mount}
YML
"$FERRY" run "$TEST_TMP/job/long.yml" --name k1 >"$TEST_TMP/k1.out" 2>&1 &
rpid=$!
for _ in $(seq 1 150); do grep -q "^started" "$TEST_TMP/k1.out" 2>/dev/null && break; sleep 0.1; done
grep -q "^started" "$TEST_TMP/k1.out" || fail "the command did not start: $(cat "$TEST_TMP/k1.out")"
assert_eq 2 "$(entries | wc -l)" "registry entries of the job's two mounts"
wd=$FERRY_HOME/jobs/k1/cap/data-capability/wd
spids=$(for d in "$wd/INPUT_tree" "$wd/INPUT_other"; do server_pid "$d"; done)
jcache=$(cache_of "$wd/INPUT_tree")
# As the OOM killer or a node failure would, with no chance to clean up.
kill -KILL $spids # servers first: a SIGTERM from their dying parent must not win
kill -KILL "$rpid"
wait "$rpid" 2>/dev/null || true
kill -KILL -- "-$(cat "$TEST_TMP/job/cmd.pid")" 2>/dev/null || true
for p in $spids; do
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
is_mounted "$wd/INPUT_tree" || fail "expected a stale mount of the job's input after SIGKILL"
expect_ok ferry ls "$TEST_TMP/src"
assert_no_mounts_under "$FERRY_HOME"
[[ ! -e $jcache ]] || fail "the job's cache folder $jcache left behind"
assert_eq 0 "$(entries | wc -l)" "registry entries after the cleanup"
assert_eq 2 "$(grep -c "died; unmounted its stale mount" "$LAST_STDERR")" "warning lines"

step "four ferry commands starting at once clean three dead mounts exactly once each"
for i in 1 2 3; do mount_at "$uri" "$TEST_TMP/c$i"; done
for i in 1 2 3; do kill_server "$TEST_TMP/c$i"; done
assert_eq 3 "$(entries | wc -l)" "registry entries of three dead servers"
pids=()
for i in 1 2 3 4; do
	"$FERRY" job list >/dev/null 2>"$TEST_TMP/conc$i.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent ferry job list failed"; done
for i in 1 2 3; do is_mounted "$TEST_TMP/c$i" && fail "$TEST_TMP/c$i still mounted"; done
assert_eq 3 "$(cat "$TEST_TMP"/conc*.err | grep -c "died; unmounted its stale mount")" \
	"warning lines over the four commands"
assert_eq 0 "$(entries | wc -l)" "registry entries after the concurrent cleanup"
[[ -z $(ls "$FERRY_HOME/cache" 2>/dev/null) ]] || fail "caches left: $(ls "$FERRY_HOME/cache")"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
