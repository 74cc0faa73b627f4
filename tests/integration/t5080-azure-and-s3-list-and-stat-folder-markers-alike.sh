#!/usr/bin/env bash
# t5080 — owns the listing rules Azure Blob and S3 share (src/store/flatns.h): the
# same tree of names, folder markers included ("d/" for the listed folder itself,
# "d/sub/" and "d/empty/" for sub-folders), is stored on Azurite and on the S3
# server, and `ls`, `ls -R`, the stat behind `download` and `ls` of a folder that
# only a marker makes must give the same answers on both: markers are folders,
# never files and never errors; an empty folder with a marker exists.
source "$(dirname "$0")/lib.sh"
need_fixtures
need_s3
s3_env
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN

printf a >"$TEST_TMP/a"
printf bb >"$TEST_TMP/b"
: >"$TEST_TMP/empty"
c=$(new_container)
b=$(new_bucket)
# name  file
names=("top.txt a" "d/ empty" "d/a.txt a" "d/sub/ empty" "d/sub/b.txt b" "d/empty/ empty")
for nf in "${names[@]}"; do
	set -- $nf
	azcli put "$c" "$1" "$TEST_TMP/$2" >/dev/null || fail "azcli put $1"
	s3cli put "$b" "$1" "$TEST_TMP/$2" || fail "s3cli put $1"
done
az() { az_uri "$c" "$1"; }
s3() { echo "s3://$b/$1"; }

for backend in az s3; do
	out=$TEST_TMP/$backend
	mkdir -p "$out"
	step "$backend: ls of a folder with its own marker lists files and sub-folders, no marker"
	expect_ok ferry ls "$($backend d)"
	LC_ALL=C sort "$TEST_TMP/last.stdout" >"$out/ls"
	printf '%s\n' $'-\tempty/' $'-\tsub/' $'1\ta.txt' | LC_ALL=C sort | diff - "$out/ls" ||
		fail "$backend: ls d differs"

	step "$backend: ls -R lists every file once, no marker as a file"
	expect_ok ferry ls "$($backend d)" -R
	grep -v $'^-\t' "$TEST_TMP/last.stdout" | LC_ALL=C sort >"$out/lsr"
	printf '%s\n' $'1\ta.txt' $'2\tsub/b.txt' | diff - "$out/lsr" || fail "$backend: ls -R d differs"

	step "$backend: a folder that only its marker makes exists and is empty"
	expect_ok ferry ls "$($backend d/empty)"
	cp "$TEST_TMP/last.stdout" "$out/ls-empty"
	assert_eq 0 "$(wc -l <"$out/ls-empty")" "$backend: entries of d/empty"

	step "$backend: download of the folder (a stat that meets the marker first) gets its files"
	expect_ok ferry download "$($backend d)" "$out/dl"
	tree_listing "$out/dl" >"$out/dl.list"
	printf '%s\n' '1 a.txt' '2 sub/b.txt' | diff - "$out/dl.list" || fail "$backend: download of d differs"

	step "$backend: a name that is not there is not found, on both in the same words"
	expect_fail "not found" ferry download "$($backend nothere)" "$out/none"
done

step "both backends gave the same answers"
for f in ls lsr ls-empty dl.list; do
	diff "$TEST_TMP/az/$f" "$TEST_TMP/s3/$f" || fail "Azure and S3 differ in $f"
done
