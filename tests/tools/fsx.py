#!/usr/bin/python3
"""fsx.py DIR [--ops N] [--seed S] [--files K] [--maxlen BYTES] — a file-system
exerciser in the spirit of fsx: random writes (also past the end, leaving
holes), truncates (down and up), reads and re-reads of random ranges, fsyncs,
and close/reopen cycles (with and without O_TRUNC, read-only and read-write),
on K files under DIR, every byte checked against an in-memory model. Through
the rw mount a close uploads and a later open fetches again, so both are
checked too. Prints the seed first; exits 1 at the first mismatch, naming the
operation number, file, offset and the first differing byte.

--model-out DIR2: write the final model of each file there, so that the caller
can compare storage with it after unmounting.
"""
import argparse
import os
import random
import sys

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--ops", type=int, default=3000)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--files", type=int, default=4)
ap.add_argument("--maxlen", type=int, default=3 << 20)
ap.add_argument("--model-out", default=None)
a = ap.parse_args()
seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
print("fsx: seed %d, %d ops on %d files up to %d bytes in %s" % (seed, a.ops, a.files, a.maxlen, a.dir), flush=True)
rnd = random.Random(seed)

model = [bytearray() for _ in range(a.files)]
fds = [None] * a.files
names = [os.path.join(a.dir, "fsx%02d.bin" % i) for i in range(a.files)]
writable = [False] * a.files
log = []


def die(msg):
    print("fsx: MISMATCH: %s (seed %d)" % (msg, seed), file=sys.stderr)
    for line in log[-12:]:
        print("fsx:   recent op " + line, file=sys.stderr)
    sys.exit(1)


def check(i, off, got, what):
    want = bytes(model[i][off:off + len(got)])
    if off + len(got) > len(model[i]):
        die("op %d %s %s: read %d bytes at %d past the model's end %d" % (len(log), what, names[i], len(got), off, len(model[i])))
    if got != want:
        k = next(j for j in range(len(got)) if got[j] != want[j])
        die("op %d %s %s: byte %d is %d, expected %d" % (len(log), what, names[i], off + k, got[k], want[k]))


def do_open(i, mode):
    if fds[i] is not None:
        os.close(fds[i])
    if mode == "trunc":
        fds[i] = os.open(names[i], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        model[i] = bytearray()
        writable[i] = True
    elif mode == "rw":
        fds[i] = os.open(names[i], os.O_RDWR | os.O_CREAT, 0o644)
        writable[i] = True
    else:
        fds[i] = os.open(names[i], os.O_RDONLY)
        writable[i] = False
    st = os.fstat(fds[i])
    if st.st_size != len(model[i]):
        die("op %d open(%s) %s: size %d, expected %d" % (len(log), mode, names[i], st.st_size, len(model[i])))


def read_range(i, off, n):
    out = bytearray()
    while n > 0:
        b = os.pread(fds[i], n, off + len(out))
        if not b:
            break
        out += b
        n -= len(b)
    return bytes(out)


os.makedirs(a.dir, exist_ok=True)
for i in range(a.files):
    do_open(i, "trunc")
for op in range(a.ops):
    i = rnd.randrange(a.files)
    r = rnd.random()
    size = len(model[i])
    if r < 0.06:  # close, then reopen one of three ways
        mode = rnd.choice(["rw", "rw", "ro", "trunc"])
        os.close(fds[i])
        fds[i] = None
        log.append("close+open(%s) %d" % (mode, i))
        do_open(i, mode)
        continue
    if not writable[i] and r < 0.6:
        log.append("reopen rw %d" % i)
        do_open(i, "rw")
    if r < 0.40:  # write, sometimes past the end
        off = rnd.randrange(0, min(a.maxlen, size + 65536) + 1)
        n = rnd.choice([1, 7, 512, 4096, 65536, rnd.randrange(1, 300000)])
        n = max(1, min(n, a.maxlen - off)) if off < a.maxlen else 1
        data = rnd.randbytes(n)
        log.append("write %d off %d len %d" % (i, off, n))
        if os.pwrite(fds[i], data, off) != n:
            die("short write")
        if off > len(model[i]):
            model[i] += bytes(off - len(model[i]))
        model[i][off:off + n] = data
    elif r < 0.50:  # truncate down or up
        n = rnd.randrange(0, a.maxlen) if rnd.random() < 0.3 else rnd.randrange(0, size + 1)
        log.append("truncate %d to %d" % (i, n))
        os.ftruncate(fds[i], n)
        if n < len(model[i]):
            del model[i][n:]
        else:
            model[i] += bytes(n - len(model[i]))
    elif r < 0.55:
        log.append("fsync %d" % i)
        os.fsync(fds[i])
    else:  # read a range, sometimes twice
        off = rnd.randrange(0, size + 1)
        n = rnd.randrange(0, 200000)
        log.append("read %d off %d len %d" % (i, off, n))
        got = read_range(i, off, n)
        if len(got) != max(0, min(n, size - off)):
            die("op %d read %s at %d: got %d bytes, expected %d" % (op, names[i], off, len(got), min(n, size - off)))
        check(i, off, got, "read")
        if rnd.random() < 0.3:
            check(i, off, read_range(i, off, n), "re-read")
    if os.fstat(fds[i]).st_size != len(model[i]):
        die("op %d %s: size %d, model %d" % (op, names[i], os.fstat(fds[i]).st_size, len(model[i])))
for i in range(a.files):
    os.close(fds[i])  # uploads
for i in range(a.files):
    with open(names[i], "rb") as f:
        check(i, 0, f.read(), "final read")
if a.model_out:
    os.makedirs(a.model_out, exist_ok=True)
    for i in range(a.files):
        with open(os.path.join(a.model_out, os.path.basename(names[i])), "wb") as f:
            f.write(model[i])
print("fsx: %d ops, no mismatch; final sizes %s" % (a.ops, [len(m) for m in model]), flush=True)
