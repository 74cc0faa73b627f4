/*
 * series.c — the job's time series (series.h; format in docs/jobs.md).
 *
 * One thread wakes every interval, gathers the figures and appends one line
 * with write(2). What it reads costs no request and no lock anyone else
 * waits on: the mount servers' counters in shared memory (atomic loads),
 * this process's transfer counters (atomic loads), one statvfs, and one
 * pass over /proc for the command's process tree (core/proctree.h). The
 * measured cost is in docs/performance.md ("Sampling").
 *
 * Bounded size: the sample lines are counted; at max_points the file is
 * rewritten with every second sample (the first and the newest kept) and
 * the interval doubles, so a job of any length keeps at most max_points
 * samples spread over its whole life. Dropping samples loses nothing of the
 * totals: the values are running totals.
 */
#include "job/series.h"
#include "core/files.h"
#include "core/log.h"
#include "core/proctree.h"
#include "core/strbuf.h"
#include "core/sys.h"
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAX_RANKS 1024

struct xfer {
	int state;               /* 0 not started, 1 running, 2 ended */
	struct ferry_stats base; /* o->xfer at begin */
	struct ferry_stats done; /* what it moved, once ended */
};

struct ferry_series {
	struct ferry_series_opts o;
	char *path;
	int fd;
	struct ferry_fs_counters *slots; /* nio entries, MAP_SHARED */
	size_t slots_len;
	struct xfer *xf;
	double t0_ms;                    /* monotonic start */
	double next_ms;                  /* when the next sample is due */
	unsigned interval_ms;
	size_t points;                   /* sample lines in the file */
	double self_us;                  /* CPU time the sampling itself took so far */
	const char *phase;
	pid_t *pids;
	size_t npids;
	struct ferry_proctree_usage *last; /* per rank: the largest totals seen */
	struct ferry_proctree_usage *now;
	pthread_mutex_t lock;            /* guards xf, phase, pids, last, and the file */
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop, stopped;
};

struct ferry_fs_counters *ferry_series_mount_slot(struct ferry_series *s, size_t i)
{
	return s && i < s->o.nio ? &s->slots[i] : NULL;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void stats_now(const struct ferry_stats *x, struct ferry_stats *out)
{
	out->bytes = ld(&x->bytes);
	out->files = ld(&x->files);
	out->requests = ld(&x->requests);
	out->retries = ld(&x->retries);
}

void ferry_series_xfer_begin(struct ferry_series *s, size_t i)
{
	if (!s || i >= s->o.nio || !s->o.xfer)
		return;
	pthread_mutex_lock(&s->lock);
	stats_now(s->o.xfer, &s->xf[i].base);
	s->xf[i].state = 1;
	pthread_mutex_unlock(&s->lock);
}

/* io i's transfer figures now (lock held). */
static void xfer_figures(struct ferry_series *s, size_t i, struct ferry_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct xfer *x = &s->xf[i];
	if (x->state == 2)
		*out = x->done;
	else if (x->state == 1) {
		stats_now(s->o.xfer, out);
		out->bytes -= x->base.bytes;
		out->files -= x->base.files;
		out->requests -= x->base.requests;
		out->retries -= x->base.retries;
	}
}

void ferry_series_xfer_end(struct ferry_series *s, size_t i)
{
	if (!s || i >= s->o.nio || !s->o.xfer)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->xf[i].state == 1) {
		xfer_figures(s, i, &s->xf[i].done);
		s->xf[i].state = 2;
	}
	pthread_mutex_unlock(&s->lock);
}

static void take(struct ferry_series *s);

void ferry_series_phase(struct ferry_series *s, const char *phase)
{
	if (!s || s->stopped)
		return;
	pthread_mutex_lock(&s->lock);
	s->phase = phase;
	pthread_mutex_unlock(&s->lock);
	take(s); /* the moment the phase begins, to the millisecond */
}

