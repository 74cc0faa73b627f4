/*
 * blockcache.c — blocks of blobs in RAM (and optionally on disk), demand reads
 * and sequential prefetch for the mount's block mode.
 *
 * Design. One table maps (blob version key, block index) to a block. A block
 * is LOADING (someone is fetching it; others wait on `ready`), or READY. A
 * demand read that misses fetches the block on the calling FUSE thread, so it
 * never queues behind prefetches; prefetches go to a FIFO served by
 * `read_threads` workers. A failed fetch removes the block; waiters then try
 * themselves, so the error reaches the reader that asked.
 *
 * Memory. READY blocks with no pin and no pending "prefetched, not yet read"
 * mark sit on an LRU list and are evicted once `ram_used` exceeds ram_limit.
 * Prefetched blocks are exempt until read (a reader must find what it asked
 * for), but prefetch stops while unread prefetched bytes exceed
 * max(ram_limit, 2 × N × block_size), so memory stays bounded. Each reader
 * pins the last block it read, so a 2 MiB block read in 128 KiB slices is
 * fetched once even with ram_limit 0.
 *
 * Budget (core/membudget.h, FERRY_MEMORY_LIMIT). Every block's bytes and every
 * random-mode range are reserved in the process's budget before they are
 * allocated (with no lock held) and released when freed. A prefetch takes
 * only spare budget (reserve_spare: evicting this cache's read blocks first,
 * and leaving a quarter of the limit to demand reads) and is skipped
 * otherwise; a demand read waits. The cache registers `reclaim`, which gives
 * memory back when a reservation anywhere in the process cannot be met: read
 * blocks, queued prefetches, unread prefetched blocks, and, when urgent, the
 * block and range idle readers keep. A reader moving to its next block lets
 * go of the previous one before asking. bcache_new clamps the RAM size and
 * the prefetch window to half the limit each, with a warning.
 *
 * Prefetch policy (why it adapts): a read that starts up to max(a block,
 * SEQ_SKIP) past or max(a block, SEQ_LATE) behind where the reader got to is
 * sequential. The streak counts the block boundaries a reader has crossed
 * sequentially; from two on (it has streamed through at least one whole
 * block) the cache keeps the next 2^streak blocks (4, 8, 16, ...), capped at
 * N, in flight, topping the window up only once `coalesce_max` bytes of it
 * are free, so that each top-up is one ranged GET of several blocks rather
 * than one GET per block. A random read resets the streak, so random reads of
 * up to a block prefetch nothing and a long random read wastes at most a few
 * blocks.
 *
 * Random mode (per reader). A read that lands more than max(a block, SEQ_SKIP
 * = 4 MiB) past or max(a block, SEQ_LATE = 8 MiB) behind where the reader got
 * to (the kernel sends a sequential reader's reads a few MiB out of order; a
 * late one leaves that point where it was) puts the reader in random mode:
 * its queued prefetches are cancelled (those already fetching finish and stay
 * cached), and a read that is not already in a READY block is served by one
 * ranged read of the RANGE-aligned bytes around it (RANGE = 128 KiB; a read
 * of half a block or more takes the block path) straight into the caller's
 * buffer via a per-reader slot that keeps the last range, so a 4 KiB random
 * read costs one small GET instead of a whole block. Two reads in a row that
 * each start within RANGE of where the previous one ended make the pattern
 * sequential again: the reader leaves random mode and the block path with its
 * prefetch window resumes.
 *
 * Disk spill: a block fetched from storage is pinned and queued to the write
 * threads (unless `write_queue_max` bytes already wait: then it is not
 * written), written as <dir>/<key>-<index> via a temporary name, and evicted
 * oldest-first when block files exceed disk_limit.
 *
 * MD5 (FERRY_VERIFY_MD5 not `off`, and the reader opened with the file's
 * stored Content-MD5 from its attributes). One check per blob version (the
 * key), shared by its readers: an MD5 context and a cursor, the next block to
 * hash. Blocks are hashed from RAM in index order as they become READY
 * (landed from storage or the disk, prefetched ones included) or are read:
 * whoever lands or reads the block at the cursor hashes it and whatever READY
 * blocks follow, one thread at a time (`busy`), with the block pinned and no
 * lock held. A block that landed or was read ahead of the cursor is `held`
 * (not evicted, like an unread prefetch) until hashed, so a sequential
 * reader's blocks are all hashed however small the RAM cache; a reader
 * whose check holds half of `held_cap` blocks hashes or waits before it
 * reads on (vc_throttle: the hashing fell behind, a busy CPU). A read that
 * reaches the file's last byte is answered only once the whole file is
 * hashed and compared (vc_verdict; up to a GET's worth of blocks missing
 * before the end are fetched again: the kernel sends a sequential reader's
 * reads out of order, which may also turn it random for a moment, so
 * random-mode reads near the cursor take blocks, not ranges); on a mismatch
 * it and every later read of the version's readers fail, the runtime log
 * names the blob, and the version's blocks (RAM, disk) are dropped and its
 * key retired: the next open gets a fresh key (so also misses the kernel's
 * cached pages, ferry_bcache_reader_refetch) and reads storage again. The
 * check is given up (counted, not an error) when the cursor cannot advance:
 * more is missing before the end than that, more than `held_cap` blocks
 * wait ahead of it, the budget's reclaimer took a held block, or the last
 * reader closed after one of them jumped.
 *
 * Threads: one mutex `lock` guards everything below `struct ferry_bcache`
 * (and the checks' fields, but a check's MD5 context, which only the thread
 * that set its `busy` uses); store reads, hashing and disk I/O happen
 * outside it.
 */
#include "cache/blockcache.h"
#include "core/files.h"
#include "core/md5order.h"
#include "core/membudget.h"
#include "core/settings.h"
#include "core/sys.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { B_LOADING, B_READY };

struct block {
	uint64_t key, idx;
	char *data;
	size_t len;
	int state;
	int refs;            /* pins: readers copying, current-block pins, disk writes */
	int unread;          /* prefetched and not yet read */
	int held;            /* READY ahead of its version's MD5 cursor: kept until hashed */
	int on_lru;
	struct block *hnext;
	struct block *lprev, *lnext;
};

struct job {                 /* a prefetch or a disk write */
	struct block *b;
	char *path;
	const void *owner;           /* the reader a prefetch is for (compared, never followed) */
	uint64_t off;
	struct job *next;
};

enum { V_HASHING, V_MATCH, V_MISMATCH, V_GIVEN_UP };

struct vcheck {              /* the MD5 check of one blob version (see the top) */
	uint64_t key, nblocks;
	uint64_t cursor;             /* the next block to hash */
	char md5[25];                /* stored Content-MD5, base64 */
	char digest[25];             /* what was received, once hashed to the end */
	char *path;
	EVP_MD_CTX *ctx;             /* used only by the thread that set busy */
	int state;                   /* V_* */
	int busy;                    /* a thread is hashing (the lock dropped) */
	int refs;                    /* readers, and the hashing thread */
	int listed;                  /* in bc->checks (not after a mismatch) */
	int jumped;                  /* a reader of it turned random */
	uint64_t held;               /* blocks with `held` set */
	struct vcheck *next;
};

struct diskrec {             /* a block file, oldest first */
	uint64_t key, idx, len;
	struct diskrec *next;
};

struct ferry_bcache {
	struct ferry_bcache_config cfg;
	char *disk_dir;
	pthread_mutex_t lock;        /* guards all fields below */
	pthread_cond_t ready;        /* a block became READY or was dropped */
	pthread_cond_t work;         /* a prefetch job was queued */
	pthread_cond_t wwork;        /* a write job was queued */
	struct block **tab;
	size_t tabsize;
	struct block lru;            /* sentinel: lru.lnext = most recent */
	uint64_t ram_used, unread_bytes, unread_cap;
	struct job *pf_head, *pf_tail;
	struct job *wr_head, *wr_tail;
	uint64_t wr_queued;
	struct diskrec *disk_head, *disk_tail;
	uint64_t disk_used;
	int stopping;
	struct ferry_membudget *mb;  /* borrowed: where every block and range buffer is reserved */
	int reclaiming;              /* registered as a reclaimer of mb */
	struct ferry_bcache_reader *open_head; /* open readers (for the reclaimer) */
	int verify;                  /* FERRY_VERIFY_MD5 */
	struct vcheck *checks;       /* the versions being (or done being) checked */
	uint64_t *dead;              /* keys retired after a mismatch */
	size_t ndead;
	uint64_t held_cap;           /* most blocks a check holds ahead of its cursor */
	pthread_t *readers, *writers;
	unsigned n_readers, n_writers;
	struct ferry_bcache_counters c;
	unsigned waiting;            /* reads waiting for storage now … */
	double wait_starts;          /* … and the sum of their start times (µs): the
	                                waits in progress are waiting × now − wait_starts */
	double wait_done;            /* µs of waits that ended (c.wait_us, unrounded) */
	uint64_t wait_shown;         /* the largest wait_us ferry_bcache_counters gave */
};

