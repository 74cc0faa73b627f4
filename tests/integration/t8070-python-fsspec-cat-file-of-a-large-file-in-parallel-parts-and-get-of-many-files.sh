#!/usr/bin/env bash
# t8070 — owns fsspec cat_file of a large file in parallel ranged GETs written straight into
# the bytes object returned (python/ferry/_lib.py Engine.cat over ferry_api_cat_open/fill in
# src/api/cat.c) and fs.get of a list or a glob in one engine call (Engine.get_many,
# ferry_api_get_many), under Debian's python3 and pytest (tests/python/test_fsspec_cat_large.py):
# a 40 MiB file in 1 MiB parts byte-exact, ranges across part borders; through the fault
# proxy 40 GETs with 6 in flight (a small file still one GET); a byte flipped in transit in
# the first or a later part fails with an MD5 mismatch; a blob replaced between parts fails;
# peak RSS grows by about 1x the file's size; get of lists/globs (recursive too) lands the same
# names as fsspec's generic get, 6 downloads in flight, one GET each; a missing or corrupted
# file among many raises naming it and leaves no partial file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py_fault fsspec

step "a 40 MiB file, a small file, 40 small files in many/ and 8 in many/sub/ on an Azurite datastore"
$PY - "$TEST_TMP/tree" <<'PY'
import os, random, sys
root, rnd = sys.argv[1], random.Random(8070)
os.makedirs(root + "/many/sub")
with open(root + "/big.bin", "wb") as f:
    f.write(os.urandom(40 << 20))
with open(root + "/small.bin", "wb") as f:
    f.write(os.urandom(70000))
for i in range(40):
    with open("%s/many/f%03d.bin" % (root, i), "wb") as f:
        f.write(os.urandom(rnd.randint(1, 90000)))
for i in range(8):
    with open("%s/many/sub/g%d.bin" % (root, i), "wb") as f:
        f.write(os.urandom(rnd.randint(1, 90000)))
PY
c=$(new_container)
az_datastore lds "$c"
az_datastore ldsfault "$c" "$FAULT_URL"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/lds/paths/tree/"

step "pytest: cat_file in parallel parts (MD5, ETag, RSS), get of lists and globs"
export T8_TMP=$TEST_TMP T8_FAULT_CTL=$FAULT_CTL
run_pytest test_fsspec_cat_large.py

if [[ -n ${S3_ENDPOINT:-} && -n ${S3_FAULT_CTL:-} ]]; then
	step "S3 (moto) through its fault proxy: a 3 MiB object in 256 KiB parts, a range, get of a list"
	s3_env
	b=$(new_bucket)
	expect_ok ferry upload "$TEST_TMP/tree/many" "s3://$b/many/"
	head -c $((3 << 20)) "$TEST_TMP/tree/big.bin" >"$TEST_TMP/three.bin"
	expect_ok ferry upload "$TEST_TMP/three.bin" "s3://$b/three.bin"
	export AWS_ENDPOINT_URL=$S3_FAULT_ENDPOINT
	FAULT_CTL=$S3_FAULT_CTL fault clear
	timeout -k 5 120 $PY - "$b" "$TEST_TMP" "$S3_FAULT_CTL" <<-'PY' || fail "S3 checks failed"
	import os, sys, urllib.request, ferry
	b, t, ctl = sys.argv[1:4]
	def log():
	    return urllib.request.urlopen(ctl + "/log", timeout=5).read().decode().splitlines()
	def clear():
	    urllib.request.urlopen(urllib.request.Request(ctl + "/clear", data=b"", method="POST"), timeout=5).read()
	fs = ferry.filesystem(settings={"FERRY_TRANSFER_PART_SIZE": 256 << 10, "FERRY_TRANSFER_PART_SIZE_MAX": 256 << 10,
	                               "RSLEX_DOWNLOADER_THREADS": 4})
	three = open(t + "/three.bin", "rb").read()
	assert fs.cat_file("s3://%s/three.bin" % b) == three
	assert log() == ["GET /%s/three.bin" % b] * 12, log()
	assert fs.cat_file("s3://%s/three.bin" % b, start=100, end=(1 << 20) + 5) == three[100:(1 << 20) + 5]
	names = sorted(n for n in os.listdir(t + "/tree/many") if n.endswith(".bin"))[:10]
	fs.get(["s3://%s/many/%s" % (b, n) for n in names], t + "/s3got/")
	assert all(open(t + "/s3got/" + n, "rb").read() == open(t + "/tree/many/" + n, "rb").read() for n in names)
	print("s3: 12 parts, a range, %d files got" % len(names))
	PY
fi
echo "ok"
