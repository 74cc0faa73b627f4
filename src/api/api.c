/*
 * api.c — ferry's C API (api.h): a context that holds the workspace, the
 * settings and the identity, and the data operations on any path form.
 *
 * Each call resolves its path afresh (resolve.h), as a CLI command does, so
 * a datastore registered after the context was opened is seen, and the
 * context holds no store that a credential change would make stale. A file
 * handle resolves once and keeps its store for its ranged reads: the reads of
 * a Python file object are many and small, and a store keeps per-thread
 * connections.
 *
 * Threads: the context's fields are written only by ferry_api_open; the
 * workspace handle is a SQLite connection in serialized mode (Debian's
 * build), so lookups from many threads are safe; counters are atomics. A
 * transfer is "one call at a time per ctx" (transfer.h), so each
 * download/upload runs with its own copy of the context (same workspace,
 * settings and identity; its own counters).
 */
#include "api/api.h"
#include "api/internal.h"
#include "cache/blockcache.h"
#include "core/files.h"
#include "core/uri.h"
#include "resolve/resolve.h"
#include "store/store.h"
#include "transfer/progress.h"
#include "transfer/transfer.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct ferry_api_file {
	struct ferry_store *store;
	char *path;
	uint64_t size;
	int64_t mtime;
	char etag[72];
	/* ferry_api_file_open_first: the first bytes, from the open's own GET. */
	char *head;
	uint64_t head_len;
	/* ferry_api_file_readahead: the handle's own block cache and reader. */
	struct ferry_bcache *bc;
	struct ferry_bcache_reader *rd;
	/* With rd: where the last read ended (the open's head counts as read), and
	 * the lengths of a read that jumps elsewhere that go to storage as one
	 * exact ranged GET instead (see ferry_api_file_read). */
	_Atomic uint64_t next_off;
	uint64_t exact_min, exact_max;
};

int ferry_api_version(void)
{
	return FERRY_API_VERSION;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	ferry_store_global_init();
	ferry_progress_set_quiet(1); /* a library draws no progress lines on its host's stderr */
}

