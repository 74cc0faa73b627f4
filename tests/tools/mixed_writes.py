#!/usr/bin/python3
"""mixed_writes.py DIR [SEED] [BIG_MIB] — the workload of the rw_mount tests.

Writes 500 files of mixed sizes (0 bytes up to one BIG_MIB file, default 300)
in nested folders under DIR, then overwrites, appends to, renames and deletes
some of them and renames one folder. Deterministic for a seed: run on a plain
folder it builds the reference that storage must equal after the same run
through a mount. Prints the number of files it left.
"""
import os
import random
import sys

root = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 4100
big_mib = int(sys.argv[3]) if len(sys.argv) > 3 else 300
rnd = random.Random(seed)


def data(n):
    return rnd.randbytes(n)


def write(path, n, mode="wb"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        left = n
        while left > 0:
            k = min(left, 1 << 20)
            f.write(data(k))
            left -= k


names = []
for i in range(500):
    depth = rnd.randint(0, 3)
    parts = ["d%d" % rnd.randint(0, 4) for _ in range(depth)]
    name = os.path.join(*parts, "f%03d.bin" % i) if parts else "f%03d.bin" % i
    if i == 0:
        size = big_mib << 20
    elif i % 50 == 1:
        size = rnd.randint(1 << 20, 9 << 20)       # a few multi-block files
    elif i % 10 == 2:
        size = 0
    else:
        size = rnd.randint(1, 64 << 10)
    write(os.path.join(root, name), size)
    names.append(name)

# overwrite some with other sizes, append to others
for name in rnd.sample(names[1:], 30):
    write(os.path.join(root, name), rnd.randint(0, 200 << 10))
for name in rnd.sample(names[1:], 20):
    write(os.path.join(root, name), rnd.randint(1, 10 << 10), "ab")
# a partial overwrite in the middle of a multi-block file
with open(os.path.join(root, names[1]), "r+b") as f:
    f.seek(123457)
    f.write(data(70000))
# rename some (into new folders too), delete others
alive = names[1:]
rnd.shuffle(alive)
for name in alive[:25]:
    dst = os.path.join("renamed", "r%d" % rnd.randint(0, 2), os.path.basename(name))
    os.makedirs(os.path.join(root, os.path.dirname(dst)), exist_ok=True)
    os.rename(os.path.join(root, name), os.path.join(root, dst))
for name in alive[25:50]:
    os.unlink(os.path.join(root, name))
# rename over an existing file
os.rename(os.path.join(root, alive[50]), os.path.join(root, alive[51]))
# a whole folder renamed
os.makedirs(os.path.join(root, "tmpdir", "x"), exist_ok=True)
write(os.path.join(root, "tmpdir", "x", "a.bin"), 1000)
write(os.path.join(root, "tmpdir", "b.bin"), 2000)
os.rename(os.path.join(root, "tmpdir"), os.path.join(root, "final"))

n = sum(len(f) for _, _, f in os.walk(root))
print("mixed_writes: %d files under %s (seed %d)" % (n, root, seed))
