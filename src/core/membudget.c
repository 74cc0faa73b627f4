/*
 * membudget.c — the process-wide memory budget (see membudget.h).
 *
 * A counter of reserved bytes under one mutex, a condition variable for
 * waiters, and a small table of reclaimers. A waiter does not trust wakeups
 * alone: a block that stops being fetched becomes reclaimable without any
 * release, so a waiter calls the reclaimers again every RETRY_MS while it
 * waits. Reclaimers run outside the budget's mutex (they take their cache's
 * lock, and their releases take this one); `calling` counts the calls in
 * flight so that removing a reclaimer can wait them out.
 */
#include "core/membudget.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/sys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define MAX_RECLAIMERS 32
#define RETRY_MS 20
#define MiB (1024.0 * 1024.0)

struct reclaimer {
	ferry_membudget_reclaim_fn fn;
	void *arg;
};

struct ferry_membudget {
	pthread_mutex_t mu;          /* guards everything below */
	pthread_cond_t freed;        /* bytes were released, or the limit rose */
	pthread_cond_t idle;         /* calling dropped to 0 */
	uint64_t limit, used;
	struct reclaimer rec[MAX_RECLAIMERS];
	unsigned nrec, calling;
	struct ferry_membudget_counters c;
};

/* A number from the first line of `path` ("max" or unreadable: 0). */
static uint64_t read_u64_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned long long v = 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The value in kB of `key` in a /proc file ("VmHWM:", "MemTotal:"), in bytes. */
static uint64_t proc_kb(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[256];
	uint64_t v = 0;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl)) {
			v = strtoull(line + kl, NULL, 10) * 1024u;
			break;
		}
	fclose(f);
	return v;
}

void *ferry_data_alloc(uint64_t n)
{
	if (n < FERRY_DATA_MAPPED)
		return malloc(n ? (size_t)n : 1);
	void *p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void ferry_data_free(void *p, uint64_t n)
{
	if (!p)
		return;
	if (n < FERRY_DATA_MAPPED)
		free(p);
	else
		munmap(p, (size_t)n);
}

uint64_t ferry_peak_rss(void)
{
	return proc_kb("/proc/self/status", "VmHWM:");
}

uint64_t ferry_membudget_default_limit(void)
{
	uint64_t mem = proc_kb("/proc/meminfo", "MemTotal:");
	uint64_t cg = read_u64_file("/sys/fs/cgroup/memory.max");
	if (!cg)
		cg = read_u64_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
	if (cg && (!mem || cg < mem))
		mem = cg;
	if (!mem)
		mem = 4ULL << 30;
	uint64_t lim = mem / 4;
	return lim < (64ULL << 20) ? 64ULL << 20 : lim;
}

struct ferry_membudget *ferry_membudget_new(uint64_t limit)
{
	struct ferry_membudget *mb = calloc(1, sizeof(*mb));
	if (!mb)
		return NULL;
	pthread_mutex_init(&mb->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mb->freed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&mb->idle, NULL);
	mb->limit = limit ? limit : ferry_membudget_default_limit();
	return mb;
}

void ferry_membudget_free(struct ferry_membudget *mb)
{
	if (!mb)
		return;
	pthread_mutex_destroy(&mb->mu);
	pthread_cond_destroy(&mb->freed);
	pthread_cond_destroy(&mb->idle);
	free(mb);
}

static struct ferry_membudget *process_budget;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void process_init(void)
{
	process_budget = ferry_membudget_new(0);
}

struct ferry_membudget *ferry_membudget_process(void)
{
	pthread_once(&process_once, process_init);
	return process_budget;
}

void ferry_membudget_set_limit(struct ferry_membudget *mb, uint64_t limit)
{
	pthread_mutex_lock(&mb->mu);
	mb->limit = limit ? limit : ferry_membudget_default_limit();
	pthread_cond_broadcast(&mb->freed);
	pthread_mutex_unlock(&mb->mu);
}

uint64_t ferry_membudget_limit(struct ferry_membudget *mb)
{
	pthread_mutex_lock(&mb->mu);
	uint64_t l = mb->limit;
	pthread_mutex_unlock(&mb->mu);
	return l;
}

uint64_t ferry_membudget_configure(const struct ferry_settings *settings)
{
	int64_t v = ferry_setting_int(settings, FS_MEMORY_LIMIT);
	struct ferry_membudget *mb = ferry_membudget_process();
	ferry_membudget_set_limit(mb, v > 0 ? (uint64_t)v : 0);
	uint64_t lim = ferry_membudget_limit(mb);
	ferry_info("memory budget for data: %.1f MiB (FERRY_MEMORY_LIMIT%s)", (double)lim / MiB,
		   v > 0 ? "" : " unset: 25% of the memory this process may use");
	return lim;
}

/* Take n bytes (mu held). */
static void take(struct ferry_membudget *mb, uint64_t n)
{
	mb->used += n;
	if (mb->used > mb->c.peak)
		mb->c.peak = mb->used;
}

int ferry_membudget_try_reserve(struct ferry_membudget *mb, uint64_t n, uint64_t keep)
{
	pthread_mutex_lock(&mb->mu);
	int ok = mb->used + n + keep <= mb->limit;
	if (ok)
		take(mb, n);
	else
		mb->c.refused++;
	pthread_mutex_unlock(&mb->mu);
	return ok;
}

/* Ask every reclaimer for `want` bytes, in turn, until they are freed
 * (mu held on entry and on return; dropped around the calls). */
static void reclaim(struct ferry_membudget *mb, uint64_t want, int urgent)
{
	struct reclaimer rec[MAX_RECLAIMERS];
	unsigned n = mb->nrec;
	memcpy(rec, mb->rec, n * sizeof(*rec));
	mb->calling++;
	pthread_mutex_unlock(&mb->mu);
	uint64_t got = 0;
	for (unsigned i = 0; i < n && got < want; i++)
		got += rec[i].fn(rec[i].arg, want - got, urgent);
	pthread_mutex_lock(&mb->mu);
	mb->c.reclaimed += got;
	if (--mb->calling == 0)
		pthread_cond_broadcast(&mb->idle);
}

void ferry_membudget_reserve(struct ferry_membudget *mb, uint64_t n)
{
	pthread_mutex_lock(&mb->mu);
	uint64_t t0 = 0;
	for (;;) {
		if (mb->used + n <= mb->limit)
			break;
		if (n > mb->limit && mb->used == 0) { /* larger than everything: alone */
			mb->c.oversize++;
			break;
		}
		reclaim(mb, mb->used + n - mb->limit, t0 && (uint64_t)ferry_now_us() - t0 >= FERRY_MEMBUDGET_URGENT_MS * 1000u);
		if (mb->used + n <= mb->limit)
			break;
		if (!t0) {
			t0 = (uint64_t)ferry_now_us();
			mb->c.waits++;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RETRY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&mb->freed, &mb->mu, &ts);
	}
	if (t0)
		mb->c.wait_us += (uint64_t)ferry_now_us() - t0;
	take(mb, n);
	pthread_mutex_unlock(&mb->mu);
}

void ferry_membudget_release(struct ferry_membudget *mb, uint64_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&mb->mu);
	mb->used = n > mb->used ? 0 : mb->used - n;
	pthread_cond_broadcast(&mb->freed);
	pthread_mutex_unlock(&mb->mu);
}

