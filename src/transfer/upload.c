/*
 * upload.c — ferry_upload (see transfer.h).
 *
 * Small files (up to FERRY_UPLOAD_SINGLE_PUT_MAX) are one Put Blob each.
 * Larger ones are cut into blocks of FERRY_TRANSFER_PART_SIZE (grown if a
 * file would need more than 50,000 blocks) staged in parallel by the pool;
 * the worker that stages a file's last block commits the block list, so a
 * blob only appears, whole, when all of its bytes are in storage.
 *
 * The commit carries the whole file's MD5 (the blob's Content-MD5, which a
 * Put Blob gets from the service itself), so later downloads can check it:
 * blocks are hashed in file order as they are staged (core/md5order.h), and
 * the worker that hashes the file's end commits. FERRY_VERIFY_MD5=off skips
 * it.
 */
#include "transfer/transfer.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/md5order.h"
#include "transfer/pool.h"
#include "transfer/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BLOCKS 50000u

struct ufile {
	char *local, *remote;
	uint64_t size;
	int fd;              /* open while blocks are staged */
	unsigned nblocks;
	unsigned blocks_left; /* atomic */
	int failed;           /* atomic */
	struct ferry_md5order *hash; /* whole-file MD5 for the commit; NULL: none */
};

struct uitem {
	struct ufile *f;
	unsigned index; /* block index; ignored for whole puts */
	uint64_t off, len;
};

struct ul {
	struct ferry_ctx *ctx;
	struct ferry_store *store;
	char root[PATH_MAX]; /* the source folder, links resolved */
	int follow_links;    /* FERRY_UPLOAD_FOLLOW_LINKS */
	uint64_t files_done;
	struct ufile **files;
	size_t nfiles, cap;
};

static void done_file(struct ul *u, struct ufile *f)
{
	__atomic_add_fetch(&u->files_done, 1, __ATOMIC_RELAXED);
	ferry_stats_add(&u->ctx->stats.files, 1);
	ferry_debug("uploaded '%s' -> '%s' (%llu bytes)", f->local, f->remote, (unsigned long long)f->size);
}

static int run_item(void *ctx, void *item, ferry_err *err)
{
	struct ul *u = ctx;
	struct uitem *it = item;
	struct ufile *f = it->f;
	int rc;
	if (f->nblocks == 0) {
		int fd = open(f->local, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "cannot open '%s': %s", f->local, strerror(errno));
		else {
			rc = u->store->ops->put(u->store, f->remote, fd, f->size, err);
			close(fd);
		}
		if (rc == 0)
			done_file(u, f);
	} else {
		char md5[25];
		int hashed_end = 0;
		rc = u->store->ops->put_block(u->store, f->remote, it->index, f->fd, it->off, it->len, err);
		if (rc == 0 && f->hash && (hashed_end = ferry_md5order_landed(f->hash, f->fd, it->index, md5)) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "cannot read '%s': %s", f->local, strerror(errno));
		if (rc < 0)
			__atomic_store_n(&f->failed, 1, __ATOMIC_RELAXED);
		/* the commit comes from the worker that ends the file: the one that
		 * hashed its end, else the one that staged its last block */
		int last = __atomic_sub_fetch(&f->blocks_left, 1, __ATOMIC_ACQ_REL) == 0;
		if (rc == 0 && !__atomic_load_n(&f->failed, __ATOMIC_RELAXED) && (f->hash ? hashed_end : last)) {
			rc = u->store->ops->commit(u->store, f->remote, f->nblocks, f->hash ? md5 : NULL, err);
			if (rc == 0)
				done_file(u, f);
		}
	}
	free(it);
	return rc;
}

static void cancel_item(void *ctx, void *item)
{
	(void)ctx;
	free(item);
}

