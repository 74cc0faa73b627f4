/*
 * filecache.c — whole files of the mount on local disk, bounded and pruned LRU.
 *
 * Each blob version (cache key of path, size, mtime, etag) has at most one
 * entry: LOADING while one opener downloads it (others wait on `ready`),
 * READY once renamed into place as <dir>/<key>. `used` counts READY and
 * LOADING bytes (a download reserves its size before it starts, so parallel
 * opens cannot overshoot the limit). READY entries sit on an LRU list; only
 * those with no opener are deleted.
 *
 * The limit is recomputed at each admission from statvfs, because other
 * programs share the disk: cap = used + available − max(reserved, leave_free),
 * lowered to DATASET_MOUNT_CACHE_SIZE when that is a positive size.
 *
 * Threads: `lock` guards the table, the LRU list and the counters; downloads
 * (one thread per part, at most cfg.threads) and unlink run outside it.
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

enum { E_LOADING, E_READY };

struct ferry_fcache_entry {
	uint64_t key, size;
	int state;
	int opens;
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
			free(e);
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
	for (size_t i = 0; i < fc->tabsize; i++)
		for (struct ferry_fcache_entry *e = fc->tab[i], *n; e; e = n) {
			n = e->hnext;
			char name[4200];
			file_name(fc, e->key, name, sizeof(name));
			unlink(name);
			free(e);
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

/* ---- download: parts taken from a shared counter by up to cfg.threads threads ---- */

struct dl {
	struct ferry_fcache *fc;
	const char *path;
	int fd;
	uint64_t size, next;   /* next part offset; guarded by mu */
	pthread_mutex_t mu;
	int failed;
	ferry_err err;
	uint64_t bytes;
	struct ferry_md5order *hash; /* NULL: not checked */
	char digest[25];             /* set by the thread that hashed the end */
	int hashed;
};

struct dl_sink {
	int fd;
	uint64_t written;
};

static int dl_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct dl_sink *s = arg;
	if (ferry_pwrite_all(s->fd, data, len, off) < 0)
		return -1;
	s->written += len;
	return 0;
}

static void *dl_main(void *arg)
{
	struct dl *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->mu);
		if (d->failed || d->next >= d->size) {
			pthread_mutex_unlock(&d->mu);
			return NULL;
		}
		uint64_t off = d->next;
		uint64_t len = d->size - off < d->fc->cfg.part_size ? d->size - off : d->fc->cfg.part_size;
		d->next += len;
		pthread_mutex_unlock(&d->mu);
		struct dl_sink s = { .fd = d->fd };
		ferry_err e;
		ferry_err_clear(&e);
		int rc = ferry_store_read_within(d->fc->cfg.store, d->path, off, len, dl_sink, &s,
						 d->fc->cfg.read_timeout_ms, &e);
		if (rc == 0 && s.written != len)
			rc = ferry_err_set(&e, FERRY_E_INTEGRITY,
					   "blob '%s': bytes %llu-%llu: storage returned %llu of %llu bytes",
					   d->path, (unsigned long long)off, (unsigned long long)(off + len - 1),
					   (unsigned long long)s.written, (unsigned long long)len);
		int h = 0;
		if (rc == 0 && d->hash &&
		    (h = ferry_md5order_landed(d->hash, d->fd, (unsigned)(off / d->fc->cfg.part_size), d->digest)) < 0)
			rc = ferry_err_set(&e, FERRY_E_IO, "blob '%s': cannot read the cached bytes back: %s", d->path,
					   strerror(errno));
		pthread_mutex_lock(&d->mu);
		d->bytes += s.written;
		if (h == 1)
			d->hashed = 1;
		if (rc < 0 && !d->failed) {
			d->failed = 1;
			d->err = e;
			ferry_log(FERRY_LOG_ERROR, "read of blob '%s' bytes %llu-%llu failed: %s", d->path,
				  (unsigned long long)off, (unsigned long long)(off + len - 1), e.msg);
		}
		pthread_mutex_unlock(&d->mu);
	}
}