/* Settings lookup: the "NAME=VALUE" overrides first, then the environment. */
static const char *lookup(void *arg, const char *name)
{
	const char *const *kv = arg;
	size_t n = strlen(name);
	for (; kv && *kv; kv++)
		if (!strncmp(*kv, name, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return ferry_settings_getenv(NULL, name);
}

/* An override that names no setting is a typo the caller wants to hear of. */
static int check_names(const char *const *kv, ferry_err *err)
{
	const struct ferry_setting_def *t = ferry_settings_table();
	for (; kv && *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		if (!eq)
			return ferry_err_set(err, FERRY_E_INVALID, "setting '%s': expected NAME=VALUE", *kv);
		int found = 0;
		for (int i = 0; i < FS__COUNT && !found; i++)
			found = strlen(t[i].name) == (size_t)(eq - *kv) && !strncmp(t[i].name, *kv, eq - *kv);
		if (!found)
			return ferry_err_set(err, FERRY_E_INVALID, "unknown setting '%.*s'", (int)(eq - *kv), *kv);
	}
	return 0;
}

struct ferry_api *ferry_api_open(const char *home, const char *const *settings, ferry_err *err)
{
	pthread_once(&global_once, global_init);
	struct ferry_api *api = calloc(1, sizeof(*api));
	if (!api) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	if (check_names(settings, err) < 0 ||
	    ferry_settings_load(&api->ctx.settings, lookup, (void *)settings, err) < 0 ||
	    ferry_identity_from_env(&api->ctx.identity, err) < 0 || ferry_ws_open(home, &api->ctx.ws, err) < 0) {
		ferry_api_close(api);
		return NULL;
	}
	return api;
}

void ferry_api_close(struct ferry_api *api)
{
	if (!api)
		return;
	if (api->ctx.ws)
		ferry_ws_close(api->ctx.ws);
	free(api);
}

static int nomem(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "out of memory");
}

/*
 * ferry_resolve, plus one form of its own: azureml:<name>:<version>/<sub>
 * (or <name>@latest/<sub>), a path inside a folder asset. It is how the
 * names of an asset's listing are written, so a binding can open what it
 * listed; the part after the asset is checked for "."/".." segments as any
 * path is.
 */
static int resolve(struct ferry_api *api, const char *uri, int for_write, struct ferry_store **store,
		   char **path, int *folder_hint, ferry_err *err)
{
	size_t n;
	const char *slash;
	if (ferry_uri_scheme(uri, &n) != FERRY_SCHEME_ASSET || !(slash = strchr(uri + n, '/')))
		return ferry_resolve(&api->ctx, uri, for_write, store, path, folder_hint, err);
	const char *sub = slash, *seg;
	size_t sublen, seglen;
	while (*sub == '/')
		sub++;
	sublen = strlen(sub);
	while (sublen && sub[sublen - 1] == '/')
		sublen--;
	if (ferry_uri_dot_segment(sub, sublen, &seg, &seglen))
		return ferry_err_set(err, FERRY_E_INVALID, "invalid path '%s': '%.*s' segments are not allowed",
				     uri, (int)seglen, seg);
	char *head = strndup(uri, (size_t)(slash - uri));
	char *rel = strndup(sub, sublen);
	char *p = NULL;
	int rc = head && rel ? ferry_resolve(&api->ctx, head, for_write, store, &p, folder_hint, err) : nomem(err);
	if (rc == 0 && sublen) {
		*path = ferry_path_join(p, rel);
		free(p);
		if (!*path) {
			ferry_store_destroy(*store);
			rc = nomem(err);
		}
		if (folder_hint)
			*folder_hint = slash[strlen(slash) - 1] == '/';
	} else if (rc == 0) {
		*path = p;
	}
	free(head);
	free(rel);
	return rc;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void entry_from(struct ferry_api_entry *out, const struct ferry_entry *e, const char *name)
{
	out->name = strdup(name);
	out->size = e->is_dir ? 0 : e->size;
	out->is_dir = e->is_dir;
	out->mtime = e->mtime;
	memcpy(out->md5, e->md5, sizeof(out->md5));
	memcpy(out->etag, e->etag, sizeof(out->etag));
}

void ferry_api_entry_clear(struct ferry_api_entry *e)
{
	if (e) {
		free(e->name);
		memset(e, 0, sizeof(*e));
	}
}

void ferry_api_entries_free(struct ferry_api_entry *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++)
		free(entries[i].name);
	free(entries);
}

int ferry_api_stat(struct ferry_api *api, const char *uri, struct ferry_api_entry *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 0, &s, &path, NULL, err) < 0)
		return -1;
	struct ferry_entry e = { 0 };
	int rc = ferry_store_stat(s, path, &e, err);
	if (rc == 0) {
		entry_from(out, &e, base_name(path));
		if (!out->name)
			rc = nomem(err);
	}
	ferry_entry_clear(&e);
	ferry_store_destroy(s);
	free(path);
	return rc;
}

/* Every entry of folder `path`, appended to *out (grown as needed). */
struct collect {
	struct ferry_api_entry **out;
	size_t *n, cap;
};

static int collect_entry(void *arg, const struct ferry_entry *x, const char *rel, ferry_err *err)
{
	struct collect *c = arg;
	if (*c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 64;
		struct ferry_api_entry *g = realloc(*c->out, ncap * sizeof(*g));
		if (!g)
			return nomem(err);
		*c->out = g;
		c->cap = ncap;
	}
	struct ferry_api_entry *y = &(*c->out)[*c->n];
	entry_from(y, x, rel);
	if (!y->name)
		return nomem(err);
	(*c->n)++;
	return 0;
}

int ferry_api_store_list(struct ferry_store *s, const char *path, int recursive, struct ferry_api_entry **out,
			 size_t *n, ferry_err *err)
{
	struct collect c = { .out = out, .n = n };
	return ferry_store_each(s, path, recursive, collect_entry, &c, err);
}