struct ferry_bcache_reader {
	struct ferry_bcache *bc;
	char *path;
	uint64_t size, key;
	struct vcheck *vc;           /* its version's MD5 check (a reference), or NULL */
	int refetch;                 /* the version's first key was retired (a mismatch) */
	pthread_mutex_t lock;        /* guards the sequential-access state and cur */
	uint64_t next_off;           /* where the previous read ended */
	unsigned streak;              /* block boundaries crossed sequentially */
	uint64_t last_block;          /* last block of the previous read */
	uint64_t pf_next;            /* first block not yet asked of the prefetcher */
	struct block *cur;           /* pinned: the block last read */
	int have_prev;
	int random;                  /* in random mode (see the top of the file) */
	unsigned near_run;           /* random mode: reads in a row that continued the previous */
	char *rbuf;                  /* random mode: the last range fetched ... */
	uint64_t roff;               /* ... its offset */
	size_t rlen;                 /* ... and length (0: none) */
	struct ferry_bcache_reader *onext, *oprev; /* bc->open_head list (bc->lock) */
};

enum { RANGE = 128 * 1024 };     /* random mode's fetch granule */
/* How far out of order a sequential reader's reads may arrive: the kernel
 * sends a buffered reader's read-ahead as several requests at once, served
 * by several FUSE threads, so `cat` with 1 MiB blocks showed a read 2 MiB
 * behind where the last one ended every ~16 MiB, and with 256 KiB blocks one
 * 1 MiB ahead; each turned the reader random and cancelled its prefetch. A
 * read up to SEQ_LATE behind or SEQ_SKIP ahead (at least a block) continues
 * the stream. */
enum { SEQ_LATE = 8 << 20, SEQ_SKIP = 4 << 20 };

uint64_t ferry_cache_key(const char *path, uint64_t size, int64_t mtime, const char *etag)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p = (const unsigned char *)path;
	for (; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	uint64_t v[2] = { size, (uint64_t)mtime };
	const unsigned char *q = (const unsigned char *)v;
	for (size_t i = 0; i < sizeof(v); i++)
		h = (h ^ q[i]) * 1099511628211ULL;
	/* Azure quotes the ETag header but not a listing's <Etag>: one version, one key */
	const char *t = etag ? etag : "";
	size_t n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
		t++;
		n -= 2;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
	return h;
}

/* ---- table and LRU (lock held) ---- */

static size_t slot(struct ferry_bcache *bc, uint64_t key, uint64_t idx)
{
	uint64_t h = key ^ (idx * 0x9E3779B97F4A7C15ULL);
	h ^= h >> 29;
	return (size_t)(h % bc->tabsize);
}

static struct block *find(struct ferry_bcache *bc, uint64_t key, uint64_t idx)
{
	for (struct block *b = bc->tab[slot(bc, key, idx)]; b; b = b->hnext)
		if (b->key == key && b->idx == idx)
			return b;
	return NULL;
}

