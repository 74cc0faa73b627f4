#!/usr/bin/env bash
# t7000 — owns MLTable file sets in jobs: an MLTable stored in one Azurite container
# whose paths span three containers (a relative pattern, a datastore folder, an
# absolute Blob URL of another container) is evaluated by eval_mount and eval_download
# into exactly the seed's INPUT_DATA tree <account>/<container>/<path>; ro_mount and
# download give the MLTable's folder as stored and direct its URI; take, skip, filter
# on Path and take_random_sample with a seed pick the files a model of SplitMix64
# (written here in Python) predicts, the same on every run; an MLTable asset works
# as the seed's legacy FileDataset (eval_mount); a missing file is a clear error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mount.sh"
need_fixtures
export FERRY_CMD_TIMEOUT=120
export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONN
acct=devstoreaccount1

ca=$(new_container)
cb=$(new_container)
cc=$(new_container)
exp=$TEST_TMP/expected
put() { # put CONTAINER BLOB CONTENT — upload, and record it in the expected tree
	printf '%s' "$3" >"$TEST_TMP/blob"
	azcli put "$1" "$2" "$TEST_TMP/blob"
	mkdir -p "$(dirname "$exp/$acct/$1/$2")"
	cp "$TEST_TMP/blob" "$exp/$acct/$1/$2"
}
put "$ca" camera1/image1.jpg "jpeg a1"
put "$ca" camera1/image2.jpg "jpeg a2"
put "$cb" camera2/image1.jpg "jpeg b1"
put "$cb" camera2/sub/image2.jpg "jpeg b2"
put "$cc" annotations.csv "img,label
1,cat
"
# present in storage but not named by the MLTable: must not appear
printf 'no' >"$TEST_TMP/no"
azcli put "$ca" camera1/notes.txt "$TEST_TMP/no"
azcli put "$cb" other/x.jpg "$TEST_TMP/no"
az_datastore cams "$cb"

