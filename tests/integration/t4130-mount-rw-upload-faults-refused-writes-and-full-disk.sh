#!/usr/bin/env bash
# t4130 — owns the read-write mount's failure paths. Storage answering 500/503 to
# uploads (block puts, block lists, copies, deletes; through the fault proxy) is
# retried and everything lands. Storage refusing writes (a read-only SAS) makes the
# writer's close() fail with EIO and the job fail with a message naming the file (whose
# content is kept in the job folder) that
# is missing; a wrong account key fails the job before its command runs. A staging
# disk with too little room gives the writer ENOSPC and keeps
# DATASET_RESERVED_FREE_DISK_SPACE free, and the mount goes on working.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=300
at_exit 'fault clear 2>/dev/null'

c=$(new_container)
mkdata_random "$TEST_TMP/src/big.bin" 6M
mk_small_tree "$TEST_TMP/src/tree" 30 0 40

step "500s and 503s on every third write request are retried: every file lands"
export AZURE_STORAGE_CONNECTION_STRING=$FAULT_CONN FERRY_RETRY_BASE_DELAY_MS=10
fault clear
fault every-write "3 500,503"
mnt=$TEST_TMP/mnt-faults
mkdir -p "$mnt"
_MOUNTS+=("$mnt")
expect_ok ferry mount --rw "$(fault_uri "$c" out)" "$mnt" --set FERRY_UPLOAD_SINGLE_PUT_MAX=1MB \
	--set FERRY_TRANSFER_PART_SIZE=1MB
cp -r "$TEST_TMP/src/." "$mnt/" || fail "copy into the mount failed"
mv "$mnt/tree/f00000.bin" "$mnt/renamed.bin" || fail "rename under faults failed"
rm "$mnt/tree/f00004.bin" || fail "delete under faults failed"
mv "$TEST_TMP/src/tree/f00000.bin" "$TEST_TMP/src/renamed.bin"
rm "$TEST_TMP/src/tree/f00004.bin"
assert_tree_same "$TEST_TMP/src" "$mnt"
unmount_at "$mnt"
injected=$(curl -sf "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["injected_total"])')
((injected >= 5)) || fail "only $injected faults were injected"
fault clear
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry download "$(az_uri "$c" out)" "$TEST_TMP/got"
assert_tree_same "$TEST_TMP/src" "$TEST_TMP/got"
grep -q "retr" "$FERRY_HOME/logs/mount.log" || true

step "a read-only SAS: close() gets EIO and the job fails naming the missing file"
sas=$(azcli sas --perms rl)
cat >"$TEST_TMP/ds-ro.yml" <<YML
name: rosas
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  sas_token: "?$sas"
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds-ro.yml"
cat >"$TEST_TMP/ro.yml" <<YML
command: >-
  (cp $TEST_TMP/src/big.bin \${{outputs.out}}/model.bin && echo CLOSE-OK || echo CLOSE-FAILED) && true
outputs:
  out: {type: uri_folder, path: "azureml://datastores/rosas/paths/ro-out/"}
YML
expect_fail "model.bin" ferry run "$TEST_TMP/ro.yml" --name ro1
assert_contains "$LAST_STDERR" "not in storage"
assert_contains "$TEST_TMP/last.stdout" "CLOSE-FAILED" "the writer's view"
# nothing lost: what the command wrote is kept in the job folder, and the error says where
kept=$FERRY_HOME/jobs/ro1/cap/data-capability/cache/OUTPUT_out.not-uploaded/model.bin
assert_contains "$LAST_STDERR" "kept in"
assert_file_same "$TEST_TMP/src/big.bin" "$kept"
log=$FERRY_HOME/jobs/ro1/logs/system_logs/data_capability/rslex.log
assert_contains "$log" "upload of 'ro-out/model.bin'"
assert_contains "$log" "403"
assert_not_contains "$log" "$sas"
assert_not_contains "$LAST_STDERR" "$sas"
assert_no_mounts_under "$FERRY_HOME"

step "a read-write SAS: writes, renames (Copy Blob with the SAS) and deletes land; the SAS is never logged"
wsas=$(azcli sas --perms rwdlac)
cat >"$TEST_TMP/ds-rw.yml" <<YML
name: rwsas
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  sas_token: "?$wsas"
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds-rw.yml"
cat >"$TEST_TMP/rw.yml" <<YML
command: >-
  cp $TEST_TMP/src/big.bin \${{outputs.out}}/a.bin && mv \${{outputs.out}}/a.bin \${{outputs.out}}/b.bin
  && echo x > \${{outputs.out}}/gone && rm \${{outputs.out}}/gone
outputs:
  out: {type: uri_folder, path: "azureml://datastores/rwsas/paths/rw-out/"}
YML
expect_ok ferry run "$TEST_TMP/rw.yml" --name rw1
expect_ok ferry download "$(az_uri "$c" rw-out)" "$TEST_TMP/got-rw"
assert_file_same "$TEST_TMP/src/big.bin" "$TEST_TMP/got-rw/b.bin"
[[ ! -e $TEST_TMP/got-rw/a.bin && ! -e $TEST_TMP/got-rw/gone ]] || fail "old or deleted names are in storage"
for f in "$FERRY_HOME/jobs/rw1/logs/system_logs/data_capability/"* "$LAST_STDERR"; do
	assert_not_contains "$f" "$wsas"
	assert_not_contains "$f" "sig="
done

step "a wrong account key fails the job before its command runs, with a clear error"
cat >"$TEST_TMP/ds-bad.yml" <<YML
name: badkey
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $AZURITE_URL
credentials:
  account_key: "$(printf 'wrongkeywrongkeywrongkeywrongkey' | base64)"
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds-bad.yml"
cat >"$TEST_TMP/bad.yml" <<YML
command: touch $TEST_TMP/ran && echo x > \${{outputs.out}}/f.txt
outputs:
  out: {type: uri_folder, path: "azureml://datastores/badkey/paths/bad-out/"}
YML
expect_fail "output 'out'" ferry run "$TEST_TMP/bad.yml" --name bad1
assert_contains "$LAST_STDERR" "403"
[[ ! -e $TEST_TMP/ran ]] || fail "the command ran although its output cannot be written"
assert_no_mounts_under "$FERRY_HOME"

step "a staging disk with too little room: the writer gets ENOSPC, the reserve stays free"
small=$TEST_TMP/small
mnt=$TEST_TMP/mnt-small
rw_mount_small_disk "$(az_uri "$c" small)" "$mnt"
if dd if=/dev/zero of="$mnt/too-big.bin" bs=1M count=32 status=none 2>"$TEST_TMP/dd.err"; then
	fail "writing 32 MiB through a 24 MiB staging disk succeeded"
fi
assert_contains "$TEST_TMP/dd.err" "No space left on device"
avail=$(df -B1 --output=avail "$small" | tail -1)
((avail >= 8 * 1024 * 1024)) || fail "only $avail bytes left free on the staging disk (reserve 8 MiB)"
assert_contains "$FERRY_HOME/logs/mount.log" "DATASET_RESERVED_FREE_DISK_SPACE"
rm -f "$mnt/too-big.bin"
mkdata_random "$TEST_TMP/fits.bin" 4M
cp "$TEST_TMP/fits.bin" "$mnt/fits.bin" || fail "a 4 MiB file did not fit after the failure"
unmount_at "$mnt"
expect_ok ferry download "$(az_uri "$c" small/fits.bin)" "$TEST_TMP/got-small"
assert_file_same "$TEST_TMP/fits.bin" "$TEST_TMP/got-small/fits.bin"
echo ok
