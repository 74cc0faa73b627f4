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

static char label_buf[300];
static int quiet;

void ferry_progress_set_label(const char *label)
{
	snprintf(label_buf, sizeof(label_buf), "%s", label ? label : "");
}

void ferry_progress_set_quiet(int q)
{
	quiet = q;
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
	p->last_line = p->t0;
	int tty = isatty(2);
	p->enabled = enabled && tty && !quiet;
	p->log_lines = !tty && !quiet;
}

static void format_secs(double s, char *buf, unsigned cap)
{
	long t = s < 0 ? 0 : (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void ferry_progress_tick(void *arg)
{
	struct ferry_progress *p = arg;
	if (!p->enabled && !p->log_lines)
		return;
	double now = ferry_now();
	uint64_t b = ferry_stats_get(&p->stats->bytes) - p->start.bytes;
	/* the current rate: bytes over the oldest sample still in the ring */
	unsigned cap = sizeof(p->win_t) / sizeof(p->win_t[0]);
	unsigned slot = p->win_n % cap, oldest = p->win_n < cap ? 0 : (p->win_n + 1) % cap;
	p->win_t[slot] = now;
	p->win_b[slot] = b;
	p->win_n++;
	double dt = now - (p->win_n > 1 ? p->win_t[oldest] : p->t0);
	uint64_t db = b - (p->win_n > 1 ? p->win_b[oldest] : 0);
	double rate = dt > 0 ? (double)db / dt : 0;
	if (p->log_lines && now - p->last_line < 5.0)
		return;
	char done[32], total[32], rs[32], pct[16] = "", eta[64] = "", el[32];
	ferry_format_bytes(b, done, sizeof(done));
	ferry_format_bytes(p->total_bytes, total, sizeof(total));
	ferry_format_bytes((uint64_t)rate, rs, sizeof(rs));
	if (p->total_bytes > 0) {
		snprintf(pct, sizeof(pct), "%3.0f%% ", 100.0 * (double)b / (double)p->total_bytes);
		if (rate > 0 && b <= p->total_bytes) {
			char t[32];
			format_secs((double)(p->total_bytes - b) / rate, t, sizeof(t));
			snprintf(eta, sizeof(eta), ", ETA %s", t);
		}
	}
	format_secs(now - p->t0, el, sizeof(el));
	fprintf(stderr, "%sferry: %s%s%s: %s%s / %s, %s/s%s, %s elapsed, %llu / %llu files, %llu retries%s",
		p->enabled ? "\r\033[K" : "", p->verb, label_buf[0] ? " " : "", label_buf, pct, done, total, rs,
		eta, el,
		(unsigned long long)__atomic_load_n(p->files_done, __ATOMIC_RELAXED),
		(unsigned long long)p->total_files,
		(unsigned long long)(ferry_stats_get(&p->stats->retries) - p->start.retries),
		p->enabled ? "" : "\n");
	p->drawn = p->enabled;
	p->last_line = now;
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
