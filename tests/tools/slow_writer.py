#!/usr/bin/env python3
"""slow_writer.py FILE MIB MARK [HOLD] — owns the "writer caught mid-file" of the
rw-mount tests: writes MIB MiB of pseudo-random bytes to FILE one MiB at a time
(a short pause after each), creates MARK (with this process's pid in it) once
8 MiB (or all, when fewer) are written, and with HOLD keeps FILE open that many seconds after the last
write, without closing it (a background writer that never finishes)."""
import os
import sys
import time

path, mib, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 0
chunk = os.urandom(1 << 20)
f = open(path, "wb", buffering=0)
for i in range(mib):
    f.write(chunk)
    if i == min(7, mib - 1):
        with open(mark + ".tmp", "w") as m:
            m.write(str(os.getpid()))
        os.rename(mark + ".tmp", mark)
    time.sleep(0.05)
if hold:
    time.sleep(hold)
f.close()
