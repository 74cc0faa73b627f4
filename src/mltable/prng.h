/*
 * prng.h — the deterministic random numbers behind take_random_sample.
 *
 * SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then two
 * xor-shift-multiply rounds. Chosen because it is tiny, fast, passes BigCrush,
 * and is fully specified by its seed: the same `seed` gives the same sample on
 * every machine and every ferry version (the sequence is part of ferry's
 * documented behaviour, tested in tests/unit/test_mltable.c).
 * A uniform double in [0, 1) is the top 53 bits times 2^-53.
 *
 * Not thread-safe per state; use one state per evaluation.
 */
#ifndef FERRY_MLTABLE_PRNG_H
#define FERRY_MLTABLE_PRNG_H

#include <stdint.h>

struct ferry_prng {
	uint64_t s;
};

static inline void ferry_prng_seed(struct ferry_prng *r, uint64_t seed)
{
	r->s = seed;
}

static inline uint64_t ferry_prng_next(struct ferry_prng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline double ferry_prng_unit(struct ferry_prng *r)
{
	return (double)(ferry_prng_next(r) >> 11) * 0x1.0p-53;
}

#endif