int ferry_api_list(struct ferry_api *api, const char *uri, int recursive, struct ferry_api_entry **out,
		   size_t *n, ferry_err *err)
{
	*out = NULL;
	*n = 0;
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 0, &s, &path, NULL, err) < 0)
		return -1;
	struct ferry_entry e = { 0 };
	int rc = ferry_store_stat(s, path, &e, err);
	if (rc == 0 && !e.is_dir) {
		if (!(*out = calloc(1, sizeof(**out)))) {
			rc = nomem(err);
		} else {
			entry_from(*out, &e, base_name(path));
			*n = 1;
			if (!(*out)->name)
				rc = nomem(err);
		}
	} else if (rc == 0) {
		rc = ferry_api_store_list(s, path, recursive, out, n, err);
	}
	if (rc < 0) {
		ferry_api_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	ferry_entry_clear(&e);
	ferry_store_destroy(s);
	free(path);
	return rc;
}

struct grow_buf {
	char *buf;
	uint64_t off, n, cap;
};

static int grow_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct grow_buf *b = arg;
	if (off != b->off + b->n)
		return -1; /* the store delivers in order (store.h) */
	if (b->n + len > b->cap) {
		uint64_t cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->n + len)
			cap *= 2;
		char *g = realloc(b->buf, cap);
		if (!g)
			return -1;
		b->buf = g;
		b->cap = cap;
	}
	memcpy(b->buf + b->n, data, len);
	b->n += len;
	return 0;
}

/* The file's properties by stat (HEAD, and the file-or-folder rule's listing
 * where the store has one): ferry_api_file_open, and ferry_api_file_open_first
 * where one GET could not tell. */
static int file_stat(struct ferry_api_file *f, const char *uri, ferry_err *err)
{
	struct ferry_entry e = { 0 };
	int rc = ferry_store_stat(f->store, f->path, &e, err);
	if (rc == 0 && e.is_dir)
		rc = ferry_err_set(err, FERRY_E_INVALID, "'%s' is a folder", uri);
	f->size = e.size;
	f->mtime = e.mtime;
	memcpy(f->etag, e.etag, sizeof(f->etag));
	ferry_entry_clear(&e);
	return rc;
}

/* One ranged GET of [0, first): 1 with the file's properties and first bytes
 * in f, 0 when it could not tell (the caller stats), -1 with err for a
 * missing name or a folder. */
static int file_first(struct ferry_api_file *f, const char *uri, uint64_t first, ferry_err *err)
{
	struct ferry_store *s = f->store;
	if (!first || !s->ops->read_info)
		return 0;
	struct grow_buf b = { NULL, 0, 0, 0 };
	struct ferry_entry e = { 0 };
	int rc = s->ops->read_info(s, f->path, 0, first, grow_sink, &b, &e, err);
	if (rc == 0 && !e.size_unknown && b.n <= e.size) {
		f->size = e.size;
		f->mtime = e.mtime;
		memcpy(f->etag, e.etag, sizeof(f->etag));
		f->head = b.buf;
		f->head_len = b.n;
		ferry_entry_clear(&e);
		return 1;
	}
	ferry_entry_clear(&e);
	free(b.buf);
	if (rc < 0 && err->code == FERRY_E_INVALID && strstr(err->msg, "is a folder"))
		return -1;
	if (rc < 0 && err->code == FERRY_E_NOTFOUND && s->ops->has_below) {
		/* no object of that name: a folder (names below it), or nothing */
		ferry_err herr;
		int below = s->ops->has_below(s, f->path, &herr);
		if (below == 1)
			return ferry_err_set(err, FERRY_E_INVALID, "'%s' is a folder", uri);
		if (below == 0)
			return -1;
	}
	return 0; /* e.g. an empty blob (416 on a range), a server without Content-Range */
}

