/*
 * filecache.h — the whole-file disk cache of the mount (the default open
 * mode; docs/architecture.md, "The read-only mount").
 *
 * open() of a file not in the cache starts its download into the cache folder
 * in the background (parallel ranged reads in file order, a temporary name,
 * then rename) and returns at once with a local descriptor. Each read asks
 * ferry_fcache_wait whether its range is there (it waits for the part at the
 * download's front) or is too far ahead, in which case the caller reads that
 * range from storage with ferry_fcache_fetch. Every handle of a file shares
 * one download; one that outlives all its handles finishes in the background
 * (its space is reserved when it starts). The cache's size is bounded by
 * DATASET_MOUNT_CACHE_SIZE (negative: leave that much of the disk free) and
 * never uses the last DATASET_RESERVED_FREE_DISK_SPACE bytes of the disk. When
 * a new file would take the cache past size × PRUNE_THRESHOLD, least recently
 * used files that nobody has open are deleted until size × PRUNE_TARGET is
 * used. A file that cannot fit even then gets FERRY_FCACHE_NOFIT: the caller
 * streams it instead.
 *
 * MD5 (FERRY_VERIFY_MD5, read from the store's settings): a file whose
 * stored Content-MD5 came with its attributes (a listing's entry, a lookup's
 * HEAD: the `md5` argument), a file fetched in more than one part and, under
 * `require`, every file is hashed in file order while its parts land
 * (core/md5order.h) and checked against the blob's stored Content-MD5: the
 * one given, else one the download asks for (one HEAD) while the parts
 * download; a mismatch
 * fails the download: nothing is kept, every later read of its handles fails
 * and a new open downloads again. A read that reaches the file's last byte is
 * answered only after the check, so a reader that reads to the end learns of
 * a mismatch; bytes read earlier were not yet verified. `auto` does not check files
 * of one part whose attributes carry no MD5 (the extra request would double
 * their cost); `require` fails files storage keeps no MD5 for.
 *
 * Ownership: the cache borrows the store and owns its folder's contents
 * (removed by ferry_fcache_destroy). An entry handed out by ferry_fcache_open
 * is pinned until ferry_fcache_close.
 * Threads: all functions may be called from any thread; one mutex guards the
 * table and the downloads' part tables; storage reads run without it.
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
	uint64_t wait_us;      /* readers waiting for a download's parts or a ranged read */
	uint64_t waits;        /* reads that waited for a part of a running download */
	uint64_t ranged, ranged_bytes; /* reads served by a ranged read ahead of a download */
};

#define FERRY_FCACHE_NOFIT 1
#define FERRY_FCACHE_MISS 2
#define FERRY_FCACHE_FAR 1
#define FERRY_FCACHE_HAD 2 /* ferry_fcache_prefetch: the file was there already */

int ferry_fcache_new(const struct ferry_fcache_config *cfg, struct ferry_fcache **out, ferry_err *err);
/* Delete every cached file and free the cache; no entry may be open. */
void ferry_fcache_destroy(struct ferry_fcache *fc);
void ferry_fcache_counters(struct ferry_fcache *fc, struct ferry_fcache_counters *out);

/* Make `path` (size, mtime, etag and md5 — base64 Content-MD5, "" or NULL
 * when the attributes carry none — from its attributes) local: a hit, the
 * running download of another handle, or a new download started in the
 * background; does not wait for the bytes and sends no request itself.
 * Returns 0 (a hit) or FERRY_FCACHE_MISS (a new download: whatever a reader
 * may have kept of an earlier, failed one is stale) with *fd (O_RDONLY on the
 * cached copy, whose bytes are there only where ferry_fcache_wait says so;
 * the caller closes it) and *ent (pinned), FERRY_FCACHE_NOFIT when it cannot
 * fit, or -1 with err (local I/O, memory). */
int ferry_fcache_open(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		      const char *etag, const char *md5, int *fd, struct ferry_fcache_entry **ent, ferry_err *err);
/* Before reading [off, off+len) of `ent`'s descriptor: returns 0 when those
 * bytes are in it (waiting for the part at the download's front if needed;
 * a range that reaches the file's end waits for the MD5 verdict),
 * FERRY_FCACHE_FAR when they lie ahead of the download (read them with
 * ferry_fcache_fetch), or -1 with err when the download failed (storage,
 * MD5 mismatch, local I/O; the entry is dropped already). */
int ferry_fcache_wait(struct ferry_fcache *fc, struct ferry_fcache_entry *ent, uint64_t off, size_t len,
		      ferry_err *err);
/* Read [off, off+len) of `ent`'s blob from storage into `buf` (len bytes,
 * caller's) in one ranged read; *got the bytes (clipped to the size). 0, or
 * -1 with err (logged). */
int ferry_fcache_fetch(struct ferry_fcache *fc, struct ferry_fcache_entry *ent, uint64_t off, size_t len,
		       char *buf, size_t *got, ferry_err *err);
/* Unpin `ent` (NULL: nothing); its download, if running, goes on. */
void ferry_fcache_close(struct ferry_fcache *fc, struct ferry_fcache_entry *ent);

/* ---- fetching ahead (the mount's read-ahead of the next files, fs/ahead.c) ---- */

/* Make `path` local without opening it, for a reader expected to open it
 * soon: returns once the file is in the cache, whole and checked (0: downloaded now,
 * FERRY_FCACHE_HAD: it was there already or another thread was loading it,
 * which it waited for),
 * FERRY_FCACHE_NOFIT when it cannot fit (nothing fetched), or -1 with err.
 * The file is not pinned: it is pruned like any file nobody has open. */
int ferry_fcache_prefetch(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
			  const char *etag, const char *md5, ferry_err *err);

#endif