void ferry_series_pids(struct ferry_series *s, const pid_t *pids, size_t n)
{
	if (!s)
		return;
	if (n > MAX_RANKS)
		n = MAX_RANKS;
	pthread_mutex_lock(&s->lock);
	free(s->pids);
	free(s->last);
	free(s->now);
	s->pids = n ? malloc(n * sizeof(*pids)) : NULL;
	s->last = n ? calloc(n, sizeof(*s->last)) : NULL;
	s->now = n ? calloc(n, sizeof(*s->now)) : NULL;
	s->npids = s->pids && s->last && s->now ? n : 0;
	if (s->npids)
		memcpy(s->pids, pids, n * sizeof(*pids));
	pthread_mutex_unlock(&s->lock);
}

/* Append one io's figures: the same keys for every mode (docs/jobs.md). */
static void add_io(struct ferry_strbuf *sb, const struct ferry_fs_counters *m, const struct ferry_stats *x)
{
	struct ferry_fs_counters c = { 0 };
	if (m) {
		const uint64_t *from = (const uint64_t *)m;
		uint64_t *to = (uint64_t *)&c;
		for (size_t i = 0; i < sizeof(c) / sizeof(uint64_t); i++)
			to[i] = ld(&from[i]);
	}
	ferry_strbuf_addf(sb,
			  "{\"read\":%llu,\"storage\":%llu,\"files\":%llu,\"requests\":%llu,\"retries\":%llu,"
			  "\"errors\":%llu,\"hits\":%llu,\"misses\":%llu,\"prefetched\":%llu,\"prefetch_hits\":%llu,"
			  "\"wait_s\":%.6f,\"opens\":%llu,\"cache_disk\":%llu}",
			  (unsigned long long)c.bytes_read, (unsigned long long)(c.storage_bytes + x->bytes),
			  (unsigned long long)(c.uploads + x->files), (unsigned long long)(c.requests + x->requests),
			  (unsigned long long)(c.retries + x->retries), (unsigned long long)c.read_errors,
			  (unsigned long long)c.cache_hits, (unsigned long long)c.cache_misses,
			  (unsigned long long)c.prefetched, (unsigned long long)c.prefetch_used, (double)c.wait_us / 1e6,
			  (unsigned long long)c.opens, (unsigned long long)c.cache_disk_bytes);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* One sample line into sb (lock held). */
static void sample(struct ferry_series *s, struct ferry_strbuf *sb)
{
	double t = (ferry_now_ms() - s->t0_ms) / 1000.0;
	ferry_strbuf_addf(sb, "{\"t\":%.3f,\"phase\":\"%s\",\"io\":[", t, s->phase);
	uint64_t cache_disk = 0;
	for (size_t i = 0; i < s->o.nio; i++) {
		struct ferry_stats x;
		xfer_figures(s, i, &x);
		if (i)
			ferry_strbuf_addch(sb, ',');
		add_io(sb, &s->slots[i], &x);
		cache_disk += ld(&s->slots[i].cache_disk_bytes);
	}
	struct statvfs v;
	uint64_t free_b = s->o.cache_dir && statvfs(s->o.cache_dir, &v) == 0 ? (uint64_t)v.f_bavail * v.f_frsize : 0;
	struct ferry_proctree_usage tot = { 0 };
	if (s->npids && ferry_proctree_sample(s->pids, s->npids, s->now) == 0)
		for (size_t i = 0; i < s->npids; i++) {
			struct ferry_proctree_usage *l = &s->last[i], *n = &s->now[i];
			l->cpu_us = max64(l->cpu_us, n->cpu_us);
			l->read_bytes = max64(l->read_bytes, n->read_bytes);
			l->write_bytes = max64(l->write_bytes, n->write_bytes);
			l->rss_bytes = n->rss_bytes;
			l->procs = n->procs;
		}
	for (size_t i = 0; i < s->npids; i++) {
		tot.cpu_us += s->last[i].cpu_us;
		tot.rss_bytes += s->last[i].rss_bytes;
		tot.read_bytes += s->last[i].read_bytes;
		tot.write_bytes += s->last[i].write_bytes;
		tot.procs += s->last[i].procs;
	}
	ferry_strbuf_addf(sb,
			  "],\"cache_disk\":%llu,\"disk_free\":%llu,\"cpu_s\":%.3f,\"rss\":%llu,\"disk_read\":%llu,"
			  "\"disk_write\":%llu,\"procs\":%u",
			  (unsigned long long)cache_disk, (unsigned long long)free_b, (double)tot.cpu_us / 1e6,
			  (unsigned long long)tot.rss_bytes, (unsigned long long)tot.read_bytes,
			  (unsigned long long)tot.write_bytes, tot.procs);
	if (s->npids > 1) {
		ferry_strbuf_adds(sb, ",\"ranks\":[");
		for (size_t i = 0; i < s->npids; i++)
			ferry_strbuf_addf(sb, "%s{\"cpu_s\":%.3f,\"rss\":%llu}", i ? "," : "",
					  (double)s->last[i].cpu_us / 1e6, (unsigned long long)s->last[i].rss_bytes);
		ferry_strbuf_addch(sb, ']');
	}
	ferry_strbuf_addf(sb, ",\"sampler_s\":%.6f}\n", s->self_us / 1e6);
}

static int write_header(struct ferry_series *s, int fd)
{
	json_t *io = json_array();
	for (size_t i = 0; io && i < s->o.nio; i++) {
		const struct ferry_series_io *d = &s->o.io[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "name", d->name ? d->name : "", "dir",
				      d->output ? "output" : "input", "mode", d->mode ? d->mode : "");
		if (o && d->where)
			json_object_set_new(o, "where", json_string(d->where));
		json_array_append_new(io, o);
	}
	static const enum ferry_setting_id recorded[] = {
		FS_BLOCK_CACHE_ENABLED, FS_READ_BUFFER_BLOCKS, FS_READ_THREADS, FS_READ_BLOCK_SIZE,
		FS_MEMORY_CACHE_SIZE, FS_BLOCK_FILE_CACHE_ENABLED, FS_MOUNT_CACHE_SIZE, FS_DOWNLOADER_THREADS,
	};
	json_t *set = json_object();
	for (size_t i = 0; set && s->o.settings && i < sizeof(recorded) / sizeof(recorded[0]); i++) {
		char v[64];
		ferry_setting_format(s->o.settings, recorded[i], v, sizeof(v));
		json_object_set_new(set, ferry_settings_table()[recorded[i]].name, json_string(v));
	}
	if (set)
		json_object_set_new(set, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	char ts[40];
	ferry_log_timestamp(ts, sizeof(ts));
	json_t *h = json_pack("{s:i, s:s, s:I, s:I, s:o, s:o}", "ferry_series", 1, "start", ts, "interval_ms",
			      (json_int_t)s->interval_ms, "max_points", (json_int_t)s->o.max_points, "io", io,
			      "settings", set);
	char *txt = h ? json_dumps(h, JSON_COMPACT) : NULL;
	json_decref(h);
	int rc = txt && ferry_write_all(fd, txt, strlen(txt)) == 0 && ferry_write_all(fd, "\n", 1) == 0 ? 0 : -1;
	free(txt);
	return rc;
}

/* At max_points: keep samples 0, 2, 4, … and the newest; double the
 * interval (the header says the new one). Lock held. */
static void thin(struct ferry_series *s)
{
	FILE *in = fopen(s->path, "re");
	struct ferry_strbuf tmp = FERRY_STRBUF_INIT;
	if (!in || ferry_strbuf_addf(&tmp, "%s.tmp", s->path) < 0) {
		if (in)
			fclose(in);
		ferry_strbuf_release(&tmp);
		return;
	}
	int out = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *line = NULL, *prev = NULL;
	size_t cap = 0, kept = 0, k = 0;
	ssize_t n;
	int ok = out >= 0, last_kept = 0;
	s->interval_ms *= 2;
	if (ok)
		ok = write_header(s, out) == 0;
	if (ok && getline(&line, &cap, in) < 0) /* the old header */
		ok = 0;
	while (ok && (n = getline(&line, &cap, in)) > 0) {
		last_kept = k % 2 == 0;
		if (last_kept) {
			ok = ferry_write_all(out, line, (size_t)n) == 0;
			kept++;
		} else {
			free(prev);
			prev = strdup(line);
		}
		k++;
	}
	if (ok && !last_kept && prev) {
		ok = ferry_write_all(out, prev, strlen(prev)) == 0;
		kept++;
	}
	free(line);
	free(prev);
	fclose(in);
	if (out >= 0 && close(out) < 0)
		ok = 0;
	if (ok && rename(tmp.buf, s->path) == 0) {
		int fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			close(s->fd);
			s->fd = fd;
			s->points = kept;
		}
	} else {
		unlink(tmp.buf);
		s->interval_ms /= 2;
		s->points = 0; /* try again after another max_points */
	}
	ferry_strbuf_release(&tmp);
}

static double thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void take(struct ferry_series *s)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	double c0 = thread_cpu_us();
	pthread_mutex_lock(&s->lock);
	if (s->points >= s->o.max_points)
		thin(s);
	sample(s, &sb);
	if (!sb.failed && ferry_write_all(s->fd, sb.buf, sb.len) == 0)
		s->points++;
	s->self_us += thread_cpu_us() - c0; /* shows in the next sample */
	pthread_mutex_unlock(&s->lock);
	ferry_strbuf_release(&sb);
}