static struct ferry_api_file *file_open(struct ferry_api *api, const char *uri, uint64_t first, uint64_t *size,
					ferry_err *err)
{
	struct ferry_api_file *f = calloc(1, sizeof(*f));
	if (!f) {
		nomem(err);
		return NULL;
	}
	if (resolve(api, uri, 0, &f->store, &f->path, NULL, err) < 0) {
		free(f);
		return NULL;
	}
	int rc = file_first(f, uri, first, err);
	if (rc == 0)
		rc = file_stat(f, uri, err);
	if (rc < 0) {
		ferry_api_file_close(f);
		return NULL;
	}
	memcpy(f->store->pin_etag, f->etag, sizeof(f->etag));
	*size = f->size;
	return f;
}

struct ferry_api_file *ferry_api_file_open(struct ferry_api *api, const char *uri, uint64_t *size,
					   ferry_err *err)
{
	return file_open(api, uri, 0, size, err);
}

struct ferry_api_file *ferry_api_file_open_first(struct ferry_api *api, const char *uri, uint64_t first,
						 uint64_t *size, ferry_err *err)
{
	return file_open(api, uri, first, size, err);
}

const char *ferry_api_file_etag(const struct ferry_api_file *f)
{
	return f->etag;
}

int64_t ferry_api_file_mtime(const struct ferry_api_file *f)
{
	return f->mtime;
}

struct into_buf {
	char *buf;
	uint64_t off, len, got;
};

static int sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct into_buf *b = arg;
	if (off < b->off || off - b->off > b->len)
		return -1;
	uint64_t at = off - b->off, n = len;
	if (n > b->len - at)
		n = b->len - at; /* the object grew since the stat: keep within the buffer */
	memcpy(b->buf + at, data, n);
	if (at + n > b->got)
		b->got = at + n;
	return 0;
}

int64_t ferry_api_file_read(struct ferry_api_file *f, uint64_t off, uint64_t len, void *buf, ferry_err *err)
{
	if (off >= f->size || len == 0)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	if (len > INT64_MAX)
		len = INT64_MAX;
	uint64_t had = 0; /* bytes the open's first GET already holds: never fetched twice */
	if (off < f->head_len) {
		had = f->head_len - off < len ? f->head_len - off : len;
		memcpy(buf, f->head + off, (size_t)had);
		if (had == len)
			return (int64_t)len;
		buf = (char *)buf + had;
		off += had;
		len -= had;
	}
	/* A read that jumps (does not start where the last one ended) and is
	 * between half a block and a part long — a Parquet column chunk after the
	 * footer — is one exact ranged GET: the block cache would fetch the whole
	 * aligned blocks around it (up to a block more at each end). Reads that
	 * go on in order, and short or very long jumps, take the block cache
	 * (read-ahead; small ranges; blocks fetched in parallel). */
	uint64_t prev = f->rd ? atomic_exchange(&f->next_off, off + len) : 0;
	if (f->rd && (off == prev || len < f->exact_min || len > f->exact_max)) {
		size_t got = 0;
		if (ferry_bcache_read(f->rd, off, (size_t)len, buf, &got, err) < 0)
			return -1;
		return (int64_t)(had + got);
	}
	struct into_buf b = { buf, off, len, 0 };
	if (ferry_store_read(f->store, f->path, off, len, sink, &b, err) < 0)
		return -1;
	return (int64_t)(had + b.got);
}

void ferry_api_file_close(struct ferry_api_file *f)
{
	if (!f)
		return;
	if (f->rd)
		ferry_bcache_close(f->rd);
	if (f->bc)
		ferry_bcache_destroy(f->bc);
	if (f->store)
		ferry_store_destroy(f->store);
	free(f->head);
	free(f->path);
	free(f);
}

/* A read without a stat first got no bytes (rc -1 with err): why. A folder
 * ("is a folder"), or a range at or past the end of a file, which reads as
 * empty as a file's read there does (returns 0), else the read's own error
 * (err kept; for len 0, which did not read, the stat's). */
