#!/usr/bin/env bash
# t3320 — owns staging in distributed jobs (issue 11): inputs are staged once per
# node, not once per rank — the storage requests (counted by the fault proxy in front
# of Azurite) of 1 node x 2 ranks equal those of 1 x 1, and 2 nodes x 2 ranks make
# exactly twice as many — for a download input and an ro_mount input alike; and the
# seed's "Scale across multiple storage accounts" job (two datastores, args.data[rank])
# runs with each node reading only its own account, every rank's output landing in
# one rw_mount output folder.
source "$(dirname "$0")/lib.sh"
need_fixtures
[[ -n ${FAULT_CTL:-} ]] || skip "fault proxy not running"
export FERRY_CMD_TIMEOUT=60

stats() { curl -sf --max-time 5 "$FAULT_CTL/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["data_requests"])'; }
clear() { curl -sf --max-time 5 -X POST "$FAULT_CTL/clear" >/dev/null || fail "fault proxy clear"; }

c=$(new_container)
for f in a b c; do
	mkdata_random "$TEST_TMP/src/$f.bin" 64K
	azcli put "$c" in/$f.bin "$TEST_TMP/src/$f.bin"
done
mkdata_random "$TEST_TMP/src/big.bin" 3M
azcli put "$c" big/big.bin "$TEST_TMP/src/big.bin"
cat >"$TEST_TMP/ds.yml" <<YML
name: px
type: azure_blob
account_name: devstoreaccount1
container_name: $c
endpoint: $FAULT_URL
credentials:
  account_key: $AZURITE_KEY
YML
expect_ok ferry datastore create --file "$TEST_TMP/ds.yml"
want=$(cd "$TEST_TMP/src" && cat a.bin b.bin c.bin big.bin | md5sum | cut -d' ' -f1)

mkdir -p "$TEST_TMP/job"
shape() { # shape NODES PER_NODE — the job file for that shape; every rank reads everything
	cat >"$TEST_TMP/job/job.yml" <<-YML
	command: cat \${{inputs.small}}/a.bin \${{inputs.small}}/b.bin \${{inputs.small}}/c.bin \${{inputs.big}} | md5sum
	inputs:
	  small: {type: uri_folder, path: "azureml://datastores/px/paths/in/", mode: download}
	  big: {type: uri_file, path: "azureml://datastores/px/paths/big/big.bin", mode: ro_mount}
	distribution: {type: pytorch, process_count_per_instance: $2}
	resources: {instance_count: $1}
	YML
}
declare -A req
for s in "1 1" "1 2" "2 2"; do
	step "shape $s: every rank reads every input byte for byte"
	shape $s
	name=st${s// /x}
	clear
	expect_ok ferry run "$TEST_TMP/job/job.yml" --name "$name"
	req[$s]=$(stats)
	ranks=$((${s% *} * ${s#* }))
	for ((r = 0; r < ranks; r++)); do
		assert_contains "$FERRY_HOME/jobs/$name/user_logs/std_log_process_$r.txt" "$want"
	done
done
echo "# data requests: 1x1 ${req[1 1]}, 1x2 ${req[1 2]}, 2x2 ${req[2 2]}"

step "storage requests are per node, not per rank"
((req[1 1] >= 4)) || fail "1x1 made ${req[1 1]} data requests, fewer than its 4 files"
assert_eq "${req[1 1]}" "${req[1 2]}" "data requests of 1 node x 2 ranks vs 1 x 1"
assert_eq "$((2 * req[1 1]))" "${req[2 2]}" "data requests of 2 nodes x 2 ranks vs twice 1 x 1"

step "each node reports its own figures; the record sums them"
for k in 0 1; do
	assert_contains "$FERRY_HOME/jobs/st2x2/nodes/$k.json" '"bytes":196608'
done
expect_ok ferry job show st2x2
assert_contains "$TEST_TMP/last.stdout" "393216 bytes" # 2 nodes x 3 x 64 KiB

step "the seed's per-rank storage account: args.data[rank], one account per node"
c1=$(new_container)
c2=$(new_container)
printf 'shard one\n' >"$TEST_TMP/one.txt"
printf 'shard two\n' >"$TEST_TMP/two.txt"
azcli put "$c1" cifar/data.txt "$TEST_TMP/one.txt"
azcli put "$c2" cifar/data.txt "$TEST_TMP/two.txt"
az_datastore storage1 "$c1"
az_datastore storage2 "$c2"
cp "$ROOT/tests/data/dist/train.py" "$TEST_TMP/job/"
cat >"$TEST_TMP/job/seed.yml" <<YML
code: .
command: >-
  $PY train.py
  --data \${{inputs.cifar_storage1}}, \${{inputs.cifar_storage2}}
  --out \${{outputs.model}}
inputs:
  epochs: 1
  cifar_storage1:
    type: uri_folder
    path: azureml://datastores/storage1/paths/cifar
  cifar_storage2:
    type: uri_folder
    path: azureml://datastores/storage2/paths/cifar
outputs:
  model: {type: uri_folder, mode: rw_mount}
distribution:
  type: pytorch
  process_count_per_instance: 1
resources:
  instance_count: 2
display_name: pytorch-cifar-distributed-example
YML
expect_ok ferry run "$TEST_TMP/job/seed.yml" --name seed1
out=$FERRY_HOME/datastores/workspaceblobstore/azureml/seed1/model
assert_eq "rank 0 of 2 read shard one" "$(cat "$out/rank_0.txt")" "rank 0's output"
assert_eq "rank 1 of 2 read shard two" "$(cat "$out/rank_1.txt")" "rank 1's output"
grep -qx 'written by rank [01]' "$out/shared.txt" || fail "shared.txt: $(cat "$out/shared.txt")"
$PY - "$FERRY_HOME/jobs/seed1/nodes" <<'PY' || fail "a node fetched the other node's account"
import json, sys
for k, mine, other in ((0, "cifar_storage1", "cifar_storage2"), (1, "cifar_storage2", "cifar_storage1")):
    ins = {i["name"]: i for i in json.load(open("%s/%d.json" % (sys.argv[1], k)))["figures"]["inputs"]}
    assert ins[mine]["mode"] == "ro_mount" and ins[mine]["mount"]["storage_bytes"] == 10, (k, ins[mine])
    assert ins[other]["mount"]["storage_bytes"] == 0, (k, ins[other])
PY
