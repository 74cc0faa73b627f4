/*
 * expand.c — one left-to-right pass over the template.
 *
 * Text outside blocks is appended directly; a `$[[` block is expanded into a
 * side buffer and appended only if no expression in it was absent. Blocks do
 * not nest (Azure's do not either).
 */
#include "job/expand.h"

#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
};

static int put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Expand [s, end) (no blocks inside) into b. *absent is set when an
 * expression was an absent optional input. */
static int expand_span(const char *s, const char *end, ferry_expand_fn fn, void *arg,
		       const char *what, int in_block, struct buf *b, int *absent,
		       ferry_err *err)
{
	while (s < end) {
		const char *open = NULL;
		for (const char *q = s; q + 3 <= end; q++)
			if (q[0] == '$' && q[1] == '{' && q[2] == '{') {
				open = q;
				break;
			}
		if (!open)
			return put(b, s, end - s) < 0 ? ferry_err_set(err, FERRY_E_IO, "out of memory")
						       : 0;
		if (put(b, s, open - s) < 0)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		const char *close = NULL;
		for (const char *q = open + 3; q + 2 <= end; q++)
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		if (!close)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "%s: '${{' without a closing '}}'", what);
		const char *a = open + 3, *z = close;
		while (a < z && (*a == ' ' || *a == '\t'))
			a++;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
			z--;
		char *expr = strndup(a, z - a);
		if (!expr)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		const char *val = NULL;
		int r = fn(arg, expr, &val, err);
		if (r == FERRY_EXPAND_ERROR) {
			free(expr);
			return ferry_err_wrap(err, "%s", what);
		}
		if (r == FERRY_EXPAND_ABSENT) {
			if (!in_block) {
				ferry_err_set(err, FERRY_E_INVALID,
					      "%s: '${{%s}}' is an optional input that was not "
					      "given; put it inside an optional block $[[ ... ]]",
					      what, expr);
				free(expr);
				return -1;
			}
			*absent = 1;
		} else if (put(b, val, strlen(val)) < 0) {
			free(expr);
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		free(expr);
		s = close + 2;
	}
	return 0;
}

int ferry_expand(const char *tmpl, int blocks, ferry_expand_fn fn, void *arg, const char *what,
		 char **out, ferry_err *err)
{
	*out = NULL;
	struct buf b = { 0 };
	if (put(&b, "", 0) < 0)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	const char *s = tmpl, *end = tmpl + strlen(tmpl);
	while (s < end) {
		const char *open = blocks ? strstr(s, "$[[") : NULL;
		const char *stop = open ? open : end;
		int absent = 0;
		if (expand_span(s, stop, fn, arg, what, 0, &b, &absent, err) < 0)
			goto fail;
		if (!open)
			break;
		const char *close = strstr(open + 3, "]]");
		if (!close) {
			ferry_err_set(err, FERRY_E_INVALID, "%s: '$[[' without a closing ']]'", what);
			goto fail;
		}
		struct buf blk = { 0 };
		if (put(&blk, "", 0) < 0) {
			ferry_err_set(err, FERRY_E_IO, "out of memory");
			goto fail;
		}
		absent = 0;
		if (expand_span(open + 3, close, fn, arg, what, 1, &blk, &absent, err) < 0) {
			free(blk.p);
			goto fail;
		}
		int rc = absent ? 0 : put(&b, blk.p, blk.len);
		free(blk.p);
		if (rc < 0) {
			ferry_err_set(err, FERRY_E_IO, "out of memory");
			goto fail;
		}
		s = close + 2;
	}
	*out = b.p;
	return 0;
fail:
	free(b.p);
	return -1;
}
