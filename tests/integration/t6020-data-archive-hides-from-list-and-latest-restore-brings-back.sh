#!/usr/bin/env bash
# t6020 — owns `ferry data archive | restore NAME[:VERSION]` and `list --include-archived`
# (Azure ML's `az ml data archive|restore`): an archived version is left out of
# `ferry data list` and of @latest (in `data show` and in a job's input) but still shows
# and downloads by number; archiving a whole name hides every version, also one created
# later, and one version cannot be restored alone until the name is; auto versions never
# reuse an archived number; unknown names and versions are clear errors; a registry made
# before the archived column gains it and keeps its assets.
source "$(dirname "$0")/lib.sh"
need_fixtures

cd "$TEST_TMP"
mkdir -p "$TEST_TMP/v1" "$TEST_TMP/v2" "$TEST_TMP/job"
echo one >"$TEST_TMP/v1/which.txt"
echo two >"$TEST_TMP/v2/which.txt"

step "two versions; @latest is 2"
expect_ok ferry data create --name ds --path "$TEST_TMP/v1"
expect_ok ferry data create --name ds --path "$TEST_TMP/v2"
expect_ok ferry data create --name other --path "$TEST_TMP/v1"
expect_ok ferry data show ds@latest
assert_contains "$TEST_TMP/last.stdout" "version:     2"
assert_contains "$TEST_TMP/last.stdout" "archived:    no"

step "archive ds:2: gone from list and @latest, still shown and downloaded by number"
expect_ok ferry data archive ds:2
assert_contains "$TEST_TMP/last.stdout" "data asset ds version 2 archived"
expect_ok ferry data list --name ds
grep -qE '^ds +1 ' "$TEST_TMP/last.stdout" || fail "ds:1 not listed: $(cat "$TEST_TMP/last.stdout")"
grep -qE '^ds +2 ' "$TEST_TMP/last.stdout" && fail "archived ds:2 listed: $(cat "$TEST_TMP/last.stdout")"
expect_ok ferry data list
grep -qE '^ds +1 ' "$TEST_TMP/last.stdout" || fail "list's latest of ds is not 1: $(cat "$TEST_TMP/last.stdout")"
expect_ok ferry data list --include-archived --name ds
grep -qE '^ds +2 .*\(archived\)$' "$TEST_TMP/last.stdout" || fail "--include-archived: $(cat "$TEST_TMP/last.stdout")"
expect_ok ferry data show ds@latest
assert_contains "$TEST_TMP/last.stdout" "version:     1"
expect_ok ferry data show ds:2
assert_contains "$TEST_TMP/last.stdout" "archived:    yes"
expect_ok ferry download azureml:ds:2 "$TEST_TMP/dl2"
assert_eq two "$(cat "$TEST_TMP/dl2/which.txt")" "archived version's bytes"

step "a job's azureml:ds@latest input reads version 1; azureml:ds:2 still works"
cat >"$TEST_TMP/job/j.yml" <<YML
command: cat \${{inputs.latest}}/which.txt \${{inputs.two}}/which.txt
inputs:
  latest:
    path: azureml:ds@latest
    mode: download
  two:
    type: uri_folder
    path: azureml:ds:2
    mode: ro_mount
YML
expect_ok ferry run "$TEST_TMP/job/j.yml" --name j1
assert_eq "one two" "$(grep -xE 'one|two' "$TEST_TMP/last.stdout" | tr '\n' ' ' | sed 's/ $//')" "job output"

step "a new auto version is 3, not 2 again"
expect_ok ferry data create --name ds --path "$TEST_TMP/v1"
assert_contains "$TEST_TMP/last.stdout" "data asset ds version 3 created"

step "archive the whole name: nothing for list or @latest, also for a version made later"
expect_ok ferry data archive ds
expect_ok ferry data create --name ds --version 4 --path "$TEST_TMP/v2"
expect_ok ferry data list
assert_not_contains "$TEST_TMP/last.stdout" "ds " "archived name in list"
assert_contains "$TEST_TMP/last.stdout" "other"
expect_ok ferry data list --include-archived
grep -qE '^ds +4 .*\(archived\)$' "$TEST_TMP/last.stdout" || fail "--include-archived: $(cat "$TEST_TMP/last.stdout")"
expect_ok ferry data list --name ds
assert_contains "$LAST_STDERR" "every version of data asset 'ds' is archived"
expect_fail "every version is archived" ferry data show ds@latest
expect_fail "every version is archived" ferry run "$TEST_TMP/job/j.yml" --name j2
[[ ! -e $FERRY_HOME/jobs/j2 ]] || fail "a job folder was made for j2"
expect_fail "restore the asset first" ferry data restore ds:2

step "restore the name: @latest is 4; ds:2 stays archived until restored itself"
expect_ok ferry data restore ds
expect_ok ferry data show ds@latest
assert_contains "$TEST_TMP/last.stdout" "version:     4"
expect_ok ferry data show ds:2
assert_contains "$TEST_TMP/last.stdout" "archived:    yes"
expect_ok ferry data restore ds:2
expect_ok ferry data list --name ds
grep -qE '^ds +2 ' "$TEST_TMP/last.stdout" || fail "restored ds:2 not listed: $(cat "$TEST_TMP/last.stdout")"

step "unknown names and versions, and bad arguments, are clear errors"
expect_fail "data asset 'nosuch' not found (known: ds, other)" ferry data archive nosuch
expect_fail "data asset 'ds' has no version '9' (versions: 1, 2, 3, 4)" ferry data restore ds:9
expect_fail "give NAME or NAME:VERSION" ferry data archive ds@latest
expect_fail "usage" ferry data archive
expect_fail "usage" ferry data list --bogus

step "a registry made before the archived column gains it and keeps its assets"
old=$TEST_TMP/oldhome
mkdir -p "$old"
$PY - "$old/ferry.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""CREATE TABLE data_assets (name TEXT NOT NULL, version TEXT NOT NULL,
 type TEXT NOT NULL, path TEXT NOT NULL, description TEXT, tags_json TEXT, created TEXT NOT NULL,
 job TEXT, seq INTEGER NOT NULL, PRIMARY KEY(name, version));
INSERT INTO data_assets VALUES('legacy','1','uri_folder','s3://b/one/',NULL,NULL,
 '2026-01-01T00:00:00.000Z',NULL,1);
INSERT INTO data_assets VALUES('legacy','2','uri_folder','s3://b/two/',NULL,NULL,
 '2026-01-02T00:00:00.000Z',NULL,2);""")
db.commit()
PYEOF
FERRY_HOME=$old expect_ok ferry data list
grep -qE '^legacy +2 ' "$TEST_TMP/last.stdout" || fail "legacy list: $(cat "$TEST_TMP/last.stdout")"
FERRY_HOME=$old expect_ok ferry data archive legacy:2
FERRY_HOME=$old expect_ok ferry data show legacy@latest
assert_contains "$TEST_TMP/last.stdout" "path:        s3://b/one/"
true
