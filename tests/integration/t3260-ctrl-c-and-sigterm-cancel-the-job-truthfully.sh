#!/usr/bin/env bash
# t3260 — owns cancellation (issue 12 item 7): Ctrl-C (SIGINT) or SIGTERM to
# `ferry run` stops the command and records the job Canceled (not Failed), exit
# 128+N; the message says truthfully what became of each output: an upload output
# is not uploaded and stays local (named), an rw_mount output's closed files are
# already in storage. A failed command says the same of its outputs.
source "$(dirname "$0")/lib.sh"

mkdir -p "$TEST_TMP/job/src"
cat >"$TEST_TMP/job/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  echo "checkpoint 1" > ${{outputs.checkpoints}}/ckpt-1.txt &&
  echo "model" > ${{outputs.model}}/model.txt &&
  echo "partial" > ./outputs/progress.txt &&
  echo ready && sleep 120
outputs:
  checkpoints:
    type: uri_folder
    mode: rw_mount
  model:
    type: uri_folder
    mode: upload
YML
store=$FERRY_HOME/datastores/workspaceblobstore

# run_and_signal NAME SIGNAL — start the job, wait for "ready", send SIGNAL to ferry.
run_and_signal() {
	"$FERRY" run "$TEST_TMP/job/job.yml" --name "$1" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" &
	local pid=$! i
	for ((i = 0; i < 300; i++)); do
		grep -q ready "$TEST_TMP/$1.out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$TEST_TMP/$1.out" || fail "the command did not start: $(cat "$TEST_TMP/$1.err")"
	kill "-$2" "$pid"
	rc=0
	wait "$pid" || rc=$?
}

for sig in INT TERM; do
	name=cancel-$sig
	step "SIG$sig during the command: Canceled, truthful about each output"
	run_and_signal "$name" "$sig"
	want=130
	[[ $sig == TERM ]] && want=143
	assert_eq "$want" "$rc" "exit status after SIG$sig ($(tail -c 400 "$TEST_TMP/$name.err"))"
	err=$TEST_TMP/$name.err
	assert_contains "$err" "job $name Canceled (exit code $want)"
	assert_not_contains "$err" "Failed"
	assert_contains "$err" "job canceled: outputs not uploaded"
	assert_contains "$err" "output 'checkpoints' (rw_mount): the files the command closed are already in storage at azureml://datastores/workspaceblobstore/paths/azureml/$name/checkpoints/"
	assert_contains "$err" "output 'model' (upload): what the command wrote is kept in $FERRY_HOME/jobs/$name/cap/data-capability/wd/OUTPUT_model"
	# ... and each statement is true:
	assert_eq "checkpoint 1" "$(cat "$store/azureml/$name/checkpoints/ckpt-1.txt")" "rw_mount file in storage"
	[[ ! -e $store/azureml/$name/model ]] || fail "the upload output of a canceled job was uploaded"
	assert_eq "model" "$(cat "$FERRY_HOME/jobs/$name/cap/data-capability/wd/OUTPUT_model/model.txt")" "local copy"
	expect_ok ferry job show "$name"
	assert_contains "$TEST_TMP/last.stdout" "status:          Canceled"
	expect_ok ferry job list
	grep -qE "^$name +Canceled " "$TEST_TMP/last.stdout" || fail "job list: $(cat "$TEST_TMP/last.stdout")"
done

step "a failed command says the same of its outputs, and is Failed"
sed -i 's/echo ready && sleep 120/exit 4/' "$TEST_TMP/job/job.yml"
rc=0
ferry run "$TEST_TMP/job/job.yml" --name fail4 >/dev/null 2>"$LAST_STDERR" || rc=$?
assert_eq 4 "$rc" "exit status"
assert_contains "$LAST_STDERR" "job fail4 Failed (exit code 4)"
assert_contains "$LAST_STDERR" "command failed: outputs not uploaded"
assert_contains "$LAST_STDERR" "output 'checkpoints' (rw_mount): the files the command closed are already in storage"
assert_contains "$LAST_STDERR" "output 'model' (upload): what the command wrote is kept in"
assert_eq "checkpoint 1" "$(cat "$store/azureml/fail4/checkpoints/ckpt-1.txt")" "rw_mount file in storage"
