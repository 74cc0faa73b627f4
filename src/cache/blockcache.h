/*
 * blockcache.h — the block-based read path of the mount (block mode, see
 * docs/architecture.md, "The read-only mount").
 *
 * A file is read in blocks of DATASET_MOUNT_READ_BLOCK_SIZE. A read waits only
 * for the block(s) it covers; a reader whose accesses look sequential makes
 * the cache fetch the next blocks (up to DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT)
 * on DATASET_MOUNT_READ_THREADS prefetch threads, with a window that doubles
 * per sequential read. A reader that jumps (more than a block from where its
 * last read ended) turns random: its queued prefetches are cancelled and a
 * read not already in RAM fetches only the 128 KiB-aligned range around it,
 * until two reads in a row continue the previous one. Blocks that were
 * read stay in RAM up to DATASET_MOUNT_MEMORY_CACHE_SIZE (LRU; 0 keeps none
 * beyond each reader's current block) and, when a disk folder is given, are
 * written there by write threads (at most `write_queue_max` bytes waiting;
 * more are dropped, never blocking a read) and found there on a later miss.
 *
 * All of it counts against the process's memory budget (core/membudget.h):
 * prefetch gives way first, then reads wait; settings larger than the budget
 * are lowered with a warning.
 *
 * Ownership: the cache borrows the store (it must outlive the cache). A
 * reader belongs to one open file; ferry_bcache_close frees it.
 * Threads: every function may be called from any thread; one mutex guards the
 * block table, the LRU list and the queues.
 * Errors: ferry_bcache_read returns -1 with a ferry_err naming the blob and
 * the byte range when storage fails after its retries.
 *
 * Layer cache may include: core, store. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_BLOCKCACHE_H
#define FERRY_BLOCKCACHE_H

#include "core/err.h"
#include "core/membudget.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

struct ferry_bcache;
struct ferry_bcache_reader;

struct ferry_bcache_config {
	struct ferry_store *store;   /* borrowed */
	uint64_t block_size;
	uint64_t ram_limit;          /* bytes of read blocks kept in RAM; 0 = none */
	unsigned prefetch_blocks;    /* N: blocks fetched ahead of a sequential reader */
	unsigned read_threads;       /* prefetch threads */
	const char *disk_dir;        /* NULL: no disk spill; else a folder the cache owns */
	int64_t disk_limit;          /* bytes of block files on disk; -1 = unlimited */
	unsigned write_threads;
	uint64_t write_queue_max;    /* bytes of blocks waiting to be written */
	uint64_t coalesce_max;       /* most bytes one prefetch request fetches (consecutive blocks) */
	uint64_t read_timeout_ms;    /* bound of one storage read, retries included; 0 = none */
	struct ferry_membudget *budget; /* borrowed; NULL: the process's (core/membudget.h) */
};

struct ferry_bcache_counters {
	uint64_t hits, misses, disk_hits, prefetched, prefetch_used, evicted, disk_evicted,
		spilled, spill_dropped;
	uint64_t random_switches;    /* readers that turned to random access */
	uint64_t prefetch_cancelled; /* queued prefetches dropped (random access, close) */
	uint64_t ranged, ranged_bytes; /* random-mode reads served by a small ranged read */
	uint64_t wait_us; /* time reads waited for storage */
	uint64_t budget_refused;   /* prefetches not queued: the memory budget had no spare room */
	uint64_t budget_reclaimed; /* blocks freed because a reservation needed the memory */
	uint64_t disk_bytes; /* block files on disk now (a gauge) */
	/* MD5 of versions read in order (see ferry_bcache_open) */
	uint64_t md5_checked;    /* read to the end and matched their stored MD5 */
	uint64_t md5_mismatches; /* read to the end and did not: reads failed, blocks dropped */
	uint64_t md5_given_up;   /* not checked: read out of order, or a block left RAM before it was hashed */
};

/* Create the cache and start its threads. */
int ferry_bcache_new(const struct ferry_bcache_config *cfg, struct ferry_bcache **out, ferry_err *err);
/* Stop the threads and free every block; no reader may be open. */
void ferry_bcache_destroy(struct ferry_bcache *bc);
void ferry_bcache_counters(struct ferry_bcache *bc, struct ferry_bcache_counters *out);

/* A reader of `path` (size bytes; mtime and etag identify the version so a
 * changed blob never hits stale blocks). `md5`: the blob's stored
 * Content-MD5 (base64, 24 characters) from its attributes, or NULL/"": unless
 * FERRY_VERIFY_MD5=off (the store's settings), the version's blocks are then
 * hashed in order from RAM as they land or are read, shared by every reader
 * of the version, and a read that reaches the file's last byte returns only
 * after the comparison: on a mismatch it fails (FERRY_E_INTEGRITY, the blob
 * named in the runtime log), as does every later read of the version's
 * readers, and the version's blocks are dropped (RAM, disk) so the next open
 * reads storage again. A reader that jumps, or a block that leaves RAM
 * before it is hashed, gives the check up (counters: md5_given_up; reads go
 * on unchecked). Returns NULL on ENOMEM. */
struct ferry_bcache_reader *ferry_bcache_open(struct ferry_bcache *bc, const char *path, uint64_t size,
					      int64_t mtime, const char *etag, const char *md5);
/* 1 when r's version failed an MD5 check before and r reads it afresh (the
 * caller should not keep pages cached from the failed reads), else 0. */
int ferry_bcache_reader_refetch(struct ferry_bcache_reader *r);
/* The reader's owner has read [0, off) in order elsewhere (an open's first
 * GET, ferry_api_file_open_first): a read at `off` goes on sequentially
 * rather than turning the reader random, and the whole blocks before it
 * count toward the prefetch streak. Call before the first read. */
void ferry_bcache_reader_seed(struct ferry_bcache_reader *r, uint64_t off);
/* Read [off, off+len) into buf; *got is the byte count (short only at EOF). */
int ferry_bcache_read(struct ferry_bcache_reader *r, uint64_t off, size_t len, char *buf, size_t *got,
		      ferry_err *err);
void ferry_bcache_close(struct ferry_bcache_reader *r);

/* 64-bit key of one version of a blob (FNV-1a of path, size, mtime, etag;
 * an etag in double quotes counts as the same etag without them). */
uint64_t ferry_cache_key(const char *path, uint64_t size, int64_t mtime, const char *etag);

#endif
