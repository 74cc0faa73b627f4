/*
 * filecache.c — whole files of the mount on local disk, bounded and pruned LRU,
 * and the reads of a file while its download runs.
 *
 * Each blob version (cache key of path, size, mtime, etag) has at most one
 * entry: LOADING while its download runs in the background, READY once the
 * temporary is renamed into place as <dir>/<key>, FAILED when the download
 * failed (taken out of the table at once, so the next open starts afresh; the
 * struct lives until its last handle closes). `used` counts READY and LOADING
 * bytes (a download reserves its size when it is admitted, so parallel opens
 * cannot overshoot the limit). READY entries sit on an LRU list; only those
 * with no opener are deleted.
 *
 * open() does not wait for the download: the first opener admits the entry,
 * creates the temporary and starts one detached download thread (which starts
 * its part threads and asks for the stored MD5 while they run), and every
 * opener gets a descriptor of the temporary (or of the final file once
 * READY; the rename happens under `lock`, so an opener sees one or the
 * other). Every handle of the file shares that one download. A read asks
 * ferry_fcache_wait first:
 *   - the range has landed (every part it touches is written): read the
 *     descriptor (the fs splices it, as for a READY file);
 *   - the first part it needs is being fetched or is the next to be taken:
 *     wait for it (on `ready`, broadcast when a part lands);
 *   - else (a jump ahead of the download front): FERRY_FCACHE_FAR, and the fs
 *     reads exactly that range from storage (ferry_fcache_fetch), one ranged
 *     GET, as block mode's random reads do; the download goes on in order.
 * The MD5 of the whole file is known only after its last part. So that a
 * reader that reads to the end (cat, cp, a hash) learns of a mismatch, a read
 * that reaches the file's last byte is answered only after the check (it waits
 * for READY when the file is checked). A reader that never reads the end may
 * have been served bytes of a download that later fails the check; every read
 * after the failure gets an error (the fs answers EIO).
 *
 * Closing every handle before the download ends does not stop it: the file
 * finishes in the background within the space admitted for it and becomes an
 * ordinary READY entry (the next open is a hit). Only ferry_fcache_destroy
 * cancels downloads (the sink refuses more bytes; it waits for them to stop).
 *
 * The limit is recomputed at each admission from statvfs, because other
 * programs share the disk: cap = used + available − max(reserved, leave_free),
 * lowered to DATASET_MOUNT_CACHE_SIZE when that is a positive size.
 *
 * Threads: `lock` guards the table, the LRU list, the counters, every
 * entry's state and open count and a running download's part table. Storage
 * reads, hashing and local writes run outside it; the rename, the unlink of a
 * failed temporary and the open(2) of a cached copy run under it (short, and
 * it keeps the name an opener sees consistent with the state).
 */
#include "cache/filecache.h"
#include "core/files.h"
#include "core/sys.h"
#include "cache/blockcache.h" /* ferry_cache_key */
#include "core/log.h"
#include "core/md5order.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

enum { E_LOADING, E_READY, E_FAILED };

struct dl;

struct ferry_fcache_entry {
	uint64_t key, size;
	int state;             /* lock; also read atomically by ferry_fcache_wait's fast path */
	int opens;
	int running;           /* its download thread has not finished */
	char *path;            /* the blob (for ranged reads) */
	char *tmp;             /* the temporary's name while LOADING */
	struct dl *dl;         /* LOADING: the download's part table */
	ferry_err *err;        /* FAILED: why (malloc'd; NULL: out of memory) */
	struct ferry_fcache_entry *hnext, *lprev, *lnext;
};

struct ferry_fcache {
	struct ferry_fcache_config cfg;
	char *dir;
	pthread_mutex_t lock;        /* guards everything below */
	pthread_cond_t ready;
	struct ferry_fcache_entry **tab;
	size_t tabsize;
	struct ferry_fcache_entry lru; /* sentinel; lru.lnext = most recent */
	uint64_t used;
	unsigned seq;
	unsigned active;             /* downloads running */
	int stopping;                /* destroy: downloads stop (atomic; set under lock) */
	struct ferry_fcache_counters c;
};