static void unhash(struct ferry_bcache *bc, struct block *b)
{
	struct block **pp = &bc->tab[slot(bc, b->key, b->idx)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

static void lru_remove(struct block *b)
{
	if (!b->on_lru)
		return;
	b->lprev->lnext = b->lnext;
	b->lnext->lprev = b->lprev;
	b->on_lru = 0;
}

static void lru_push(struct ferry_bcache *bc, struct block *b)
{
	lru_remove(b);
	b->lnext = bc->lru.lnext;
	b->lprev = &bc->lru;
	bc->lru.lnext->lprev = b;
	bc->lru.lnext = b;
	b->on_lru = 1;
}

static void free_block(struct ferry_bcache *bc, struct block *b)
{
	bc->ram_used -= b->len;
	if (b->unread)
		bc->unread_bytes -= b->len;
	ferry_data_free(b->data, b->len);
	ferry_membudget_release(bc->mb, b->len);
	free(b);
}

/* Bytes of block idx of a file of fsize bytes. */
static size_t block_len(struct ferry_bcache *bc, uint64_t idx, uint64_t fsize)
{
	uint64_t off = idx * bc->cfg.block_size;
	return (size_t)(fsize - off < bc->cfg.block_size ? fsize - off : bc->cfg.block_size);
}

/* Evict least recently used evictable blocks while over the RAM limit. */
static void evict(struct ferry_bcache *bc)
{
	struct block *b = bc->lru.lprev;
	while (bc->ram_used > bc->cfg.ram_limit && b != &bc->lru) {
		struct block *prev = b->lprev;
		if (b->refs == 0 && !b->unread && !b->held && b->state == B_READY) {
			lru_remove(b);
			unhash(bc, b);
			ferry_debug("block cache: evicted block %llu of %016llx from RAM",
				    (unsigned long long)b->idx, (unsigned long long)b->key);
			bc->c.evicted++;
			free_block(bc, b);
		}
		b = prev;
	}
}

static int is_dead(struct ferry_bcache *bc, uint64_t key)
{
	for (size_t i = 0; i < bc->ndead; i++)
		if (bc->dead[i] == key)
			return 1;
	return 0;
}

/* Drop one pin; an unpinned READY block goes (back) on the LRU list, or, of
 * a version retired after an MD5 mismatch, is freed. */
static void unpin(struct ferry_bcache *bc, struct block *b)
{
	if (--b->refs == 0 && b->state == B_READY) {
		if (bc->ndead && is_dead(bc, b->key)) {
			lru_remove(b);
			unhash(bc, b);
			free_block(bc, b);
			return;
		}
		lru_push(bc, b);
		evict(bc);
	}
}

/* A LOADING block in the table; its len bytes are reserved in bc->mb by the
 * caller (free_block gives them back; on NULL the caller still holds them). */
static struct block *new_block(struct ferry_bcache *bc, uint64_t key, uint64_t idx, uint64_t fsize)
{
	size_t len = block_len(bc, idx, fsize);
	struct block *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (!(b->data = ferry_data_alloc(len))) {
		free(b);
		return NULL;
	}
	b->key = key;
	b->idx = idx;
	b->len = len;
	b->state = B_LOADING;
	size_t s = slot(bc, key, idx);
	b->hnext = bc->tab[s];
	bc->tab[s] = b;
	bc->ram_used += len;
	return b;
}

/* ---- fetching (lock not held) ---- */

static void disk_name(struct ferry_bcache *bc, uint64_t key, uint64_t idx, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%016llx-%llu", bc->disk_dir, (unsigned long long)key, (unsigned long long)idx);
}

/* ---- MD5 of a version read in order (bc->lock held; see the top) ---- */

static struct vcheck *vc_find(struct ferry_bcache *bc, uint64_t key)
{
	for (struct vcheck *v = bc->checks; v; v = v->next)
		if (v->key == key)
			return v;
	return NULL;
}

static void vc_unlist(struct ferry_bcache *bc, struct vcheck *v)
{
	if (!v->listed)
		return;
	struct vcheck **pp = &bc->checks;
	while (*pp && *pp != v)
		pp = &(*pp)->next;
	if (*pp)
		*pp = v->next;
	v->listed = 0;
}

static void vc_give_up(struct ferry_bcache *bc, struct vcheck *v, const char *why);

/* Block b (READY, pinned or just landed) is ahead of v's cursor: keep it
 * until it is hashed, unless the readers are that far ahead already. */
static void vc_hold(struct ferry_bcache *bc, struct vcheck *v, struct block *b)
{
	if (!v || v->state != V_HASHING || b->idx < v->cursor || b->held)
		return;
	if (v->held >= bc->held_cap) {
		vc_give_up(bc, v, "read too far ahead of the blocks hashed");
		return;
	}
	b->held = 1;
	v->held++;
}

/* Let go of v's held blocks (they become evictable; the caller evicts when
 * it is safe to free blocks). */
static void vc_release_held(struct ferry_bcache *bc, struct vcheck *v)
{
	for (uint64_t i = v->cursor; v->held && i < v->nblocks; i++) {
		struct block *b = find(bc, v->key, i);
		if (b && b->held) {
			b->held = 0;
			v->held--;
		}
	}
	v->held = 0;
}

/* The cursor cannot advance: the version is not checked (counted). */
static void vc_give_up(struct ferry_bcache *bc, struct vcheck *v, const char *why)
{
	if (!v || v->state != V_HASHING)
		return;
	v->state = V_GIVEN_UP;
	bc->c.md5_given_up++;
	vc_release_held(bc, v);
	ferry_debug("block cache: MD5 of '%s' not checked: %s (block %llu of %llu)", v->path, why,
		    (unsigned long long)v->cursor, (unsigned long long)v->nblocks);
	pthread_cond_broadcast(&bc->ready);
}

static void vc_put(struct ferry_bcache *bc, struct vcheck *v)
{
	if (!v || --v->refs > 0)
		return;
	if (v->state == V_HASHING && v->jumped) /* closed unchecked after reads out of order */
		vc_give_up(bc, v, "read out of order");
	vc_release_held(bc, v);
	vc_unlist(bc, v);
	EVP_MD_CTX_free(v->ctx);
	free(v->path);
	free(v);
}

/* Retire v's key after a mismatch: new opens get another key, the blocks
 * nobody holds go now (the others as they are let go: unpin), the block
 * files are deleted and pending ones are not written (writer_main). */
static void vc_drop(struct ferry_bcache *bc, struct vcheck *v)
{
	uint64_t *d = realloc(bc->dead, (bc->ndead + 1) * sizeof(*d));
	if (d) {
		bc->dead = d;
		bc->dead[bc->ndead++] = v->key;
	}
	vc_unlist(bc, v);
	for (uint64_t i = 0; i < v->nblocks; i++) {
		struct block *b = find(bc, v->key, i);
		if (b && b->refs == 0 && b->state == B_READY) {
			lru_remove(b);
			unhash(bc, b);
			free_block(bc, b);
		}
	}
	for (struct diskrec **pp = &bc->disk_head, *prev = NULL; *pp;) {
		struct diskrec *r = *pp;
		if (r->key != v->key) {
			prev = r;
			pp = &r->next;
			continue;
		}
		char name[4200];
		disk_name(bc, r->key, r->idx, name, sizeof(name));
		unlink(name);
		bc->disk_used -= r->len;
		*pp = r->next;
		if (bc->disk_tail == r)
			bc->disk_tail = prev;
		free(r);
	}
}

static void vc_finish(struct ferry_bcache *bc, struct vcheck *v)
{
	unsigned char md[16];
	unsigned int n = 0;
	if (!EVP_DigestFinal_ex(v->ctx, md, &n) || n != 16) {
		vc_give_up(bc, v, "the MD5 could not be computed");
		return;
	}
	ferry_md5_b64(md, v->digest);
	if (!strcmp(v->digest, v->md5)) {
		v->state = V_MATCH;
		bc->c.md5_checked++;
		ferry_debug("block cache: '%s' read in order matches its stored MD5 %s", v->path, v->md5);
		return;
	}
	v->state = V_MISMATCH;
	bc->c.md5_mismatches++;
	ferry_log(FERRY_LOG_ERROR,
		  "read of blob '%s': MD5 mismatch (storage says %s, received %s); the data changed or was "
		  "corrupted in transit: its reads fail with EIO and its blocks are dropped (the next open "
		  "reads it again)",
		  v->path, v->md5, v->digest);
	vc_drop(bc, v);
}

/* Hash the READY blocks at v's cursor, in order, unless another thread is
 * at it; finish the check at the file's end. Drops bc->lock while hashing. */
static void vc_advance(struct ferry_bcache *bc, struct vcheck *v)
{
	if (!v || v->busy || v->state != V_HASHING)
		return;
	v->busy = 1;
	v->refs++;
	while (v->state == V_HASHING && v->cursor < v->nblocks) {
		struct block *b = find(bc, v->key, v->cursor);
		if (!b || b->state != B_READY)
			break;
		b->refs++;
		lru_remove(b);
		pthread_mutex_unlock(&bc->lock);
		int ok = EVP_DigestUpdate(v->ctx, b->data, b->len);
		pthread_mutex_lock(&bc->lock);
		if (b->held) {
			b->held = 0;
			v->held--;
		}
		v->cursor++;
		unpin(bc, b);
		if (!ok)
			vc_give_up(bc, v, "the MD5 could not be computed");
		pthread_cond_broadcast(&bc->ready); /* readers held back by vc_throttle */
	}
	if (v->state == V_HASHING && v->cursor == v->nblocks)
		vc_finish(bc, v);
	v->busy = 0;
	pthread_cond_broadcast(&bc->ready);
	vc_put(bc, v);
}

static struct block *get_block(struct ferry_bcache_reader *r, uint64_t idx, ferry_err *err);

/* Before a read of r goes on: while half of the blocks a check may hold wait
 * ahead of its cursor (the hashing falls behind the stream: a busy CPU), the
 * reader hashes, or waits for the hashing thread, instead of fetching more.
 * Not while the block at the cursor is missing (nothing would bring it). */
static void vc_throttle(struct ferry_bcache *bc, struct vcheck *v)
{
	while (v->state == V_HASHING && v->held >= bc->held_cap / 2) {
		struct block *b = find(bc, v->key, v->cursor);
		if (!b)
			break;
		if (!v->busy && b->state == B_READY) {
			vc_advance(bc, v);
			continue;
		}
		pthread_cond_wait(&bc->ready, &bc->lock);
	}
}

/* Bytes of the blocks of v from its cursor on that are not in the table, or
 * more than `cap` (bc->lock held). */
static uint64_t vc_missing(struct ferry_bcache *bc, struct vcheck *v, uint64_t size, uint64_t cap)
{
	uint64_t miss = 0;
	for (uint64_t i = v->cursor; i < v->nblocks && miss <= cap; i++)
		if (!find(bc, v->key, i))
			miss += block_len(bc, i, size);
	return miss;
}

/* A read of r reached the file's end: wait until r's check has a verdict,
 * hashing what is there. A block at the cursor that is not in RAM is fetched
 * again when what is missing is at most a GET's worth (two blocks at least):
 * the kernel sends a sequential reader's reads out of order, so the last one
 * may come before the ones just behind it; more missing means the reader
 * jumped, and the check is given up. Called and returns with bc->lock held
 * (dropped while hashing and fetching). 0, or -1 with err on a mismatch. */
static int vc_verdict(struct ferry_bcache_reader *r, ferry_err *err)
{
	struct ferry_bcache *bc = r->bc;
	struct vcheck *v = r->vc;
	uint64_t fix = bc->cfg.coalesce_max > 2 * bc->cfg.block_size ? bc->cfg.coalesce_max : 2 * bc->cfg.block_size;
	while (v->state == V_HASHING) {
		if (!v->busy) {
			struct block *b = v->cursor < v->nblocks ? find(bc, v->key, v->cursor) : NULL;
			if (!b && v->cursor < v->nblocks) {
				if (vc_missing(bc, v, r->size, fix) > fix) {
					vc_give_up(bc, v, "blocks before the end were not read");
					break;
				}
				ferry_err ferr;
				ferry_err_clear(&ferr);
				uint64_t idx = v->cursor;
				pthread_mutex_unlock(&bc->lock);
				b = get_block(r, idx, &ferr);
				pthread_mutex_lock(&bc->lock);
				if (!b) {
					vc_give_up(bc, v, "a block at the cursor could not be read again");
					break;
				}
				vc_hold(bc, v, b); /* kept until hashed, however it came */
				unpin(bc, b);
				continue;
			}
			if (!b || b->state == B_READY) {
				vc_advance(bc, v);
				continue;
			}
		}
		pthread_cond_wait(&bc->ready, &bc->lock);
	}
	if (v->state != V_MISMATCH)
		return 0;
	return ferry_err_set(err, FERRY_E_INTEGRITY, "read of blob '%s': MD5 mismatch (storage says %s, received %s)",
			     v->path, v->md5, v->digest);
}

/* Read bytes [off, off+len) of `path` from storage into buf: 0, or -1 with
 * err set (and logged) when storage fails or returns fewer bytes. */
static int read_range(struct ferry_bcache *bc, const char *path, uint64_t off, size_t len, char *buf,
		      ferry_err *err)
{
	if (ferry_store_read_exact(bc->cfg.store, path, off, len, buf, bc->cfg.read_timeout_ms, err) < 0) {
		ferry_log(FERRY_LOG_ERROR, "read of blob '%s' bytes %llu-%llu failed: %s", path,
			  (unsigned long long)off, (unsigned long long)(off + len - 1), err->msg);
		return -1;
	}
	return 0;
}

/* Fill b->data from the disk cache (returns 1) or from storage (0), or -1. */
static int fetch(struct ferry_bcache *bc, struct block *b, const char *path, ferry_err *err)
{
	if (bc->disk_dir) {
		char name[4200];
		disk_name(bc, b->key, b->idx, name, sizeof(name));
		int fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = pread(fd, b->data, b->len, 0);
			close(fd);
			if (n == (ssize_t)b->len)
				return 1;
		}
	}
	if (b->len == 0)
		return 0;
	return read_range(bc, path, b->idx * bc->cfg.block_size, b->len, b->data, err) < 0 ? -1 : 0;
}

/* After a fetch (lock held): mark READY or drop, wake waiters, queue spill. */
static void settle(struct ferry_bcache *bc, struct block *b, int rc, const char *path)
{
	if (rc < 0) {
		unhash(bc, b);
		b->refs = 0;
		free_block(bc, b);
		pthread_cond_broadcast(&bc->ready);
		return;
	}
	b->state = B_READY;
	vc_hold(bc, vc_find(bc, b->key), b);
	if (rc == 1)
		bc->c.disk_hits++;
	pthread_cond_broadcast(&bc->ready);
	if (rc == 0 && bc->disk_dir) {
		if (bc->wr_queued + b->len > bc->cfg.write_queue_max) {
			bc->c.spill_dropped++;
			return;
		}
		struct job *j = calloc(1, sizeof(*j));
		if (!j)
			return;
		j->b = b;
		(void)path;
		b->refs++;
		bc->wr_queued += b->len;
		if (bc->wr_tail)
			bc->wr_tail->next = j;
		else
			bc->wr_head = j;
		bc->wr_tail = j;
		pthread_cond_signal(&bc->wwork);
	}
}

/* A sink spreading one ranged read over consecutive blocks. */
struct run_fill {
	struct block **b;
	int n;
	uint64_t base, bs;   /* offset of b[0]; block size */
	size_t *got;
};

static int run_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct run_fill *f = arg;
	const char *p = data;
	while (len > 0) {
		if (off < f->base)
			return -1;
		uint64_t k = (off - f->base) / f->bs;
		if (k >= (uint64_t)f->n)
			return -1;
		uint64_t in = off - f->base - k * f->bs;
		if (in >= f->b[k]->len)
			return -1;
		size_t take = (size_t)(f->b[k]->len - in) < len ? (size_t)(f->b[k]->len - in) : len;
		memcpy(f->b[k]->data + in, p, take);
		if (in + take > f->got[k])
			f->got[k] = (size_t)(in + take);
		p += take;
		off += take;
		len -= take;
	}
	return 0;
}

