#!/usr/bin/env bash
# t7041 — owns read_parquet's robustness: hostile Parquet files (a truncated footer,
# a footer length beyond the file, no magic, a page size beyond its column chunk,
# Thrift structs nested 1,000 deep, a row group claiming 2^40 rows) and 200 seeded
# mutations of the npm-written fixtures (flipped bytes — most in the footer and page
# headers —, truncations, 32-bit lengths overwritten with huge values) are read by
# build/asan/ferry (`mltable export --to csv`); each run must end with exit 0 or a
# clean error naming the file (exit 1, one "ferry: error:" line), and no
# AddressSanitizer, LeakSanitizer or UBSan report. Local files; the seed is fixed.
source "$(dirname "$0")/lib.sh"
[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
FX=$ROOT/tests/fixtures/parquet
[[ -d $FX/node_modules/hyparquet-writer ]] || fail "npm fixtures missing: $FX/node_modules (./setup.sh installs them)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

(cd "$FX" && node gen.mjs "$TEST_TMP/fx") >/dev/null || fail "gen.mjs failed"

step "hostile files and 200 mutations: rows or clean errors naming the file, no sanitizer report"
$PY - "$TEST_TMP/fx" "$TEST_TMP" "$FERRY_ASAN" <<'PYEOF' || fail "see above"
import os, random, struct, subprocess, sys
fx, tmp, ferry = sys.argv[1:]
rnd = random.Random(20261130)
env = dict(os.environ, FERRY_HOME=os.path.join(tmp, "home"))
bad = 0
outcomes = {"rows": 0, "errors": 0}

def run(name, data, must_fail=False):
    global bad
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "x.parquet"), "wb").write(data)
    open(os.path.join(d, "MLTable"), "w").write("paths:\n  - file: ./x.parquet\ntransformations:\n  - read_parquet\n")
    p = subprocess.run(["timeout", "-k", "5", "60", ferry, "mltable", "export", d, "--to", "csv", "-"],
                       capture_output=True, env=env)
    err = p.stderr.decode("utf8", "replace")
    clean = p.returncode == 0 or (p.returncode == 1 and "ferry: error:" in err and "x.parquet" in err)
    if must_fail and p.returncode == 0:
        clean = False
    if not clean or "Sanitizer" in err or "runtime error" in err:
        bad += 1
        print("%s: exit %d\n%s" % (name, p.returncode, err[-1500:]))
        return
    outcomes["rows" if p.returncode == 0 else "errors"] += 1
    os.remove(os.path.join(d, "x.parquet"))

files = {n: open(os.path.join(fx, n + ".parquet"), "rb").read() for n in ["snappy", "gzip", "zstd", "plain", "delta", "encodings"]}
good = files["snappy"]
flen = struct.unpack("<I", good[-8:-4])[0]
# hand-made hostile files
run("truncated-footer", good[:-20], True)
run("footer-length-beyond-file", good[:-8] + struct.pack("<I", len(good) + 5) + b"PAR1", True)
run("footer-length-huge", good[:-8] + struct.pack("<I", 0xFFFFFFF0) + b"PAR1", True)
run("no-magic", good[:-4] + b"PAR2", True)
run("tiny", b"PAR1PAR1", True)
run("empty", b"", True)
deep = b"\x1c" * 1000
run("thrift-deep", b"PAR1" + deep + struct.pack("<I", len(deep)) + b"PAR1", True)
# FileMetaData {2: schema [root{4:"r",5:1}, {1:INT32,4:"a"}], 3: 2^40 rows,
#   4: [RowGroup{1: [ColumnChunk{3: {1: INT32, 3: ["a"], 4: 0, 5: 4, 7: 4, 9: 4}}], 3: 2^40}]}
big = bytes([0x80] * 5 + [0x40])  # zigzag varint of 2^40
meta = bytes([0x29, 0x2c, 0x48, 1]) + b"r" + bytes([0x15, 2, 0, 0x15, 2, 0x38, 1]) + b"a" + bytes([0])
meta += bytes([0x16]) + big + bytes([0x19, 0x1c, 0x19, 0x1c, 0x3c, 0x15, 2, 0x29, 0x18, 1]) + b"a"
meta += bytes([0x15, 0, 0x16, 8, 0x26, 8, 0x26, 8, 0, 0, 0x26]) + big + bytes([0, 0])
run("rows-2-40", b"PAR1" + b"\0" * 8 + meta + struct.pack("<I", len(meta)) + b"PAR1", True)
# a page header claiming more bytes than its column chunk: the first PageHeader follows
# the magic as {1: type, 2: uncompressed_page_size, 3: compressed_page_size, ...}
def varint_end(buf, at):
    while buf[at] & 0x80:
        at += 1
    return at + 1
plain = bytearray(files["plain"])
assert plain[4] == 0x15 and plain[6] == 0x15, plain[:12].hex()
c3 = varint_end(plain, 7)
assert plain[c3] == 0x15
run("page-size-beyond-chunk", bytes(plain[:c3 + 1] + b"\xfe\xff\xff\xff\x07" + plain[varint_end(plain, c3 + 1):]), True)
run("page-usize-huge", bytes(plain[:7] + b"\xfe\xff\xff\xff\x07" + plain[varint_end(plain, 7):]), True)
# seeded mutations
for i in range(200):
    name = rnd.choice(sorted(files))
    b = bytearray(files[name])
    fl = struct.unpack("<I", b[-8:-4])[0]
    kind = rnd.random()
    if kind < 0.15:
        b = b[:rnd.randrange(len(b))]
    elif kind < 0.3:
        at = rnd.randrange(len(b) - 4)
        b[at:at + 4] = struct.pack("<I", rnd.choice([0x7fffffff, 0xffffffff, 0x10000000, len(b), rnd.randrange(1 << 32)]))
    else:
        for _ in range(rnd.randint(1, 8)):
            if rnd.random() < 0.6:   # the footer
                at = len(b) - 8 - rnd.randrange(fl)
            else:                    # anywhere (page headers, data)
                at = rnd.randrange(len(b))
            b[at] = rnd.choice([rnd.randrange(256), b[at] ^ (1 << rnd.randrange(8)), 0, 0xff])
    run("m%03d-%s" % (i, name), bytes(b))
print("200 mutations and 10 hostile files: %d read, %d clean errors, %d bad runs" % (outcomes["rows"], outcomes["errors"], bad))
sys.exit(1 if bad else 0)
PYEOF
echo "ok"