cat >"$TEST_TMP/MLTable" <<YML
type: mltable
paths:
  - pattern: ../../camera1/*.jpg
  - folder: azureml://datastores/cams/paths/camera2/
  - file: $(az_uri "$cc" annotations.csv)
YML
azcli put "$ca" tables/images/MLTable "$TEST_TMP/MLTable"
mltable_uri=$(az_uri "$ca" tables/images)

step "mltable show lists the five files under <account>/<container>/<path>"
expect_ok ferry mltable show "$mltable_uri"
assert_contains "$TEST_TMP/last.stdout" "files: 5"
for f in "$acct/$ca/camera1/image1.jpg" "$acct/$cb/camera2/sub/image2.jpg" "$acct/$cc/annotations.csv"; do
	assert_contains "$TEST_TMP/last.stdout" "	$f"
done
assert_not_contains "$TEST_TMP/last.stdout" "notes.txt"

mkdir -p "$TEST_TMP/job"
cat >"$TEST_TMP/job/job.yml" <<YML
command: >-
  cp -r \${{inputs.m}} $TEST_TMP/got-mount && cp -r \${{inputs.d}} $TEST_TMP/got-download
  && ls \${{inputs.folder}} > $TEST_TMP/ro-listing && ls \${{inputs.copy}} > $TEST_TMP/dl-listing
  && echo "direct=\${{inputs.uri}}" && mount | grep -c "\${{inputs.m}}" > $TEST_TMP/mounted
inputs:
  m: {type: mltable, path: "$mltable_uri", mode: eval_mount}
  d: {type: mltable, path: "$mltable_uri/", mode: eval_download}
  folder: {type: mltable, path: "$mltable_uri", mode: ro_mount}
  copy: {type: mltable, path: "$mltable_uri", mode: download}
  uri: {type: mltable, path: "$mltable_uri", mode: direct}
YML

step "eval_mount and eval_download give exactly the expected tree across three containers"
expect_ok ferry run "$TEST_TMP/job/job.yml" --name ev1
assert_eq 1 "$(cat "$TEST_TMP/mounted")" "eval_mount input is a mount while the command runs"
assert_tree_same "$exp" "$TEST_TMP/got-mount"
assert_tree_same "$exp" "$TEST_TMP/got-download"
grep -E "^  input  m +$mltable_uri \(eval_mount\): [1-9][0-9]* opens" "$LAST_STDERR" >/dev/null ||
	fail "the summary lacks the eval_mount input's mount line: $(grep 'input  m' "$LAST_STDERR")"

step "ro_mount and download give the MLTable's folder as stored; direct its URI"
assert_eq "MLTable" "$(cat "$TEST_TMP/ro-listing")" "ro_mount listing"
assert_eq "MLTable" "$(cat "$TEST_TMP/dl-listing")" "download listing"
assert_contains "$TEST_TMP/last.stdout" "direct=$mltable_uri"
assert_contains "$FERRY_HOME/jobs/ev1/logs/system_logs/data_capability/data-capability.log" "(input 'm')"
assert_no_mounts_under "$FERRY_HOME"

step "a legacy FileDataset (an mltable data asset) with eval_mount gives the same tree"
# the asset points at the MLTable's folder through a datastore over its container
az_datastore tables "$ca"
expect_ok ferry data create --name filedataset --type mltable --path "azureml://datastores/tables/paths/tables/images/"
cat >"$TEST_TMP/job/legacy.yml" <<YML
command: cp -r \${{inputs.data}} $TEST_TMP/got-legacy
inputs:
  data: {type: mltable, path: "azureml:filedataset:1", mode: eval_mount}
YML
expect_ok ferry run "$TEST_TMP/job/legacy.yml" --name ev2
assert_tree_same "$exp" "$TEST_TMP/got-legacy"

step "a legacy TabularDataset (an mltable data asset) with direct hands the command its storage URI"
cat >"$TEST_TMP/job/tabular.yml" <<YML
command: echo "inputs=\${{inputs.data}}"
inputs:
  data: {type: mltable, path: "azureml:filedataset@latest", mode: direct}
YML
expect_ok ferry run "$TEST_TMP/job/tabular.yml" --name ev3
assert_contains "$TEST_TMP/last.stdout" "inputs=azureml://datastores/tables/paths/tables/images/"

# A file set of 40 files for the file transformations.
cs=$(new_container)
for i in $(seq -w 0 39); do
	printf 'file %s' "$i" >"$TEST_TMP/f"
	azcli put "$cs" "set/part-$i.bin" "$TEST_TMP/f"
done
azcli put "$cs" set/readme.txt "$TEST_TMP/f"
az_datastore sets "$cs"
# mk_table NAME TRANSFORMATIONS-YAML — an MLTable over set/*.bin in folder NAME of cs
mk_table() {
	printf 'paths:\n  - pattern: ../set/*.bin\ntransformations:\n%s\n' "$2" >"$TEST_TMP/MLTable"
	azcli put "$cs" "$1/MLTable" "$TEST_TMP/MLTable"
}
# files_of NAME — the relative names eval_download gives, one a line
files_of() {
	rm -rf "$TEST_TMP/ev"
	mkdir -p "$TEST_TMP/job"
	cat >"$TEST_TMP/job/sel.yml" <<-YML
	command: cd \${{inputs.t}}/$acct/$cs && find . -type f | sed 's#^./##' | LC_ALL=C sort > $TEST_TMP/sel.txt
	inputs:
	  t: {type: mltable, path: "azureml://datastores/sets/paths/$1", mode: eval_download}
	YML
	expect_ok ferry run "$TEST_TMP/job/sel.yml"
	cat "$TEST_TMP/sel.txt"
}
# expected_sample P SEED — SplitMix64 (mltable/prng.h) over the 40 names in order
expected_sample() {
	$PY - "$1" "$2" <<-'EOF'
	import sys
	p, s = float(sys.argv[1]), int(sys.argv[2])
	M = (1 << 64) - 1
	for i in range(40):
	    s = (s + 0x9E3779B97F4A7C15) & M
	    z = s
	    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
	    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
	    z ^= z >> 31
	    if (z >> 11) * 2.0 ** -53 < p:
	        print("set/part-%02d.bin" % i)
	EOF
}

step "skip then take pick a window of the files in name order"
mk_table win "  - skip: 5
  - take: 3"
assert_eq "$(printf 'set/part-05.bin\nset/part-06.bin\nset/part-07.bin')" "$(files_of win)" "skip 5, take 3"

step "filter on col(\"Path\") picks files by name"
mk_table flt "  - filter: 'col(\"Path\").endswith(\"3.bin\") or col(\"Path\").endswith(\"part-00.bin\")'"
assert_eq "$(printf 'set/part-00.bin\nset/part-03.bin\nset/part-13.bin\nset/part-23.bin\nset/part-33.bin')" \
	"$(files_of flt)" "filter"

step "take_random_sample with a seed picks what SplitMix64 predicts, the same on every run"
mk_table s7 "  - take_random_sample: {probability: 0.5, seed: 7}"
want7=$(expected_sample 0.5 7)
[[ $(echo "$want7" | wc -l) -gt 5 && $(echo "$want7" | wc -l) -lt 35 ]] || fail "model sample is degenerate: $want7"
assert_eq "$want7" "$(files_of s7)" "sample seed 7, run 1"
assert_eq "$want7" "$(files_of s7)" "sample seed 7, run 2"
mk_table s8 "  - take_random_sample: {probability: 0.5, seed: 8}"
got8=$(files_of s8)
assert_eq "$(expected_sample 0.5 8)" "$got8" "sample seed 8"
[[ $got8 != "$want7" ]] || fail "seeds 7 and 8 gave the same sample"

step "eval_download of the sampled set under ThreadSanitizer: same files, no report"
if [[ -x $FERRY_TSAN ]]; then
	export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
	tsan_bin=$TEST_TMP/ferry-tsan
	printf '#!/bin/sh\nexec setarch "$(uname -m)" -R %q "$@"\n' "$FERRY_TSAN" >"$tsan_bin"
	chmod +x "$tsan_bin"
	got=$(FERRY=$tsan_bin RSLEX_DOWNLOADER_THREADS=8 files_of s7)
	assert_eq "$want7" "$got" "sample under TSan"
	if grep -qE 'WARNING: ThreadSanitizer|FATAL: ThreadSanitizer' "$LAST_STDERR"; then
		fail "TSan: $(grep -m1 -A30 'ThreadSanitizer' "$LAST_STDERR")"
	fi
else
	echo "no TSan build: skipped"
fi

step "a file the MLTable names that does not exist fails the job before the command, naming it and the line"
printf 'paths:\n  - pattern: ../set/*.bin\n  - file: ../set/missing.bin\n' >"$TEST_TMP/MLTable"
azcli put "$cs" bad/MLTable "$TEST_TMP/MLTable"
cat >"$TEST_TMP/job/bad.yml" <<YML
command: touch $TEST_TMP/ran
inputs:
  t: {type: mltable, path: "azureml://datastores/sets/paths/bad", mode: eval_mount}
YML
expect_fail "bad/MLTable:3: file '../set/missing.bin'" ferry run "$TEST_TMP/job/bad.yml"
[[ ! -e $TEST_TMP/ran ]] || fail "the command ran"
assert_no_mounts_under "$FERRY_HOME"

step "a pattern that matches nothing is an error, not an empty input"
printf 'paths:\n  - pattern: ../set/*.parquet\n' >"$TEST_TMP/MLTable"
azcli put "$cs" none/MLTable "$TEST_TMP/MLTable"
expect_fail "none/MLTable:2: pattern '../set/*.parquet': matches no file" \
	ferry mltable show azureml://datastores/sets/paths/none

step "blobs that are both a file and a folder ('x' and 'x/y', with 'x-z' sorting between): the folder wins"
for b in conf/x conf/x-z conf/x/y; do azcli put "$cs" "$b" "$TEST_TMP/f"; done
printf 'paths:\n  - folder: ../conf\n' >"$TEST_TMP/MLTable"
azcli put "$cs" conft/MLTable "$TEST_TMP/MLTable"
cat >"$TEST_TMP/job/conf.yml" <<YML
command: cd \${{inputs.t}} && find . -type f | sort > $TEST_TMP/conf-files
inputs:
  t: {type: mltable, path: "azureml://datastores/sets/paths/conft", mode: eval_download}
YML
expect_ok ferry run "$TEST_TMP/job/conf.yml"
assert_contains "$LAST_STDERR" "is both a file and a folder: the folder wins, the file is hidden"
assert_contains "$TEST_TMP/conf-files" "/conf/x/y"
assert_contains "$TEST_TMP/conf-files" "/conf/x-z"
grep -q '/conf/x$' "$TEST_TMP/conf-files" && fail "the file 'x' is in the file set beside the folder 'x'"
# named on its own, the name is the folder too
printf 'paths:\n  - file: ../conf/x\n' >"$TEST_TMP/MLTable"
azcli put "$cs" conff/MLTable "$TEST_TMP/MLTable"
expect_fail "file '../conf/x': names a folder" ferry mltable show azureml://datastores/sets/paths/conff

step "an MLTable in storage cannot name local files"
printf 'paths:\n  - file: /etc/hostname\n' >"$TEST_TMP/MLTable"
azcli put "$cs" local/MLTable "$TEST_TMP/MLTable"
expect_fail "local/MLTable:2: path '/etc/hostname' names a local file, but this MLTable is in storage" \
	ferry mltable show azureml://datastores/sets/paths/local
