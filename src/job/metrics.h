/*
 * metrics.h — a running job's figures as Prometheus/OpenMetrics text at
 * http://FERRY_METRICS_ADDR/metrics (docs/jobs.md, "Live metrics").
 *
 * Each scrape reads the job's time series (series.h; the header line and
 * the newest sample of <job>/series.jsonl) and renders it: the counters the
 * series keeps per input/output, the caches' disk, the command's CPU,
 * memory and disk. Nothing is sampled twice and nothing runs between
 * scrapes, so serving costs nothing when nobody asks.
 *
 * Threads: start/pause/resume/stop from the job's controlling thread; the
 * server's thread reads the file. Pause around every fork of the caller
 * (like ferry_series_pause). Errors: -1 with a filled ferry_err.
 */
#ifndef FERRY_JOB_METRICS_H
#define FERRY_JOB_METRICS_H

#include "core/err.h"
#include "core/settings.h"
#include "core/strbuf.h"

struct ferry_job_metrics;

/* When FERRY_METRICS_ADDR is set, serve job `job`'s series at `series_path`
 * (both copied) and log the address; *out NULL when it is unset. Binding
 * fails (port taken, not a local address) → -1. */
int ferry_job_metrics_start(const struct ferry_settings *s, const char *job, const char *series_path,
			    struct ferry_job_metrics **out, ferry_err *err);
void ferry_job_metrics_pause(struct ferry_job_metrics *m);
void ferry_job_metrics_resume(struct ferry_job_metrics *m);
/* NULL is allowed. */
void ferry_job_metrics_stop(struct ferry_job_metrics *m);

/* Render the series file at `series_path` of job `job` as exposition text
 * into `out`. Returns 0, or -1 when the file has no header or no sample
 * yet (out then holds a reason). Also used by tests (unit) directly. */
int ferry_job_metrics_render(const char *job, const char *series_path, struct ferry_strbuf *out);

#endif
