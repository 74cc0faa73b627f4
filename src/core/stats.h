/*
 * stats.h — counters of data moved, shared by stores and the transfer engine.
 * All fields are updated with atomic adds: any thread may add.
 */
#ifndef FERRY_STATS_H
#define FERRY_STATS_H

#include <stdint.h>

struct ferry_stats {
	uint64_t bytes;     /* payload bytes moved (body bytes received or sent) */
	uint64_t files;     /* files completed */
	uint64_t requests;  /* storage requests issued, retries included */
	uint64_t retries;   /* requests repeated after a transient failure */
};

static inline void ferry_stats_add(uint64_t *field, uint64_t n)
{
	__atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

static inline uint64_t ferry_stats_get(const uint64_t *field)
{
	return __atomic_load_n(field, __ATOMIC_RELAXED);
}

#endif
