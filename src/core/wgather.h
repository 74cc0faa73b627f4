/*
 * wgather.h — gathers the pieces of a stream into one buffer and hands them to
 * a write function a buffer at a time. libcurl delivers a response body in
 * pieces of at most 16 KiB; a pwrite per piece costs a syscall per 16 KiB and,
 * with several threads writing parts of one file, contention on its inode lock
 * (measured: 65,000 pwrites and 7 CPU-seconds for 1 GiB). The download engine
 * (transfer/download.c) and ferry_api_get_many (api/cat.c) both write through it.
 *
 * Ownership: the caller owns buf (cap bytes; cap 0 or buf NULL: every piece is
 * written as it comes). Threads: one gatherer per thread; no shared state.
 */
#ifndef FERRY_WGATHER_H
#define FERRY_WGATHER_H

#include <stddef.h>
#include <stdint.h>

/* Write `len` bytes of `data` at file offset `off`: 0, or -1 (errno set). */
typedef int (*ferry_wgather_fn)(void *arg, uint64_t off, const char *data, size_t len);

struct ferry_wgather {
	char *buf;
	size_t used, cap;
	uint64_t off; /* the file offset of buf[0] */
	ferry_wgather_fn write;
	void *arg;
};

/* Add the piece [off, off+len): what is gathered is written first when the
 * piece does not follow it or does not fit; a piece larger than the buffer is
 * written at once. 0, or -1 when a write failed. */
int ferry_wgather_add(struct ferry_wgather *g, uint64_t off, const void *data, size_t len);
/* Write what is gathered (at the end of a stream). 0, or -1. */
int ferry_wgather_flush(struct ferry_wgather *g);

#endif
