/*
 * progress.h — the live progress line and the closing summary of a transfer.
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
};

void ferry_progress_begin(struct ferry_progress *p, const char *verb, const struct ferry_stats *stats,
			  uint64_t *files_done, int enabled);
/* Redraw the line (pool tick callback). */
void ferry_progress_tick(void *p);
/* Clear the line and fill the result from the counters. */
void ferry_progress_end(struct ferry_progress *p, struct ferry_xfer_result *res);
/* "1.50 GiB" */
void ferry_format_bytes(uint64_t n, char *buf, unsigned cap);

#endif
