#!/usr/bin/env bash
# t8060 — owns fsspec open("rb") in one request (python/ferry/fsspec.py FerryFile over
# ferry_api_file_open_first in src/api/api.c, the stores' read_info in src/store/) under
# Debian's python3 and pytest (tests/python/test_fsspec_open_one_request.py): open().read()
# of small files through the fault proxy = exactly one GET each (no HEAD, no listing);
# pandas.read_csv of an azureml:// path = one GET; a 20 MiB file byte-exact with random
# seeks; a missing file (FileNotFoundError) and a folder (IsADirectoryError); an empty blob;
# a blob replaced while open fails the next read instead of mixing versions.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-py.sh"
need_py_fault fsspec pandas

step "30 small files and a CSV, a 20 MiB file, an empty file on an Azurite datastore"
$PY - "$TEST_TMP/tree" <<'PY'
import os, random, sys
root, rnd = sys.argv[1], random.Random(8060)
os.makedirs(root + "/small")
os.makedirs(root + "/big")
for i in range(30):
    with open("%s/small/f%02d.bin" % (root, i), "wb") as f:
        f.write(os.urandom(rnd.randint(1, 300000)))
with open(root + "/small/table.csv", "w") as f:
    f.write("id,name,value\n")
    for i in range(3000):
        f.write("%d,n%d,%.3f\n" % (i, i % 97, rnd.random()))
with open(root + "/big/twenty.bin", "wb") as f:
    f.write(os.urandom(20 << 20))
open(root + "/empty.bin", "wb").close()
PY
c=$(new_container)
az_datastore ods "$c"
az_datastore odsfault "$c" "$FAULT_URL"
expect_ok ferry upload "$TEST_TMP/tree" "azureml://datastores/ods/paths/tree/"

step "pytest: open().read() one request per small file, seeks, pandas, errors, a replaced blob"
export T8_TMP=$TEST_TMP T8_FAULT_CTL=$FAULT_CTL
run_pytest test_fsspec_open_one_request.py

if [[ -n ${S3_ENDPOINT:-} && -n ${S3_FAULT_CTL:-} ]]; then
	step "S3 (moto) through its fault proxy: one GET per small file, a folder, a missing key, a replaced object"
	s3_env
	b=$(new_bucket)
	expect_ok ferry upload "$TEST_TMP/tree/small" "s3://$b/small/"
	export AWS_ENDPOINT_URL=$S3_FAULT_ENDPOINT
	FAULT_CTL=$S3_FAULT_CTL fault clear
	timeout -k 5 120 $PY - "$b" "$TEST_TMP/tree/small" "$S3_FAULT_CTL" <<-'PY' || fail "S3 open checks failed"
	import os, sys, urllib.request, ferry
	b, src, ctl = sys.argv[1:4]
	fs = ferry.filesystem()
	names = sorted(os.listdir(src))
	for n in names:
	    with fs.open("s3://%s/small/%s" % (b, n), "rb") as f:
	        assert f.read() == open(os.path.join(src, n), "rb").read(), n
	log = urllib.request.urlopen(ctl + "/log", timeout=5).read().decode().splitlines()
	assert len(log) == len(names) and all(x.startswith("GET /%s/small/" % b) for x in log), log[:6]
	for p, exc in (("s3://%s/small" % b, IsADirectoryError), ("s3://%s/small/none" % b, FileNotFoundError)):
	    try:
	        fs.open(p, "rb")
	        raise SystemExit("no error for %s" % p)
	    except exc:
	        pass
	big = os.urandom(12 << 20)
	fs.pipe_file("s3://%s/big.bin" % b, big)
	f = fs.open("s3://%s/big.bin" % b, "rb", cache_type="none")
	assert f.read(10) == big[:10]
	fs.pipe_file("s3://%s/big.bin" % b, os.urandom(12 << 20))
	f.seek(10 << 20)
	try:
	    f.read(100)
	    raise SystemExit("a replaced S3 object was read")
	except OSError as e:
	    assert "changed since it was opened" in str(e), e
	print("s3: %d files, %d requests" % (len(names), len(log)))
	PY
fi
echo "ok"
