#!/usr/bin/env bash
# On a real 2-node Slurm cluster, a 2 x 2 job whose 4 ranks all read the same 3 MiB
# ro_mount input and the same download input: each node fetches each input from
# storage once (its mount's storage bytes = the data, not 2x; one download per node),
# as its report and the job record show. The seed's scale-out pattern (a rank picks
# its input by RANK: one container per half of the ranks) reads the right bytes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
source "$(dirname "$0")/lib-slurm.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=60
slurm_up 2

ca=$(new_container)
cb=$(new_container)
mkdata_random "$TEST_TMP/big.bin" 3M
mkdata_random "$TEST_TMP/a.bin" 64K
mkdata_random "$TEST_TMP/b.bin" 96K
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
expect_ok ferry upload "$TEST_TMP/big.bin" "$(az_uri "$ca" in/big.bin)"
expect_ok ferry upload "$TEST_TMP/a.bin" "$(az_uri "$ca" shard/part.bin)"
expect_ok ferry upload "$TEST_TMP/b.bin" "$(az_uri "$cb" shard/part.bin)"
unset AZURE_STORAGE_CONNECTION_STRING
az_datastore sa "$ca"
az_datastore sb "$cb"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<'YML'
command: >-
  cat ${{inputs.big}} ${{inputs.big}} | md5sum > ${{outputs.out}}/big_$RANK &&
  md5sum < ${{inputs.copy}} > ${{outputs.out}}/copy_$RANK &&
  set -- ${{inputs.shard_a}} ${{inputs.shard_b}} && shift $((RANK % 2)) &&
  md5sum < $1 > ${{outputs.out}}/shard_$RANK
compute: azureml:cpu-cluster
inputs:
  big: {type: uri_file, path: "azureml://datastores/sa/paths/in/big.bin", mode: ro_mount}
  copy: {type: uri_file, path: "azureml://datastores/sa/paths/in/big.bin", mode: download}
  shard_a: {type: uri_file, path: "azureml://datastores/sa/paths/shard/part.bin"}
  shard_b: {type: uri_file, path: "azureml://datastores/sb/paths/shard/part.bin"}
outputs:
  out: {type: uri_folder, mode: upload}
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2}
YML

step "4 ranks read the same inputs; every rank saw the right bytes"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name s1
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/s1/out
big=$(cat "$TEST_TMP/big.bin" "$TEST_TMP/big.bin" | md5sum)
one=$(md5sum <"$TEST_TMP/big.bin")
for r in 0 1 2 3; do
	assert_eq "$big" "$(cat "$out/big_$r")" "rank $r's reads of the mounted input"
	assert_eq "$one" "$(cat "$out/copy_$r")" "rank $r's downloaded input"
done
assert_eq "$(md5sum <"$TEST_TMP/a.bin")" "$(cat "$out/shard_0")" "rank 0's shard (container a)"
assert_eq "$(md5sum <"$TEST_TMP/b.bin")" "$(cat "$out/shard_1")" "rank 1's shard (container b)"
assert_eq "$(md5sum <"$TEST_TMP/a.bin")" "$(cat "$out/shard_2")" "rank 2's shard (container a)"
assert_eq "$(md5sum <"$TEST_TMP/b.bin")" "$(cat "$out/shard_3")" "rank 3's shard (container b)"

step "each node fetched each input from storage once, shared by its 2 ranks"
size=$(stat -c %s "$TEST_TMP/big.bin")
$PY - "$FERRY_HOME/jobs/s1/nodes" "$size" <<'PY' || fail "inputs were not staged once per node"
import json, sys
d, size = sys.argv[1], int(sys.argv[2])
for k in (0, 1):
    ins = {i["name"]: i for i in json.load(open("%s/%d.json" % (d, k)))["figures"]["inputs"]}
    m = ins["big"]["mount"]
    # 2 ranks x 2 full passes: 4 opens of the one mount of this node, the data from storage once
    assert m["opens"] == 4, (k, m)
    assert m["storage_bytes"] == size, ("node %d fetched %d bytes for a %d-byte input" % (k, m["storage_bytes"], size), m)
    assert ins["copy"]["bytes"] == size and ins["copy"]["files"] == 1, (k, ins["copy"])
    print("node %d: big opened %d times, %d bytes from storage in %d requests; copy downloaded %d bytes"
          % (k, m["opens"], m["storage_bytes"], m["requests"], ins["copy"]["bytes"]))
PY
ferry job show s1 >"$TEST_TMP/show"
grep -Eq "^  copy: .*Completed, $((2 * size)) bytes, 2 files" "$TEST_TMP/show" ||
	fail "the record does not say one download per node: $(grep -A12 '^inputs' "$TEST_TMP/show")"
slurm_idle
assert_no_mounts_under "$FERRY_HOME"
echo "ok"
