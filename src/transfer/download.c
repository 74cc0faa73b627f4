/*
 * download.c — ferry_download (see transfer.h).
 *
 * The producer (calling thread) lists the source page by page and queues one
 * work item per file, or per FERRY_TRANSFER_PART_SIZE part of a larger file.
 * Workers stream each part straight into its place in a temporary file
 * (pwrite at the part's offset) in the final folder; the worker that ends a
 * file (see run_part) checks its MD5 and renames it into place.
 *
 * MD5 (FERRY_VERIFY_MD5: auto = when the store keeps one, off, require = a
 * file without one is refused before any byte moves): for a file fetched as
 * one part the digest is computed as the bytes stream by; a file fetched in
 * parts is hashed in file order while the download runs (core/md5order.h: a
 * cursor over the landed parts; the bytes at the cursor are hashed from the
 * part's buffer before they are written, the parts that landed ahead of it
 * mapped from the page cache), so the digest is ready as the last part lands. The thread
 * that hashes the file's end checks it and renames the file into place.
 *
 * Part size (transfer/partsize.h): a file larger than RSLEX_DOWNLOADER_THREADS
 * base parts (FERRY_TRANSFER_PART_SIZE) is first queued as that many base
 * parts only, the probes. The first probe to end has measured the request's
 * time to first byte and the stream's throughput; it chooses the part size
 * for the rest of the file (larger when requests are slow, at most
 * FERRY_TRANSFER_PART_SIZE_MAX) and queues it. The MD5 hasher works in base
 * units whatever the part size: a part reports each unit as its bytes are
 * written, so hashing keeps pace with large parts too.
 *
 * Requests in flight: a small file costs one request whose time is mostly the
 * server's latency, so the pool has at least SMALL_INFLIGHT workers whatever
 * RSLEX_DOWNLOADER_THREADS says (each keeps its own keep-alive connection in
 * the store); parts of large files, which are bandwidth, not latency, still
 * run at most RSLEX_DOWNLOADER_THREADS at once (slots taken in turn), so that
 * setting keeps bounding the load and the part buffers.
 *
 * Memory: each part's buffer is reserved in the process's memory budget
 * (FERRY_MEMORY_LIMIT, core/membudget.h) before it is allocated; a worker
 * whose buffer does not fit waits (holding none of the budget) until another
 * part frees one.
 *
 * Cleanup: every file that did not complete has its temporary removed before
 * ferry_download returns, so a failed download leaves no partial file.
 */
#include "transfer/transfer.h"
#include "core/files.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/membudget.h"
#include "core/tmpname.h"
#include "core/md5order.h"
#include "core/sys.h"
#include "core/wgather.h"
#include "transfer/partsize.h"
#include "transfer/pool.h"
#include "transfer/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dfile {
	char *remote, *final, *tmp;
	uint64_t size;
	char md5[25];             /* "" when not checked */
	struct ferry_md5order *hash; /* units hashed in order; NULL unless checked and in parts */
	uint64_t unit;       /* the base part size: probes, and the hasher's units */
	uint64_t rest_off;   /* bytes from here on wait for the first probe (0: all queued) */
	int rest_waiting;    /* atomic: the rest is not queued yet */
	unsigned parts_left; /* atomic; one more while the rest is waiting */
	int failed;          /* atomic: a part failed; the file is never renamed into place */
	int done;            /* atomic: renamed into place */
	uint64_t last_byte_us; /* atomic max: when a part's last byte arrived (ferry_now_ms × 1000) */
};

struct dpart {
	struct dfile *f;
	uint64_t off, len;
	int whole;    /* the only part of the file */
	int unranged; /* ask for the whole body without a Range header */
	int probe;    /* one of the first base parts that measure the request cost */
};

/* Workers at least: requests in flight for small files (see the top). */
#define SMALL_INFLIGHT 16

