#!/usr/bin/env bash
# t3130 — owns token renewal while a job runs: with managed-identity tokens that
# live two seconds, a job whose command reads a mounted input in three rounds, each
# after the previous token has lapsed, gets every file (the mount renews its token
# before each request, and the token endpoint counts the renewals), then uploads its
# output. A token that lapses earlier than its endpoint said is refused by the
# service; ferry forgets it, fetches another and repeats the request once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-oauth.sh"
export FERRY_CMD_TIMEOUT=180
[[ -e /dev/fuse ]] || skip "no /dev/fuse"

oauth_azurite
no_identity_env
token_server short --lifetime 2
token_server liar --lifetime 2 --reported-lifetime 3600

c=$(new_container)
for i in 1 2 3; do
	mkdata_random "$TEST_TMP/src/f$i.bin" 300K
	azcli put "$c" "in/f$i.bin" "$TEST_TMP/src/f$i.bin"
done
mkdir -p "$TEST_TMP/job"
# job_yml NAME — three reads of the mounted input, three seconds apart, then an upload.
job_yml() {
	cat >"$TEST_TMP/job/$1.yml" <<YML
command: >-
  cat \${{inputs.data}}/f1.bin > \${{outputs.result}}/f1.bin && sleep 3 &&
  cat \${{inputs.data}}/f2.bin > \${{outputs.result}}/f2.bin && sleep 3 &&
  cat \${{inputs.data}}/f3.bin > \${{outputs.result}}/f3.bin && sleep 3
inputs:
  data: {type: uri_folder, path: "$AZURITE_URL/$c/in/", mode: ro_mount}
outputs:
  result: {type: uri_folder, mode: upload, path: "$AZURITE_URL/$c/out/$1/"}
identity: {type: managed}
YML
}
check_out() {
	local i
	for i in 1 2 3; do
		azcli get "$c" "out/$1/f$i.bin" "$TEST_TMP/$1-f$i.bin"
		assert_file_same "$TEST_TMP/src/f$i.bin" "$TEST_TMP/$1-f$i.bin"
	done
}

step "two-second tokens: every round of reads and the upload get a fresh token"
job_yml renew
FERRY_IMDS_ENDPOINT=$TS_URL_short expect_ok ferry run "$TEST_TMP/job/renew.yml" --name renew
check_out renew
n=$(tokens_issued short)
# the mount renews at least before rounds 2 and 3; the upload after the last sleep
[[ $n -ge 4 ]] || fail "expected at least 4 tokens (one per round, one for the upload), got $n"
log=$FERRY_HOME/jobs/renew/logs/system_logs/data_capability/rslex.log
if grep -q "retrying once with a new token" "$log"; then
	fail "a request went out with an expired token (renewal came too late): $(grep -m1 retrying "$log")"
fi

step "a token refused as expired before its announced end: forgotten, replaced, request repeated"
job_yml lapse
FERRY_IMDS_ENDPOINT=$TS_URL_liar expect_ok ferry run "$TEST_TMP/job/lapse.yml" --name lapse
check_out lapse
n=$(tokens_issued liar)
[[ $n -ge 3 ]] || fail "expected a new token after each refusal (at least 3), got $n"
assert_contains "$FERRY_HOME/jobs/lapse/logs/system_logs/data_capability/rslex.log" \
	"retrying once with a new token"

step "no token in any output, log or record"
files=("$TEST_TMP"/*.stdout "$TEST_TMP"/*.stderr "$FERRY_HOME/ferry.db")
while IFS= read -r f; do files+=("$f"); done < <(find "$FERRY_HOME/jobs" -type f)
assert_no_tokens short "${files[@]}"
assert_no_tokens liar "${files[@]}"
true
