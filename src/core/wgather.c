/*
 * wgather.c — pieces of a stream gathered into buffer-sized writes (see
 * wgather.h).
 */
#include "core/wgather.h"

#include <string.h>

int ferry_wgather_flush(struct ferry_wgather *g)
{
	int rc = g->used ? g->write(g->arg, g->off, g->buf, g->used) : 0;
	g->off += g->used;
	g->used = 0;
	return rc;
}

int ferry_wgather_add(struct ferry_wgather *g, uint64_t off, const void *data, size_t len)
{
	if (g->used && (off != g->off + g->used || g->used + len > g->cap) && ferry_wgather_flush(g) < 0)
		return -1;
	if (!g->buf || len > g->cap)
		return g->write(g->arg, off, data, len);
	if (!g->used)
		g->off = off;
	memcpy(g->buf + g->used, data, len);
	g->used += len;
	return 0;
}
