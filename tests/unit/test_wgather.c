/*
 * test_wgather.c — the write gatherer (core/wgather.h): pieces that follow each
 * other are written a buffer at a time; a piece that does not follow, or does not
 * fit, writes what is gathered first; a piece larger than the buffer (or no
 * buffer) is written at once; flush writes the rest; a failed write is -1.
 */
#include "check.h"
#include "core/wgather.h"

#include <errno.h>
#include <string.h>

static char file[1000];
static unsigned writes;
static int fail_next;

static int rec(void *arg, uint64_t off, const char *data, size_t len)
{
	(void)arg;
	if (fail_next) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(file + off, data, len);
	writes++;
	return 0;
}

int main(void)
{
	char src[1000];
	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);
	char buf[100];
	struct ferry_wgather g = { .buf = buf, .cap = sizeof(buf), .write = rec };

	/* 10 pieces of 16 in order: 160 bytes in two writes (100 would not hold the 7th) */
	for (unsigned k = 0; k < 10; k++)
		CHECK(ferry_wgather_add(&g, k * 16, src + k * 16, 16) == 0);
	CHECK(writes == 1);
	CHECK(ferry_wgather_flush(&g) == 0);
	CHECK(writes == 2 && memcmp(file, src, 160) == 0);
	CHECK(ferry_wgather_flush(&g) == 0 && writes == 2); /* nothing left: no write */

	/* a piece that does not follow writes what is gathered first */
	writes = 0;
	CHECK(ferry_wgather_add(&g, 500, src + 500, 10) == 0);
	CHECK(ferry_wgather_add(&g, 300, src + 300, 10) == 0);
	CHECK(writes == 1 && memcmp(file + 500, src + 500, 10) == 0);
	/* a piece larger than the buffer: the gathered bytes, then the piece at once */
	CHECK(ferry_wgather_add(&g, 600, src + 600, 150) == 0);
	CHECK(writes == 3 && memcmp(file + 300, src + 300, 10) == 0 && memcmp(file + 600, src + 600, 150) == 0);
	CHECK(g.used == 0);

	/* no buffer: every piece is written as it comes */
	struct ferry_wgather none = { .write = rec };
	writes = 0;
	CHECK(ferry_wgather_add(&none, 800, src + 800, 5) == 0 && ferry_wgather_add(&none, 805, src + 805, 5) == 0);
	CHECK(writes == 2 && memcmp(file + 800, src + 800, 10) == 0);

	/* a failed write is -1 with its errno, from add and from flush */
	CHECK(ferry_wgather_add(&g, 900, src + 900, 10) == 0);
	fail_next = 1;
	CHECK(ferry_wgather_add(&g, 950, src + 950, 10) == -1 && errno == ENOSPC);
	CHECK(ferry_wgather_add(&g, 960, src + 960, 10) == 0); /* gathered: nothing written yet */
	CHECK(ferry_wgather_flush(&g) == -1 && errno == ENOSPC);
	return CHECK_DONE();
}