static int why_no_bytes(struct ferry_store *s, const char *path, const char *uri, uint64_t off, uint64_t len,
			ferry_err *err)
{
	int rc = -1;
	struct ferry_entry e = { 0 };
	ferry_err serr;
	if (ferry_store_stat(s, path, &e, &serr) == 0) {
		if (e.is_dir)
			rc = ferry_err_set(err, FERRY_E_INVALID, "'%s' is a folder", uri);
		else if (!len || off >= e.size)
			rc = 0;
	} else if (!len) {
		*err = serr;
	}
	ferry_entry_clear(&e);
	return rc;
}

int ferry_api_cat(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len, void **out,
		  uint64_t *n, ferry_err *err)
{
	*out = NULL;
	*n = 0;
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 0, &s, &path, NULL, err) < 0)
		return -1;
	struct grow_buf b = { NULL, off, 0, 0 };
	int rc = len ? ferry_store_read(s, path, off, len, grow_sink, &b, err) : -1;
	if (rc < 0)
		rc = why_no_bytes(s, path, uri, off, len, err);
	if (rc < 0) {
		free(b.buf);
	} else {
		*out = b.buf;
		*n = b.n;
	}
	ferry_store_destroy(s);
	free(path);
	return rc;
}

void ferry_api_buf_free(void *buf)
{
	free(buf);
}

/* A transfer's own copy of the context (transfer.h: one call per ctx). */
static void xfer_ctx(const struct ferry_api *api, struct ferry_ctx *c)
{
	*c = api->ctx;
	memset(&c->stats, 0, sizeof(c->stats));
	c->progress = 0;
}

static void report(const struct ferry_xfer_result *r, uint64_t *bytes, uint64_t *files)
{
	if (bytes)
		*bytes = r->bytes;
	if (files)
		*files = r->files;
}

int ferry_api_download(struct ferry_api *api, const char *uri, const char *dest, uint64_t *bytes,
		       uint64_t *files, ferry_err *err)
{
	struct ferry_ctx c;
	xfer_ctx(api, &c);
	struct ferry_xfer_result r = { 0 };
	struct ferry_store *s;
	char *path;
	int hint = 0;
	if (resolve(api, uri, 0, &s, &path, &hint, err) < 0)
		return -1;
	s->stats = &c.stats; /* the transfer's result counts what this store moves */
	int rc = ferry_download_store(&c, s, path, hint, uri, dest, &r, NULL, err);
	ferry_store_destroy(s);
	free(path);
	if (rc == 0)
		report(&r, bytes, files);
	return rc;
}

int ferry_api_upload(struct ferry_api *api, const char *src, const char *uri, uint64_t *bytes,
		     uint64_t *files, ferry_err *err)
{
	struct ferry_ctx c;
	xfer_ctx(api, &c);
	struct ferry_xfer_result r = { 0 };
	if (ferry_upload(&c, src, uri, &r, err) < 0)
		return -1;
	report(&r, bytes, files);
	return 0;
}

int ferry_api_put_fd(struct ferry_api *api, int fd, uint64_t size, const char *uri, ferry_err *err)
{
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 1, &s, &path, NULL, err) < 0)
		return -1;
	int rc = 0;
	if (!*path)
		rc = ferry_err_set(err, FERRY_E_INVALID, "'%s' names a container, not a file", uri);
	if (rc == 0) {
		ferry_store_ensure_container(s);
		rc = ferry_upload_fd(s, &api->ctx.settings, path, fd, size, err);
	}
	ferry_store_destroy(s);
	free(path);
	return rc;
}

static int remove_one(struct ferry_store *s, const char *path, ferry_err *err)
{
	if (!s->ops->remove)
		return ferry_err_set(err, FERRY_E_INVALID, "%s is read-only: nothing can be removed there",
				     s->display);
	return s->ops->remove(s, path, err);
}

