/*
 * partsize.h — how large the ranged parts of one large download should be,
 * from what its first part measured.
 *
 * A ranged GET costs a fixed time before its first byte (the server's and the
 * network's per-request cost, L) plus its length over the stream's throughput
 * (B). With parts of P bytes the fixed cost is a share L*B/P of the transfer
 * time, so when requests are slow, fewer, larger parts win; when they are cheap,
 * small parts keep every thread busy to the end and need no larger buffers (a
 * part streams through a fixed 1 MiB buffer whatever its size).
 *
 * Layer transfer (docs/STYLE.md). Pure function: thread-safe.
 */
#ifndef FERRY_PARTSIZE_H
#define FERRY_PARTSIZE_H

#include <stdint.h>

/* Parts are made this many times the per-request cost's worth of bytes
 * (L*B), so the fixed cost stays under 1/8 of the transfer time. */
#define FERRY_PART_COST_FACTOR 8

/* The part size for the `rest` bytes of a file still to fetch by `threads`
 * parallel parts, after one part of `bytes` bytes took `ttfb_s` seconds to
 * its first byte and `body_s` seconds from there to its end. The result is a
 * multiple of `unit` (the file's base part size; md5order hashes in units),
 * at least `unit`, at most `max` (rounded down to a unit multiple; `max` at or
 * below `unit` pins parts at `unit`), and no more than an even share of
 * `rest` per thread (rounded up to a unit), so every thread still gets a part.
 * Measurements that are zero or negative count as "cheap": `unit`. */
uint64_t ferry_part_size_adapt(uint64_t unit, uint64_t max, uint64_t rest, unsigned threads, double ttfb_s,
			       double body_s, uint64_t bytes);

#endif
