#!/usr/bin/env bash
# t4170 — owns the rule for a name that is both a file and a folder (blob "d/a" beside
# blob "d/a/b", with "d/a-z" sorting between them): the folder wins, the file is
# hidden, and a warning names it — the same in the mount (listing, a lookup without a
# listing, and a listing cut into one-name pages, where the folder is on a later
# page), in downloads, and in MLTable file sets (t7000 has the eval_download case);
# on S3 too when the suite runs an S3 server.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
need_fuse

c=$(new_container)
printf 'FILE' >"$TEST_TMP/file"
printf 'B' >"$TEST_TMP/b"
printf 'Z' >"$TEST_TMP/z"
azcli put "$c" d/a "$TEST_TMP/file"
azcli put "$c" d/a/b "$TEST_TMP/b"
azcli put "$c" d/a-z "$TEST_TMP/z"
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

for pg in 5000 1; do
	step "mount (list pages of $pg): 'a' is listed once, as the folder, and a/b is reachable"
	mnt=$TEST_TMP/mnt-$pg
	mount_at "$(az_uri "$c" d)" "$mnt" FERRY_LIST_PAGE_SIZE=$pg
	# a lookup with no listing before it
	assert_eq B "$(cat "$mnt/a/b")" "a/b through the mount"
	[[ -d $mnt/a ]] || fail "'a' is not a folder in the mount"
	assert_eq "a a-z" "$(ls "$mnt" | tr '\n' ' ' | sed 's/ $//')" "the mount's listing"
	assert_eq "b" "$(ls "$mnt/a")" "the listing of a/"
	assert_eq 2 "$(find "$mnt" -type f | wc -l)" "files in the mount"
	unmount_at "$mnt"
	assert_contains "$FERRY_HOME/logs/mount.log" "'d/a' in"
	assert_contains "$FERRY_HOME/logs/mount.log" "is both a file and a folder: the folder wins, the file is hidden"
	rm -f "$FERRY_HOME/logs/mount.log"
done

for pg in 5000 1; do
	step "download (list pages of $pg): a/b lands, the file 'a' is left out with a warning"
	FERRY_LIST_PAGE_SIZE=$pg expect_ok ferry download "$(az_uri "$c" d)" "$TEST_TMP/got-$pg"
	assert_eq B "$(cat "$TEST_TMP/got-$pg/a/b")" "a/b downloaded"
	assert_eq Z "$(cat "$TEST_TMP/got-$pg/a-z")" "a-z downloaded"
	assert_eq 2 "$(find "$TEST_TMP/got-$pg" -type f | wc -l)" "files downloaded"
	assert_contains "$LAST_STDERR" "is both a file and a folder: the folder wins, the file is hidden"
done

step "the URI of the name itself is the folder"
expect_ok ferry download "$(az_uri "$c" d/a)" "$TEST_TMP/got-a"
assert_eq B "$(cat "$TEST_TMP/got-a/b")" "d/a downloaded as a folder"
if [[ -n ${S3_ENDPOINT:-} ]]; then
	step "S3 (files and folders come in two runs of a page): the same rule in the mount and downloads"
	s3_env
	b=$(new_bucket)
	expect_ok ferry upload "$TEST_TMP/file" "s3://$b/d/a"
	expect_ok ferry upload "$TEST_TMP/b" "s3://$b/d/a/b"
	expect_ok ferry upload "$TEST_TMP/z" "s3://$b/d/a-z"
	mnt=$TEST_TMP/mnt-s3
	mount_at "s3://$b/d/" "$mnt"
	assert_eq B "$(cat "$mnt/a/b")" "a/b through the S3 mount"
	assert_eq "a a-z" "$(ls "$mnt" | tr '\n' ' ' | sed 's/ $//')" "the S3 mount's listing"
	unmount_at "$mnt"
	expect_ok ferry download "s3://$b/d/" "$TEST_TMP/got-s3"
	assert_eq B "$(cat "$TEST_TMP/got-s3/a/b")" "a/b downloaded from S3"
	assert_eq 2 "$(find "$TEST_TMP/got-s3" -type f | wc -l)" "files downloaded from S3"
	assert_contains "$LAST_STDERR" "is both a file and a folder: the folder wins, the file is hidden"
fi
echo ok