/* Fetch consecutive blocks b[0..n) of one blob: each from the disk cache when
 * there (rc 1), the others with one ranged read per contiguous run (rc 0), or
 * rc -1 for the blocks of a run that failed. */
static void fetch_run(struct ferry_bcache *bc, struct block **b, int n, const char *path, int *rc)
{
	if (n == 1) {
		ferry_err err;
		ferry_err_clear(&err);
		rc[0] = fetch(bc, b[0], path, &err);
		return;
	}
	for (int i = 0; i < n; i++) {
		rc[i] = 0;
		if (!bc->disk_dir)
			continue;
		char name[4200];
		disk_name(bc, b[i]->key, b[i]->idx, name, sizeof(name));
		int fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (pread(fd, b[i]->data, b[i]->len, 0) == (ssize_t)b[i]->len)
				rc[i] = 1;
			close(fd);
		}
	}
	for (int i = 0; i < n;) {
		if (rc[i] == 1) {
			i++;
			continue;
		}
		int j = i;
		uint64_t len = 0;
		while (j < n && rc[j] != 1)
			len += b[j++]->len;
		size_t got[16] = { 0 };
		struct run_fill f = { .b = b + i, .n = j - i, .base = b[i]->idx * bc->cfg.block_size,
				      .bs = bc->cfg.block_size, .got = got };
		ferry_err err;
		ferry_err_clear(&err);
		int r = ferry_store_read_within(bc->cfg.store, path, f.base, len, run_sink, &f,
						 bc->cfg.read_timeout_ms, &err);
		for (int k = i; k < j && r == 0; k++)
			if (got[k - i] != b[k]->len) {
				r = -1;
				snprintf(err.msg, sizeof(err.msg), "storage returned %zu of %zu bytes of block %llu",
					 got[k - i], b[k]->len, (unsigned long long)b[k]->idx);
			}
		if (r < 0)
			ferry_log(FERRY_LOG_ERROR, "read of blob '%s' bytes %llu-%llu failed: %s", path,
				  (unsigned long long)f.base, (unsigned long long)(f.base + len - 1), err.msg);
		for (int k = i; k < j; k++)
			rc[k] = r < 0 ? -1 : 0;
		i = j;
	}
}

/* Prefetch workers. A worker takes the job at the head of the queue and the
 * jobs right behind it that continue the same blob (up to 16 blocks and
 * `coalesce_max` bytes): one ranged GET for several blocks costs one
 * request's latency instead of several. */
static void *prefetch_main(void *arg)
{
	struct ferry_bcache *bc = arg;
	pthread_mutex_lock(&bc->lock);
	for (;;) {
		while (!bc->pf_head && !bc->stopping)
			pthread_cond_wait(&bc->work, &bc->lock);
		if (bc->stopping)
			break;
		struct job *jobs[16];
		struct block *blocks[16];
		int rcs[16];
		int n = 0;
		uint64_t total = 0;
		while (bc->pf_head && n < 16) {
			struct job *j = bc->pf_head;
			if (n > 0 && (j->b->key != jobs[0]->b->key || j->b->idx != jobs[n - 1]->b->idx + 1 ||
				      total + j->b->len > bc->cfg.coalesce_max))
				break;
			bc->pf_head = j->next;
			if (!bc->pf_head)
				bc->pf_tail = NULL;
			jobs[n] = j;
			blocks[n++] = j->b;
			total += j->b->len;
		}
		uint64_t key = jobs[0]->b->key;
		pthread_mutex_unlock(&bc->lock);
		fetch_run(bc, blocks, n, jobs[0]->path, rcs);
		pthread_mutex_lock(&bc->lock);
		for (int i = 0; i < n; i++) {
			struct job *j = jobs[i];
			if (rcs[i] >= 0) {
				bc->c.prefetched++;
				ferry_debug("prefetched block %llu of '%s'%s", (unsigned long long)j->b->idx,
					    j->path, rcs[i] == 1 ? " (from disk cache)" : "");
			}
			j->b->refs--; /* the prefetch pin */
			int keep = rcs[i] >= 0;
			settle(bc, j->b, rcs[i], j->path);
			if (keep && j->b->refs == 0)
				lru_push(bc, j->b);
			free(j->path);
			free(j);
		}
		vc_advance(bc, vc_find(bc, key)); /* the blocks that landed, hashed from RAM */
	}
	pthread_mutex_unlock(&bc->lock);
	return NULL;
}

static void disk_evict(struct ferry_bcache *bc)
{
	while (bc->cfg.disk_limit >= 0 && bc->disk_used > (uint64_t)bc->cfg.disk_limit && bc->disk_head) {
		struct diskrec *d = bc->disk_head;
		bc->disk_head = d->next;
		if (!bc->disk_head)
			bc->disk_tail = NULL;
		char name[4200];
		disk_name(bc, d->key, d->idx, name, sizeof(name));
		unlink(name);
		bc->disk_used -= d->len;
		bc->c.disk_evicted++;
		ferry_debug("block cache: evicted block file %s", name);
		free(d);
	}
}