static void lru_unlink(struct ferry_fcache_entry *e)
{
	if (e->lprev) {
		e->lprev->lnext = e->lnext;
		e->lnext->lprev = e->lprev;
		e->lprev = e->lnext = NULL;
	}
}

static void lru_front(struct ferry_fcache *fc, struct ferry_fcache_entry *e)
{
	lru_unlink(e);
	e->lnext = fc->lru.lnext;
	e->lprev = &fc->lru;
	fc->lru.lnext->lprev = e;
	fc->lru.lnext = e;
}

static struct ferry_fcache_entry **slot(struct ferry_fcache *fc, uint64_t key)
{
	return &fc->tab[key % fc->tabsize];
}

static void unhash(struct ferry_fcache *fc, struct ferry_fcache_entry *e)
{
	struct ferry_fcache_entry **pp = slot(fc, e->key);
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

static void entry_free(struct ferry_fcache_entry *e)
{
	free(e->path);
	free(e->tmp);
	free(e->err);
	free(e);
}

static void file_name(struct ferry_fcache *fc, uint64_t key, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%016llx", fc->dir, (unsigned long long)key);
}

/* The most the cache may hold now (lock held). */
static uint64_t cap_now(struct ferry_fcache *fc)
{
	struct statvfs sv;
	uint64_t avail = UINT64_MAX / 4;
	if (statvfs(fc->dir, &sv) == 0)
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	uint64_t keep = fc->cfg.reserved_free;
	if (fc->cfg.cache_size < -1 && (uint64_t)(-fc->cfg.cache_size) > keep)
		keep = (uint64_t)(-fc->cfg.cache_size);
	uint64_t cap = fc->used + avail > keep ? fc->used + avail - keep : 0;
	if (fc->cfg.cache_size >= 0 && (uint64_t)fc->cfg.cache_size < cap)
		cap = (uint64_t)fc->cfg.cache_size;
	return cap;
}

/* Delete LRU entries nobody has open until used + need <= goal (lock held;
 * unlink under the lock is short and keeps `used` exact). */
static void prune(struct ferry_fcache *fc, uint64_t need, uint64_t goal)
{
	struct ferry_fcache_entry *e = fc->lru.lprev;
	while (fc->used + need > goal && e != &fc->lru) {
		struct ferry_fcache_entry *prev = e->lprev;
		if (e->opens == 0 && e->state == E_READY) {
			char name[4200];
			file_name(fc, e->key, name, sizeof(name));
			unlink(name);
			fc->used -= e->size;
			fc->c.evicted++;
			ferry_info("file cache: evicted %s (%llu bytes); cache now %llu bytes", name,
				   (unsigned long long)e->size, (unsigned long long)fc->used);
			lru_unlink(e);
			unhash(fc, e);
			entry_free(e);
		}
		e = prev;
	}
}

int ferry_fcache_new(const struct ferry_fcache_config *cfg, struct ferry_fcache **out, ferry_err *err)
{
	struct ferry_fcache *fc = calloc(1, sizeof(*fc));
	if (!fc)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	fc->cfg = *cfg;
	if (!fc->cfg.threads)
		fc->cfg.threads = 1;
	if (!fc->cfg.part_size)
		fc->cfg.part_size = 8 << 20;
	fc->tabsize = 65521;
	fc->tab = calloc(fc->tabsize, sizeof(*fc->tab));
	fc->dir = strdup(cfg->dir);
	if (!fc->tab || !fc->dir) {
		free(fc->tab);
		free(fc->dir);
		free(fc);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	fc->cfg.dir = fc->dir;
	if (mkdir(fc->dir, 0700) < 0 && errno != EEXIST) {
		ferry_err_set(err, FERRY_E_IO, "cannot create cache folder %s: %s", fc->dir, strerror(errno));
		free(fc->tab);
		free(fc->dir);
		free(fc);
		return -1;
	}
	fc->lru.lnext = fc->lru.lprev = &fc->lru;
	pthread_mutex_init(&fc->lock, NULL);
	pthread_cond_init(&fc->ready, NULL);
	*out = fc;
	return 0;
}

void ferry_fcache_destroy(struct ferry_fcache *fc)
{
	if (!fc)
		return;
	pthread_mutex_lock(&fc->lock);
	__atomic_store_n(&fc->stopping, 1, __ATOMIC_RELAXED);
	while (fc->active)
		pthread_cond_wait(&fc->ready, &fc->lock);
	pthread_mutex_unlock(&fc->lock);
	for (size_t i = 0; i < fc->tabsize; i++)
		for (struct ferry_fcache_entry *e = fc->tab[i], *n; e; e = n) {
			n = e->hnext;
			char name[4200];
			file_name(fc, e->key, name, sizeof(name));
			unlink(name);
			entry_free(e);
		}
	rmdir(fc->dir);
	free(fc->tab);
	free(fc->dir);
	pthread_mutex_destroy(&fc->lock);
	pthread_cond_destroy(&fc->ready);
	free(fc);
}

void ferry_fcache_counters(struct ferry_fcache *fc, struct ferry_fcache_counters *out)
{
	pthread_mutex_lock(&fc->lock);
	*out = fc->c;
	out->used = fc->used;
	pthread_mutex_unlock(&fc->lock);
}

/* ---- the download: parts taken in file order by up to cfg.threads threads ---- */

enum { P_WAITING, P_FETCHING, P_LANDED };

struct dl {
	struct ferry_fcache *fc;
	struct ferry_fcache_entry *e;
	char *path;                  /* the entry's (borrowed) */
	int fd;                      /* the temporary, read-write: the hasher reads landed parts back */
	uint64_t size, part;
	/* guarded by fc->lock */
	uint64_t next;               /* offset of the next part to take */
	unsigned char *parts;        /* P_* of each part */
	uint64_t *got;               /* bytes of each part written so far, from its start (atomic:
				      * the sink stores, readers load; storage hands a part's bytes
				      * over in order, so they are contiguous) */
	unsigned waiters;            /* readers in ferry_fcache_wait (atomic; changed under lock) */
	int failed;
	ferry_err err;
	uint64_t bytes;
	/* set before the threads start */
	int check, verify;
	char md5[25];                /* the stored MD5 from the attributes; "": ask storage */
	struct ferry_md5order *hash; /* NULL: not checked */
	char digest[25];             /* set by the thread that hashed the end (then `hashed`) */
	int hashed;
};

struct dl_sink {
	struct dl *d;
	unsigned idx;
	uint64_t start, written;
};

/* Write bytes of a part and publish how far the part has got, so that a
 * reader waiting at the front gets its range as soon as it is written rather
 * than when the whole part is (the first byte of a file comes after the first
 * chunk of the first GET). The store/load pairs on `got` and `waiters` are
 * sequentially consistent: either the sink sees the waiter and wakes it, or
 * the waiter, which counts itself before it looks, sees the new length. */
static int dl_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct dl_sink *s = arg;
	struct dl *d = s->d;
	if (__atomic_load_n(&d->fc->stopping, __ATOMIC_RELAXED)) {
		errno = ECANCELED;
		return -1;
	}
	/* bytes at the hash cursor are hashed from memory before they are
	 * written (core/md5order.h); the rest when their part has landed */
	int h = d->hash ? ferry_md5order_feed(d->hash, d->fd, off, data, len, d->digest) : 0;
	if (h < 0)
		return -1;
	if (h == 1) {
		pthread_mutex_lock(&d->fc->lock);
		d->hashed = 1;
		pthread_mutex_unlock(&d->fc->lock);
	}
	if (ferry_pwrite_all(d->fd, data, len, off) < 0)
		return -1;
	s->written += len;
	__atomic_store_n(&d->got[s->idx], off + len - s->start, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&d->waiters, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&d->fc->lock);
		pthread_cond_broadcast(&d->fc->ready);
		pthread_mutex_unlock(&d->fc->lock);
	}
	return 0;
}

