/*
 * filecache.h — the whole-file disk cache of the mount (the default open
 * mode: open() waits until the whole file is on local disk; docs/architecture.md,
 * "The read-only mount").
 *
 * open() of a file not in the cache downloads it whole into the cache folder
 * (parallel ranged reads, a temporary name, then rename) and returns a local
 * descriptor; later reads are pread()s. The cache's size is bounded by
 * DATASET_MOUNT_CACHE_SIZE (negative: leave that much of the disk free) and
 * never uses the last DATASET_RESERVED_FREE_DISK_SPACE bytes of the disk. When
 * a new file would take the cache past size × PRUNE_THRESHOLD, least recently
 * used files that nobody has open are deleted until size × PRUNE_TARGET is
 * used. A file that cannot fit even then gets FERRY_FCACHE_NOFIT: the caller
 * streams it instead.
 *
 * MD5 (FERRY_VERIFY_MD5, read from the store's settings): a file fetched in more than one part (and, under
 * `require`, every file) is hashed in file order while its parts land
 * (core/md5order.h) and checked against the blob's stored Content-MD5, which
 * the opening thread asks for (one HEAD) while the parts download; a
 * mismatch fails the open and nothing is kept. `auto` does not check files
 * of one part (the extra request would double their cost); `require` fails
 * files storage keeps no MD5 for.
 *
 * Ownership: the cache borrows the store and owns its folder's contents
 * (removed by ferry_fcache_destroy). An entry handed out by ferry_fcache_open
 * is pinned until ferry_fcache_close.
 * Threads: all functions may be called from any thread; one mutex guards the
 * table; downloads run without it (others opening the same file wait).
 */
#ifndef FERRY_FILECACHE_H
#define FERRY_FILECACHE_H

#include "core/err.h"
#include "store/store.h"

#include <stdint.h>

struct ferry_fcache;
struct ferry_fcache_entry;

struct ferry_fcache_config {
	struct ferry_store *store;  /* borrowed */
	const char *dir;            /* folder for cached files (created) */
	int64_t cache_size;         /* bytes; -1 unlimited; < -1: leave -cache_size bytes free */
	uint64_t reserved_free;     /* never use the disk's last N bytes */
	double prune_threshold, prune_target;
	unsigned threads;           /* parallel ranged reads per download */
	uint64_t part_size;
	uint64_t read_timeout_ms;   /* bound of one part's storage read, retries included; 0 = none */
};

struct ferry_fcache_counters {
	uint64_t hits, misses, evicted, nofit, bytes_downloaded, used;
	uint64_t wait_us;
};

#define FERRY_FCACHE_NOFIT 1
#define FERRY_FCACHE_HAD 2 /* ferry_fcache_fetch: the file was there already */

int ferry_fcache_new(const struct ferry_fcache_config *cfg, struct ferry_fcache **out, ferry_err *err);
/* Delete every cached file and free the cache; no entry may be open. */
void ferry_fcache_destroy(struct ferry_fcache *fc);
void ferry_fcache_counters(struct ferry_fcache *fc, struct ferry_fcache_counters *out);

/* Make `path` (size, mtime, etag from its attributes) local. Returns 0 with
 * *fd (O_RDONLY, the caller closes it) and *ent (pinned), FERRY_FCACHE_NOFIT
 * when it cannot fit, or -1 with err (storage failure, local I/O). */
int ferry_fcache_open(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		      const char *etag, int *fd, struct ferry_fcache_entry **ent, ferry_err *err);
void ferry_fcache_close(struct ferry_fcache *fc, struct ferry_fcache_entry *ent);

/* ---- fetching ahead (the mount's read-ahead of the next files, fs/ahead.c) ---- */

/* Make `path` local without opening it, for a reader expected to open it
 * soon: returns once the file is in the cache (0: downloaded now,
 * FERRY_FCACHE_HAD: it was there already or another thread was loading it,
 * which it waited for),
 * FERRY_FCACHE_NOFIT when it cannot fit (nothing fetched), or -1 with err.
 * The file is not pinned: it is pruned like any file nobody has open. */
int ferry_fcache_fetch(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		       const char *etag, ferry_err *err);

#endif