static void *loop(void *arg)
{
	struct ferry_series *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		double now = ferry_now_ms();
		if (now >= s->next_ms) {
			pthread_mutex_unlock(&s->lock);
			take(s);
			pthread_mutex_lock(&s->lock);
			while (s->next_ms <= now)
				s->next_ms += s->interval_ms;
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		double wait_ms = s->next_ms - now;
		long ns = until.tv_nsec + (long)(wait_ms * 1e6);
		until.tv_sec += ns / 1000000000L;
		until.tv_nsec = ns % 1000000000L;
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void ferry_series_resume(struct ferry_series *s)
{
	if (!s || s->running || s->stopped)
		return;
	s->stop = 0;
	s->running = pthread_create(&s->thread, NULL, loop, s) == 0;
}

void ferry_series_pause(struct ferry_series *s)
{
	if (!s || !s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->running = 0;
}

int ferry_series_start(const struct ferry_series_opts *o, struct ferry_series **out, ferry_err *err)
{
	if (ferry_series_open(o, out, err) < 0)
		return -1;
	ferry_series_resume(*out);
	return 0;
}

int ferry_series_open(const struct ferry_series_opts *o, struct ferry_series **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_series *s = calloc(1, sizeof(*s));
	char cwd[4096];
	if (s && o->path[0] != '/' && getcwd(cwd, sizeof(cwd))) { /* thin() reopens it by name */
		if (asprintf(&s->path, "%s/%s", cwd, o->path) < 0)
			s->path = NULL;
	} else if (s)
		s->path = strdup(o->path);
	if (!s || !s->path) {
		free(s);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	s->o = *o;
	s->o.path = s->path;
	s->o.max_points = o->max_points < 16 ? 16 : o->max_points;
	s->interval_ms = o->interval_ms ? o->interval_ms : 1000;
	s->phase = "inputs";
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->slots_len = (o->nio ? o->nio : 1) * sizeof(struct ferry_fs_counters);
	s->slots = mmap(NULL, s->slots_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->slots == MAP_FAILED) {
		s->slots = NULL;
		ferry_series_free(s);
		return ferry_err_set(err, FERRY_E_IO, "mmap of the series' counters: %s", strerror(errno));
	}
	s->xf = calloc(o->nio ? o->nio : 1, sizeof(*s->xf));
	s->fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (!s->xf || s->fd < 0 || write_header(s, s->fd) < 0) {
		ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", o->path, strerror(errno));
		ferry_series_free(s);
		return -1;
	}
	s->t0_ms = ferry_now_ms();
	s->next_ms = s->t0_ms;
	*out = s;
	return 0;
}

void ferry_series_stop(struct ferry_series *s)
{
	if (!s || s->stopped)
		return;
	ferry_series_pause(s);
	if (s->fd >= 0)
		take(s);
	s->stopped = 1;
}

void ferry_series_detach(struct ferry_series *s)
{
	if (s)
		s->stopped = 1;
	ferry_series_free(s);
}

void ferry_series_free(struct ferry_series *s)
{
	if (!s)
		return;
	ferry_series_stop(s);
	if (s->fd >= 0)
		close(s->fd);
	if (s->slots)
		munmap(s->slots, s->slots_len);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s->xf);
	free(s->pids);
	free(s->last);
	free(s->now);
	free(s->path);
	free(s);
}
