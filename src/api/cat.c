/*
 * cat.c — whole files (or large ranges) read into one buffer with parallel
 * ranged GETs (ferry_api_cat_open / _fill / _close), and many files read into
 * local files at once (ferry_api_get_many). See api.h.
 *
 * The first GET (store read_info) reads the first part (FERRY_TRANSFER_PART_SIZE)
 * and tells the size, ETag and, on Azure, the blob's stored MD5 in the same
 * response, so a small file costs one request and nothing more. The caller
 * then gives a buffer of the exact size (the Python package: the bytes object
 * it returns), and the other parts are fetched on RSLEX_DOWNLOADER_THREADS
 * threads straight into their places in it. The first GET is also the
 * download engine's probe: with more parts left than threads, its time to
 * first byte against its stream's rate chooses the size of the other parts
 * (transfer/partsize.h; larger when requests are slow, at most
 * FERRY_TRANSFER_PART_SIZE_MAX). Every part must carry the first
 * GET's ETag (store.h pin_etag): a file replaced between parts is an error,
 * never a mix of versions. A whole-file read of a file with a stored MD5 is
 * hashed in file order while the parts land (core/md5order.h over memory: the
 * part at the cursor as it streams in, parts that landed ahead of it in place
 * when the cursor reaches them), so the check costs little after the last
 * byte; a mismatch is FERRY_E_INTEGRITY and the buffer must be thrown away.
 *
 * ferry_api_get_many lands each file in a temporary beside its final name
 * (core/tmpname.h), its parts written with pwrite by the same reader, 1 MiB
 * at a time (and hashed back through the page cache, as the download engine
 * does: a mapping of the whole temporary counted the file in the process's
 * RSS), and renames it into place only when every byte is in and checked; a
 * failed file leaves nothing behind.
 */
#include "api/api.h"
#include "api/internal.h"
#include "core/files.h"
#include "core/md5order.h"
#include "core/sys.h"
#include "core/tmpname.h"
#include "core/wgather.h"
#include "store/store.h"
#include "transfer/partsize.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ferry_api_cat {
	struct ferry_store *store;
	char *path, *uri;
	uint64_t off, n;    /* the read gives bytes [off, off+n) */
	uint64_t part;      /* FERRY_TRANSFER_PART_SIZE: the first GET's length, the hasher's unit */
	uint64_t part_max;  /* FERRY_TRANSFER_PART_SIZE_MAX */
	char *head;         /* bytes [off, off+head_len) from the first GET */
	uint64_t head_len;
	double ttfb_s, body_s; /* the first GET: time to its first byte, from there to its end */
	char md5[25];       /* the whole file's stored MD5 to check, or "" */
	unsigned threads;   /* RSLEX_DOWNLOADER_THREADS */
};

void ferry_api_run_workers(unsigned n, void *(*fn)(void *), void *arg)
{
	pthread_t *tid = n > 1 ? calloc(n - 1, sizeof(*tid)) : NULL;
	unsigned started = 0;
	/* the caller's thread is one worker; a thread that cannot start is one fewer */
	while (tid && started < n - 1 && pthread_create(&tid[started], NULL, fn, arg) == 0)
		started++;
	fn(arg);
	for (unsigned k = 0; k < started; k++)
		pthread_join(tid[k], NULL);
	free(tid);
}

static int nomem(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "out of memory");
}

/* Where one ranged GET's bytes go: object bytes [lo, hi) into buf, whose
 * first byte is object byte `base`, or (fd >= 0) into file fd at offset
 * (byte - base). With a hasher (offsets from base). */
struct span {
	char *buf;
	int fd, werr;     /* werr: errno of a failed write to fd */
	uint64_t base, lo, hi, got;
	struct ferry_md5order *hash;
	char *digest;     /* the digest, when a call of this span's thread ends the hash */
	atomic_int *ended;
	double t_first;   /* ferry_now_ms of the first byte, 0 before */
	/* fd >= 0: the pieces are gathered and written WBUF at a time, as the
	 * download engine does (core/wgather.h; a pwrite per piece cost ~10% of
	 * a large get_file's time); offsets are object bytes */
	struct ferry_wgather g;
};

#define WBUF (1u << 20)

/* Object bytes [off, off+k) are in memory at `at` and about to be (or are) in
 * their place: hand them to the hasher. */
