#!/usr/bin/env bash
# t4020 — owns ro_mount job inputs (the default mode): a uri_folder input is
# mounted at INPUT_<name> and a uri_file input expands to the file inside a mount
# of its folder; the command reads them through the mount; both are unmounted when
# the job ends — also when the command fails, when ferry gets SIGTERM, and when
# ferry is killed outright (the mount server follows it). No mount is left behind.
# The job record (ferry job show) carries each mount's bytes read, cache hit rate
# and time spent waiting for storage.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
export FERRY_CMD_TIMEOUT=120

c=$(new_container)
mk_small_tree "$TEST_TMP/src" 40 1 64
printf 'a,b\n1,2\n' >"$TEST_TMP/train.csv"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/src" "$(az_uri "$c" in/tree)"
expect_ok ferry upload "$TEST_TMP/train.csv" "$(az_uri "$c" in/train.csv)"
unset AZURE_STORAGE_CONNECTION_STRING
az_datastore azstore "$c"
mkdir -p "$TEST_TMP/job"

# job FILE EXIT-CODE [SLEEP] — a job that checks its inputs, then sleeps and exits
# (its shell's pid, the leader of its process group, in FILE.pid).
job() {
	cat >"$1" <<-YML
	command: >-
	  echo \$\$ >$1.pid && diff -r $TEST_TMP/src \${{inputs.tree}} && cmp $TEST_TMP/train.csv \${{inputs.file}}
	  && echo "tree=\${{inputs.tree}} file=\${{inputs.file}}" && grep -c fuse /proc/self/mountinfo
	  && sleep ${3:-0} && exit $2
	inputs:
	  tree: {type: uri_folder, path: "azureml://datastores/azstore/paths/in/tree/"}
	  file: {type: uri_file, path: "azureml://datastores/azstore/paths/in/train.csv", mode: ro_mount}
	YML
}

step "ro_mount inputs: the command reads the mounted folder and file; both are unmounted after"
job "$TEST_TMP/job/ok.yml" 0
expect_ok ferry run "$TEST_TMP/job/ok.yml" --name m1
wd=$FERRY_HOME/jobs/m1/cap/data-capability/wd
assert_contains "$TEST_TMP/last.stdout" "tree=$wd/INPUT_tree file=$wd/INPUT_file/train.csv"
assert_no_mounts_under "$FERRY_HOME"
[[ ! -e $wd/INPUT_tree ]] || fail "mount folder $wd/INPUT_tree left behind"
dcap=$FERRY_HOME/jobs/m1/logs/system_logs/data_capability/data-capability.log
assert_contains "$dcap" "Activity=mount, HowEnded=Success"
assert_contains "$dcap" "Activity=unmount, HowEnded=Success"
assert_contains "$FERRY_HOME/jobs/m1/logs/system_logs/data_capability/rslex.log" "mount summary"

step "the job record carries each mount's bytes read, cache hit rate and time waiting for storage"
# Every file of the tree read twice through the mount, each read a new open: in
# whole-file mode the first open of each file misses (waits for storage), the
# second hits the disk cache; the bytes come from storage once. (Read-ahead of
# the next files off, so that no first open finds its file fetched already.)
cat >"$TEST_TMP/job/twice.yml" <<-YML
environment_variables: {FERRY_MOUNT_READ_AHEAD_FILES: 0}
command: >-
  find \${{inputs.tree}} -type f -exec cat {} + >/dev/null && find \${{inputs.tree}} -type f -exec cat {} + >/dev/null
inputs:
  tree: {type: uri_folder, path: "azureml://datastores/azstore/paths/in/tree/"}
  file: {type: uri_file, path: "azureml://datastores/azstore/paths/in/train.csv"}