int ferry_membudget_add_reclaimer(struct ferry_membudget *mb, ferry_membudget_reclaim_fn fn, void *arg)
{
	pthread_mutex_lock(&mb->mu);
	int rc = -1;
	if (mb->nrec < MAX_RECLAIMERS) {
		mb->rec[mb->nrec].fn = fn;
		mb->rec[mb->nrec++].arg = arg;
		rc = 0;
	}
	pthread_mutex_unlock(&mb->mu);
	return rc;
}

void ferry_membudget_remove_reclaimer(struct ferry_membudget *mb, ferry_membudget_reclaim_fn fn, void *arg)
{
	pthread_mutex_lock(&mb->mu);
	for (unsigned i = 0; i < mb->nrec; i++)
		if (mb->rec[i].fn == fn && mb->rec[i].arg == arg) {
			mb->rec[i] = mb->rec[--mb->nrec];
			break;
		}
	while (mb->calling)
		pthread_cond_wait(&mb->idle, &mb->mu);
	pthread_mutex_unlock(&mb->mu);
}

void ferry_membudget_counters(struct ferry_membudget *mb, struct ferry_membudget_counters *out)
{
	pthread_mutex_lock(&mb->mu);
	*out = mb->c;
	out->limit = mb->limit;
	out->used = mb->used;
	pthread_mutex_unlock(&mb->mu);
}

void ferry_membudget_summary(struct ferry_membudget *mb, char *buf, unsigned cap)
{
	struct ferry_membudget_counters c;
	ferry_membudget_counters(mb, &c);
	snprintf(buf, cap,
		 "memory: peak %.1f of %.1f MiB (FERRY_MEMORY_LIMIT), %llu waits (%.2f s), %llu speculative "
		 "reservations refused, %.1f MiB reclaimed, %llu oversize; process peak RSS %.1f MiB",
		 (double)c.peak / MiB, (double)c.limit / MiB, (unsigned long long)c.waits, (double)c.wait_us / 1e6,
		 (unsigned long long)c.refused, (double)c.reclaimed / MiB, (unsigned long long)c.oversize,
		 (double)ferry_peak_rss() / MiB);
}
