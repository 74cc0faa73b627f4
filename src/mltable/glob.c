/*
 * glob.c — MLTable path patterns (see glob.h).
 *
 * A backtracking matcher. `*` remembers one restart point per segment (the
 * classic two-pointer wildcard algorithm, linear for a segment); `**`
 * recurses over the segment boundaries of the rest of the name, so the cost
 * for real paths (a handful of segments, one or two `**`) is small; a
 * hostile pattern (many `**` against a deep name) could take exponential
 * time, so every call has a step budget and reports running out of it.
 * No allocation.
 */
#include "mltable/glob.h"

#include <string.h>

/* Match one character class at p (p points after '['); sets *end past ']'.
 * Returns 1 if c is in the class, 0 if not, -1 when the class is not closed
 * (then '[' is taken literally). */
static int class_match(const char *p, unsigned char c, const char **end)
{
	int neg = 0, hit = 0;
	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		unsigned char lo = (unsigned char)*p, hi = lo;
		if (*p == '\\' && p[1])
			lo = hi = (unsigned char)*++p;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = (unsigned char)p[2];
			if (p[2] == '\\' && p[3])
				hi = (unsigned char)p[3], p++;
			p += 2;
		}
		if (c >= lo && c <= hi)
			hit = 1;
		p++;
	}
	if (*p != ']')
		return -1;
	*end = p + 1;
	return neg ? !hit : hit;
}

/* 1 match, 0 none, -1 the step budget ran out. */
static int match(const char *p, const char *n, long *budget)
{
	const char *star_p = NULL, *star_n = NULL;
	for (;;) {
		if (--*budget < 0)
			return -1;
		if (p[0] == '*' && p[1] == '*' && (p[2] == '/' || p[2] == '\0')) {
			/* `**`: zero or more whole segments. Only at a segment start. */
			const char *rest = p[2] == '/' ? p + 3 : p + 2;
			if (!*rest)
				return 1; /* trailing `**` takes everything */
			for (const char *s = n;; ) {
				int r = match(rest, s, budget);
				if (r != 0)
					return r;
				const char *slash = strchr(s, '/');
				if (!slash)
					break;
				s = slash + 1;
			}
			goto backtrack;
		}
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (*n == '\0') {
			if (*p == '\0')
				return 1;
			goto backtrack;
		}
		if (*p == '?' && *n != '/') {
			p++;
			n++;
			continue;
		}
		if (*p == '[') {
			const char *end;
			int m = class_match(p + 1, (unsigned char)*n, &end);
			if (m == 1 && *n != '/') {
				p = end;
				n++;
				continue;
			}
			if (m == 0 || *n == '/')
				goto backtrack;
			/* unclosed: literal '[' */
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p == *n && *p) {
			p++;
			n++;
			continue;
		}
	backtrack:
		/* let the last `*` take one more character, never a '/' */
		if (star_p && *star_n && *star_n != '/') {
			star_n++;
			p = star_p;
			n = star_n;
			continue;
		}
		return 0;
	}
}

int ferry_glob_match(const char *pattern, const char *name)
{
	long budget = FERRY_GLOB_MAX_STEPS;
	return match(pattern, name, &budget);
}

int ferry_glob_has_magic(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

size_t ferry_glob_literal_prefix(const char *pattern)
{
	size_t first = strcspn(pattern, "*?[\\");
	size_t cut = 0;
	for (size_t i = 0; i < first; i++)
		if (pattern[i] == '/')
			cut = i + 1;
	return cut;
}