static void *writer_main(void *arg)
{
	struct ferry_bcache *bc = arg;
	pthread_mutex_lock(&bc->lock);
	for (;;) {
		while (!bc->wr_head && !bc->stopping)
			pthread_cond_wait(&bc->wwork, &bc->lock);
		if (!bc->wr_head)
			break;
		struct job *j = bc->wr_head;
		bc->wr_head = j->next;
		if (!bc->wr_head)
			bc->wr_tail = NULL;
		struct block *b = j->b;
		if (bc->ndead && is_dead(bc, b->key)) { /* failed its MD5 check: not kept */
			bc->wr_queued -= b->len;
			unpin(bc, b);
			free(j);
			continue;
		}
		pthread_mutex_unlock(&bc->lock);
		char name[4200], tmp[4300];
		disk_name(bc, b->key, b->idx, name, sizeof(name));
		snprintf(tmp, sizeof(tmp), "%s.tmp", name);
		int ok = 0;
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			ok = ferry_write_all(fd, b->data, b->len) == 0;
			ok = close(fd) == 0 && ok && rename(tmp, name) == 0;
			if (!ok)
				unlink(tmp);
		}
		pthread_mutex_lock(&bc->lock);
		bc->wr_queued -= b->len;
		if (ok) {
			struct diskrec *d = calloc(1, sizeof(*d));
			if (d) {
				d->key = b->key;
				d->idx = b->idx;
				d->len = b->len;
				if (bc->disk_tail)
					bc->disk_tail->next = d;
				else
					bc->disk_head = d;
				bc->disk_tail = d;
				bc->disk_used += b->len;
				bc->c.spilled++;
				disk_evict(bc);
			}
		}
		unpin(bc, b);
		free(j);
	}
	pthread_mutex_unlock(&bc->lock);
	return NULL;
}

/* ---- giving memory back to the budget ---- */

static void drop_range(struct ferry_bcache_reader *r);

/* The budget's reclaimer: frees up to `want` bytes, cheapest loss first —
 * read blocks nobody holds (oldest first), queued prefetches not started
 * (newest first), prefetched blocks not yet read, and, once a reservation
 * has waited a while (`urgent`: a reader that keeps its block between reads
 * usually lets go of it soon, when it moves to the next one; taking it
 * earlier means fetching it again), the block each idle reader keeps and
 * its last random-mode range. A reader
 * in the middle of a read (its lock taken) is skipped: it lets go of its
 * block soon anyway. Called by the budget with no lock held; takes bc->lock
 * and only tries the readers' locks, so the lock order (reader, then cache)
 * is never waited on backwards. */
static uint64_t reclaim(void *arg, uint64_t want, int urgent)
{
	struct ferry_bcache *bc = arg;
	uint64_t freed = 0;
	pthread_mutex_lock(&bc->lock);
	for (int pass = 0; pass < 2 && freed < want; pass++) /* read blocks, then unread prefetched ones */
		for (struct block *b = bc->lru.lprev, *prev; b != &bc->lru && freed < want; b = prev) {
			prev = b->lprev;
			if (b->refs == 0 && b->state == B_READY && (pass || (!b->unread && !b->held))) {
				if (b->held) { /* its version's MD5 check cannot go on */
					struct vcheck *v = vc_find(bc, b->key);
					if (v)
						vc_give_up(bc, v, "the memory budget took a block before it was hashed");
					b->held = 0;
				}
				freed += b->len;
				lru_remove(b);
				unhash(bc, b);
				bc->c.budget_reclaimed++;
				free_block(bc, b);
			}
		}
	while (freed < want && bc->pf_head) { /* the queue's tail: the furthest ahead */
		struct job **pp = &bc->pf_head, *last = NULL;
		while ((*pp)->next) {
			last = *pp;
			pp = &(*pp)->next;
		}
		struct job *j = *pp;
		*pp = NULL;
		bc->pf_tail = last;
		freed += j->b->len;
		unhash(bc, j->b);
		free_block(bc, j->b);
		free(j->path);
		free(j);
		bc->c.prefetch_cancelled++;
		bc->c.budget_reclaimed++;
		pthread_cond_broadcast(&bc->ready);
	}
	for (struct ferry_bcache_reader *r = bc->open_head; urgent && r && freed < want; r = r->onext) {
		if (pthread_mutex_trylock(&r->lock) != 0)
			continue;
		if (r->rbuf) {
			freed += r->rlen;
			drop_range(r);
		}
		struct block *b = r->cur;
		if (b && b->refs == 1 && b->state == B_READY) { /* only the reader's own pin */
			r->cur = NULL;
			b->refs = 0;
			if (!b->unread && !b->held) {
				freed += b->len;
				lru_remove(b);
				unhash(bc, b);
				bc->c.budget_reclaimed++;
				free_block(bc, b);
			} else
				lru_push(bc, b);
		}
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&bc->lock);
	return freed;
}

/* ---- public ---- */

/* Settings that cannot hold under the memory budget are lowered, with a
 * warning, rather than refused: the RAM cache and the prefetch window may
 * each take at most half of FERRY_MEMORY_LIMIT. */
static void clamp_to_budget(struct ferry_bcache *bc)
{
	uint64_t lim = ferry_membudget_limit(bc->mb), bs = bc->cfg.block_size;
	double mib = 1024.0 * 1024.0;
	if (bc->cfg.ram_limit > lim / 2) {
		ferry_warn("DATASET_MOUNT_MEMORY_CACHE_SIZE (%.1f MiB) is more than half of FERRY_MEMORY_LIMIT "
			   "(%.1f MiB): the block cache keeps at most %.1f MiB of read blocks",
			   (double)bc->cfg.ram_limit / mib, (double)lim / mib, (double)(lim / 2) / mib);
		bc->cfg.ram_limit = lim / 2;
	}
	if ((uint64_t)bc->cfg.prefetch_blocks * bs > lim / 2) {
		unsigned n = (unsigned)(lim / 2 / bs);
		ferry_warn("DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT (%u) × DATASET_MOUNT_READ_BLOCK_SIZE (%.1f MiB) is more "
			   "than half of FERRY_MEMORY_LIMIT (%.1f MiB): prefetching at most %u blocks ahead",
			   bc->cfg.prefetch_blocks, (double)bs / mib, (double)lim / mib, n);
		bc->cfg.prefetch_blocks = n;
	}
	if (bs > lim / 4)
		ferry_warn("DATASET_MOUNT_READ_BLOCK_SIZE (%.1f MiB) is more than a quarter of FERRY_MEMORY_LIMIT "
			   "(%.1f MiB): concurrent readers will wait for each other's blocks",
			   (double)bs / mib, (double)lim / mib);
}

