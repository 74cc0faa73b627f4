/* progress.c — progress line and transfer summary (see progress.h). */
#include "transfer/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ferry_format_bytes(uint64_t n, char *buf, unsigned cap)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, cap, "%.2f %s", v, units[u]);
}

void ferry_progress_begin(struct ferry_progress *p, const char *verb, const struct ferry_stats *stats,
			  uint64_t *files_done, int enabled)
{
	memset(p, 0, sizeof(*p));
	p->verb = verb;
	p->stats = stats;
	p->start.bytes = ferry_stats_get(&stats->bytes);
	p->start.requests = ferry_stats_get(&stats->requests);
	p->start.retries = ferry_stats_get(&stats->retries);
	p->files_done = files_done;
	p->t0 = ferry_now();
	p->enabled = enabled && isatty(2);
}

void ferry_progress_tick(void *arg)
{
	struct ferry_progress *p = arg;
	if (!p->enabled)
		return;
	char done[32], total[32], rate[32];
	uint64_t b = ferry_stats_get(&p->stats->bytes) - p->start.bytes;
	double secs = ferry_now() - p->t0;
	ferry_format_bytes(b, done, sizeof(done));
	ferry_format_bytes(p->total_bytes, total, sizeof(total));
	ferry_format_bytes(secs > 0 ? (uint64_t)(b / secs) : 0, rate, sizeof(rate));
	fprintf(stderr, "\r\033[K%s: %s / %s, %llu / %llu files, %s/s, %llu retries", p->verb, done, total,
		(unsigned long long)__atomic_load_n(p->files_done, __ATOMIC_RELAXED),
		(unsigned long long)p->total_files, rate,
		(unsigned long long)(ferry_stats_get(&p->stats->retries) - p->start.retries));
	p->drawn = 1;
}

void ferry_progress_end(struct ferry_progress *p, struct ferry_xfer_result *res)
{
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	memset(res, 0, sizeof(*res));
	res->bytes = ferry_stats_get(&p->stats->bytes) - p->start.bytes;
	res->requests = ferry_stats_get(&p->stats->requests) - p->start.requests;
	res->retries = ferry_stats_get(&p->stats->retries) - p->start.retries;
	res->files = __atomic_load_n(p->files_done, __ATOMIC_RELAXED);
	res->seconds = ferry_now() - p->t0;
}

void ferry_xfer_summary(const struct ferry_xfer_result *r, char *buf, unsigned cap)
{
	char bytes[32], rate[32];
	ferry_format_bytes(r->bytes, bytes, sizeof(bytes));
	ferry_format_bytes(r->seconds > 0 ? (uint64_t)(r->bytes / r->seconds) : 0, rate, sizeof(rate));
	snprintf(buf, cap, "%s in %llu files, %.2f s, %s/s, %llu requests, %llu retries", bytes,
		 (unsigned long long)r->files, r->seconds, rate, (unsigned long long)r->requests,
		 (unsigned long long)r->retries);
}