static void span_feed(struct span *sp, uint64_t off, const char *at, size_t k)
{
	char d[25];
	if (sp->hash && k && ferry_md5order_feed(sp->hash, sp->fd, off - sp->base, at, k, d) == 1) {
		memcpy(sp->digest, d, sizeof(d));
		atomic_store(sp->ended, 1);
	}
}

/* The gatherer's write: object bytes [off, off+k) from `data` to the file
 * (hashed first, from memory). */
static int span_write(void *arg, uint64_t off, const char *data, size_t k)
{
	struct span *sp = arg;
	span_feed(sp, off, data, k);
	if (ferry_pwrite_all(sp->fd, data, k, off - sp->base) < 0) {
		sp->werr = errno;
		return -1;
	}
	return 0;
}

static int span_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct span *sp = arg;
	if (!sp->t_first)
		sp->t_first = ferry_now_ms();
	if (off < sp->lo || off > sp->hi)
		return -1; /* the store delivers in order from lo (a resumed stream goes on from where it was) */
	uint64_t k = len;
	if (k > sp->hi - off)
		k = sp->hi - off;
	if (sp->fd >= 0) { /* a file: as the download engine writes (page cache, not this process's RSS) */
		if (ferry_wgather_add(&sp->g, off, data, (size_t)k) < 0)
			return -1;
	} else {
		memcpy(sp->buf + (off - sp->base), data, (size_t)k);
		span_feed(sp, off, sp->buf + (off - sp->base), (size_t)k);
	}
	if (off + k - sp->lo > sp->got)
		sp->got = off + k - sp->lo;
	return 0;
}

static int short_read(ferry_err *err, const char *uri, uint64_t want, uint64_t off, uint64_t got)
{
	return ferry_err_set(err, FERRY_E_INTEGRITY,
			     "'%s': expected %llu bytes at offset %llu, received %llu (did the file change during the read?)",
			     uri, (unsigned long long)want, (unsigned long long)off, (unsigned long long)got);
}

/* No read_info (http, local, file sets), or a response that did not tell the
 * size: one read of the whole range (ferry_api_cat), kept as the head. */
static int cat_whole(struct ferry_api *api, struct ferry_api_cat *c, uint64_t len, ferry_err *err)
{
	void *buf = NULL;
	uint64_t n = 0;
	if (ferry_api_cat(api, c->uri, c->off, len, &buf, &n, err) < 0)
		return -1;
	c->head = buf;
	c->head_len = c->n = n;
	return 0;
}

/* The first GET: bytes [off, off+min(len, part)), the size, ETag and MD5. */
static int cat_first(struct ferry_api *api, struct ferry_api_cat *c, uint64_t len, ferry_err *err)
{
	struct ferry_store *s = c->store;
	uint64_t first = len < c->part ? len : c->part;
	if (!(c->head = malloc((size_t)first)))
		return nomem(err);
	struct span sp = { .buf = c->head, .fd = -1, .base = c->off, .lo = c->off, .hi = c->off + first };
	struct ferry_entry e = { 0 };
	double t0 = ferry_now_ms();
	int rc = s->ops->read_info(s, c->path, c->off, first, span_sink, &sp, &e, err);
	double t_end = ferry_now_ms();
	if (sp.t_first) { /* what a request costs here: the parts' size is chosen from it */
		c->ttfb_s = (sp.t_first - t0) / 1000;
		c->body_s = (t_end - sp.t_first) / 1000;
	}
	if (rc < 0 || e.size_unknown) {
		ferry_entry_clear(&e);
		free(c->head);
		c->head = NULL;
		if (rc == 0) /* a response without the size: read it all in one */
			return cat_whole(api, c, len, err);
		/* an empty answer (a range past the end, an empty blob), or why not */
		return ferry_api_why_no_bytes(s, c->path, c->uri, c->off, len, err);
	}
	uint64_t avail = e.size > c->off ? e.size - c->off : 0;
	c->n = len < avail ? len : avail;
	c->head_len = sp.got;
	if (sp.got < first) { /* a small file: keep what it holds, not a part's room */
		char *h = realloc(c->head, sp.got ? (size_t)sp.got : 1);
		if (h)
			c->head = h;
	}
	if (sp.got != (c->n < first ? c->n : first))
		rc = short_read(err, c->uri, c->n < first ? c->n : first, c->off, sp.got);
	memcpy(s->pin_etag, e.etag, sizeof(s->pin_etag)); /* the other parts must be this version */
	enum ferry_verify_md5 v = (enum ferry_verify_md5)ferry_setting_int(s->settings, FS_VERIFY_MD5);
	int whole = c->off == 0 && c->n == e.size;
	if (rc == 0 && whole && v != FERRY_VERIFY_OFF)
		memcpy(c->md5, e.md5, sizeof(c->md5));
	if (rc == 0 && whole && v == FERRY_VERIFY_REQUIRE && !c->md5[0])
		rc = ferry_err_set(err, FERRY_E_INTEGRITY,
				   "'%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: refusing to read it unchecked",
				   c->uri);
	ferry_entry_clear(&e);
	return rc;
}

