/*
 * membudget.h — the process-wide memory budget for data (FERRY_MEMORY_LIMIT).
 *
 * Everything ferry holds in RAM for data — block cache blocks (cached,
 * prefetched, being fetched), random-mode range buffers, download part
 * buffers, mapped parts being hashed — is reserved here before it is
 * allocated and released after it is freed, across every open file, mount
 * and transfer of the process. Three ways to ask:
 *
 *   - try-reserve: succeeds only if the bytes fit now (leaving `keep` bytes
 *     free). Speculative work (prefetch, mapping a part to hash it) uses it
 *     and does without when refused, so under pressure it shrinks first.
 *   - reserve: waits until the bytes fit. Before waiting it asks the
 *     registered reclaimers (the block caches) to give memory back; while it
 *     waits it asks again every few milliseconds. Demand reads and download
 *     buffers use it, so under pressure they wait; nothing fails for memory.
 *   - release: gives bytes back and wakes waiters.
 *
 * Why a waiter always gets through (the no-deadlock argument): every byte
 * reserved is either (a) reclaimable — a cached block nobody is copying, a
 * prefetched block not yet read, the block a reader keeps between reads, a
 * reader's last range — and a reclaimer frees it on request, or (b) held for
 * a bounded time by a thread that does not wait on the budget while holding
 * it (a block being fetched, with a read timeout; a buffer being copied; a
 * part buffer while its bytes stream in; a block being written to disk). So
 * no cycle of waiters can form: no thread holds unreclaimable bytes while it
 * waits here. A request larger than the whole limit is granted when nothing
 * else is reserved, so a misconfiguration is slow, never stuck. Callers of
 * ferry_membudget_reserve must hold no lock a reclaimer takes.
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the counters (a leaf lock: nothing else is taken under it, reclaimers are
 * called without it).
 */
#ifndef FERRY_MEMBUDGET_H
#define FERRY_MEMBUDGET_H

#include <stdint.h>

struct ferry_membudget;

/* Called with no budget lock held; frees what it can of `want` bytes
 * (releasing them to the budget) and returns the bytes it released.
 * `urgent` is 1 once the reservation has waited FERRY_MEMBUDGET_URGENT_MS:
 * then it should also give up what is merely likely to be used again soon. */
typedef uint64_t (*ferry_membudget_reclaim_fn)(void *arg, uint64_t want, int urgent);
#define FERRY_MEMBUDGET_URGENT_MS 500

struct ferry_membudget_counters {
	uint64_t limit, used, peak;
	uint64_t waits;        /* reserve calls that had to wait */
	uint64_t wait_us;      /* time they waited */
	uint64_t refused;      /* try-reserve calls refused (speculative work skipped) */
	uint64_t reclaimed;    /* bytes given back by reclaimers */
	uint64_t oversize;     /* requests larger than the limit, granted alone */
};

/* A budget of `limit` bytes (0: the default, ferry_membudget_default_limit).
 * NULL when out of memory. Free with ferry_membudget_free once nothing is
 * reserved and no reclaimer is registered. */
struct ferry_membudget *ferry_membudget_new(uint64_t limit);
void ferry_membudget_free(struct ferry_membudget *mb);

/* The process's budget (created on first use with the default limit;
 * never freed). */
struct ferry_membudget *ferry_membudget_process(void);

/* 25% of the memory this process may use: the lower of MemTotal and the
 * cgroup's memory limit (v2 memory.max or v1 limit_in_bytes), at least
 * 64 MiB. A container's limit counts, not only the host's RAM, since that
 * is what the kernel's OOM killer enforces; a quarter leaves the job's own
 * data loaders and model most of it. */
uint64_t ferry_membudget_default_limit(void);

/* Set the limit (0: the default). A lower limit applies to new requests;
 * what is reserved stays until released. Wakes waiters. */
void ferry_membudget_set_limit(struct ferry_membudget *mb, uint64_t limit);
uint64_t ferry_membudget_limit(struct ferry_membudget *mb);

struct ferry_settings;
/* Set the process budget's limit from FERRY_MEMORY_LIMIT in `settings`
 * (unset: the default) and log it. Returns the limit in force. */
uint64_t ferry_membudget_configure(const struct ferry_settings *settings);

/* Reserve n bytes if used + n + keep <= limit: 1, else 0 (counted as refused). */
int ferry_membudget_try_reserve(struct ferry_membudget *mb, uint64_t n, uint64_t keep);
/* Reserve n bytes, waiting (and reclaiming) until they fit; see the top. */
void ferry_membudget_reserve(struct ferry_membudget *mb, uint64_t n);
/* Give back n bytes reserved earlier. */
void ferry_membudget_release(struct ferry_membudget *mb, uint64_t n);

/* Register a reclaimer (at most 32 per budget): 0, or -1 when full (the
 * caller then has memory nobody can reclaim; it still works). Removing waits
 * until no call of it is in flight. */
int ferry_membudget_add_reclaimer(struct ferry_membudget *mb, ferry_membudget_reclaim_fn fn, void *arg);
void ferry_membudget_remove_reclaimer(struct ferry_membudget *mb, ferry_membudget_reclaim_fn fn, void *arg);

void ferry_membudget_counters(struct ferry_membudget *mb, struct ferry_membudget_counters *out);

/* One line for a summary: "memory: peak 63.9 of 64.0 MiB (FERRY_MEMORY_LIMIT),
 * 812 waits (3.21 s), 40 speculative reservations refused, 120.0 MiB reclaimed;
 * process peak RSS 81.2 MiB". */
void ferry_membudget_summary(struct ferry_membudget *mb, char *buf, unsigned cap);

/* Memory for data buffers. glibc keeps freed chunks in its per-thread arenas
 * and, after the first large free, serves large chunks from them too (the
 * dynamic mmap threshold), so with dozens of threads a process's RSS stays
 * far above what it holds (measured: 135 MiB of RSS for 64 MiB of blocks).
 * Buffers of FERRY_DATA_MAPPED bytes or more are therefore mapped directly
 * (pages populated at once, since they are filled right away) and unmapped
 * on free: RSS follows the budget. Smaller ones come from malloc.
 * ferry_data_alloc returns NULL when out of memory; ferry_data_free takes the
 * size given to ferry_data_alloc and accepts NULL. Any thread. */
#define FERRY_DATA_MAPPED (64u * 1024)
void *ferry_data_alloc(uint64_t n);
void ferry_data_free(void *p, uint64_t n);

/* This process's peak resident set in bytes (VmHWM of /proc/self/status), 0 if unknown. */
uint64_t ferry_peak_rss(void);

#endif