struct dl {
	struct ferry_ctx *ctx;
	struct ferry_store *store;
	/* parts of large files running at once: at most RSLEX_DOWNLOADER_THREADS,
	 * started in the order the workers took them (tickets), so a file's parts
	 * start in file order and its hash cursor (which needs the parts in
	 * order) does not wait for a part overtaken at the start line, as
	 * waiters on a semaphore can be */
	pthread_mutex_t slot_mu;
	pthread_cond_t slot_cv;
	unsigned slots_running;
	uint64_t slot_ticket, slot_serving;
	unsigned threads; /* RSLEX_DOWNLOADER_THREADS */
	struct ferry_pool *pool;
	enum ferry_verify_md5 verify;
	struct ferry_membudget *mb; /* the process's: part buffers are reserved in it */
	uint64_t files_done; /* atomic */
	struct dfile **files;
	size_t nfiles, cap;
};

/* A part's bytes are gathered (core/wgather.h) and written SINK_BUF at a time. */
#define SINK_BUF (1u << 20)

struct sink_state {
	int fd;
	uint64_t got;
	EVP_MD_CTX *md5;
	struct ferry_wgather g; /* its buffer: SINK_BUF or the part's size, in the budget */
	double t_first;   /* ferry_now_ms of the first byte, 0 before */
	/* in-order MD5 by units (f->hash): the part's bytes are in the file up to
	 * `written` (contiguous from the part's start), units below `unit_next`
	 * are reported; hashed_end/digest: a report hashed the file's end */
	struct dfile *f;
	uint64_t part_end, written;
	unsigned unit_next;
	int hashed_end, hash_errno; /* hash_errno: a read-back failed (its errno) */
	char digest[25];
};

/* `len` bytes at `off` are in the file: report the units they complete. */
static void sink_landed(struct sink_state *s, uint64_t off, uint64_t len)
{
	struct dfile *f = s->f;
	if (!f || !f->hash || off > s->written || off + len <= s->written)
		return;
	s->written = off + len;
	while (!s->hash_errno) {
		uint64_t unit_end = ((uint64_t)s->unit_next + 1) * f->unit;
		if (unit_end > s->part_end)
			unit_end = s->part_end;
		if (s->written < unit_end || (uint64_t)s->unit_next * f->unit >= s->part_end)
			break;
		int r = ferry_md5order_landed(f->hash, s->fd, s->unit_next++, s->digest);
		if (r < 0)
			s->hash_errno = errno ? errno : EIO;
		else if (r == 1)
			s->hashed_end = 1;
	}
}

/* `len` bytes at `off` are about to be written: when they are at the file's
 * hash cursor, they are hashed here, from memory (core/md5order.h). */
static void sink_feed(struct sink_state *s, uint64_t off, const void *data, size_t len)
{
	if (!s->f || !s->f->hash || s->hash_errno || !len)
		return;
	int r = ferry_md5order_feed(s->f->hash, s->fd, off, data, len, s->digest);
	if (r < 0)
		s->hash_errno = errno ? errno : EIO;
	else if (r == 1)
		s->hashed_end = 1;
}

/* The gatherer's write: hashed first (from memory), written, reported landed. */
static int sink_write(void *arg, uint64_t off, const char *data, size_t len)
{
	struct sink_state *s = arg;
	sink_feed(s, off, data, len);
	if (ferry_pwrite_all(s->fd, data, len, off) < 0)
		return -1;
	sink_landed(s, off, len);
	return 0;
}

static int part_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct sink_state *s = arg;
	if (!s->t_first)
		s->t_first = ferry_now_ms();
	if (ferry_wgather_add(&s->g, off, data, len) < 0)
		return -1;
	if (s->md5)
		EVP_DigestUpdate(s->md5, data, len);
	s->got += len;
	return 0;
}

static void md5_b64(EVP_MD_CTX *ctx, char out[25])
{
	unsigned char md[16];
	EVP_DigestFinal_ex(ctx, md, NULL);
	ferry_md5_b64(md, out);
}

/* All bytes are in f->tmp; `got` is their MD5 (NULL when not computed: then
 * f->md5 is ""). Check it and rename the file into place. */
