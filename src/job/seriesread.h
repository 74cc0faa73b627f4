/*
 * seriesread.h — reading a job's time series file (series.h writes it;
 * format in docs/jobs.md, "The time series") while it grows: its header
 * line and its newest complete samples, without reading the whole file.
 * Used by /metrics (metrics.c) and `ferry job top` (cli/jobtop.c).
 *
 * Threads: no shared state. A line being appended is not read.
 */
#ifndef FERRY_JOB_SERIESREAD_H
#define FERRY_JOB_SERIESREAD_H

struct ferry_series_tail {
	char *head; /* the header line (JSON), without its newline */
	char *prev; /* the sample before the newest, or NULL */
	char *last; /* the newest complete sample, or NULL (no sample yet) */
};

/* Fill *out (all malloc'd; free with ferry_series_tail_free). Returns 0, or
 * -1 with errno when the file cannot be read or has no complete header
 * line (ENODATA). */
int ferry_series_tail_read(const char *path, struct ferry_series_tail *out);
void ferry_series_tail_free(struct ferry_series_tail *t);

#endif