static void *dl_main(void *arg)
{
	struct dl *d = arg;
	struct ferry_fcache *fc = d->fc;
	for (;;) {
		pthread_mutex_lock(&fc->lock);
		if (d->failed || d->next >= d->size || __atomic_load_n(&fc->stopping, __ATOMIC_RELAXED)) {
			pthread_mutex_unlock(&fc->lock);
			return NULL;
		}
		uint64_t off = d->next;
		uint64_t len = d->size - off < d->part ? d->size - off : d->part;
		unsigned idx = (unsigned)(off / d->part);
		d->next += len;
		d->parts[idx] = P_FETCHING;
		pthread_mutex_unlock(&fc->lock);
		struct dl_sink s = { .d = d, .idx = idx, .start = off };
		ferry_err e;
		ferry_err_clear(&e);
		int rc = ferry_store_read_within(fc->cfg.store, d->path, off, len, dl_sink, &s,
						 fc->cfg.read_timeout_ms, &e);
		if (rc == 0 && s.written != len)
			rc = ferry_err_set(&e, FERRY_E_INTEGRITY,
					   "blob '%s': bytes %llu-%llu: storage returned %llu of %llu bytes",
					   d->path, (unsigned long long)off, (unsigned long long)(off + len - 1),
					   (unsigned long long)s.written, (unsigned long long)len);
		/* readers may use the part from now on */
		pthread_mutex_lock(&fc->lock);
		d->bytes += s.written;
		if (rc == 0)
			d->parts[idx] = P_LANDED;
		pthread_cond_broadcast(&fc->ready);
		pthread_mutex_unlock(&fc->lock);
		int h = 0;
		if (rc == 0 && d->hash && (h = ferry_md5order_landed(d->hash, d->fd, idx, d->digest)) < 0)
			rc = ferry_err_set(&e, FERRY_E_IO, "blob '%s': cannot read the cached bytes back: %s", d->path,
					   strerror(errno));
		pthread_mutex_lock(&fc->lock);
		if (h == 1)
			d->hashed = 1;
		if (rc < 0 && !d->failed) {
			d->failed = 1;
			d->err = e;
			ferry_log(FERRY_LOG_ERROR, "read of blob '%s' bytes %llu-%llu failed: %s", d->path,
				  (unsigned long long)off, (unsigned long long)(off + len - 1), e.msg);
		}
		pthread_mutex_unlock(&fc->lock);
	}
}