int ferry_bcache_new(const struct ferry_bcache_config *cfg, struct ferry_bcache **out, ferry_err *err)
{
	struct ferry_bcache *bc = calloc(1, sizeof(*bc));
	if (!bc)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	bc->cfg = *cfg;
	if (bc->cfg.block_size == 0)
		bc->cfg.block_size = 2 << 20;
	if (bc->cfg.read_threads == 0)
		bc->cfg.read_threads = 1;
	if (bc->cfg.write_threads == 0)
		bc->cfg.write_threads = 1;
	if (bc->cfg.coalesce_max < bc->cfg.block_size)
		bc->cfg.coalesce_max = bc->cfg.block_size;
	bc->tabsize = 65521;
	bc->tab = calloc(bc->tabsize, sizeof(*bc->tab));
	bc->disk_dir = cfg->disk_dir ? strdup(cfg->disk_dir) : NULL;
	bc->cfg.disk_dir = bc->disk_dir;
	bc->lru.lnext = bc->lru.lprev = &bc->lru;
	bc->mb = cfg->budget ? cfg->budget : ferry_membudget_process();
	bc->verify = cfg->store && cfg->store->settings ? (int)ferry_setting_int(cfg->store->settings, FS_VERIFY_MD5)
							: FERRY_VERIFY_AUTO;
	clamp_to_budget(bc);
	uint64_t window = 2ULL * bc->cfg.prefetch_blocks * bc->cfg.block_size;
	bc->unread_cap = bc->cfg.ram_limit > window ? bc->cfg.ram_limit : window;
	/* a sequential stream's blocks ahead of its cursor: the unread prefetched
	 * ones, the window in flight, a few more landing out of order */
	bc->held_cap = bc->unread_cap / bc->cfg.block_size + bc->cfg.prefetch_blocks + 4;
	pthread_mutex_init(&bc->lock, NULL);
	pthread_cond_init(&bc->ready, NULL);
	pthread_cond_init(&bc->work, NULL);
	pthread_cond_init(&bc->wwork, NULL);
	bc->readers = calloc(bc->cfg.read_threads, sizeof(pthread_t));
	bc->writers = calloc(bc->cfg.write_threads, sizeof(pthread_t));
	if (!bc->tab || !bc->readers || !bc->writers || (cfg->disk_dir && !bc->disk_dir)) {
		ferry_bcache_destroy(bc);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	bc->reclaiming = ferry_membudget_add_reclaimer(bc->mb, reclaim, bc) == 0;
	if (bc->cfg.prefetch_blocks > 0)
		for (; bc->n_readers < bc->cfg.read_threads; bc->n_readers++)
			if (pthread_create(&bc->readers[bc->n_readers], NULL, prefetch_main, bc) != 0)
				break;
	if (bc->disk_dir)
		for (; bc->n_writers < bc->cfg.write_threads; bc->n_writers++)
			if (pthread_create(&bc->writers[bc->n_writers], NULL, writer_main, bc) != 0)
				break;
	*out = bc;
	return 0;
}

void ferry_bcache_destroy(struct ferry_bcache *bc)
{
	if (!bc)
		return;
	if (bc->reclaiming)
		ferry_membudget_remove_reclaimer(bc->mb, reclaim, bc);
	pthread_mutex_lock(&bc->lock);
	bc->stopping = 1;
	pthread_cond_broadcast(&bc->work);
	pthread_cond_broadcast(&bc->wwork);
	pthread_mutex_unlock(&bc->lock);
	for (unsigned i = 0; i < bc->n_readers; i++)
		pthread_join(bc->readers[i], NULL);
	for (unsigned i = 0; i < bc->n_writers; i++)
		pthread_join(bc->writers[i], NULL);
	/* Prefetch jobs never started: their blocks are freed with the table. */
	for (struct job *j = bc->pf_head, *n; j; j = n) {
		n = j->next;
		free(j->path);
		free(j);
	}
	for (size_t i = 0; bc->tab && i < bc->tabsize; i++)
		for (struct block *b = bc->tab[i], *n; b; b = n) {
			n = b->hnext;
			ferry_data_free(b->data, b->len);
			ferry_membudget_release(bc->mb, b->len);
			free(b);
		}
	for (struct diskrec *d = bc->disk_head, *n; d; d = n) {
		n = d->next;
		free(d);
	}
	for (struct vcheck *v = bc->checks, *n; v; v = n) { /* none: every reader is closed */
		n = v->next;
		EVP_MD_CTX_free(v->ctx);
		free(v->path);
		free(v);
	}
	free(bc->dead);
	free(bc->tab);
	free(bc->readers);
	free(bc->writers);
	free(bc->disk_dir);
	pthread_mutex_destroy(&bc->lock);
	pthread_cond_destroy(&bc->ready);
	pthread_cond_destroy(&bc->work);
	pthread_cond_destroy(&bc->wwork);
	free(bc);
}

/* A read starts / stops waiting for storage (bc->lock held). wait_us grows
 * by the whole wait at its end; ferry_bcache_counters adds the waits still in
 * progress, so a sampler sees a long wait as it happens. */
static void wait_begin(struct ferry_bcache *bc, double t0)
{
	bc->waiting++;
	bc->wait_starts += t0;
}

static void wait_end(struct ferry_bcache *bc, double t0)
{
	bc->waiting--;
	bc->wait_starts -= t0;
	bc->wait_done += ferry_now_us() - t0;
	if (!bc->waiting)
		bc->wait_starts = 0; /* no rounding left over */
	bc->c.wait_us = (uint64_t)bc->wait_done;
}

void ferry_bcache_counters(struct ferry_bcache *bc, struct ferry_bcache_counters *out)
{
	pthread_mutex_lock(&bc->lock);
	*out = bc->c;
	if (bc->waiting) {
		double busy = ferry_now_us() * bc->waiting - bc->wait_starts;
		out->wait_us = (uint64_t)(bc->wait_done + (busy > 0 ? busy : 0));
	}
	/* never less than before (rounding): a reader of two samples gets >= 0 */
	if (out->wait_us < bc->wait_shown)
		out->wait_us = bc->wait_shown;
	bc->wait_shown = out->wait_us;
	out->disk_bytes = bc->disk_used;
	pthread_mutex_unlock(&bc->lock);
}

/* A new check of version `key` (bc->lock held); NULL when out of memory. */
static struct vcheck *vc_new(struct ferry_bcache *bc, uint64_t key, const char *path, uint64_t size,
			     const char *md5)
{
	struct vcheck *v = calloc(1, sizeof(*v));
	if (!v || !(v->path = strdup(path)) || !(v->ctx = EVP_MD_CTX_new()) ||
	    !EVP_DigestInit_ex(v->ctx, EVP_md5(), NULL)) {
		if (v) {
			EVP_MD_CTX_free(v->ctx);
			free(v->path);
		}
		free(v);
		return NULL;
	}
	v->key = key;
	v->nblocks = (size + bc->cfg.block_size - 1) / bc->cfg.block_size;
	memcpy(v->md5, md5, 25);
	v->state = V_HASHING;
	v->listed = 1;
	v->next = bc->checks;
	bc->checks = v;
	return v;
}

struct ferry_bcache_reader *ferry_bcache_open(struct ferry_bcache *bc, const char *path, uint64_t size,
					      int64_t mtime, const char *etag, const char *md5)
{
	struct ferry_bcache_reader *r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		free(r);
		return NULL;
	}
	r->bc = bc;
	r->size = size;
	r->key = ferry_cache_key(path, size, mtime, etag);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_lock(&bc->lock);
	for (; bc->ndead && is_dead(bc, r->key); r->refetch = 1) /* failed its check: read it afresh */
		r->key = (r->key ^ 0x9E3779B97F4A7C15ULL) * 1099511628211ULL;
	if (bc->verify != FERRY_VERIFY_OFF && md5 && strlen(md5) == 24 && size > 0) {
		struct vcheck *v = vc_find(bc, r->key);
		if (!v)
			v = vc_new(bc, r->key, path, size, md5);
		if (v) {
			v->refs++;
			r->vc = v;
		}
	}
	r->onext = bc->open_head;
	if (r->onext)
		r->onext->oprev = r;
	bc->open_head = r;
	pthread_mutex_unlock(&bc->lock);
	return r;
}

int ferry_bcache_reader_refetch(struct ferry_bcache_reader *r)
{
	return r->refetch;
}

void ferry_bcache_reader_seed(struct ferry_bcache_reader *r, uint64_t off)
{
	if (!off)
		return;
	uint64_t bs = r->bc->cfg.block_size;
	pthread_mutex_lock(&r->lock);
	r->have_prev = 1;
	r->next_off = off;
	r->last_block = (off - 1) / bs;
	r->streak = off / bs > 30 ? 30 : (unsigned)(off / bs);
	pthread_mutex_unlock(&r->lock);
}

/* Pin block idx READY, fetching it on this thread if nobody has it. */
static struct block *get_block(struct ferry_bcache_reader *r, uint64_t idx, ferry_err *err)
{
	struct ferry_bcache *bc = r->bc;
	pthread_mutex_lock(&bc->lock);
	int waited = 0;
	double t0 = 0;
	for (;;) {
		struct block *b = find(bc, r->key, idx);
		if (b && b->state == B_READY) {
			b->refs++;
			lru_remove(b);
			if (b->unread) {
				b->unread = 0;
				bc->unread_bytes -= b->len;
				bc->c.prefetch_used++;
			}
			if (waited)
				wait_end(bc, t0);
			else
				bc->c.hits++;
			pthread_mutex_unlock(&bc->lock);
			return b;
		}
		if (b) { /* LOADING by a prefetcher or another reader */
			if (!waited) {
				waited = 1;
				t0 = ferry_now_us();
				bc->c.misses++;
				wait_begin(bc, t0);
			}
			pthread_cond_wait(&bc->ready, &bc->lock);
			continue;
		}
		/* Reserve the block's bytes with no lock held (the budget may
		 * wait and call the reclaimers, ours included), then look again:
		 * someone may have started the block meanwhile. */
		if (!waited) {
			bc->c.misses++;
			t0 = ferry_now_us();
			waited = 1;
			wait_begin(bc, t0);
		}
		size_t len = block_len(bc, idx, r->size);
		pthread_mutex_unlock(&bc->lock);
		ferry_membudget_reserve(bc->mb, len);
		pthread_mutex_lock(&bc->lock);
		if (find(bc, r->key, idx)) {
			ferry_membudget_release(bc->mb, len);
			continue;
		}
		if (!(b = new_block(bc, r->key, idx, r->size))) {
			ferry_membudget_release(bc->mb, len);
			wait_end(bc, t0);
			pthread_mutex_unlock(&bc->lock);
			ferry_err_set(err, FERRY_E_IO, "out of memory for a %llu-byte block",
				      (unsigned long long)bc->cfg.block_size);
			return NULL;
		}
		b->refs = 1;
		pthread_mutex_unlock(&bc->lock);
		int rc = fetch(bc, b, r->path, err);
		pthread_mutex_lock(&bc->lock);
		wait_end(bc, t0);
		if (rc < 0) {
			settle(bc, b, rc, r->path);
			pthread_mutex_unlock(&bc->lock);
			return NULL;
		}
		settle(bc, b, rc, r->path);
		ferry_debug("block cache miss: block %llu of '%s' fetched%s", (unsigned long long)idx, r->path,
			    rc == 1 ? " from disk" : "");
		evict(bc);
		pthread_mutex_unlock(&bc->lock);
		return b;
	}
}

