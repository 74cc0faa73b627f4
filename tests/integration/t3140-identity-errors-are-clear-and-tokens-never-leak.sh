#!/usr/bin/env bash
# t3140 — owns token hygiene and identity errors: verbose (-v) transfers with each
# identity, succeeding and failing (a refusing token endpoint, a token the service
# refuses, a missing identity), print neither a token, nor the MSI secret, nor a
# Bearer value, on stdout, stderr, or in any file under FERRY_HOME (job logs and
# records included); the command of a job never finds a token in its environment;
# each failure names the identity tried and how to fix it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-oauth.sh"
export FERRY_CMD_TIMEOUT=120

oauth_azurite
no_identity_env
token_server ok --msi-secret msi-SECRET-4711
token_server no --msi-secret msi-SECRET-4711 --refuse

c=$(new_container)
echo "some data" >"$TEST_TMP/f.txt"
azcli put "$c" data/f.txt "$TEST_TMP/f.txt"
out=$TEST_TMP/out.txt
: >"$out"
run_case() { # run_case LABEL EXPECT(ok|fail) NEEDLE CMD... — append stdout+stderr to $out
	local label=$1 want=$2 needle=$3 rc=0
	shift 3
	step "$label"
	"$@" >"$TEST_TMP/case.txt" 2>&1 || rc=$?
	cat "$TEST_TMP/case.txt" >>"$out"
	if [[ $want == ok && $rc -ne 0 ]]; then fail "$label: exited $rc: $(tail -c 600 "$TEST_TMP/case.txt")"; fi
	if [[ $want == fail && $rc -eq 0 ]]; then fail "$label: expected a failure"; fi
	[[ $rc -lt 124 ]] || fail "$label: crashed (exit $rc): $(tail -c 600 "$TEST_TMP/case.txt")"
	[[ -z $needle ]] || assert_contains "$TEST_TMP/case.txt" "$needle" "$label"
}
msi() { MSI_ENDPOINT=$1/msi/token MSI_SECRET=msi-SECRET-4711 FERRY_IDENTITY=managed "${@:2}"; }

run_case "managed identity, verbose download and upload" ok "" \
	msi "$TS_URL_ok" ferry -v download "$(az_uri "$c" data)" "$TEST_TMP/d1"
run_case "managed identity, verbose upload" ok "" \
	msi "$TS_URL_ok" ferry -v upload "$TEST_TMP/f.txt" "$(az_uri "$c" up/)"
assert_file_same "$TEST_TMP/f.txt" "$TEST_TMP/d1/f.txt"
run_case "the token endpoint refuses: its reason, the identity tried, the fix" fail \
	"managed identity (MSI_ENDPOINT $TS_URL_no/msi/token): the token endpoint refused: HTTP 400 invalid_request: Identity not found" \
	msi "$TS_URL_no" ferry -v download "$(az_uri "$c" data)" "$TEST_TMP/d2"
assert_contains "$TEST_TMP/case.txt" "check MSI_ENDPOINT/MSI_SECRET"
run_case "no managed identity on this machine: says the metadata service was asked and what to set" fail \
	"IDENTITY_ENDPOINT and MSI_ENDPOINT are unset, so the instance metadata service was asked" \
	env FERRY_IDENTITY=managed "$FERRY" -v download "$(az_uri "$c" data)" "$TEST_TMP/d3"
run_case "a forged token is refused by the service, naming the identity" fail \
	"the token of user identity (AZURE_ACCESS_TOKEN) was refused" \
	env FERRY_IDENTITY=user_identity AZURE_ACCESS_TOKEN=eyJhbGciOiJub25lIn0.eyJleHAiOjE5OTk5OTk5OTl9.Zm9yZ2VkLXNpZ25hdHVyZQ \
	"$FERRY" -v download "$(az_uri "$c" data/f.txt)" "$TEST_TMP/d4"
run_case "an unknown FERRY_IDENTITY is refused" fail "FERRY_IDENTITY='robot' is not an identity" \
	env FERRY_IDENTITY=robot "$FERRY" ls "$(az_uri "$c")"
run_case "tokens travel over https only" fail "needs an https:// endpoint" \
	env FERRY_IDENTITY=user_identity AZURE_ACCESS_TOKEN=abcdefgh "$FERRY" ls "http://127.0.0.1:1/devstoreaccount1/$c"

step "a job: its command finds no token in its environment; its logs and record hold none"
mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<YML
command: env > $TEST_TMP/job-env.txt && cat \${{inputs.d}}/f.txt
inputs:
  d: {type: uri_folder, path: "$(az_uri "$c" data)/", mode: download}
identity: {type: managed}
YML
AZURE_ACCESS_TOKEN=eyJhbGciOiJub25lIn0.eyJleHAiOjE5OTk5OTk5OTl9.Zm9yZ2VkLXNpZ25hdHVyZQ msi "$TS_URL_ok" expect_ok ferry -v run "$TEST_TMP/job/job.yml" --name j1
cat "$TEST_TMP/last.stdout" "$LAST_STDERR" >>"$out"
assert_contains "$TEST_TMP/last.stdout" "some data"
grep -qE '^AZURE_ACCESS_TOKEN=' "$TEST_TMP/job-env.txt" &&
	fail "a token variable reached the command: $(grep -E '^AZURE_ACCESS_TOKEN=' "$TEST_TMP/job-env.txt")"
assert_no_tokens ok "$TEST_TMP/job-env.txt"

step "no token, MSI secret or Bearer value in any output or under FERRY_HOME"
echo "(checked $(wc -l <"$out") lines of output and $(find "$FERRY_HOME" -type f | wc -l) files under FERRY_HOME)"
[[ $(tokens_issued ok) -ge 3 ]] || fail "expected tokens to have been issued"
mapfile -t home_files < <(find "$FERRY_HOME" -type f)
assert_no_tokens ok "$out" "${home_files[@]}"
for f in "$out" "${home_files[@]}"; do
	grep -qaF "msi-SECRET-4711" "$f" && fail "the MSI secret appears in $f"
	grep -qaF "Zm9yZ2VkLXNpZ25hdHVyZQ" "$f" && fail "the forged token appears in $f"
	grep -qaiE "Bearer [A-Za-z0-9]" "$f" && fail "a Bearer value appears in $f: $(grep -aiE -m1 'Bearer [A-Za-z0-9]' "$f")"
done
true