struct ferry_api_cat *ferry_api_cat_open(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len,
					 uint64_t *n, ferry_err *err)
{
	*n = 0;
	struct ferry_api_cat *c = calloc(1, sizeof(*c));
	if (!c || !(c->uri = strdup(uri))) {
		free(c);
		nomem(err);
		return NULL;
	}
	c->off = off;
	if (ferry_api_resolve(api, uri, &c->store, &c->path, err) < 0) {
		ferry_api_cat_close(c);
		return NULL;
	}
	const struct ferry_settings *st = &api->ctx.settings;
	c->part = (uint64_t)ferry_setting_int(st, FS_PART_SIZE);
	c->part_max = (uint64_t)ferry_setting_int(st, FS_PART_SIZE_MAX);
	c->threads = (unsigned)ferry_setting_int(st, FS_DOWNLOADER_THREADS);
	int rc;
	if (!len)
		rc = ferry_api_why_no_bytes(c->store, c->path, uri, off, 0, err);
	else if (c->store->ops->read_info)
		rc = cat_first(api, c, len, err);
	else
		rc = cat_whole(api, c, len, err);
	if (rc < 0) {
		ferry_api_cat_close(c);
		return NULL;
	}
	*n = c->n;
	return c;
}

/* One ferry_api_cat_fill: workers take the next part until none is left or
 * one failed. */
struct fill {
	struct ferry_api_cat *c;
	char *buf;
	int fd;          /* >= 0: the parts go to this file, not buf */
	uint64_t nparts; /* the head, then parts of `size` from head_len on */
	uint64_t size;
	atomic_uint_fast64_t next;
	atomic_int stop, ended;
	struct ferry_md5order *hash;
	char digest[25];
	pthread_mutex_t mu; /* guards err */
	ferry_err err;
};

static void fill_fail(struct fill *f, const ferry_err *e)
{
	pthread_mutex_lock(&f->mu);
	if (!atomic_load(&f->stop))
		f->err = *e;
	atomic_store(&f->stop, 1);
	pthread_mutex_unlock(&f->mu);
}

static void *fill_worker(void *arg)
{
	struct fill *f = arg;
	struct ferry_api_cat *c = f->c;
	/* without the memory the pieces are written one by one */
	char *wbuf = f->fd >= 0 ? malloc(WBUF) : NULL;
	uint64_t i;
	while (!atomic_load(&f->stop) && (i = atomic_fetch_add(&f->next, 1)) < f->nparts) {
		uint64_t lo = c->off + c->head_len + (i - 1) * f->size, hi = c->off + c->n;
		if (hi - lo > f->size)
			hi = lo + f->size;
		struct span sp = { .buf = f->buf, .fd = f->fd, .base = c->off, .lo = lo, .hi = hi, .hash = f->hash,
				   .digest = f->digest, .ended = &f->ended,
				   .g = { .buf = wbuf, .cap = wbuf ? WBUF : 0, .write = span_write } };
		sp.g.arg = &sp;
		ferry_err e;
		int rc = ferry_store_read(c->store, c->path, lo, hi - lo, span_sink, &sp, &e);
		if (rc == 0 && f->fd >= 0 && ferry_wgather_flush(&sp.g) < 0)
			rc = -1;
		if (rc < 0 && sp.werr)
			ferry_err_set(&e, FERRY_E_IO, "'%s': writing the local file failed: %s", c->uri, strerror(sp.werr));
		if (rc == 0 && sp.got != hi - lo)
			rc = short_read(&e, c->uri, hi - lo, lo, sp.got);
		if (rc < 0) {
			fill_fail(f, &e);
			break;
		}
		char d[25]; /* the hasher counts in base parts (c->part): report each this part holds */
		for (uint64_t u = (lo - c->off) / c->part; f->hash && u * c->part < hi - c->off; u++)
			if (ferry_md5order_landed(f->hash, f->fd, (unsigned)u, d) == 1) {
				memcpy(f->digest, d, sizeof(d));
				atomic_store(&f->ended, 1);
			}
	}
	free(wbuf);
	return NULL;
}

