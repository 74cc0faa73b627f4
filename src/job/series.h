/*
 * series.h — a job's time series: one sample a second of what each input
 * and output did, the caches' disk, and the command's CPU, memory and disk
 * I/O, appended to a JSON Lines file kept with the job (<job>/series.jsonl;
 * a node of a distributed job: <job>/nodes/<K>.series.jsonl). The format
 * is documented in docs/jobs.md ("The time series"); `ferry job report`
 * (job/report.h) reads it.
 *
 * Values are running totals (a counter never goes down; the caches' disk,
 * free space, memory and process count are gauges), so a reader gets any
 * interval's figure from two lines, and the last line holds the totals.
 * The file stays bounded: when it holds max_points samples, every second
 * sample is dropped (rewritten in place) and the interval doubles.
 *
 * The sampler is a thread of the job's ferry process. Mount servers run in
 * forked children: their counters reach it through ferry_series_mount_slot,
 * memory mapped MAP_SHARED before any fork, which the server updates four
 * times a second (fs.h, ferry_mount_opts.live). Downloads and uploads run in
 * this process: their counters are read directly (ferry_series_xfer_*).
 *
 * Every function accepts a NULL series (sampling off) and then does nothing.
 * Threads: the functions are called from the job's controlling thread; the
 * sampler thread is internal. ferry_series_pause must surround every fork
 * of the caller (mount servers, the command): a process forked while a
 * second thread runs may inherit a lock that thread held.
 */
#ifndef FERRY_JOB_SERIES_H
#define FERRY_JOB_SERIES_H

#include "core/err.h"
#include "core/settings.h"
#include "core/stats.h"

#include <stddef.h>
#include <sys/types.h>

struct ferry_series;
struct ferry_fs_counters;

struct ferry_series_io {
	const char *name;   /* the input's or output's name */
	int output;         /* 0: input, 1: output */
	const char *mode;   /* ro_mount, download, rw_mount, upload, … */
	const char *where;  /* where from (input) or to (output): a URI; may be NULL */
};

struct ferry_series_opts {
	const char *path;              /* the JSON Lines file (created, truncated) */
	unsigned interval_ms;          /* FERRY_SAMPLE_INTERVAL_MS */
	unsigned max_points;           /* FERRY_SAMPLE_MAX_POINTS (at least 16) */
	const char *cache_dir;         /* folder whose file system's free space is sampled */
	const struct ferry_stats *xfer;/* this process's transfer counters (downloads, uploads) */
	const struct ferry_series_io *io; /* borrowed for the series' life */
	size_t nio;
	const struct ferry_settings *settings; /* the header records the cache and prefetch
						  settings the report's advice depends on; may be NULL */
};

/* Create the file, write its header line and start sampling (a first
 * sample at t=0). *out malloc'd; free with ferry_series_free. */
int ferry_series_start(const struct ferry_series_opts *o, struct ferry_series **out, ferry_err *err);
/* The same without starting the thread (ferry_series_resume starts it): for
 * a caller that forks first — the mount slots are mapped, the file is
 * written, no thread runs. */
int ferry_series_open(const struct ferry_series_opts *o, struct ferry_series **out, ferry_err *err);
/* Counters for io[i] when it is a mount: pass as ferry_mount_opts.live.
 * Lives until ferry_series_free. NULL for a NULL series. */
struct ferry_fs_counters *ferry_series_mount_slot(struct ferry_series *s, size_t i);
/* io[i] is a download or upload that starts now / ended now: from begin to
 * end its figures are what o->xfer counted since begin; after end, frozen. */
void ferry_series_xfer_begin(struct ferry_series *s, size_t i);
void ferry_series_xfer_end(struct ferry_series *s, size_t i);
/* What the job is doing: "inputs", "command", "outputs" (a static string).
 * Takes a sample at once, so that the first sample of a phase marks when
 * it began (the command's run is exact, not rounded to the interval). */
void ferry_series_phase(struct ferry_series *s, const char *phase);
/* The command's processes (one per rank): their trees are sampled from
 * now on (a copy is kept). After they end, CPU and disk figures keep their
 * last values and memory reads 0. */
void ferry_series_pids(struct ferry_series *s, const pid_t *pids, size_t n);
/* Stop the sampler thread (no sample lost: the next one is late) / start it again. */
void ferry_series_pause(struct ferry_series *s);
void ferry_series_resume(struct ferry_series *s);
/* Take the last sample and stop; later calls do nothing. */
void ferry_series_stop(struct ferry_series *s);
/* Stop if needed, unmap the mount slots, free. */
void ferry_series_free(struct ferry_series *s);
/* Free without a last sample, in a process that handed the series over to
 * a forked child (which samples and stops it); the thread must not run. */
void ferry_series_detach(struct ferry_series *s);

#endif