/* The download's verdict once its parts are done: 0, or -1 with err. Writes
 * and closes the temporary (d->fd = -1) on success. */
static int dl_verdict(struct dl *d, int src, const struct ferry_entry *st, const ferry_err *serr, ferry_err *err)
{
	if (d->failed) {
		*err = d->err;
		return -1;
	}
	if (__atomic_load_n(&d->fc->stopping, __ATOMIC_RELAXED))
		return ferry_err_set(err, FERRY_E_INTERRUPTED, "blob '%s': download cancelled (unmount)", d->path);
	if (d->check && src < 0) {
		*err = *serr;
		return -1;
	}
	if (d->check && !st->md5[0] && d->verify == FERRY_VERIFY_REQUIRE)
		return ferry_err_set(err, FERRY_E_INTEGRITY,
				     "blob '%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: not opened unchecked",
				     d->path);
	if (d->check && st->md5[0] && (!d->hashed || strcmp(d->digest, st->md5)))
		return ferry_err_set(err, FERRY_E_INTEGRITY,
				     "blob '%s': MD5 mismatch (storage says %s, received %s); the data changed or was corrupted in transit",
				     d->path, st->md5, d->hashed ? d->digest : "(not computed)");
	int fd = d->fd;
	d->fd = -1;
	if (ftruncate(fd, (off_t)d->size) < 0 || close(fd) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", d->e->tmp, strerror(errno));
	return 0;
}

/* Free a download that has no thread (its descriptor closed or never opened). */
static void dl_free(struct dl *d)
{
	if (!d)
		return;
	ferry_md5order_free(d->hash);
	free(d->parts);
	free(d->got);
	free(d);
}

/* The download of one entry, start to end, on its own (detached) thread:
 * part threads, the stored MD5 (asked for while the parts download; first,
 * under `require`, so that a blob without one costs no data request), the
 * verdict, then READY (renamed into place) or FAILED (dropped). */
static void *dl_run(void *arg)
{
	struct dl *d = arg;
	struct ferry_fcache *fc = d->fc;
	struct ferry_fcache_entry *e = d->e;
	struct ferry_entry st = { 0 };
	ferry_err serr;
	ferry_err_clear(&serr);
	int src = 0, stat_done = 0;
	if (d->md5[0]) { /* the attributes carried it: no HEAD */
		memcpy(st.md5, d->md5, sizeof(st.md5));
		stat_done = 1;
	} else if (d->check && d->verify == FERRY_VERIFY_REQUIRE) {
		src = ferry_store_stat(fc->cfg.store, d->path, &st, &serr);
		stat_done = 1;
		if (src == 0 && !st.md5[0]) {
			pthread_mutex_lock(&fc->lock);
			d->failed = 1; /* no part starts */
			pthread_mutex_unlock(&fc->lock);
			ferry_err_set(&d->err, FERRY_E_INTEGRITY,
				      "blob '%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: not opened unchecked",
				      d->path);
			ferry_log(FERRY_LOG_ERROR, "file cache: %s", d->err.msg);
		}
	}
	uint64_t nparts = (d->size + d->part - 1) / d->part;
	unsigned n = nparts < fc->cfg.threads ? (unsigned)nparts : fc->cfg.threads;
	pthread_t th[64];
	unsigned started = 0;
	if (n > 64)
		n = 64;
	for (; started + 1 < n; started++)
		if (pthread_create(&th[started], NULL, dl_main, d) != 0)
			break;
	if (d->check && !stat_done)
		src = ferry_store_stat(fc->cfg.store, d->path, &st, &serr);
	dl_main(d);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);

	ferry_err err;
	ferry_err_clear(&err);
	int rc = dl_verdict(d, src, &st, &serr, &err);
	ferry_entry_clear(&st);
	if (d->fd >= 0)
		close(d->fd);
	if (rc < 0 && !d->failed && err.code != FERRY_E_INTERRUPTED) /* a failed read was logged where it failed */
		ferry_log(FERRY_LOG_ERROR, "file cache: %s", err.msg);

	char name[4200];
	file_name(fc, e->key, name, sizeof(name));
	pthread_mutex_lock(&fc->lock);
	fc->c.bytes_downloaded += d->bytes;
	if (rc == 0 && rename(e->tmp, name) < 0)
		rc = ferry_err_set(&err, FERRY_E_IO, "cannot rename %s: %s", e->tmp, strerror(errno));
	if (rc == 0) {
		__atomic_store_n(&e->state, E_READY, __ATOMIC_RELEASE);
		lru_front(fc, e);
	} else {
		unlink(e->tmp);
		if ((e->err = malloc(sizeof(*e->err))))
			*e->err = err;
		__atomic_store_n(&e->state, E_FAILED, __ATOMIC_RELEASE);
		unhash(fc, e);
		fc->used -= e->size;
	}
	e->dl = NULL;
	e->running = 0;
	int drop = e->state == E_FAILED && e->opens == 0;
	fc->active--;
	pthread_cond_broadcast(&fc->ready);
	pthread_mutex_unlock(&fc->lock);
	dl_free(d);
	if (drop)
		entry_free(e);
	return NULL;
}

