#!/usr/bin/python3
"""bench/table.py — owns the "ferry against the best peer" table of the benchmarks.

Reads the row lines that bench_row (bench/lib.sh) writes, one per tool and measurement,
tab-separated:

    script  row  tool  wall_s  cpu_s  rss_kib  server_cpu_s  load1

and prints one markdown line per row and ferry tool (a tool whose name starts with
"ferry"): its wall time, CPU (user+sys of the tool's processes, mount daemons included)
and peak RSS, the best peer on that row — the fastest tool (by wall time) that is neither
ferry nor a local ceiling (cp, cat: the machine's own speed, shown in each script's own
output) — with its figures, and the three ratios ferry / peer (below 1: ferry is faster,
uses less CPU, less memory). A row measured several times (BENCH_RUNS, BENCH_REPEAT)
gives each tool's median. A figure that is not a number (FAIL, WRONG, ">120": timed
out) is shown as it is and never picked as the best peer. "load" is the 1-minute load
average when the row's figures were taken (lowest–highest).

    bench/table.py ROWS.tsv [--script]   (--script: a first column naming the script)
"""
import statistics
import sys

CEILINGS = {"cp", "cat", "cat-devnull"}


def num(x):
    try:
        return float(x)
    except ValueError:
        return None


def main():
    path = sys.argv[1]
    with_script = "--script" in sys.argv[2:]
    rows = {}  # (script, row) -> tool -> list of (wall, cpu, rss_kib, srv)
    loads = {}
    order = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8 or f[0].startswith("#"):
            continue
        script, row, tool, wall, cpu, rss, srv, load = f[:8]
        key = (script, row)
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key].setdefault(tool, []).append((wall, cpu, rss, srv))
        if num(load) is not None:
            loads.setdefault(key, []).append(float(load))

    def med(runs, i):
        v = [num(r[i]) for r in runs]
        if any(x is None for x in v):  # a failed run: the row shows what happened
            return next(r[i] for r in runs if num(r[i]) is None)
        return statistics.median(v)

    def fig(x, scale=1.0, fmt="%.2f"):
        return fmt % (x / scale) if isinstance(x, float) else (x if x not in ("", "-") else "—")

    def ratio(a, b):
        return "%.2f" % (a / b) if isinstance(a, float) and isinstance(b, float) and b > 0 else "—"

    head = ["row", "ferry", "wall s", "CPU s", "RSS MiB", "best peer", "wall s", "CPU s", "RSS MiB",
            "wall ×", "CPU ×", "RSS ×", "server CPU s (ferry / peer)", "load"]
    if with_script:
        head.insert(0, "script")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if h in ("script", "row", "ferry", "best peer") else "---:" for h in head) + "|")
    for key in order:
        tools = {t: tuple(med(r, i) for i in range(4)) for t, r in rows[key].items()}
        peers = [(t, v) for t, v in tools.items()
                 if not t.startswith("ferry") and t not in CEILINGS and isinstance(v[0], float)]
        best = min(peers, key=lambda p: p[1][0]) if peers else None
        ld = loads.get(key, [])
        lo, hi = ("%.1f" % min(ld), "%.1f" % max(ld)) if ld else ("—", "—")
        load = lo if lo == hi else "%s–%s" % (lo, hi)
        for tool, (w, c, r, s) in tools.items():
            if not tool.startswith("ferry"):
                continue
            pw, pc, pr, ps = best[1] if best else ("—",) * 4
            cells = [key[1], tool, fig(w), fig(c), fig(r, 1024, "%.0f"),
                     best[0] if best else "— (no peer)", fig(pw), fig(pc), fig(pr, 1024, "%.0f"),
                     ratio(w, pw), ratio(c, pc), ratio(r, pr), "%s / %s" % (fig(s), fig(ps)), load]
            if with_script:
                cells.insert(0, key[0])
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