static int finish_file(struct dl *d, struct dfile *f, const char *got, ferry_err *err)
{
	if (f->md5[0]) {
		if (!got || strcmp(got, f->md5))
			return ferry_err_set(err, FERRY_E_INTEGRITY,
					     "'%s': MD5 mismatch (storage says %s, received %s); the data changed or was corrupted in transit",
					     f->remote, f->md5, got ? got : "(not computed)");
	}
	if (f->hash && got) { /* how far the hash trailed the transfer: the part of the check that cost wall time */
		uint64_t last = __atomic_load_n(&f->last_byte_us, __ATOMIC_RELAXED);
		ferry_info("'%s': MD5 checked %.0f ms after the last byte arrived", f->remote,
			   last ? ferry_now_ms() - (double)last / 1000 : 0.0);
	}
	if (rename(f->tmp, f->final) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot rename '%s' into place: %s", f->final, strerror(errno));
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&d->files_done, 1, __ATOMIC_RELAXED);
	ferry_stats_add(&d->ctx->stats.files, 1);
	ferry_debug("downloaded '%s' -> '%s' (%llu bytes)", f->remote, f->final, (unsigned long long)f->size);
	return 0;
}

static void queue_parts(struct dl *d, struct dfile *f, uint64_t from, uint64_t to, uint64_t part, int probe,
			int unranged);

/* The first probe of `f` ended after `ttfb_ms` to its first byte and
 * `body_ms` more for its `bytes`: choose the part size of the rest and queue
 * it. Called once per file, from a worker. */
static void queue_rest(struct dl *d, struct dfile *f, double ttfb_ms, double body_ms, uint64_t bytes)
{
	uint64_t rest = f->size - f->rest_off;
	uint64_t part = ferry_part_size_adapt(f->unit, (uint64_t)ferry_setting_int(&d->ctx->settings, FS_PART_SIZE_MAX),
					      rest, d->threads, ttfb_ms / 1000, body_ms / 1000, bytes);
	unsigned n = (unsigned)((rest + part - 1) / part);
	/* n parts replace the one count that held the file open for the rest */
	__atomic_add_fetch(&f->parts_left, n - 1, __ATOMIC_ACQ_REL);
	ferry_info("'%s': a part of %llu bytes took %.0f ms to its first byte and %.0f ms more: the other %llu bytes in %u parts of %llu bytes",
		   f->remote, (unsigned long long)bytes, ttfb_ms, body_ms, (unsigned long long)rest, n,
		   (unsigned long long)part);
	queue_parts(d, f, f->rest_off, f->size, part, 0, 0);
}

static void slot_take(struct dl *d)
{
	pthread_mutex_lock(&d->slot_mu);
	uint64_t t = d->slot_ticket++;
	while (t != d->slot_serving || d->slots_running >= d->threads)
		pthread_cond_wait(&d->slot_cv, &d->slot_mu);
	d->slot_serving++;
	d->slots_running++;
	pthread_cond_broadcast(&d->slot_cv); /* the next ticket may start too */
	pthread_mutex_unlock(&d->slot_mu);
}

static void slot_give(struct dl *d)
{
	pthread_mutex_lock(&d->slot_mu);
	d->slots_running--;
	pthread_cond_broadcast(&d->slot_cv);
	pthread_mutex_unlock(&d->slot_mu);
}