YML
expect_ok ferry run "$TEST_TMP/job/twice.yml" --name stats
expect_ok ferry job show stats
tree_bytes=$(find "$TEST_TMP/src" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
grep -A1 "^  tree:" "$TEST_TMP/last.stdout" >"$TEST_TMP/tree.show"
grep -E "^    mount: [0-9]+ bytes read, cache hit rate 50\.0% \(40 hits, 40 misses\), waited [0-9.]+ s for storage, $tree_bytes bytes from storage in [0-9]+ requests \(0 retries\), 80 opens, 0 read errors$" \
	"$TEST_TMP/tree.show" >/dev/null || fail "ferry job show lacks the tree mount's figures: $(cat "$TEST_TMP/tree.show")"
# Programs read every byte at least once (a second read may come from the page cache).
read_bytes=$(sed -nE 's/^    mount: ([0-9]+) bytes read.*/\1/p' "$TEST_TMP/tree.show")
((read_bytes >= tree_bytes && read_bytes <= 2 * tree_bytes)) ||
	fail "bytes read through the mount: $read_bytes, the tree holds $tree_bytes"
assert_contains "$TEST_TMP/tree.show" "(uri_folder, ro_mount) Completed, $tree_bytes bytes"
grep -A1 "^  file:" "$TEST_TMP/last.stdout" | grep -q "^    mount: 0 bytes read, cache hit rate 0.0% (0 hits, 0 misses)" ||
	fail "an input the command never opened should show no reads: $(grep -A1 "^  file:" "$TEST_TMP/last.stdout")"

# With read-ahead on, files fetched ahead are hits when the reader opens them, and the
# fetches themselves are no reader's hit or miss: hits + misses = opens.
sed 's/^environment_variables:.*$//' "$TEST_TMP/job/twice.yml" >"$TEST_TMP/job/twice-ahead.yml"
expect_ok ferry run "$TEST_TMP/job/twice-ahead.yml" --name ahead
expect_ok ferry job show ahead
ahead=$(grep -A1 "^  tree:" "$TEST_TMP/last.stdout" | sed -nE 's/^    mount: .*\(([0-9]+) hits, ([0-9]+) misses\).* ([0-9]+) opens.*/\1 \2 \3/p')
read -r h m o <<<"$ahead"
[[ -n $o ]] || fail "no mount figures for the read-ahead run: $(cat "$TEST_TMP/last.stdout")"
((h + m == o && o == 80 && h >= 40)) || fail "read-ahead run: $h hits + $m misses for $o opens"
expect_ok ferry job show stats
bm=$(sed -nE 's/^bytes_moved: *([0-9]+)/\1/p' "$TEST_TMP/last.stdout")
((bm >= tree_bytes)) || fail "bytes_moved $bm does not count the $tree_bytes bytes the mount fetched"
assert_no_mounts_under "$FERRY_HOME"

step "a command that fails still unmounts, and its exit code is the job's"
job "$TEST_TMP/job/fail.yml" 3
rc=0
ferry run "$TEST_TMP/job/fail.yml" --name m2 >"$TEST_TMP/m2.out" 2>&1 || rc=$?
assert_eq 3 "$rc" "exit code of a failing job"
assert_contains "$TEST_TMP/m2.out" "tree="
assert_contains "$TEST_TMP/m2.out" "(ro_mount): 40 opens, cache hit rate" "job summary of the mounted input"
assert_no_mounts_under "$FERRY_HOME"

step "SIGTERM to ferry while the command runs: the command stops, the inputs are unmounted"
job "$TEST_TMP/job/long.yml" 0 60
"$FERRY" run "$TEST_TMP/job/long.yml" --name m3 >"$TEST_TMP/m3.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "tree=" "$TEST_TMP/m3.out" 2>/dev/null && break; sleep 0.1; done
grep -q "tree=" "$TEST_TMP/m3.out" || fail "the command did not start: $(cat "$TEST_TMP/m3.out")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc != 0)) || fail "ferry exited 0 after SIGTERM"
assert_no_mounts_under "$FERRY_HOME"

step "SIGKILL to ferry: the mount servers unmount by themselves"
"$FERRY" run "$TEST_TMP/job/long.yml" --name m4 >"$TEST_TMP/m4.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "tree=" "$TEST_TMP/m4.out" 2>/dev/null && break; sleep 0.1; done
grep -q "tree=" "$TEST_TMP/m4.out" || fail "the command did not start: $(cat "$TEST_TMP/m4.out")"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
kill -KILL -- "-$(cat "$TEST_TMP/job/long.yml.pid")" 2>/dev/null || true
for _ in $(seq 1 200); do grep -qF " $FERRY_HOME" /proc/self/mountinfo || break; sleep 0.1; done # up to 20 s: a loaded machine (a full CI run) once needed more than 5
if grep -qF " $FERRY_HOME" /proc/self/mountinfo; then # what to look at if it happens again
	ps -eo pid,pgid,stat,etime,args | grep -E "[f]erry" || true
	tail -20 "$FERRY_HOME/jobs/m4/logs/system_logs/data_capability/rslex.log" 2>/dev/null || true
fi
assert_no_mounts_under "$FERRY_HOME"

step "a stale mount (its server killed) is removed by ferry unmount"
mnt=$TEST_TMP/stale
mount_at "azureml://datastores/azstore/paths/in/tree" "$mnt"
spid=$(grep -o "served by process [0-9]*" "$FERRY_HOME/logs/mount.log" | tail -1 | awk '{print $4}')
[[ -n $spid ]] || fail "no 'served by process' line in the mount log"
kill -KILL "$spid"
for _ in $(seq 1 20); do ls "$mnt" >/dev/null 2>&1 || break; sleep 0.1; done
if ls "$mnt" >/dev/null 2>&1; then fail "the mount still answers after its server was killed"; fi
unmount_at "$mnt"

step "no mount is left behind"
assert_no_mounts_under "$TEST_TMP"
echo "ok"