/* Forget the "prefetched, not yet read" marks of r's window below pf_next
 * so those blocks become evictable (bc->lock held). */
static void release_unread(struct ferry_bcache_reader *r)
{
	struct ferry_bcache *bc = r->bc;
	for (uint64_t i = 0; i < r->pf_next && i <= bc->cfg.prefetch_blocks + 1; i++) {
		struct block *b = find(bc, r->key, r->pf_next - 1 - i);
		if (b && b->unread) {
			b->unread = 0;
			bc->unread_bytes -= b->len;
			if (b->refs == 0 && b->state == B_READY)
				lru_push(bc, b);
		}
	}
}

/* Drop r's queued prefetches that no worker has started (bc->lock held).
 * Their blocks are LOADING with only the prefetch pin: anyone waiting on one
 * wakes, finds it gone and fetches it itself. */
static void cancel_prefetch(struct ferry_bcache_reader *r)
{
	struct ferry_bcache *bc = r->bc;
	struct job **pp = &bc->pf_head, *last = NULL;
	while (*pp) {
		struct job *j = *pp;
		if (j->owner != r) {
			last = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		unhash(bc, j->b);
		free_block(bc, j->b);
		free(j->path);
		free(j);
		bc->c.prefetch_cancelled++;
	}
	bc->pf_tail = last;
	pthread_cond_broadcast(&bc->ready);
}

/* Reserve len bytes for speculative work if the budget has them free beyond
 * a quarter of its limit, evicting this cache's LRU blocks (read, unpinned)
 * to make room: 1, or 0 (bc->lock held). */
static int reserve_spare(struct ferry_bcache *bc, size_t len)
{
	uint64_t keep = ferry_membudget_limit(bc->mb) / 4;
	if (ferry_membudget_try_reserve(bc->mb, len, keep))
		return 1;
	uint64_t freed = 0;
	for (struct block *b = bc->lru.lprev, *prev; b != &bc->lru && freed < len; b = prev) {
		prev = b->lprev;
		if (b->refs == 0 && !b->unread && !b->held && b->state == B_READY) {
			freed += b->len;
			lru_remove(b);
			unhash(bc, b);
			bc->c.evicted++;
			free_block(bc, b);
		}
	}
	return freed && ferry_membudget_try_reserve(bc->mb, len, keep);
}

/* Queue blocks [from, to] for prefetch (reader lock held). */
static void prefetch(struct ferry_bcache_reader *r, uint64_t from, uint64_t to)
{
	struct ferry_bcache *bc = r->bc;
	uint64_t nblocks = (r->size + bc->cfg.block_size - 1) / bc->cfg.block_size;
	if (to >= nblocks)
		to = nblocks ? nblocks - 1 : 0;
	if (bc->n_readers == 0 || from > to || from >= nblocks)
		return;
	pthread_mutex_lock(&bc->lock);
	uint64_t idx = from;
	for (; idx <= to; idx++) {
		if (find(bc, r->key, idx))
			continue;
		if (bc->unread_bytes + bc->cfg.block_size > bc->unread_cap)
			break;
		/* Prefetch is the first thing to give way: it only takes budget
		 * that is free now (evicting this cache's read blocks for it),
		 * leaving a quarter of the limit to demand reads. */
		size_t len = block_len(bc, idx, r->size);
		if (!reserve_spare(bc, len)) {
			bc->c.budget_refused++;
			break;
		}
		struct job *j = calloc(1, sizeof(*j));
		struct block *b = j ? new_block(bc, r->key, idx, r->size) : NULL;
		if (!b || !(j->path = strdup(r->path))) {
			if (b) {
				unhash(bc, b);
				free_block(bc, b);
			} else
				ferry_membudget_release(bc->mb, len);
			free(j);
			break;
		}
		b->refs = 1; /* the prefetch pin, dropped by the worker */
		b->unread = 1;
		bc->unread_bytes += b->len;
		j->b = b;
		j->owner = r;
		if (bc->pf_tail)
			bc->pf_tail->next = j;
		else
			bc->pf_head = j;
		bc->pf_tail = j;
		pthread_cond_signal(&bc->work);
	}
	r->pf_next = idx;
	pthread_mutex_unlock(&bc->lock);
}

/* Is every block of [first, last] READY in RAM? */
static int blocks_ready(struct ferry_bcache_reader *r, uint64_t first, uint64_t last)
{
	struct ferry_bcache *bc = r->bc;
	int ok = 1;
	pthread_mutex_lock(&bc->lock);
	for (uint64_t i = first; i <= last && ok; i++) {
		struct block *b = find(bc, r->key, i);
		ok = b && b->state == B_READY;
	}
	pthread_mutex_unlock(&bc->lock);
	return ok;
}

/* Free the reader's last range and give its bytes back (r->lock held). */
static void drop_range(struct ferry_bcache_reader *r)
{
	if (r->rbuf)
		ferry_membudget_release(r->bc->mb, r->rlen);
	ferry_data_free(r->rbuf, r->rlen);
	r->rbuf = NULL;
	r->rlen = 0;
}

/* Random mode: serve [off, off+len) (within the file) from the reader's last
 * range, a block file on disk, or one RANGE-aligned ranged read of storage.
 * Called and returns with r->lock held (dropped around I/O). Returns 0 when
 * buf is filled, -1 on a storage error, 1 when the block path should serve
 * it (the blocks are in RAM already, or the range would be a block's worth). */
static int read_random(struct ferry_bcache_reader *r, uint64_t off, size_t len, char *buf, ferry_err *err)
{
	struct ferry_bcache *bc = r->bc;
	uint64_t bs = bc->cfg.block_size, first = off / bs, last = (off + len - 1) / bs;
	if (r->rlen && off >= r->roff && off + len <= r->roff + r->rlen) {
		memcpy(buf, r->rbuf + (off - r->roff), len);
		pthread_mutex_lock(&bc->lock);
		bc->c.hits++;
		pthread_mutex_unlock(&bc->lock);
		return 0;
	}
	if (r->vc) {
		/* Near the MD5 cursor of a version being checked (a sequential
		 * reader whose reads the kernel sent out of order): blocks, which
		 * are hashed, rather than ranges, which are not. */
		pthread_mutex_lock(&bc->lock);
		struct vcheck *v = r->vc;
		int near = v->state == V_HASHING && last >= v->cursor &&
			   first <= v->cursor + bc->cfg.coalesce_max / bs + 2;
		pthread_mutex_unlock(&bc->lock);
		if (near)
			return 1;
	}
	uint64_t lo = off / RANGE * RANGE, hi = (off + len + RANGE - 1) / RANGE * RANGE;
	if (hi > r->size)
		hi = r->size;
	if (hi - lo > bs / 2 || (r->cur && r->cur->idx == first && first == last))
		return 1;
	pthread_mutex_unlock(&r->lock);
	int rc = 1;
	if (blocks_ready(r, first, last))
		goto out;
	if (bc->disk_dir && first == last) {
		char name[4200];
		disk_name(bc, r->key, first, name, sizeof(name));
		int fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = pread(fd, buf, len, (off_t)(off - first * bs));
			close(fd);
			if (n == (ssize_t)len) {
				pthread_mutex_lock(&bc->lock);
				bc->c.disk_hits++;
				pthread_mutex_unlock(&bc->lock);
				rc = 0;
				goto out;
			}
		}
	}
	double t0 = ferry_now_us();
	ferry_membudget_reserve(bc->mb, hi - lo); /* no lock held: may wait and reclaim */
	char *nb = ferry_data_alloc(hi - lo);
	if (!nb) {
		ferry_membudget_release(bc->mb, hi - lo);
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory for a %llu-byte range",
				   (unsigned long long)(hi - lo));
		goto out;
	}
	pthread_mutex_lock(&bc->lock);
	wait_begin(bc, t0);
	pthread_mutex_unlock(&bc->lock);
	int frc = read_range(bc, r->path, lo, (size_t)(hi - lo), nb, err);
	pthread_mutex_lock(&bc->lock);
	wait_end(bc, t0);
	if (frc == 0) {
		bc->c.misses++;
		bc->c.ranged++;
		bc->c.ranged_bytes += hi - lo;
	}
	pthread_mutex_unlock(&bc->lock);
	if (frc < 0) {
		ferry_data_free(nb, hi - lo);
		ferry_membudget_release(bc->mb, hi - lo);
		rc = -1;
		goto out;
	}
	memcpy(buf, nb + (off - lo), len);
	pthread_mutex_lock(&r->lock);
	drop_range(r);
	r->rbuf = nb;
	r->roff = lo;
	r->rlen = (size_t)(hi - lo);
	return 0;