static int add_file(struct ul *u, struct ferry_pool *pool, struct ferry_progress *prog, const char *local,
		    const char *remote, uint64_t size, ferry_err *err)
{
	struct ufile *f = calloc(1, sizeof(*f));
	f->local = strdup(local);
	f->remote = strdup(remote);
	f->size = size;
	f->fd = -1;
	if (u->nfiles == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 256;
		u->files = realloc(u->files, u->cap * sizeof(*u->files));
	}
	u->files[u->nfiles++] = f;
	prog->total_files++;
	prog->total_bytes += size;

	uint64_t single = (uint64_t)ferry_setting_int(&u->ctx->settings, FS_SINGLE_PUT_MAX);
	if (size <= single || !u->store->ops->put_block) {
		struct uitem *it = calloc(1, sizeof(*it));
		it->f = f;
		ferry_pool_push(pool, it);
		return 0;
	}
	uint64_t part = ferry_upload_block_size(u->store, &u->ctx->settings, size);
	f->fd = open(local, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f->fd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot open '%s': %s", local, strerror(errno));
	f->nblocks = (unsigned)((size + part - 1) / part);
	f->blocks_left = f->nblocks;
	if (ferry_setting_int(&u->ctx->settings, FS_VERIFY_MD5) != FERRY_VERIFY_OFF &&
	    !(f->hash = ferry_md5order_new(size, part, 0)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	for (unsigned i = 0; i < f->nblocks; i++) {
		struct uitem *it = malloc(sizeof(*it));
		it->f = f;
		it->index = i;
		it->off = (uint64_t)i * part;
		it->len = size - it->off < part ? size - it->off : part;
		ferry_pool_push(pool, it);
	}
	return 0;
}

uint64_t ferry_upload_block_size(const struct ferry_store *store, const struct ferry_settings *settings,
				 uint64_t size)
{
	uint64_t single = (uint64_t)ferry_setting_int(settings, FS_SINGLE_PUT_MAX);
	if (size <= single || !store->ops->put_block)
		return 0;
	uint64_t part = (uint64_t)ferry_setting_int(settings, FS_PART_SIZE);
	unsigned max_blocks = store->ops->max_blocks ? store->ops->max_blocks : MAX_BLOCKS;
	if (part < store->ops->min_block_size)
		part = store->ops->min_block_size;
	if (part == 0)
		part = 8u << 20;
	if ((size + part - 1) / part > max_blocks)
		part = (size + max_blocks - 1) / max_blocks;
	return part;
}

/* ---- one file from a descriptor (the read-write mount) ---- */

struct fdup {
	struct ferry_store *store;
	const char *path;
	int fd;
	uint64_t size, part;
	unsigned nblocks;
	struct ferry_md5order *hash; /* NULL: no MD5 on the commit */
	char md5[25];                /* set by the worker that hashed the end */
};

static int run_block(void *ctx, void *item, ferry_err *err)
{
	struct fdup *u = ctx;
	unsigned i = (unsigned)(uintptr_t)item - 1;
	uint64_t off = (uint64_t)i * u->part;
	uint64_t len = u->size - off < u->part ? u->size - off : u->part;
	if (u->store->ops->put_block(u->store, u->path, i, u->fd, off, len, err) < 0)
		return -1;
	if (u->hash && ferry_md5order_landed(u->hash, u->fd, i, u->md5) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot read the data for '%s': %s", u->path, strerror(errno));
	return 0;
}

int ferry_upload_fd(struct ferry_store *store, const struct ferry_settings *settings, const char *path, int fd,
		    uint64_t size, ferry_err *err)
{
	uint64_t part = ferry_upload_block_size(store, settings, size);
	if (part == 0)
		return store->ops->put(store, path, fd, size, err);
	struct fdup u = { store, path, fd, size, part, (unsigned)((size + part - 1) / part), NULL, "" };
	if (ferry_setting_int(settings, FS_VERIFY_MD5) != FERRY_VERIFY_OFF && !(u.hash = ferry_md5order_new(size, part, 0)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	int64_t t = ferry_setting_int(settings, FS_DOWNLOADER_THREADS);
	unsigned threads = t < 1 ? 1 : t > 64 ? 64 : (unsigned)t;
	if (threads > u.nblocks)
		threads = u.nblocks;
	struct ferry_pool *pool = ferry_pool_start(threads, run_block, NULL, &u);
	for (unsigned i = 0; i < u.nblocks; i++)
		ferry_pool_push(pool, (void *)(uintptr_t)(i + 1));
	int rc = ferry_pool_finish(pool, NULL, NULL, 0, err), with_md5 = u.hash != NULL;
	ferry_md5order_free(u.hash);
	if (rc < 0)
		return -1;
	/* every block is staged (and hashed: the pool has drained): only now
	 * does the blob appear, whole */
	return store->ops->commit(store, path, u.nblocks, with_md5 ? u.md5 : NULL, err);
}

/* 1 if the resolved path `p` is the folder `root` or below it. */
static int inside(const char *p, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return 1;
	return !strncmp(p, root, n) && (p[n] == '/' || !p[n]);
}

/*
 * The symbolic link `full`: the path to open instead (its target, resolved, in
 * `target`), or NULL when it is skipped, with a warning naming it. Links to
 * files inside the source folder are uploaded as the files they point to;
 * links that leave the folder only with FERRY_UPLOAD_FOLLOW_LINKS
 * (--follow-links); links to folders never (no loops); broken links never.
 */
static const char *link_target(struct ul *u, const char *full, char *target)
{
	struct stat st;
	if (!realpath(full, target) || stat(target, &st) < 0) {
		ferry_warn("skipping '%s': a broken link", full);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		ferry_warn("skipping '%s': a link to a folder", full);
		return NULL;
	}
	if (!inside(target, u->root) && !u->follow_links) {
		ferry_warn("skipping '%s': a link to '%s', outside the source folder (--follow-links or "
			   "FERRY_UPLOAD_FOLLOW_LINKS=true uploads it)",
			   full, target);
		return NULL;
	}
	return target;
}

/* Queue every regular file below local folder `dir` (rel = its path below the root). */
static int walk(struct ul *u, struct ferry_pool *pool, struct ferry_progress *prog, const char *root,
		const char *rel, const char *remote_prefix, ferry_err *err)
{
	char *abs = *rel ? ferry_path_join(root, rel) : strdup(root);
	DIR *d = opendir(abs);
	if (!d) {
		int rc = ferry_err_set(err, FERRY_E_IO, "cannot list '%s': %s", abs, strerror(errno));
		free(abs);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && !ferry_pool_failed(pool) && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *r = ferry_path_join(rel, de->d_name);
		char *full = ferry_path_join(abs, de->d_name);
		char target[PATH_MAX];
		const char *open_as = full; /* a link: its target (opened without following) */
		struct stat st;
		if (lstat(full, &st) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "cannot read '%s': %s", full, strerror(errno));
		else if (S_ISLNK(st.st_mode) && (!(open_as = link_target(u, full, target)) || stat(open_as, &st) < 0))
			; /* skipped, said why */
		else if (S_ISDIR(st.st_mode))
			rc = walk(u, pool, prog, root, r, remote_prefix, err);
		else if (S_ISREG(st.st_mode)) {
			char *remote = ferry_path_join(remote_prefix, r);
			rc = add_file(u, pool, prog, open_as, remote, (uint64_t)st.st_size, err);
			free(remote);
		} else
			ferry_warn("skipping '%s': not a regular file or folder", full);
		free(full);
		free(r);
	}
	closedir(d);
	free(abs);
	return rc;
}

int ferry_upload(struct ferry_ctx *ctx, const char *src, const char *uri, struct ferry_xfer_result *res,
		 ferry_err *err)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return ferry_err_set(err, errno == ENOENT ? FERRY_E_NOTFOUND : FERRY_E_IO, "cannot read '%s': %s", src,
				     strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return ferry_err_set(err, FERRY_E_INVALID, "'%s' is neither a file nor a folder", src);
	struct ul u = { .ctx = ctx, .follow_links = ferry_setting_int(&ctx->settings, FS_UPLOAD_FOLLOW_LINKS) != 0 };
	if (!realpath(src, u.root))
		return ferry_err_set(err, FERRY_E_IO, "cannot resolve '%s': %s", src, strerror(errno));
	char *path = NULL;
	int folder_hint = 0;
	if (ferry_resolve(ctx, uri, 1, &u.store, &path, &folder_hint, err) < 0)
		return -1;
	if (!u.store->writable || !u.store->ops->put) {
		ferry_err_set(err, FERRY_E_AUTH, "'%s' is read-only here: writing needs a credential (account key or SAS token; AWS keys for s3://)", uri);
		ferry_store_destroy(u.store);
		free(path);
		return -1;
	}
	ferry_store_ensure_container(u.store);
	char *remote = NULL;
	if (S_ISREG(st.st_mode)) {
		const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
		int into = folder_hint || !*path;
		if (!into) { /* an existing folder at the target takes the file inside it */
			struct ferry_entry e = { 0 };
			ferry_err ignore;
			if (ferry_store_stat(u.store, path, &e, &ignore) == 0 && e.is_dir)
				into = 1;
			ferry_entry_clear(&e);
		}
		remote = into ? ferry_path_join(path, base) : strdup(path);
	}

	unsigned threads = (unsigned)ferry_setting_int(&ctx->settings, FS_DOWNLOADER_THREADS);
	ferry_info("upload %s -> %s with %u threads", src, uri, threads);
	struct ferry_progress prog;
	ferry_progress_begin(&prog, "upload", &ctx->stats, &u.files_done, ctx->progress);
	struct ferry_pool *pool = ferry_pool_start(threads, run_item, cancel_item, &u);
	ferry_err lerr;
	ferry_err_clear(&lerr);
	int lrc = remote ? add_file(&u, pool, &prog, u.root, remote, (uint64_t)st.st_size, &lerr)
			 : walk(&u, pool, &prog, src, "", path, &lerr);
	if (lrc < 0)
		ferry_pool_fail(pool, &lerr);
	int rc = ferry_pool_finish(pool, ferry_progress_tick, &prog, 500, err);
	if (rc < 0 && ferry_interrupted())
		ferry_err_set(err, FERRY_E_INTERRUPTED, "upload to %s interrupted; files not yet committed were not created", uri);
	struct ferry_xfer_result r;
	ferry_progress_end(&prog, &r);
	for (size_t i = 0; i < u.nfiles; i++) {
		struct ufile *f = u.files[i];
		if (f->fd >= 0)
			close(f->fd);
		ferry_md5order_free(f->hash);
		free(f->local);
		free(f->remote);
		free(f);
	}
	free(u.files);
	char line[256];
	ferry_xfer_summary(&r, line, sizeof(line));
	ferry_info("upload %s: %s", rc == 0 ? "completed" : "failed", line);
	if (res)
		*res = r;
	free(remote);
	free(path);
	ferry_store_destroy(u.store);
	return rc;
}
