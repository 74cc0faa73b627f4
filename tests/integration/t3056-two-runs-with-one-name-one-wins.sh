#!/usr/bin/env bash
# t3056 — owns the job-name claim: several `ferry run --name same` released at the
# same instant (a FIFO barrier) — exactly one runs its command; every other fails
# before anything runs, with an error naming the job, and leaves the winner's
# folder, log and record alone (issue 10 item 9: the claim is one mkdir(2) of the job
# folder). Three rounds with four contenders each.
source "$(dirname "$0")/lib.sh"
export FERRY_CMD_TIMEOUT=120

cat >"$TEST_TMP/job.yml" <<'YML'
command: echo "ran by $RUNNER" && sleep 2 && echo "done by $RUNNER"
YML

for round in 1 2 3; do
	step "round $round: four runs named same$round released at once, one wins"
	fifo=$TEST_TMP/go$round
	mkfifo "$fifo"
	# held open read-write here: a run whose open comes after the "go" lines were
	# written still finds them (a FIFO with no writer left would block it for good)
	exec 3<>"$fifo"
	pids=()
	for k in 1 2 3 4; do
		(
			exec 3<&-
			read -r _ <"$fifo"
			RUNNER=r$k exec "$FERRY" run "$TEST_TMP/job.yml" --name "same$round"
		) >"$TEST_TMP/out$round.$k" 2>&1 &
		pids+=($!)
	done
	sleep 0.5
	printf 'go\ngo\ngo\ngo\n' >&3
	ok=0 lost=0
	for k in 1 2 3 4; do
		rc=0
		wait "${pids[$((k - 1))]}" || rc=$?
		if [[ $rc -eq 0 ]]; then
			ok=$((ok + 1))
			winner=r$k
		else
			[[ $rc -lt 124 ]] || fail "run $k crashed (exit $rc): $(tail -c 400 "$TEST_TMP/out$round.$k")"
			grep -q "a job named 'same$round' already exists" "$TEST_TMP/out$round.$k" ||
				fail "run $k failed without naming the job: $(tail -c 400 "$TEST_TMP/out$round.$k")"
			lost=$((lost + 1))
		fi
	done
	exec 3<&-
	assert_eq 1 "$ok" "runs that succeeded"
	assert_eq 3 "$lost" "runs that were refused"
	log=$FERRY_HOME/jobs/same$round/user_logs/std_log.txt
	assert_eq "ran by $winner
done by $winner" "$(cat "$log")" "the job's std_log (only the winner's output)"
	ferry job show "same$round" >"$TEST_TMP/show" || fail "job show same$round failed"
	grep -q '^status: *Completed' "$TEST_TMP/show" || fail "same$round is not Completed: $(cat "$TEST_TMP/show")"
done
echo "ok"