/* ferry_api_cat_fill into buf, or (fd >= 0) into file fd (get_one: written
 * with pwrite and hashed back through the page cache, as the download engine
 * does, so the process holds the parts in flight, not the file). */
static int fill_to(struct ferry_api_cat *c, void *buf, int fd, unsigned threads, ferry_err *err)
{
	if (!c->n)
		return 0;
	if (fd < 0)
		memcpy(buf, c->head, (size_t)c->head_len);
	else if (ferry_pwrite_all(fd, c->head, (size_t)c->head_len, 0) < 0)
		return ferry_err_set(err, FERRY_E_IO, "'%s': writing the local file failed: %s", c->uri,
				     strerror(errno));
	if (!threads)
		threads = c->threads;
	/* As the download engine does (transfer/partsize.h): with more base parts
	 * left than threads, the first GET's timing chooses larger parts when
	 * requests are slow against the stream. */
	uint64_t rest = c->n - c->head_len, size = c->part;
	if (rest > (uint64_t)threads * c->part && c->part_max > c->part)
		size = ferry_part_size_adapt(c->part, c->part_max, rest, threads, c->ttfb_s, c->body_s, c->head_len);
	struct fill f = { .c = c, .buf = buf, .fd = fd, .size = size, .nparts = 1 + (rest + size - 1) / size };
	atomic_init(&f.next, 1); /* part 0 is the head */
	atomic_init(&f.stop, 0);
	atomic_init(&f.ended, 0);
	pthread_mutex_init(&f.mu, NULL);
	ferry_err_clear(&f.err);
	if (c->md5[0] && !(f.hash = fd >= 0 ? ferry_md5order_new(c->n, c->part, FERRY_MD5ORDER_MAP)
					     : ferry_md5order_new_mem(c->n, c->part, buf))) {
		pthread_mutex_destroy(&f.mu);
		return nomem(err);
	}
	if (f.hash && ferry_md5order_landed(f.hash, fd, 0, f.digest) == 1)
		atomic_store(&f.ended, 1);
	if (threads > f.nparts - 1)
		threads = (unsigned)(f.nparts - 1);
	if (threads)
		ferry_api_run_workers(threads, fill_worker, &f);
	int rc = 0;
	if (atomic_load(&f.stop)) {
		*err = f.err;
		rc = -1;
	} else if (f.hash && (!atomic_load(&f.ended) || strcmp(f.digest, c->md5))) {
		rc = ferry_err_set(err, FERRY_E_INTEGRITY,
				   "'%s': MD5 mismatch (storage says %s, received %s); the data changed or was corrupted in transit",
				   c->uri, c->md5, atomic_load(&f.ended) ? f.digest : "(not computed)");
	}
	ferry_md5order_free(f.hash);
	pthread_mutex_destroy(&f.mu);
	return rc;
}

int ferry_api_cat_fill(struct ferry_api_cat *c, void *buf, unsigned threads, ferry_err *err)
{
	return fill_to(c, buf, -1, threads, err);
}

void ferry_api_cat_close(struct ferry_api_cat *c)
{
	if (!c)
		return;
	if (c->store)
		ferry_store_destroy(c->store);
	free(c->head);
	free(c->path);
	free(c->uri);
	free(c);
}

/* ferry_api_cat_open_many: each worker takes the next item. */
struct cat_items {
	struct ferry_api *api;
	size_t n;
	const char *const *uris;
	const uint64_t *offs, *lens;
	struct ferry_api_cat **cats;
	uint64_t *ns;
	ferry_err *errs;
	atomic_size_t next, failed;
};