/* Set up the download of `e` (lock held: the temporary exists before any
 * other opener can look for it). Returns the download, or NULL with err. */
static struct dl *dl_new(struct ferry_fcache *fc, struct ferry_fcache_entry *e, const char *md5, ferry_err *err)
{
	struct dl *d = calloc(1, sizeof(*d));
	uint64_t nparts = (e->size + fc->cfg.part_size - 1) / fc->cfg.part_size;
	if (d) {
		d->parts = calloc(nparts ? nparts : 1, 1);
		d->got = calloc(nparts ? nparts : 1, sizeof(*d->got));
	}
	if (!d || !d->parts || !d->got) {
		dl_free(d);
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	d->fc = fc;
	d->e = e;
	d->path = e->path;
	d->size = e->size;
	d->part = fc->cfg.part_size;
	d->verify = fc->cfg.store->settings ? (int)ferry_setting_int(fc->cfg.store->settings, FS_VERIFY_MD5)
					    : FERRY_VERIFY_AUTO;
	if (d->verify != FERRY_VERIFY_OFF && md5 && strlen(md5) == 24)
		memcpy(d->md5, md5, sizeof(d->md5));
	/* a one-part file is checked when its MD5 costs no request */
	d->check = d->verify == FERRY_VERIFY_REQUIRE ||
		   (d->verify == FERRY_VERIFY_AUTO && (nparts > 1 || d->md5[0]));
	if (d->check && !(d->hash = ferry_md5order_new(e->size, d->part, FERRY_MD5ORDER_MAP))) {
		dl_free(d);
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	d->fd = open(e->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", e->tmp, strerror(errno));
		dl_free(d);
		return NULL;
	}
	if (d->hash && nparts == 0) /* an empty file: no part will land */
		d->hashed = ferry_md5order_landed(d->hash, d->fd, 0, d->digest) == 1;
	return d;
}

/* A descriptor of `e`'s bytes (lock held): the final file once READY, the
 * temporary while LOADING (it stays valid across the rename). */
static int open_copy(struct ferry_fcache *fc, struct ferry_fcache_entry *e, const char *path, ferry_err *err)
{
	char name[4200];
	file_name(fc, e->key, name, sizeof(name));
	const char *which = e->state == E_READY ? name : e->tmp;
	int fd = open(which, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ferry_err_set(err, FERRY_E_IO, "cached copy of '%s' (%s) cannot be opened: %s", path, which,
			      strerror(errno));
	return fd;
}

int ferry_fcache_open(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		      const char *etag, const char *md5, int *fd, struct ferry_fcache_entry **ent, ferry_err *err)
{
	uint64_t key = ferry_cache_key(path, size, mtime, etag);
	char name[4200];
	file_name(fc, key, name, sizeof(name));
	pthread_mutex_lock(&fc->lock);
	struct ferry_fcache_entry *e;
	for (e = *slot(fc, key); e && e->key != key; e = e->hnext)
		;
	if (e) { /* READY, or LOADING: share its download */
		e->opens++;
		if (e->state == E_READY)
			lru_front(fc, e);
		fc->c.hits++;
		int loading = e->state == E_LOADING;
		*fd = open_copy(fc, e, path, err);
		pthread_mutex_unlock(&fc->lock);
		if (*fd < 0) {
			ferry_fcache_close(fc, e);
			return -1;
		}
		ferry_debug("file cache hit: '%s'%s", path, loading ? " (joins its download)" : "");
		*ent = e;
		return 0;
	}
	/* Admission: prune at the threshold, refuse what cannot fit. */
	uint64_t cap = cap_now(fc);
	if (fc->used + size > (uint64_t)(cap * fc->cfg.prune_threshold))
		prune(fc, size, (uint64_t)(cap * fc->cfg.prune_target));
	cap = cap_now(fc);
	if (fc->used + size > cap) {
		prune(fc, size, cap);
		if (fc->used + size > cap) {
			fc->c.nofit++;
			ferry_info("file cache: '%s' (%llu bytes) does not fit (cache holds %llu of %llu "
				   "bytes, the rest is open); streaming it",
				   path, (unsigned long long)size, (unsigned long long)fc->used,
				   (unsigned long long)cap);
			pthread_mutex_unlock(&fc->lock);
			return FERRY_FCACHE_NOFIT;
		}
	}
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.%u.tmp", name, ++fc->seq);
	struct dl *d = NULL;
	if (!(e = calloc(1, sizeof(*e))) || !(e->path = strdup(path)) || !(e->tmp = strdup(tmp))) {
		if (e)
			entry_free(e);
		pthread_mutex_unlock(&fc->lock);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	e->key = key;
	e->size = size;
	e->state = E_LOADING;
	if (!(d = dl_new(fc, e, md5, err))) {
		pthread_mutex_unlock(&fc->lock);
		ferry_log(FERRY_LOG_ERROR, "file cache: %s", err->msg);
		entry_free(e);
		return -1;
	}
	*fd = open_copy(fc, e, path, err);
	if (*fd < 0) {
		pthread_mutex_unlock(&fc->lock);
		close(d->fd);
		unlink(e->tmp);
		dl_free(d);
		entry_free(e);
		return -1;
	}
	e->opens = 1;
	e->running = 1;
	e->dl = d;
	e->hnext = *slot(fc, key);
	*slot(fc, key) = e;
	fc->used += size;
	fc->c.misses++;
	fc->active++;
	pthread_mutex_unlock(&fc->lock);

	ferry_info("file cache miss: downloading '%s' (%llu bytes) in the background", path, (unsigned long long)size);
	pthread_t t;
	pthread_attr_t attr;
	int started = pthread_attr_init(&attr) == 0;
	if (started) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&t, &attr, dl_run, d) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!started) /* no thread to spare: download here, as before */
		dl_run(d);
	*ent = e;
	return FERRY_FCACHE_MISS;
}

int ferry_fcache_wait(struct ferry_fcache *fc, struct ferry_fcache_entry *ent, uint64_t off, size_t len,
		      ferry_err *err)
{
	if (__atomic_load_n(&ent->state, __ATOMIC_ACQUIRE) == E_READY)
		return 0;
	uint64_t end = off + len < ent->size ? off + len : ent->size;
	if (off >= end)
		return 0; /* at or past the end: the descriptor says so */
	double t0 = 0;
	int rc;
	pthread_mutex_lock(&fc->lock);
	for (;;) {
		if (ent->state == E_READY) {
			rc = 0;
			break;
		}
		if (ent->state == E_FAILED) {
			if (ent->err)
				*err = *ent->err;
			else
				ferry_err_set(err, FERRY_E_IO, "blob '%s': download failed", ent->path);
			rc = -1;
			break;
		}
		struct dl *d = ent->dl;
		uint64_t p = off / d->part, last = (end - 1) / d->part;
		while (p <= last && (d->parts[p] == P_LANDED ||
				     __atomic_load_n(&d->got[p], __ATOMIC_SEQ_CST) >=
					     (end < (p + 1) * d->part ? end : (p + 1) * d->part) - p * d->part))
			p++;
		if (p > last && !(end == ent->size && d->check)) {
			rc = 0; /* landed; a read of the last byte waits for the MD5 verdict */
			break;
		}
		if (p <= last && p * d->part > d->next && !(end == ent->size && d->check)) {
			rc = FERRY_FCACHE_FAR; /* neither fetched nor next in line */
			break;
		}
		if (!t0) {
			t0 = ferry_now_us();
			__atomic_add_fetch(&d->waiters, 1, __ATOMIC_SEQ_CST);
			continue; /* look again, counted: the sink may have written meanwhile */
		}
		pthread_cond_wait(&fc->ready, &fc->lock);
	}
	if (t0 && ent->dl) /* still LOADING: the same download */
		__atomic_sub_fetch(&ent->dl->waiters, 1, __ATOMIC_SEQ_CST);
	if (t0) {
		fc->c.wait_us += (uint64_t)(ferry_now_us() - t0);
		fc->c.waits++;
	}
	pthread_mutex_unlock(&fc->lock);
	return rc;
}

int ferry_fcache_fetch(struct ferry_fcache *fc, struct ferry_fcache_entry *ent, uint64_t off, size_t len,
		       char *buf, size_t *got, ferry_err *err)
{
	*got = 0;
	if (off >= ent->size)
		return 0;
	if (len > ent->size - off)
		len = (size_t)(ent->size - off);
	double t0 = ferry_now_us();
	if (ferry_store_read_exact(fc->cfg.store, ent->path, off, len, buf, fc->cfg.read_timeout_ms, err) < 0) {
		ferry_log(FERRY_LOG_ERROR, "read of blob '%s' bytes %llu-%llu (ahead of its download) failed: %s",
			  ent->path, (unsigned long long)off, (unsigned long long)(off + len - 1), err->msg);
		return -1;
	}
	*got = len;
	pthread_mutex_lock(&fc->lock);
	fc->c.ranged++;
	fc->c.ranged_bytes += len;
	fc->c.wait_us += (uint64_t)(ferry_now_us() - t0);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

void ferry_fcache_close(struct ferry_fcache *fc, struct ferry_fcache_entry *ent)
{
	if (!ent)
		return;
	pthread_mutex_lock(&fc->lock);
	ent->opens--;
	int drop = ent->state == E_FAILED && ent->opens == 0 && !ent->running;
	if (ent->state == E_READY)
		lru_front(fc, ent);
	pthread_mutex_unlock(&fc->lock);
	if (drop)
		entry_free(ent);
}

/* ---- fetching ahead: a file brought in for an open expected soon ---- */

int ferry_fcache_prefetch(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
			  const char *etag, const char *md5, ferry_err *err)
{
	/* the same path as an open: one admission rule, one download path, and a
	 * hit costs no request. The open only starts the download (it goes on in
	 * the background): wait for its end here, so that the read-ahead's
	 * threads bound how many files are fetched at once. Not a reader's wait:
	 * not counted in wait_us. */
	int fd = -1;
	struct ferry_fcache_entry *ent = NULL;
	int rc = ferry_fcache_open(fc, path, size, mtime, etag, md5, &fd, &ent, err);
	if (rc < 0 || rc == FERRY_FCACHE_NOFIT)
		return rc;
	close(fd);
	pthread_mutex_lock(&fc->lock);
	/* hits and misses are what readers' opens found: a file fetched ahead
	 * counts as a hit when a reader opens it, not as a miss now */
	if (rc == FERRY_FCACHE_MISS)
		fc->c.misses--;
	else
		fc->c.hits--;
	while (ent->state == E_LOADING)
		pthread_cond_wait(&fc->ready, &fc->lock);
	if (ent->state == E_FAILED) {
		if (ent->err)
			*err = *ent->err;
		else
			ferry_err_set(err, FERRY_E_IO, "blob '%s': download failed", ent->path);
		rc = -1;
	}
	pthread_mutex_unlock(&fc->lock);
	ferry_fcache_close(fc, ent);
	/* downloaded now only when this call started the download: a reader's
	 * open that got there first (even a moment before) did the fetching */
	return rc < 0 ? -1 : rc == FERRY_FCACHE_MISS ? 0 : FERRY_FCACHE_HAD;
}
