/*
 * partsize.c — the adaptive part size of a large download (see partsize.h).
 */
#include "transfer/partsize.h"

uint64_t ferry_part_size_adapt(uint64_t unit, uint64_t max, uint64_t rest, unsigned threads, double ttfb_s,
			       double body_s, uint64_t bytes)
{
	if (!unit)
		return 1;
	uint64_t cap = max / unit * unit;
	if (cap <= unit || ttfb_s <= 0 || bytes == 0)
		return unit;
	if (threads) { /* an even share per thread, rounded up to a unit */
		uint64_t share = (rest / threads + unit - 1) / unit * unit;
		if (share < cap)
			cap = share;
	}
	if (cap <= unit)
		return unit;
	/* bytes the stream moves in the time one request costs, times the factor;
	 * a body too quick to time counts as very fast (large parts) */
	double rate = body_s > 1e-6 ? (double)bytes / body_s : 1e12;
	double want = FERRY_PART_COST_FACTOR * ttfb_s * rate;
	if (want >= (double)cap)
		return cap;
	uint64_t p = ((uint64_t)want + unit - 1) / unit * unit;
	return p < unit ? unit : p > cap ? cap : p;
}