static int download(struct ferry_fcache *fc, const char *path, uint64_t size, const char *tmp,
		    const char *final, uint64_t *bytes, ferry_err *err)
{
	/* read-write: the in-order hasher reads landed parts back */
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", tmp, strerror(errno));
	struct dl d = { .fc = fc, .path = path, .fd = fd, .size = size };
	pthread_mutex_init(&d.mu, NULL);
	uint64_t parts = (size + fc->cfg.part_size - 1) / fc->cfg.part_size;
	int64_t verify = fc->cfg.store->settings ? ferry_setting_int(fc->cfg.store->settings, FS_VERIFY_MD5)
						 : FERRY_VERIFY_AUTO;
	int check = verify == FERRY_VERIFY_REQUIRE || (verify == FERRY_VERIFY_AUTO && parts > 1);
	if (check && !(d.hash = ferry_md5order_new(size, fc->cfg.part_size, FERRY_MD5ORDER_MAP))) {
		close(fd);
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (d.hash && parts == 0) /* an empty file: no part will land */
		d.hashed = ferry_md5order_landed(d.hash, fd, 0, d.digest) == 1;
	unsigned n = parts < fc->cfg.threads ? (unsigned)parts : fc->cfg.threads;
	pthread_t th[64];
	unsigned started = 0;
	if (n > 64)
		n = 64;
	for (; started + 1 < n; started++)
		if (pthread_create(&th[started], NULL, dl_main, &d) != 0)
			break;
	/* the stored MD5, asked for while the parts download */
	struct ferry_entry st = { 0 };
	ferry_err serr;
	ferry_err_clear(&serr);
	int src = check ? ferry_store_stat(fc->cfg.store, path, &st, &serr) : 0;
	dl_main(&d);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&d.mu);
	ferry_md5order_free(d.hash);
	*bytes = d.bytes;
	int rc = 0;
	if (d.failed) {
		*err = d.err;
		rc = -1;
	} else if (check && src < 0) {
		*err = serr;
		rc = -1;
	} else if (check && !st.md5[0] && verify == FERRY_VERIFY_REQUIRE) {
		rc = ferry_err_set(err, FERRY_E_INTEGRITY,
				   "blob '%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: not opened unchecked", path);
	} else if (check && st.md5[0] && (!d.hashed || strcmp(d.digest, st.md5))) {
		rc = ferry_err_set(err, FERRY_E_INTEGRITY,
				   "blob '%s': MD5 mismatch (storage says %s, received %s); the data changed or was corrupted in transit",
				   path, st.md5, d.hashed ? d.digest : "(not computed)");
	} else if (ftruncate(fd, (off_t)size) < 0 || close(fd) < 0) {
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		fd = -1;
	} else {
		fd = -1;
		if (rename(tmp, final) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "cannot rename %s: %s", tmp, strerror(errno));
	}
	ferry_entry_clear(&st);
	if (fd >= 0)
		close(fd);
	if (rc < 0 && !d.failed) /* a failed read was logged where it failed */
		ferry_log(FERRY_LOG_ERROR, "file cache: %s", err->msg);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int ferry_fcache_open(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		      const char *etag, int *fd, struct ferry_fcache_entry **ent, ferry_err *err)
{
	uint64_t key = ferry_cache_key(path, size, mtime, etag);
	char name[4200], tmp[4300];
	file_name(fc, key, name, sizeof(name));
	double t0 = ferry_now_us();
	pthread_mutex_lock(&fc->lock);
	struct ferry_fcache_entry *e;
	for (;;) {
		for (e = *slot(fc, key); e && e->key != key; e = e->hnext)
			;
		if (!e || e->state == E_READY)
			break;
		pthread_cond_wait(&fc->ready, &fc->lock);
	}
	if (e) {
		e->opens++;
		lru_front(fc, e);
		fc->c.hits++;
		pthread_mutex_unlock(&fc->lock);
		*fd = open(name, O_RDONLY | O_CLOEXEC);
		if (*fd < 0) {
			ferry_fcache_close(fc, e);
			return ferry_err_set(err, FERRY_E_IO, "cached copy of '%s' (%s) cannot be opened: %s",
					     path, name, strerror(errno));
		}
		ferry_debug("file cache hit: '%s'", path);
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
	if (!(e = calloc(1, sizeof(*e)))) {
		pthread_mutex_unlock(&fc->lock);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	e->key = key;
	e->size = size;
	e->state = E_LOADING;
	e->opens = 1;
	e->hnext = *slot(fc, key);
	*slot(fc, key) = e;
	fc->used += size;
	fc->c.misses++;
	snprintf(tmp, sizeof(tmp), "%s.%u.tmp", name, ++fc->seq);
	pthread_mutex_unlock(&fc->lock);

	ferry_info("file cache miss: downloading '%s' (%llu bytes)", path, (unsigned long long)size);
	uint64_t bytes = 0;
	int rc = download(fc, path, size, tmp, name, &bytes, err);

	pthread_mutex_lock(&fc->lock);
	fc->c.bytes_downloaded += bytes;
	fc->c.wait_us += (uint64_t)(ferry_now_us() - t0);
	if (rc < 0) {
		unhash(fc, e);
		fc->used -= size;
		free(e);
		pthread_cond_broadcast(&fc->ready);
		pthread_mutex_unlock(&fc->lock);
		return -1;
	}
	e->state = E_READY;
	lru_front(fc, e);
	pthread_cond_broadcast(&fc->ready);
	pthread_mutex_unlock(&fc->lock);
	*fd = open(name, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		ferry_fcache_close(fc, e);
		return ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", name, strerror(errno));
	}
	*ent = e;
	return 0;
}

void ferry_fcache_close(struct ferry_fcache *fc, struct ferry_fcache_entry *ent)
{
	if (!ent)
		return;
	pthread_mutex_lock(&fc->lock);
	ent->opens--;
	lru_front(fc, ent);
	pthread_mutex_unlock(&fc->lock);
}

/* ---- fetching ahead: a file brought in for an open expected soon ---- */

int ferry_fcache_fetch(struct ferry_fcache *fc, const char *path, uint64_t size, int64_t mtime,
		       const char *etag, ferry_err *err)
{
	uint64_t key = ferry_cache_key(path, size, mtime, etag);
	pthread_mutex_lock(&fc->lock);
	struct ferry_fcache_entry *e;
	for (e = *slot(fc, key); e && e->key != key; e = e->hnext)
		;
	pthread_mutex_unlock(&fc->lock);
	/* the same path as an open, then closed: one admission rule, one
	 * download path, and a hit costs no request */
	int fd = -1;
	struct ferry_fcache_entry *ent = NULL;
	int rc = ferry_fcache_open(fc, path, size, mtime, etag, &fd, &ent, err);
	if (rc != 0)
		return rc;
	close(fd);
	ferry_fcache_close(fc, ent);
	return e ? FERRY_FCACHE_HAD : 0;
}
