/*
 * report.h — `ferry job report`: one self-contained HTML page about a job
 * (docs/jobs.md "The job report"): a header (job, status, duration, the
 * command, where each input came from and each output went), plots over
 * time drawn as inline SVG from its time series (job/series.h: throughput,
 * reader wait, cache hit rate, disk, CPU, memory), a table per input and
 * output, and a verdict computed from the figures with advice keyed to the
 * mount and download settings. No script, no style sheet or font from the
 * network: the page shows the same offline. Every string that comes from
 * the job (names, paths, the command, tags) is HTML-escaped.
 *
 * Threads: any thread; no shared state.
 */
#ifndef FERRY_JOB_REPORT_H
#define FERRY_JOB_REPORT_H

#include "core/err.h"
#include "workspace/workspace.h"

/* Write the report of job `rec` to `out` (created or replaced; written to a
 * temporary name, then renamed). The series is read from the job's folder:
 * series.jsonl, or nodes/<K>.series.jsonl for each node of a distributed
 * job (one section per node). A job without a series (FERRY_SAMPLE=off,
 * or older than this) still gets the header, the table and a verdict that
 * says so. Errors: FERRY_E_IO (cannot write `out`). */
int ferry_job_report(const struct ferry_job_record *rec, const char *out, ferry_err *err);

/* Append `s` to `sb` with & < > " ' escaped (also usable by other pages). */
struct ferry_strbuf;
void ferry_html_escape(struct ferry_strbuf *sb, const char *s);

#endif