out:
	pthread_mutex_lock(&r->lock);
	return rc;
}

/* After a read of [off, off+len) was served: hash what is in order; a read
 * of the last byte waits for the verdict (and fails on a mismatch). */
static int md5_after_read(struct ferry_bcache_reader *r, uint64_t off, size_t len, size_t *got, ferry_err *err)
{
	if (!r->vc)
		return 0;
	pthread_mutex_lock(&r->bc->lock);
	vc_advance(r->bc, r->vc);
	int rc = off + len == r->size ? vc_verdict(r, err) : 0;
	pthread_mutex_unlock(&r->bc->lock);
	if (rc < 0)
		*got = 0;
	return rc;
}

int ferry_bcache_read(struct ferry_bcache_reader *r, uint64_t off, size_t len, char *buf, size_t *got,
		      ferry_err *err)
{
	struct ferry_bcache *bc = r->bc;
	uint64_t bs = bc->cfg.block_size;
	*got = 0;
	if (off >= r->size || len == 0)
		return 0;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	uint64_t first = off / bs, last = (off + len - 1) / bs;
	if (r->vc) {
		pthread_mutex_lock(&bc->lock);
		int bad = r->vc->state == V_MISMATCH ? vc_verdict(r, err) : 0;
		pthread_mutex_unlock(&bc->lock);
		if (bad < 0)
			return -1;
	}

	/* Sequential detection, random mode and the prefetch window. */
	pthread_mutex_lock(&r->lock);
	uint64_t late = bs > SEQ_LATE ? bs : SEQ_LATE, skip = bs > SEQ_SKIP ? bs : SEQ_SKIP;
	int seq = r->have_prev ? (off + late >= r->next_off && off <= r->next_off + skip) : off == 0;
	if (r->random) {
		int near = off + RANGE >= r->next_off && off <= r->next_off + RANGE;
		r->near_run = near ? r->near_run + 1 : 0;
		if (r->near_run >= 2) {
			r->random = 0; /* sequential again: blocks and prefetch resume */
			ferry_debug("block cache: '%s' read sequentially again at %llu", r->path,
				    (unsigned long long)off);
		}
	} else if (!seq) {
		r->streak = 0;
		r->random = 1;
		r->near_run = 0;
		pthread_mutex_lock(&bc->lock);
		cancel_prefetch(r);
		release_unread(r);
		bc->c.random_switches++;
		if (r->vc)
			r->vc->jumped = 1; /* the check goes on while its cursor can advance */
		pthread_mutex_unlock(&bc->lock);
		r->pf_next = 0;
		ferry_debug("block cache: '%s' read at random (%llu after %llu): small ranges, no prefetch",
			    r->path, (unsigned long long)off, (unsigned long long)r->next_off);
	} else if (r->have_prev && last > r->last_block) {
		uint64_t t = r->streak + (last - r->last_block);
		r->streak = t > 30 ? 30 : (unsigned)t;
	}
	/* a sequential reader's late read (the kernel's reordering) leaves where
	 * it got to as it was */
	int behind = seq && !r->random && r->have_prev && off + len < r->next_off;
	r->have_prev = 1;
	if (!behind) {
		r->next_off = off + len;
		r->last_block = last;
	}
	if (r->random) {
		int rc = read_random(r, off, len, buf, err); /* drops and retakes r->lock around I/O */
		if (rc <= 0) {
			pthread_mutex_unlock(&r->lock);
			*got = rc == 0 ? len : 0;
			return rc < 0 ? rc : md5_after_read(r, off, len, got, err);
		}
	}
	if (!r->random && r->streak >= 2 && bc->cfg.prefetch_blocks > 0) {
		uint64_t window = 1ULL << (r->streak < 21 ? r->streak : 21);
		if (window > bc->cfg.prefetch_blocks)
			window = bc->cfg.prefetch_blocks;
		uint64_t from = r->pf_next > last + 1 ? r->pf_next : last + 1;
		/* Top the window up only when a whole GET's worth of it is free
		 * (or the rest of the file is less): refilled one block at a time,
		 * each block would be a GET of its own. */
		uint64_t batch = bc->cfg.coalesce_max / bs;
		if (batch > window / 2)
			batch = window / 2;
		if (batch < 1)
			batch = 1;
		uint64_t nblocks = (r->size + bs - 1) / bs;
		uint64_t to = last + window < nblocks ? last + window : nblocks - 1;
		if (from <= to && (to - from + 1 >= batch || to == nblocks - 1))
			prefetch(r, from, to);
	}
	pthread_mutex_unlock(&r->lock);
	if (r->vc) {
		pthread_mutex_lock(&bc->lock);
		vc_throttle(bc, r->vc);
		pthread_mutex_unlock(&bc->lock);
	}

	for (uint64_t idx = first; idx <= last; idx++) {
		struct block *b = NULL;
		pthread_mutex_lock(&r->lock);
		pthread_mutex_lock(&bc->lock);
		if (r->cur && r->cur->idx == idx) {
			b = r->cur;
			b->refs++;
			bc->c.hits++;
		} else if (r->cur) {
			/* Moving on: let go of the previous block before asking for
			 * this one, so that, if the budget is short, it is the first
			 * thing others can take rather than held while we wait. */
			unpin(bc, r->cur);
			r->cur = NULL;
		}
		pthread_mutex_unlock(&bc->lock);
		pthread_mutex_unlock(&r->lock);
		if (!b && !(b = get_block(r, idx, err)))
			return -1;
		uint64_t boff = idx * bs;
		uint64_t from = off > boff ? off - boff : 0;
		uint64_t to = off + len < boff + b->len ? off + len - boff : b->len;
		memcpy(buf + (boff + from - off), b->data + from, (size_t)(to - from));
		*got += (size_t)(to - from);
		/* Keep this block pinned as the reader's current one. */
		pthread_mutex_lock(&r->lock);
		pthread_mutex_lock(&bc->lock);
		if (r->cur != b) {
			if (r->cur)
				unpin(bc, r->cur);
			r->cur = b;
		} else
			unpin(bc, b);
		vc_hold(bc, r->vc, b);
		pthread_mutex_unlock(&bc->lock);
		pthread_mutex_unlock(&r->lock);
	}
	return md5_after_read(r, off, len, got, err);
}

void ferry_bcache_close(struct ferry_bcache_reader *r)
{
	if (!r)
		return;
	struct ferry_bcache *bc = r->bc;
	pthread_mutex_lock(&bc->lock);
	if (r->cur)
		unpin(bc, r->cur);
	/* Prefetches not started are dropped; blocks prefetched for this reader
	 * and never read become evictable. */
	cancel_prefetch(r);
	release_unread(r);
	vc_put(bc, r->vc);
	evict(bc);
	if (r->oprev)
		r->oprev->onext = r->onext;
	else
		bc->open_head = r->onext;
	if (r->onext)
		r->onext->oprev = r->oprev;
	pthread_mutex_unlock(&bc->lock);
	drop_range(r);
	pthread_mutex_destroy(&r->lock);
	free(r->path);
	free(r);
}
