/*
 * tmpname.c — short temporary names (see tmpname.h).
 */
#include "core/tmpname.h"
#include "core/sys.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ferry_tmp_name(const char *final)
{
	const char *slash = strrchr(final, '/');
	size_t dirlen = slash ? (size_t)(slash - final) + 1 : 0;
	size_t cap = dirlen + sizeof(FERRY_TMP_PREFIX) + 16 + sizeof(FERRY_TMP_SUFFIX);
	char *t = malloc(cap);
	uint64_t r;
	ferry_random_bytes(&r, sizeof(r));
	if (t)
		snprintf(t, cap, "%.*s" FERRY_TMP_PREFIX "%016llx" FERRY_TMP_SUFFIX, (int)dirlen, final,
			 (unsigned long long)r);
	return t;
}

int ferry_is_tmp_name(const char *base)
{
	size_t n = strlen(base), p = strlen(FERRY_TMP_PREFIX), s = strlen(FERRY_TMP_SUFFIX);
	if (n != p + 16 + s || strncmp(base, FERRY_TMP_PREFIX, p) || strcmp(base + n - s, FERRY_TMP_SUFFIX))
		return 0;
	for (size_t i = p; i < p + 16; i++)
		if (!strchr("0123456789abcdef", base[i]))
			return 0;
	return 1;
}
