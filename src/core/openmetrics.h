/*
 * openmetrics.h — writing Prometheus text exposition (format 0.0.4, which
 * OpenMetrics parsers also read): metric families and samples with escaped
 * label values. Used by job/metrics.c and fs/mount.c's /metrics.
 *
 * Threads: no shared state. Errors: sticky in the strbuf (strbuf.h).
 */
#ifndef FERRY_OPENMETRICS_H
#define FERRY_OPENMETRICS_H

#include "core/strbuf.h"

/* The Content-Type of what these functions write. */
#define FERRY_OM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One metric family: `key` names the figure in a job's time series
 * (docs/jobs.md "The time series"), `name` the metric. */
struct ferry_om_def {
	const char *key, *name, *type, *help;
};

/* The per-input/output families (labels io, dir, mode in a job; mount and
 * mode for `ferry mount`), in the order they are written. */
extern const struct ferry_om_def ferry_om_io[];
extern const size_t ferry_om_io_count;

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge). */
void ferry_om_family(struct ferry_strbuf *sb, const char *name, const char *type, const char *help);

/* "name{k1="v1",k2="v2"} value": labels is NULL or an array of key, value
 * pairs ended by a NULL key; a NULL value leaves its label out. Values are
 * escaped (\\, \", \n). */
void ferry_om_sample(struct ferry_strbuf *sb, const char *name, const char *const *labels, double value);

#endif