static int run_part(void *ctx, void *item, ferry_err *err)
{
	struct dl *d = ctx;
	struct dpart *pt = item;
	struct dfile *f = pt->f;
	int rc = 0;
	/* read-write: the in-order hasher reads landed units back through it */
	struct sink_state s = { .fd = open(f->tmp, (f->hash ? O_RDWR : O_WRONLY) | O_CREAT | O_CLOEXEC, 0644),
				.f = f, .part_end = pt->off + pt->len, .written = pt->off,
				.unit_next = f->hash ? (unsigned)(pt->off / f->unit) : 0,
				.g = { .write = sink_write } };
	s.g.arg = &s;
	if (s.fd < 0) {
		rc = ferry_err_set(err, FERRY_E_IO, "cannot create '%s': %s", f->tmp, strerror(errno));
		goto out;
	}
	if (pt->whole && f->md5[0]) {
		s.md5 = EVP_MD_CTX_new();
		EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
	}
	if (!pt->whole)
		slot_take(d);
	s.g.cap = pt->len < SINK_BUF ? (size_t)pt->len : SINK_BUF;
	/* The part buffer counts against FERRY_MEMORY_LIMIT: when the budget is
	 * short this waits (holding nothing else of it) for a buffer to free. */
	ferry_membudget_reserve(d->mb, s.g.cap);
	double t0 = ferry_now_ms();
	if (!(s.g.buf = ferry_data_alloc(s.g.cap)))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory for a %zu-byte part buffer", s.g.cap);
	else
		rc = ferry_store_read(d->store, f->remote, pt->off, pt->unranged ? UINT64_MAX : pt->len, part_sink, &s,
				      err);
	double t_end = ferry_now_ms();
	for (uint64_t us = (uint64_t)(t_end * 1000), was = __atomic_load_n(&f->last_byte_us, __ATOMIC_RELAXED);
	     us > was && !__atomic_compare_exchange_n(&f->last_byte_us, &was, us, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED);)
		;
	if (rc == 0 && ferry_wgather_flush(&s.g) < 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write '%s': %s", f->tmp, strerror(errno));
	ferry_data_free(s.g.buf, s.g.cap);
	ferry_membudget_release(d->mb, s.g.cap);
	if (!pt->whole)
		slot_give(d);
	if (rc == 0 && s.got != pt->len)
		rc = ferry_err_set(err, FERRY_E_INTEGRITY,
				   "'%s': expected %llu bytes at offset %llu, received %llu (did the blob change during the download?)",
				   f->remote, (unsigned long long)pt->len, (unsigned long long)pt->off,
				   (unsigned long long)s.got);
	if (rc == 0 && s.hash_errno)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot read back '%s' to check its MD5: %s", f->tmp,
				   strerror(s.hash_errno));
	if (close(s.fd) < 0 && rc == 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write '%s': %s", f->tmp, strerror(errno));
	if (s.md5) {
		md5_b64(s.md5, s.digest);
		EVP_MD_CTX_free(s.md5);
		s.hashed_end = 1;
	}
	if (rc == 0 && pt->probe && __atomic_exchange_n(&f->rest_waiting, 0, __ATOMIC_ACQ_REL))
		queue_rest(d, f, s.t_first ? s.t_first - t0 : 0, s.t_first ? t_end - s.t_first : 0, pt->len);
	/* Parts of one file end in any order, and a failed one left a hole: the
	 * file is renamed only if no part failed, by the thread that ends it —
	 * the one that hashed its end when it is checked in parts, else the
	 * last part to end. */
	if (rc < 0)
		__atomic_store_n(&f->failed, 1, __ATOMIC_RELAXED);
	int last = __atomic_sub_fetch(&f->parts_left, 1, __ATOMIC_ACQ_REL) == 0;
	if (rc == 0 && !__atomic_load_n(&f->failed, __ATOMIC_RELAXED) && (f->hash ? s.hashed_end : last))
		rc = finish_file(d, f, s.hashed_end ? s.digest : NULL, err);
out:
	free(pt);
	return rc;
}

/* Queue bytes [from, to) of `f` in parts of `part` bytes. */
static void queue_parts(struct dl *d, struct dfile *f, uint64_t from, uint64_t to, uint64_t part, int probe,
			int unranged)
{
	for (uint64_t off = from; off < to; off += part) {
		struct dpart *pt = malloc(sizeof(*pt));
		pt->f = f;
		pt->off = off;
		pt->len = to - off < part ? to - off : part;
		pt->whole = off == 0 && pt->len == f->size;
		pt->unranged = unranged;
		pt->probe = probe;
		ferry_pool_push(d->pool, pt);
	}
}

static void cancel_part(void *ctx, void *item)
{
	(void)ctx;
	free(item);
}

/* mkdir -p of the folder that will hold `file` (a path under dest). */
static int make_parents(const char *file, ferry_err *err)
{
	char *p = strdup(file);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			int rc = ferry_err_set(err, FERRY_E_IO, "cannot create folder '%s': %s", p, strerror(errno));
			free(p);
			return rc;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

/* Queue `e` (a file entry) to land at dest/rel. */
static int add_file(struct dl *d, struct ferry_progress *prog, const struct ferry_entry *e,
		    const char *dest, const char *rel, ferry_err *err)
{
	if (ferry_path_check_safe(rel, err) < 0)
		return -1;
	if (d->verify == FERRY_VERIFY_REQUIRE && !e->md5[0] && !e->size_unknown)
		return ferry_err_set(err, FERRY_E_INTEGRITY,
				     "'%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: refusing to download it unchecked",
				     e->name);
	struct ferry_entry st = { 0 };
	if (e->size_unknown) { /* an index without sizes: ask the server */
		if (ferry_store_stat(d->store, e->name, &st, err) < 0)
			return -1;
		st.size_unknown = 0;
		int rc = add_file(d, prog, &st, dest, rel, err);
		ferry_entry_clear(&st);
		return rc;
	}
	struct dfile *f = calloc(1, sizeof(*f));
	f->remote = strdup(e->name);
	f->final = ferry_path_join(dest, rel);
	f->tmp = ferry_tmp_name(f->final); /* short: the final name may take all 255 bytes */
	f->size = e->size;
	if (d->verify != FERRY_VERIFY_OFF)
		memcpy(f->md5, e->md5, sizeof(f->md5));
	if (d->nfiles == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->files = realloc(d->files, d->cap * sizeof(*d->files));
	}
	d->files[d->nfiles++] = f;
	if (make_parents(f->final, err) < 0)
		return -1;
	prog->total_files++;
	prog->total_bytes += f->size;

	if (f->size == 0) { /* nothing to fetch: create it here */
		int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return ferry_err_set(err, FERRY_E_IO, "cannot create '%s': %s", f->tmp, strerror(errno));
		close(fd);
		f->md5[0] = '\0';
		return finish_file(d, f, NULL, err);
	}
	/* Base parts; when the file has more than one per thread, only the first
	 * of them (the probes) go now, the rest when the first probe has
	 * measured what a request costs (queue_rest). */
	uint64_t unit = (uint64_t)ferry_setting_int(&d->ctx->settings, FS_PART_SIZE);
	if (e->no_ranges) /* one request for the whole body, no Range header */
		unit = f->size;
	f->unit = unit;
	uint64_t nunits = (f->size + unit - 1) / unit, probe_end = f->size;
	if (nunits > d->threads && (uint64_t)ferry_setting_int(&d->ctx->settings, FS_PART_SIZE_MAX) > unit) {
		probe_end = f->rest_off = (uint64_t)d->threads * unit;
		f->rest_waiting = 1;
	}
	f->parts_left = (unsigned)((probe_end + unit - 1) / unit) + (unsigned)f->rest_waiting;
	if (nunits > 1 && f->md5[0] && !(f->hash = ferry_md5order_new(f->size, unit, FERRY_MD5ORDER_MAP)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	queue_parts(d, f, 0, probe_end, unit, f->rest_waiting, e->no_ranges);
	return 0;
}

static int list_and_queue(struct dl *d, struct ferry_pool *pool, struct ferry_progress *prog, const char *path,
			  const char *dest, int folder_hint, char **single_file, ferry_err *err)
{
	struct ferry_entry root = { 0 };
	if (!folder_hint) {
		if (ferry_store_stat(d->store, path, &root, err) < 0)
			return -1;
		if (!root.is_dir) {
			const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
			int rc = add_file(d, prog, &root, dest, base, err);
			if (rc == 0 && single_file)
				*single_file = ferry_path_join(dest, base);
			ferry_entry_clear(&root);
			return rc;
		}
		ferry_entry_clear(&root);
	}
	size_t plen = strlen(path);
	struct ferry_list_page page = { 0 };
	char *marker = NULL;
	size_t seen = 0;
	int rc = 0;
	do {
		rc = ferry_store_list(d->store, path, 1, marker, &page, err);
		free(marker);
		marker = NULL;
		for (size_t i = 0; rc == 0 && i < page.n; i++) {
			const struct ferry_entry *e = &page.entries[i];
			if (e->is_dir)
				continue;
			if (plen && (strncmp(e->name, path, plen) || e->name[plen] != '/'))
				rc = ferry_err_set(err, FERRY_E_UNSAFE, "listing of '%s' returned '%s', which is not below it",
						   path, e->name);
			else
				rc = add_file(d, prog, e, dest, e->name + plen + (plen ? 1 : 0), err);
			seen++;
		}
		if (rc == 0 && page.next_marker)
			marker = strdup(page.next_marker);
	} while (rc == 0 && marker && !ferry_pool_failed(pool));
	free(marker);
	ferry_page_clear(&page);
	if (rc == 0 && seen == 0 && folder_hint) /* an empty listing: does the folder exist at all? */
		rc = ferry_store_stat(d->store, path, &root, err);
	ferry_entry_clear(&root);
	return rc;
}

int ferry_download(struct ferry_ctx *ctx, const char *uri, const char *dest, struct ferry_xfer_result *res,
		   char **single_file, ferry_err *err)
{
	struct ferry_store *store;
	char *path = NULL;
	int folder_hint = 0;
	if (single_file)
		*single_file = NULL;
	if (ferry_resolve(ctx, uri, 0, &store, &path, &folder_hint, err) < 0)
		return -1;
	int rc = ferry_download_store(ctx, store, path, folder_hint, uri, dest, res, single_file, err);
	ferry_store_destroy(store);
	free(path);
	return rc;
}

int ferry_download_store(struct ferry_ctx *ctx, struct ferry_store *store, const char *path, int folder_hint,
			 const char *uri, const char *dest, struct ferry_xfer_result *res, char **single_file,
			 ferry_err *err)
{
	struct dl d = { .ctx = ctx, .store = store,
			.verify = (enum ferry_verify_md5)ferry_setting_int(&ctx->settings, FS_VERIFY_MD5),
			.mb = ferry_membudget_process() };
	ferry_membudget_configure(&ctx->settings);
	if (single_file)
		*single_file = NULL;
	struct stat dst;
	if (mkdir(dest, 0777) < 0 && (errno != EEXIST || stat(dest, &dst) < 0 || !S_ISDIR(dst.st_mode)))
		return ferry_err_set(err, FERRY_E_IO, "cannot use '%s' as the destination folder: %s", dest,
				     errno == EEXIST ? "it exists and is not a folder" : strerror(errno));
	unsigned threads = (unsigned)ferry_setting_int(&ctx->settings, FS_DOWNLOADER_THREADS);
	unsigned workers = threads < SMALL_INFLIGHT ? SMALL_INFLIGHT : threads;
	d.threads = threads;
	pthread_mutex_init(&d.slot_mu, NULL);
	pthread_cond_init(&d.slot_cv, NULL);
	ferry_info("download %s -> %s with %u workers (%u at once on parts of large files), parts of %lld bytes (up to %lld)",
		   uri, dest, workers, threads, (long long)ferry_setting_int(&ctx->settings, FS_PART_SIZE),
		   (long long)ferry_setting_int(&ctx->settings, FS_PART_SIZE_MAX));
	struct ferry_progress prog;
	ferry_progress_begin(&prog, "download", &ctx->stats, &d.files_done, ctx->progress);
	struct ferry_pool *pool = d.pool = ferry_pool_start(workers, run_part, cancel_part, &d);
	ferry_err lerr;
	ferry_err_clear(&lerr);
	if (list_and_queue(&d, pool, &prog, path, dest, folder_hint, single_file, &lerr) < 0)
		ferry_pool_fail(pool, &lerr);
	int rc = ferry_pool_finish(pool, ferry_progress_tick, &prog, 500, err);
	if (rc < 0 && ferry_interrupted())
		ferry_err_set(err, FERRY_E_INTERRUPTED, "download of %s interrupted; no partial file was left in %s", uri, dest);
	struct ferry_xfer_result r;
	ferry_progress_end(&prog, &r);
	for (size_t i = 0; i < d.nfiles; i++) {
		struct dfile *f = d.files[i];
		if (!f->done)
			unlink(f->tmp);
		free(f->remote);
		free(f->final);
		free(f->tmp);
		ferry_md5order_free(f->hash);
		free(f);
	}
	free(d.files);
	pthread_cond_destroy(&d.slot_cv);
	pthread_mutex_destroy(&d.slot_mu);
	if (rc < 0 && single_file) {
		free(*single_file);
		*single_file = NULL;
	}
	char line[400];
	ferry_xfer_summary(&r, line, sizeof(line));
	ferry_info("download %s: %s", rc == 0 ? "completed" : "failed", line);
	ferry_membudget_summary(d.mb, line, sizeof(line));
	ferry_info("download %s", line);
	if (res)
		*res = r;
	return rc;
}