int ferry_api_remove(struct ferry_api *api, const char *uri, int recursive, ferry_err *err)
{
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 1, &s, &path, NULL, err) < 0)
		return -1;
	struct ferry_entry e = { 0 };
	int rc = ferry_store_stat(s, path, &e, err);
	if (rc == 0 && !e.is_dir) {
		rc = remove_one(s, path, err);
	} else if (rc == 0 && !recursive) {
		rc = ferry_err_set(err, FERRY_E_INVALID, "'%s' is a folder (remove it recursively)", uri);
	} else if (rc == 0) {
		struct ferry_api_entry *all = NULL;
		size_t n = 0;
		rc = ferry_api_store_list(s, path, 1, &all, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			char *full = ferry_path_join(path, all[i].name);
			rc = full ? remove_one(s, full, err) : nomem(err);
			free(full);
		}
		ferry_api_entries_free(all, n);
	}
	ferry_entry_clear(&e);
	ferry_store_destroy(s);
	free(path);
	return rc;
}

int ferry_api_mkdir(struct ferry_api *api, const char *uri, ferry_err *err)
{
	if (!ferry_uri_is_remote(uri) && strncmp(uri, "file:", 5))
		return ferry_mkdir_p(uri, 0777, err);
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 1, &s, &path, NULL, err) < 0)
		return -1;
	ferry_store_ensure_container(s);
	ferry_store_destroy(s);
	free(path);
	return 0;
}

int64_t ferry_api_store_read(struct ferry_store *s, const char *path, const char *uri, uint64_t off, uint64_t len,
			     void *buf, ferry_err *err)
{
	if (len > INT64_MAX)
		len = INT64_MAX;
	struct into_buf b = { buf, off, len, 0 };
	int rc = len ? ferry_store_read(s, path, off, len, sink, &b, err) : -1;
	if (rc < 0)
		rc = why_no_bytes(s, path, uri, off, len, err);
	return rc < 0 ? -1 : (int64_t)b.got;
}

int64_t ferry_api_read(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len, void *buf, ferry_err *err)
{
	struct ferry_store *s;
	char *path;
	if (resolve(api, uri, 0, &s, &path, NULL, err) < 0)
		return -1;
	int64_t got = ferry_api_store_read(s, path, uri, off, len, buf, err);
	ferry_store_destroy(s);
	free(path);
	return got;
}

int ferry_api_file_readahead(struct ferry_api_file *f, ferry_err *err)
{
	if (f->rd)
		return 0;
	const struct ferry_settings *st = f->store->settings;
	struct ferry_bcache_config cfg = {
		.store = f->store,
		.block_size = (uint64_t)ferry_setting_int(st, FS_READ_BLOCK_SIZE),
		.ram_limit = (uint64_t)ferry_setting_int(st, FS_MEMORY_CACHE_SIZE),
		.prefetch_blocks = (unsigned)ferry_setting_int(st, FS_READ_BUFFER_BLOCKS),
		.read_threads = (unsigned)ferry_setting_int(st, FS_READ_THREADS),
		.disk_limit = 0,
		.coalesce_max = (uint64_t)ferry_setting_int(st, FS_PART_SIZE),
		.read_timeout_ms = (uint64_t)ferry_setting_int(st, FS_READ_TIMEOUT) * 1000,
	};
	if (ferry_bcache_new(&cfg, &f->bc, err) < 0)
		return -1;
	if (!(f->rd = ferry_bcache_open(f->bc, f->path, f->size, f->mtime, f->etag, NULL))) {
		ferry_bcache_destroy(f->bc);
		f->bc = NULL;
		return nomem(err);
	}
	ferry_bcache_reader_seed(f->rd, f->head_len); /* reading on after the head is in order */
	f->exact_min = cfg.block_size / 2;
	f->exact_max = cfg.coalesce_max;
	atomic_store(&f->next_off, f->head_len);
	return 0;
}

/* For the API's other files (internal.h). */
int ferry_api_resolve(struct ferry_api *api, const char *uri, struct ferry_store **store, char **path,
		      ferry_err *err)
{
	return resolve(api, uri, 0, store, path, NULL, err);
}

int ferry_api_why_no_bytes(struct ferry_store *s, const char *path, const char *uri, uint64_t off, uint64_t len,
			   ferry_err *err)
{
	return why_no_bytes(s, path, uri, off, len, err);
}
