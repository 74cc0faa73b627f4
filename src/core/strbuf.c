/*
 * strbuf.c — the growable string buffer (see strbuf.h for the invariants).
 *
 * Growth doubles the allocation (at least 64 bytes) so that n appends cost
 * O(n) copies in all; a failed grow leaves the content intact and marks the
 * buffer failed instead of returning a half-written string.
 */
#include "core/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char ferry_strbuf_empty[1];

void ferry_strbuf_init(struct ferry_strbuf *sb)
{
	*sb = (struct ferry_strbuf)FERRY_STRBUF_INIT;
}

void ferry_strbuf_release(struct ferry_strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	ferry_strbuf_init(sb);
}

void ferry_strbuf_reset(struct ferry_strbuf *sb)
{
	sb->failed = 0;
	ferry_strbuf_setlen(sb, 0);
}

void ferry_strbuf_setlen(struct ferry_strbuf *sb, size_t len)
{
	if (!sb->alloc)
		return; /* the shared empty string stays "" */
	sb->len = len < sb->len ? len : sb->len;
	sb->buf[sb->len] = '\0';
}

int ferry_strbuf_grow(struct ferry_strbuf *sb, size_t extra)
{
	if (sb->failed)
		return -1;
	if (extra >= FERRY_STRBUF_MAX - sb->len) {
		sb->failed = 1;
		return -1;
	}
	size_t need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return 0;
	size_t cap = sb->alloc ? sb->alloc : 64;
	while (cap < need)
		cap *= 2;
	char *p = realloc(sb->alloc ? sb->buf : NULL, cap);
	if (!p) {
		sb->failed = 1;
		return -1;
	}
	if (!sb->alloc)
		p[0] = '\0';
	sb->buf = p;
	sb->alloc = cap;
	return 0;
}

int ferry_strbuf_add(struct ferry_strbuf *sb, const void *data, size_t n)
{
	if (ferry_strbuf_grow(sb, n) < 0)
		return -1;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int ferry_strbuf_adds(struct ferry_strbuf *sb, const char *s)
{
	return ferry_strbuf_add(sb, s, strlen(s));
}

int ferry_strbuf_addch(struct ferry_strbuf *sb, int c)
{
	char ch = (char)c;
	return ferry_strbuf_add(sb, &ch, 1);
}

int ferry_strbuf_vaddf(struct ferry_strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || ferry_strbuf_grow(sb, (size_t)n) < 0) {
		sb->failed = 1;
		return -1;
	}
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int ferry_strbuf_addf(struct ferry_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ferry_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

int ferry_strbuf_addpath(struct ferry_strbuf *sb, const char *name)
{
	if (sb->len && sb->buf[sb->len - 1] != '/' && ferry_strbuf_addch(sb, '/') < 0)
		return -1;
	return ferry_strbuf_adds(sb, name);
}

size_t ferry_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);
	if (cap) {
		size_t k = n < cap ? n : cap - 1;
		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

char *ferry_strbuf_detach(struct ferry_strbuf *sb, size_t *len)
{
	char *s = NULL;
	if (!sb->failed)
		s = sb->alloc ? sb->buf : strdup("");
	else if (sb->alloc)
		free(sb->buf);
	if (s && len)
		*len = sb->len;
	ferry_strbuf_init(sb);
	return s;
}
