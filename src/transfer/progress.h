/*
 * progress.h — the live progress line and the closing summary of a transfer.
 * On a terminal: what moves, percent, bytes done/total, the current rate (over
 * the last ~5 s, not the average since the start), ETA, elapsed, files and
 * retries, redrawn in place; off a terminal the same as a line every 5 s (a
 * transfer shorter than that prints nothing).
 * Used from the producer thread only.
 */
#ifndef FERRY_PROGRESS_H
#define FERRY_PROGRESS_H

#include "core/stats.h"
#include "core/sys.h" /* ferry_now */
#include "transfer/transfer.h"

struct ferry_progress {
	const char *verb;          /* "download", "upload" */
	const struct ferry_stats *stats;
	struct ferry_stats start;  /* counters at the start */
	uint64_t total_bytes;      /* known so far (grows while listing) */
	uint64_t total_files;
	uint64_t *files_done;      /* borrowed counter, atomically updated */
	double t0;
	int enabled;               /* draw on stderr (a terminal) */
	int drawn;
	int log_lines;             /* off a terminal: a plain line every few seconds */
	double last_line;          /* when the last such line was written */
	double win_t[12];          /* samples of (time, bytes) for the current rate: */
	uint64_t win_b[12];        /* the last ~5 s of ticks, a ring */
	unsigned win_n;
};

/* What is being moved, shown before the figures ("input 'data'"); NULL: the
 * verb. Copied. For the thread that starts transfers. */
void ferry_progress_set_label(const char *label);

/* --quiet: no progress line and no progress log lines, from now on. */
void ferry_progress_set_quiet(int quiet);

void ferry_progress_begin(struct ferry_progress *p, const char *verb, const struct ferry_stats *stats,
			  uint64_t *files_done, int enabled);
/* Redraw the line (pool tick callback). */
void ferry_progress_tick(void *p);
/* Clear the line and fill the result from the counters. */
void ferry_progress_end(struct ferry_progress *p, struct ferry_xfer_result *res);
/* "1.50 GiB" */
void ferry_format_bytes(uint64_t n, char *buf, unsigned cap);

#endif
