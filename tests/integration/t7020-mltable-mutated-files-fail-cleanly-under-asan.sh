#!/usr/bin/env bash
# t7020 — owns robustness of the MLTable evaluator against malformed input: 150
# seeded random mutations of the corpus (tests/data/mltable: MLTable files and their
# CSV / JSON-lines data — flipped bytes, stray quotes, braces, NULs, 0xFF) are
# evaluated by build/asan/ferry (`mltable export --to csv`, `export --to jsonl`,
# `show`, `head -n 3`); each run must end with exit 0 or a clean error (exit 1 and
# one "ferry: error:" line) and no AddressSanitizer, LeakSanitizer or UBSan report.
# Local files only: no servers needed. The seed is fixed, so a failure reproduces.
source "$(dirname "$0")/lib.sh"
[[ -x $FERRY_ASAN ]] || fail "ASan build missing: $FERRY_ASAN (make asan)"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

step "150 mutated MLTables and data files: results or clean errors, no sanitizer report"
$PY - "$ROOT/tests/data/mltable" "$TEST_TMP" "$FERRY_ASAN" <<'PYEOF' || fail "see above"
import os, random, shutil, subprocess, sys
src, tmp, ferry = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(20261129)
cases = sorted(d for d in os.listdir(src) if os.path.exists(os.path.join(src, d, "MLTable")))
bad = 0
for i in range(150):
    case = rnd.choice(cases)
    d = os.path.join(tmp, "m%03d" % i)
    shutil.copytree(os.path.join(src, case), d)
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs if not f.startswith("expected"))
    f = rnd.choice(files)
    b = bytearray(open(f, "rb").read())
    for _ in range(rnd.randint(1, 6)):
        if b and rnd.random() < 0.7:
            b[rnd.randrange(len(b))] = rnd.choice(b'{}[]:,"\'\n\r\\ -#*?x0\x00\xff')
        else:
            b.insert(rnd.randrange(len(b) + 1), rnd.choice(b'{}[]:,"\n\\*'))
    open(f, "wb").write(bytes(b))
    for args in (["export", d, "--to", "csv", "-"], ["export", d, "--to", "jsonl", "-"], ["show", d],
                 ["head", d, "-n", "3"]):
        p = subprocess.run(["timeout", "-k", "5", "120", ferry, "mltable"] + args, capture_output=True,
                           env=dict(os.environ, FERRY_HOME=os.path.join(tmp, "home")))
        err = p.stderr.decode("utf8", "replace")
        clean = p.returncode == 0 or (p.returncode == 1 and "ferry: error:" in err)
        if not clean or "Sanitizer" in err or "runtime error" in err:
            bad += 1
            print("mutation %d of %s (%s), ferry mltable %s: exit %d\n%s" % (
                i, case, os.path.relpath(f, d), " ".join(args[:1]), p.returncode, err[-1500:]))
    if not bad:
        shutil.rmtree(d)
print("%d mutations, %d bad runs" % (150, bad))
sys.exit(1 if bad else 0)
PYEOF
echo "ok"
