#!/usr/bin/env bash
# t1086 — owns symbolic links in uploads (issue 10 item 3). `ferry upload` of a
# folder uploads links to files inside it as those files, and skips — with a
# warning naming each — links that leave it (to /etc/passwd, to the workspace's own
# secret file, through ../), links to folders (no loops) and broken links.
# --follow-links (or FERRY_UPLOAD_FOLLOW_LINKS=true) uploads links to files outside
# too, as rclone's --copy-links. The same for a job's `upload` output, whose command
# may plant such links.
source "$(dirname "$0")/lib.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120

az_datastore azstore "$(new_container)" # a secret file in $FERRY_HOME/secrets
secret=$FERRY_HOME/secrets/azstore
[[ -s $secret ]] || fail "no secret file at $secret"
src=$TEST_TMP/src
mkdir -p "$src/sub" "$TEST_TMP/elsewhere"
echo "file a" >"$src/a.txt"
echo "file b" >"$src/sub/b.txt"
echo "outside" >"$TEST_TMP/outside.txt"
ln -s a.txt "$src/in-link"
ln -s ../a.txt "$src/sub/up-link"
ln -s /etc/passwd "$src/passwd"
ln -s "$secret" "$src/secret"
ln -s sub/../../outside.txt "$src/sneaky"
ln -s sub "$src/dirlink"
ds=$FERRY_HOME/datastores/workspaceblobstore

step "links inside the folder are uploaded as their files; links out of it are skipped, each named"
expect_ok ferry upload "$src" azureml://datastores/workspaceblobstore/paths/up
assert_eq "a.txt in-link sub/b.txt sub/up-link" "$(cd "$ds/up" && find . -type f -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" \
	"files uploaded"
assert_eq "file a" "$(cat "$ds/up/in-link")" "the inside link's content"
assert_eq "file a" "$(cat "$ds/up/sub/up-link")" "the inside link's content (through ..)"
assert_contains "$LAST_STDERR" "skipping '$src/passwd': a link to '/etc/passwd', outside the source folder"
assert_contains "$LAST_STDERR" "skipping '$src/secret': a link to '$secret', outside the source folder"
assert_contains "$LAST_STDERR" "skipping '$src/sneaky': a link to '$TEST_TMP/outside.txt', outside the source folder"
assert_contains "$LAST_STDERR" "skipping '$src/dirlink': a link to a folder"
assert_contains "$LAST_STDERR" "--follow-links"

step "a broken link is skipped, named, and the rest uploads"
ln -s /nonexistent/x "$src/broken"
expect_ok ferry upload "$src" azureml://datastores/workspaceblobstore/paths/up2
assert_contains "$LAST_STDERR" "skipping '$src/broken': a broken link"
assert_eq "file a" "$(cat "$ds/up2/a.txt")" "a file beside the broken link"

step "--follow-links uploads links to files outside the folder too"
expect_ok ferry upload --follow-links "$src" azureml://datastores/workspaceblobstore/paths/follow
assert_file_same /etc/passwd "$ds/follow/passwd"
assert_file_same "$secret" "$ds/follow/secret"
assert_eq "outside" "$(cat "$ds/follow/sneaky")" "the outside file through ../"
[[ ! -e $ds/follow/dirlink && ! -e $ds/follow/broken ]] || fail "a folder link or a broken link was uploaded"

step "a job's upload output skips the links its command planted"
cat >"$TEST_TMP/job.yml" <<YML
command: >-
  echo mine >\${{outputs.out}}/mine.txt &&
  ln -s /etc/passwd \${{outputs.out}}/passwd &&
  ln -s $secret \${{outputs.out}}/secret
outputs:
  out: {mode: upload}
YML
expect_ok ferry run "$TEST_TMP/job.yml" --name linkjob
out=$ds/azureml/linkjob/out
assert_eq "mine" "$(cat "$out/mine.txt")" "the job's own file"
[[ ! -e $out/passwd && ! -e $out/secret ]] || fail "the job's links out of its output folder were uploaded"
assert_contains "$FERRY_HOME/jobs/linkjob/logs/system_logs/data_capability/rslex.log" \
	"/OUTPUT_out/secret': a link to '$secret', outside the source folder"

step "FERRY_UPLOAD_FOLLOW_LINKS=true in the job opts in"
cat >"$TEST_TMP/job2.yml" <<YML
command: ln -s /etc/passwd \${{outputs.out}}/passwd
outputs:
  out: {mode: upload}
environment_variables:
  FERRY_UPLOAD_FOLLOW_LINKS: "true"
YML
expect_ok ferry run "$TEST_TMP/job2.yml" --name followjob
assert_file_same /etc/passwd "$ds/azureml/followjob/out/passwd"
echo "ok"