static void *open_worker(void *arg)
{
	struct cat_items *m = arg;
	for (size_t i; (i = atomic_fetch_add(&m->next, 1)) < m->n;) {
		ferry_err_clear(&m->errs[i]);
		uint64_t len = m->lens ? m->lens[i] : UINT64_MAX;
		m->cats[i] = ferry_api_cat_open(m->api, m->uris[i], m->offs ? m->offs[i] : 0, len, &m->ns[i],
						&m->errs[i]);
		if (!m->cats[i])
			atomic_fetch_add(&m->failed, 1);
		else /* a range past the end reads as empty: the failed read's err stays set */
			ferry_err_clear(&m->errs[i]);
	}
	return NULL;
}

static unsigned items_threads(struct ferry_api *api, unsigned threads, size_t n)
{
	if (!threads)
		threads = (unsigned)ferry_setting_int(&api->ctx.settings, FS_DOWNLOADER_THREADS);
	return threads > n ? (unsigned)n : threads;
}

size_t ferry_api_cat_open_many(struct ferry_api *api, size_t n, const char *const *uris, const uint64_t *offs,
			       const uint64_t *lens, unsigned threads, struct ferry_api_cat **cats, uint64_t *ns,
			       ferry_err *errs)
{
	struct cat_items m = { .api = api, .n = n, .uris = uris, .offs = offs, .lens = lens, .cats = cats,
			       .ns = ns, .errs = errs };
	atomic_init(&m.next, 0);
	atomic_init(&m.failed, 0);
	unsigned workers = items_threads(api, threads, n);
	if (workers)
		ferry_api_run_workers(workers, open_worker, &m);
	return atomic_load(&m.failed);
}

/* Download `uri` whole to local file `lpath` through a temporary beside it. */
static int get_one(struct ferry_api *api, const char *uri, const char *lpath, unsigned threads, uint64_t *got,
		   ferry_err *err)
{
	uint64_t n;
	struct ferry_api_cat *c = ferry_api_cat_open(api, uri, 0, UINT64_MAX, &n, err);
	if (!c)
		return -1;
	int rc = 0, fd = -1;
	char *tmp = ferry_tmp_name(lpath);
	if (!tmp)
		rc = nomem(err);
	else if (ferry_mkdir_parents(lpath) < 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot create the folder of '%s': %s", lpath, strerror(errno));
	else if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
	/* a full disk is the failed pwrite's error, naming the file (blocks
	 * allocated first with posix_fallocate cost ext4 a conversion of every
	 * unwritten extent: ~0.2 s of system time per 512 MiB) */
	if (rc == 0 && n)
		rc = fill_to(c, NULL, fd, threads, err);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, lpath) < 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot rename '%s' into place: %s", lpath, strerror(errno));
	if (rc < 0 && fd >= 0)
		unlink(tmp);
	free(tmp);
	ferry_api_cat_close(c);
	*got = rc == 0 ? n : 0;
	return rc;
}

/* ferry_api_get_many: each worker takes the next file until none is left. */
struct get_many {
	struct ferry_api *api;
	size_t n;
	const char *const *uris, *const *lpaths;
	unsigned per_file; /* threads for the parts of one large file */
	uint64_t *got;
	ferry_err *errs;
	atomic_size_t next, failed;
};

static void *get_worker(void *arg)
{
	struct get_many *m = arg;
	for (size_t i; (i = atomic_fetch_add(&m->next, 1)) < m->n;) {
		ferry_err_clear(&m->errs[i]);
		if (get_one(m->api, m->uris[i], m->lpaths[i], m->per_file, &m->got[i], &m->errs[i]) < 0)
			atomic_fetch_add(&m->failed, 1);
	}
	return NULL;
}

size_t ferry_api_get_many(struct ferry_api *api, size_t n, const char *const *uris, const char *const *lpaths,
			  unsigned threads, uint64_t *got, ferry_err *errs)
{
	struct get_many m = { .api = api, .n = n, .uris = uris, .lpaths = lpaths, .got = got, .errs = errs };
	atomic_init(&m.next, 0);
	atomic_init(&m.failed, 0);
	if (!threads)
		threads = (unsigned)ferry_setting_int(&api->ctx.settings, FS_DOWNLOADER_THREADS);
	unsigned workers = threads > n ? (unsigned)n : threads;
	if (!workers)
		return 0;
	/* a file's parts share the threads the files leave: one large file gets them all */
	m.per_file = threads / workers;
	ferry_api_run_workers(workers, get_worker, &m);
	return atomic_load(&m.failed);
}
