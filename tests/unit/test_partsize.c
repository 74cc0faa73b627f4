/*
 * test_partsize.c — the adaptive part size (transfer/partsize.h): cheap
 * requests keep the base part, slow ones grow it to the per-thread share or
 * the maximum, always a unit multiple; a maximum at the base pins it.
 */
#include "check.h"
#include "transfer/partsize.h"

#define MiB (1024ull * 1024)

int main(void)
{
	/* 1 ms to first byte at 100 MiB/s: 8 * 0.1 MiB = 0.8 MiB -> the 8 MiB base */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.001, 0.08, 8 * MiB) == 8 * MiB);
	/* 20 ms at 200 MiB/s: 8 * 4 MiB = 32 MiB */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.020, 0.04, 8 * MiB) == 32 * MiB);
	/* 25 ms at 200 MiB/s: 40 MiB, already a multiple of 8 MiB */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.025, 0.04, 8 * MiB) == 40 * MiB);
	/* 21 ms: 33.6 MiB rounds up to the next unit */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.021, 0.04, 8 * MiB) == 40 * MiB);
	/* 0.3 s per request: the share, 960 MiB / 8 threads = 120 MiB */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.3, 0.04, 8 * MiB) == 120 * MiB);
	/* ... or the maximum when that is smaller, rounded down to a unit */
	CHECK(ferry_part_size_adapt(8 * MiB, 100 * MiB, 960 * MiB, 8, 0.3, 0.04, 8 * MiB) == 96 * MiB);
	/* a share that is not a unit multiple rounds up: 60 MiB / 4 = 15 MiB */
	CHECK(ferry_part_size_adapt(1 * MiB, 128 * MiB, 60 * MiB, 4, 0.3, 0.01, 1 * MiB) == 15 * MiB);
	CHECK(ferry_part_size_adapt(1 * MiB, 128 * MiB, 61 * MiB, 4, 0.3, 0.01, 1 * MiB) == 16 * MiB);
	/* pinned: a maximum at or below the base */
	CHECK(ferry_part_size_adapt(8 * MiB, 8 * MiB, 960 * MiB, 8, 0.3, 0.04, 8 * MiB) == 8 * MiB);
	CHECK(ferry_part_size_adapt(8 * MiB, 1 * MiB, 960 * MiB, 8, 0.3, 0.04, 8 * MiB) == 8 * MiB);
	/* little left: the share is below a unit, so the base */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 10 * MiB, 8, 0.3, 0.04, 8 * MiB) == 8 * MiB);
	/* nothing measured, or a body too quick to time */
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0, 0.04, 8 * MiB) == 8 * MiB);
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.01, 0, 8 * MiB) == 120 * MiB);
	CHECK(ferry_part_size_adapt(8 * MiB, 128 * MiB, 960 * MiB, 8, 0.01, 0.04, 0) == 8 * MiB);
	/* every result is a multiple of the unit, within [unit, max] */
	for (int i = 1; i < 2000; i++) {
		uint64_t p = ferry_part_size_adapt(3 * MiB, 77 * MiB, (uint64_t)i * MiB, 1 + i % 9, i * 1e-4,
						   0.001 * (i % 50), MiB);
		CHECK(p % (3 * MiB) == 0 && p >= 3 * MiB && p <= 75 * MiB);
	}
	return CHECK_DONE();
}
