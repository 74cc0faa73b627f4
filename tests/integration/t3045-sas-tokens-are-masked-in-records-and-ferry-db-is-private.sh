#!/usr/bin/env bash
# t3045 — owns issue 10 item 6: a SAS signature (or another secret query parameter)
# is never printed by `ferry job show` / `data show` / `data list` nor stored in
# ferry.db: a literal input holding a SAS still reaches the command, but the job
# record keeps it masked; a wasbs:// or abfss:// path with a query is refused like
# an https:// one (never part of a blob name, never recorded); a data asset whose
# path holds a SAS is refused; rows written unmasked by an older ferry print masked.
# ferry.db is 0600, and a 0644 one is made 0600 when ferry opens it.
source "$(dirname "$0")/lib.sh"
need_fixtures

sig=T3045SECRETsig0123456789abcdef%3D
sas="sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=$sig"
amz=T3045AMZSIGNATURE0123456789
db=$FERRY_HOME/ferry.db

step "ferry.db is created 0600"
expect_ok ferry data list
assert_eq 600 "$(stat -c %a "$db")" "mode of ferry.db"

step "a literal input holding a SAS reaches the command; the job record masks it"
cat >"$TEST_TMP/job.yml" <<YML
command: echo "got=\${{inputs.s}}" > $TEST_TMP/got; echo "amz=\${{inputs.u}}" >> $TEST_TMP/got
description: "uses https://a.blob.core.windows.net/c/x?$sas"
tags: {source: "https://a.blob.core.windows.net/c/x?$sas"}
inputs:
  s: "https://a.blob.core.windows.net/c/x?$sas"
  u: "https://b.s3.amazonaws.com/k?X-Amz-Signature=$amz&X-Amz-Security-Token=$amz"
YML
expect_ok ferry run "$TEST_TMP/job.yml" --name sas1
assert_contains "$TEST_TMP/got" "got=https://a.blob.core.windows.net/c/x?$sas" "what the command got"
assert_contains "$TEST_TMP/got" "X-Amz-Signature=$amz" "what the command got"
expect_ok ferry job show sas1
assert_not_contains "$TEST_TMP/last.stdout" "$sig" "ferry job show"
assert_not_contains "$TEST_TMP/last.stdout" "$amz" "ferry job show"
assert_contains "$TEST_TMP/last.stdout" "sig=REDACTED" "ferry job show"
expect_ok ferry job list
assert_not_contains "$TEST_TMP/last.stdout" "$sig" "ferry job list"
for f in "$db" "$db"-*; do
	[[ -e $f ]] || continue
	if grep -aqF "$sig" "$f" || grep -aqF "$amz" "$f"; then fail "$f holds the signature"; fi
done

step "a wasbs:// or abfss:// input with a SAS query is refused like https://, and not recorded"
for p in "wasbs://c1@acct.blob.core.windows.net/x.csv?$sas" "abfss://c1@acct.dfs.core.windows.net/x.csv?$sas" \
	"https://acct.blob.core.windows.net/c1/x.csv?$sas"; do
	printf 'command: "true"\ninputs:\n  d: {type: uri_file, path: "%s", mode: download}\n' "$p" >"$TEST_TMP/q.yml"
	expect_fail "query strings are not allowed" ferry run "$TEST_TMP/q.yml"
	assert_not_contains "$LAST_STDERR" "$sig"
done

step "ferry data create with a SAS in the path is refused; nothing is stored or listed"
expect_fail "query strings are not allowed" ferry data create --name sasdata --type uri_file \
	--path "wasbs://c1@acct.blob.core.windows.net/x.csv?$sas"
assert_not_contains "$LAST_STDERR" "$sig"
expect_fail "hold a secret" ferry data create --name sasdata --type uri_file \
	--path "azureml://datastores/workspaceblobstore/paths/x?$sas"
assert_not_contains "$LAST_STDERR" "$sig"
expect_ok ferry data list
assert_not_contains "$TEST_TMP/last.stdout" "sasdata" "ferry data list"
if grep -aqF "$sig" "$db"; then fail "ferry.db holds the signature"; fi

step "rows written unmasked by an older ferry print masked; a 0644 ferry.db is made 0600"
expect_ok ferry data create --name old --type uri_file --path azureml://datastores/workspaceblobstore/paths/x.csv
$PY - "$db" "$sas" <<'PY'
import sqlite3, sys
db, sas = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.execute("UPDATE data_assets SET path = ?, description = ? WHERE name = 'old'",
          ("wasbs://c1@acct.blob.core.windows.net/x.csv?" + sas, "see ?" + sas))
c.execute("UPDATE jobs SET inputs_json = ? WHERE name = 'sas1'", ('[{"name":"s","literal":"x?%s"}]' % sas,))
c.commit()
PY
chmod 644 "$db"
expect_ok ferry data show old
assert_not_contains "$TEST_TMP/last.stdout" "$sig" "ferry data show"
assert_contains "$TEST_TMP/last.stdout" "sig=REDACTED" "ferry data show"
assert_eq 600 "$(stat -c %a "$db")" "mode of ferry.db after ferry opened it"
expect_ok ferry data list
assert_not_contains "$TEST_TMP/last.stdout" "$sig" "ferry data list"
expect_ok ferry job show sas1
assert_not_contains "$TEST_TMP/last.stdout" "$sig" "ferry job show of an old record"
echo "ok"
