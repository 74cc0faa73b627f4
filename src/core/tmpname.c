/*
 * tmpname.c — short temporary names (see tmpname.h).
 */
#include "core/tmpname.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t random64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	static uint64_t counter; /* atomic */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	v = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	return (v << 40) ^ ((uint64_t)getpid() << 20) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
}

char *ferry_tmp_name(const char *final)
{
	const char *slash = strrchr(final, '/');
	size_t dirlen = slash ? (size_t)(slash - final) + 1 : 0;
	size_t cap = dirlen + sizeof(FERRY_TMP_PREFIX) + 16 + sizeof(FERRY_TMP_SUFFIX);
	char *t = malloc(cap);
	if (t)
		snprintf(t, cap, "%.*s" FERRY_TMP_PREFIX "%016llx" FERRY_TMP_SUFFIX, (int)dirlen, final,
			 (unsigned long long)random64());
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
