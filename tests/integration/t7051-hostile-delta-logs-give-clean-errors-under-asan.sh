#!/usr/bin/env bash
# t7051 — owns read_delta_lake's robustness: copies of t7050's Delta table (local
# files) with hostile logs — bad JSON, a missing version, a remove of a file that is
# not live, version numbers and JSON numbers beyond 64 bits, a bad or lying
# _last_checkpoint, a truncated checkpoint, deletion vectors, column mapping, an
# unknown reader feature, paths that leave the table, a file the log names that is
# not in storage, a schema that is not JSON, no log at all — are read by
# build/asan/ferry (`mltable export --to csv`): each must end with exit 1 and one
# "ferry: error:" naming the log file (or the MLTable) and the problem, with no
# AddressSanitizer, LeakSanitizer or UBSan report. Then 100 seeded mutations of the
# commits and of the checkpoint end in rows or such a clean error. The untouched
# table, read by the same binary, equals hyparquet's rows.
source "$(dirname "$0")/lib.sh"
[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
FX=$ROOT/tests/fixtures/parquet
[[ -d $FX/node_modules/hyparquet-writer ]] || fail "npm fixtures missing: $FX/node_modules (./setup.sh installs them)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

(cd "$FX" && node gen-delta.mjs "$TEST_TMP/fx") >/dev/null || fail "gen-delta.mjs failed"

step "hostile logs: clean errors naming the file; 100 mutations; no sanitizer report"
$PY - "$TEST_TMP/fx" "$TEST_TMP" "$FERRY_ASAN" <<'PYEOF' || fail "see above"
import json, os, random, shutil, subprocess, sys
fx, tmp, ferry = sys.argv[1:]
rnd = random.Random(20261130)
env = dict(os.environ, FERRY_HOME=os.path.join(tmp, "home"))
log = "_delta_log"
V = lambda v: "%020d.json" % v
CP = "%020d.checkpoint.parquet" % 3
bad = 0
outcomes = {"rows": 0, "errors": 0}
n = 0

def case(name, edit, want=None, option="", expect_rows=None):
    """Copy the table, edit it, export it; `want`: words the error must hold."""
    global bad, n
    n += 1
    d = os.path.join(tmp, "c%03d" % n)
    shutil.copytree(os.path.join(fx, "table"), os.path.join(d, "table"))
    edit(os.path.join(d, "table"))
    open(os.path.join(d, "MLTable"), "w").write(
        "paths:\n  - folder: ./table\ntransformations:\n  - read_delta_lake:%s\n" % (("\n      " + option) if option else ""))
    p = subprocess.run(["timeout", "-k", "5", "60", ferry, "mltable", "export", d, "--to", "csv", "-"],
                       capture_output=True, env=env)
    err = p.stderr.decode("utf8", "replace")
    problem = None
    if "Sanitizer" in err or "runtime error" in err or p.returncode not in (0, 1):
        problem = "crash or sanitizer report"
    elif p.returncode == 1 and (err.count("ferry: error:") != 1 or ("MLTable" not in err and log not in err)):
        problem = "an error that names neither the log file nor the MLTable"
    elif want is not None and (p.returncode != 1 or any(w not in err for w in want)):
        problem = "expected an error with %r" % (want,)
    elif expect_rows is not None and (p.returncode != 0 or p.stdout != open(expect_rows, "rb").read()):
        problem = "expected the rows of %s" % expect_rows
    if problem:
        bad += 1
        print("%s (%s): %s; exit %d\n%s" % (name, d, problem, p.returncode, err[-1500:]))
        return
    outcomes["rows" if p.returncode == 0 else "errors"] += 1
    shutil.rmtree(d)

def append(rel, line):
    def f(t):
        with open(os.path.join(t, log, rel), "a") as o:
            o.write(line + "\n")
    return f

def write(rel, text):
    def f(t):
        open(os.path.join(t, log, rel), "w" if isinstance(text, str) else "wb").write(text)
    return f

def remove(*rels):
    def f(t):
        for r in rels:
            os.remove(os.path.join(t, log, r))
    return f

def edit_line(rel, i, fn):
    def f(t):
        p = os.path.join(t, log, rel)
        lines = open(p).read().splitlines()
        lines[i] = fn(lines[i])
        open(p, "w").write("\n".join(lines) + "\n")
    return f

def both(*fs):
    def f(t):
        for g in fs:
            g(t)
    return f

case("untouched", lambda t: None, expect_rows=os.path.join(fx, "v5.csv"))
case("untouched v1", lambda t: None, option="version_as_of: 1", expect_rows=os.path.join(fx, "v1.csv"))
case("bad json", edit_line(V(4), 1, lambda l: l[:-7]), [V(4), "line 2", "not a JSON object"])
case("not an object", append(V(5), "[1, 2]"), [V(5), "line 3", "not a JSON object"])
case("missing version", remove(V(4)), [V(4) + " is missing"])
case("remove of an unknown file", append(V(5), '{"remove":{"path":"region=eu/nope.parquet","dataChange":true}}'),
     [V(5), "line 3", "region=eu/nope.parquet", "not a live file"])
case("remove twice", append(V(4), '{"remove":{"path":"region=eu/part-00000-a.c000.snappy.parquet"}}'),
     [V(4), "not a live file"])
case("version beyond 2^63", write("99999999999999999999.json", '{"commitInfo":{}}\n'), ["99999999999999999999.json", "2^63"])
case("21 digits", write("000000000000000000001.json", '{"commitInfo":{}}\n'), ["000000000000000000001.json", "2^63"])
case("huge json number", edit_line(V(5), 0, lambda l: l.replace("1704085200000", "1" + "0" * 400)),
     [V(5), "line 1"], option="timestamp_as_of: '2024-01-01T04:30:00Z'")
case("huge reader version", append(V(5), '{"protocol":{"minReaderVersion":9223372036854775807,"minWriterVersion":2}}'),
     [V(5), "minReaderVersion 9223372036854775807"])
case("version_as_of beyond 2^63", lambda t: None, ["version_as_of", "non-negative integer"],
     option="version_as_of: 99999999999999999999")
case("last_checkpoint not json", write("_last_checkpoint", "{version: 3"), ["_last_checkpoint", "not a JSON object"])
case("last_checkpoint lies", write("_last_checkpoint", '{"version": 4, "size": 9}'),
     ["_last_checkpoint", "version 4, which is not in"])
case("truncated checkpoint", lambda t: open(os.path.join(t, log, CP), "r+b").truncate(300), [CP])
case("checkpoint not parquet", write(CP, b"PAR1" + b"\xff" * 64 + b"PAR1"), [CP])
case("deletion vector", append(V(5), json.dumps({"add": {"path": "region=eu/part-99999-orphan.c000.snappy.parquet",
     "partitionValues": {"region": "eu"}, "size": 1, "modificationTime": 0, "dataChange": True,
     "deletionVector": {"storageType": "u", "pathOrInlineDv": "ab", "offset": 1, "sizeInBytes": 3, "cardinality": 1}}})),
     [V(5), "deletion vector"])
case("column mapping", append(V(5), json.dumps({"metaData": {"id": "x", "format": {"provider": "parquet"},
     "schemaString": json.dumps({"type": "struct", "fields": [{"name": "id", "type": "long"}, {"name": "region", "type": "string"}]}),
     "partitionColumns": ["region"], "configuration": {"delta.columnMapping.mode": "name"}}})), ["column mapping"])
case("unknown reader feature", append(V(5), '{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["fancyThing"]}}'),
     [V(5), "fancyThing"])
case("path outside", append(V(5), '{"add":{"path":"http://evil.example/x.parquet","partitionValues":{},"size":1}}'),
     ["outside the table"])
case("dot dot", append(V(5), '{"add":{"path":"../../../etc/passwd","partitionValues":{},"size":1}}'),
     ["../../../etc/passwd", "not in storage"])
case("not in storage", lambda t: os.remove(os.path.join(t, "region=eu", "part-00002-f.c000.snappy.parquet")),
     ["part-00002-f", "not in storage"])
case("schema not json", append(V(5), '{"metaData":{"schemaString":"{not json","partitionColumns":[]}}'),
     ["schemaString"])
case("nested schema", append(V(5), json.dumps({"metaData": {"schemaString": json.dumps({"type": "struct", "fields": [
     {"name": "s", "type": {"type": "struct", "fields": []}}]}), "partitionColumns": []}})), ["'s' has a nested type"])
case("partition column not in schema", append(V(5), json.dumps({"metaData": {"schemaString": json.dumps({"type": "struct",
     "fields": [{"name": "id", "type": "long"}]}), "partitionColumns": ["zone"]}})), ["'zone'"])
case("add without path", append(V(5), '{"add":{"size":3}}'), [V(5), "without a path"])
case("partition value not a string", append(V(5), '{"add":{"path":"x","partitionValues":{"region":7}}}'),
     [V(5), "not a string"])
case("no log", lambda t: [os.remove(os.path.join(t, log, f)) for f in os.listdir(os.path.join(t, log))] and None,
     ["not a Delta table"])
case("no metaData", both(remove(V(0), V(1), V(2), V(3), V(4), V(5), CP, "_last_checkpoint"),
     write(V(0), '{"add":{"path":"region=eu/part-00000-a.c000.snappy.parquet","partitionValues":{}}}\n')), ["no metaData"])
case("nul in json", write(V(5), '{"add":{"path":"a\\u0000b"}}\n'), [V(5)])
# seeded mutations of the commits and the checkpoint
names = [V(v) for v in range(6)] + [CP, "_last_checkpoint"]
for i in range(100):
    target = rnd.choice(names)
    def mutate(t, target=target):
        p = os.path.join(t, log, target)
        b = bytearray(open(p, "rb").read())
        k = rnd.random()
        if k < 0.2:
            b = b[:rnd.randrange(len(b))]
        elif k < 0.3 and len(b) > 8:
            at = rnd.randrange(len(b) - 4)
            b[at:at + 4] = rnd.choice([b"\xff\xff\xff\x7f", b"9999", b"null", b'"x"}', b"\n{}\n"])
        else:
            for _ in range(rnd.randint(1, 6)):
                at = rnd.randrange(len(b))
                b[at] = rnd.choice([rnd.randrange(256), b[at] ^ (1 << rnd.randrange(8)), 0, ord("9"), ord('"')])
        open(p, "wb").write(bytes(b))
    case("m%03d-%s" % (i, target), mutate, option=rnd.choice(["", "version_as_of: 4", "version_as_of: 1",
                                                                 "timestamp_as_of: '2024-01-01T03:30:00Z'"]))
print("%d cases: %d read, %d clean errors, %d bad" % (n, outcomes["rows"], outcomes["errors"], bad))
sys.exit(1 if bad else 0)
PYEOF
echo "ok"
