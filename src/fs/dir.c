/*
 * dir.c — directory streaming (see fs_internal.h).
 *
 * A directory handle keeps the storage marker and the last two pages of the
 * listing, never the whole folder: readdir(off) serves entry `off` from those
 * pages and fetches the next page only when the kernel asks past the current
 * one (a page boundary may straddle two replies; a seek back further
 * restarts the listing). readdirplus hands out the listed sizes, so `ls -l`
 * and os.walk cost no per-file request. On read-write mounts, children that
 * exist only here are listed after storage's.
 */
#include "fs/fs_internal.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ferry_fs *fs = fs_of(req);
	struct dirh *d = calloc(1, sizeof(*d));
	pthread_mutex_lock(&fs->tlock);
	struct node *n = node_of(fs, ino);
	int isdir = n->is_dir;
	if (d)
		d->path = strdup(n->path);
	pthread_mutex_unlock(&fs->tlock);
	if (!d || !d->path) {
		free(d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (!isdir) {
		free(d->path);
		free(d);
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	if (fs->rw) {
		/* Children that exist only here (new folders, files not yet
		 * uploaded) are listed after what storage lists. */
		pthread_mutex_lock(&fs->tlock);
		size_t dl = strlen(d->path);
		for (size_t i = 0; fs->nlocal && i < fs->tabsize; i++)
			for (struct node *c = fs->tab[i]; c; c = c->hnext) {
				const char *rest = c->path + dl + (dl ? 1 : 0);
				if (!c->local || (dl && (strncmp(c->path, d->path, dl) || c->path[dl] != '/')) ||
				    !*rest || strchr(rest, '/'))
					continue;
				char **nx = realloc(d->extra, (d->nextra + 1) * sizeof(char *));
				if (!nx)
					break;
				d->extra = nx;
				if ((nx[d->nextra] = strdup(rest)))
					d->nextra++;
			}
		pthread_mutex_unlock(&fs->tlock);
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = fs->ttl_ms < 0 && !fs->rw;
	fi->keep_cache = fs->ttl_ms < 0 && !fs->rw;
	fuse_reply_open(req, fi);
}

static void dir_reset(struct dirh *d)
{
	for (int i = 0; i < 2; i++) {
		ferry_page_clear(&d->page[i]);
		d->have[i] = 0;
	}
	free(d->marker);
	d->marker = NULL;
	d->started = d->done = 0;
}

/* Fetch the next page into page[1] (the old current becomes page[0]). */
static int dir_next_page(struct ferry_fs *fs, struct dirh *d, ferry_err *err)
{
	uint64_t base = d->have[1] ? d->base[1] + d->page[1].n : 0;
	struct ferry_list_page p = { 0 };
	if (ferry_store_list(fs->store, d->path, 0, d->started ? d->marker : NULL, &p, err) < 0) {
		ferry_page_clear(&p);
		return -1;
	}
	ferry_page_clear(&d->page[0]);
	d->page[0] = d->page[1];
	d->base[0] = d->base[1];
	d->have[0] = d->have[1];
	d->page[1] = p;
	d->base[1] = base;
	d->have[1] = 1;
	d->started = 1;
	free(d->marker);
	d->marker = p.next_marker ? strdup(p.next_marker) : NULL;
	d->done = !p.next_marker;
	return 0;
}

/* Entry number `i` of the listing, fetching pages as needed; NULL at the end,
 * on error (then err is filled), or when a page would have to be fetched and
 * `may_fetch` is 0. */
static const struct ferry_entry *dir_entry(struct ferry_fs *fs, struct dirh *d, uint64_t i, int may_fetch,
					   ferry_err *err)
{
	for (;;) {
		for (int k = 1; k >= 0; k--)
			if (d->have[k] && i >= d->base[k] && i < d->base[k] + d->page[k].n)
				return &d->page[k].entries[i - d->base[k]];
		if (d->started && ((d->have[0] && i < d->base[0]) || (!d->have[0] && d->have[1] && i < d->base[1])))
			dir_reset(d); /* a seek back before what we hold: list again */
		if ((d->started && d->done) || !may_fetch)
			return NULL;
		if (dir_next_page(fs, d, err) < 0)
			return NULL;
	}
}

/* Add entry `e` (number i) to the reply; 1 when it did not fit (or no
 * memory), else 0. `is_local`: a child that exists only here (its node's
 * attributes are authoritative and must not be overwritten from `e`). */
static int add_entry(struct ferry_fs *fs, fuse_req_t req, const struct ferry_entry *e, size_t plen, int plus,
		     char *buf, size_t size, size_t *used, uint64_t i, int is_local)
{
	const char *name = e->name + plen + (plen ? 1 : 0);
	if (strlen(e->name) <= plen || !*name || strchr(name, '/'))
		return 0; /* a folder marker blob or an odd name: not an entry */
	if (!plus) {
		struct stat st = { .st_ino = 0, .st_mode = e->is_dir ? S_IFDIR : S_IFREG };
		size_t need = fuse_add_direntry(req, buf + *used, size - *used, name, &st, (off_t)(i + 1));
		if (need > size - *used)
			return 1;
		*used += need;
		return 0;
	}
	struct fuse_entry_param ep;
	pthread_mutex_lock(&fs->tlock);
	struct node *n = table_find(fs, e->name);
	/* a file being written here keeps the attributes it has here */
	if (!n || (!is_local && !n->w && !n->local))
		n = table_get(fs, e->name, e);
	if (!n) {
		pthread_mutex_unlock(&fs->tlock);
		return 1;
	}
	n->nlookup++;
	fill_entry(fs, n, &ep);
	if (e->size_unknown)
		ep.attr_timeout = 0;
	size_t need = fuse_add_direntry_plus(req, buf + *used, size - *used, name, &ep, (off_t)(i + 1));
	if (need > size - *used) {
		table_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->tlock);
		return 1;
	}
	pthread_mutex_unlock(&fs->tlock);
	*used += need;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
		       int plus)
{
	(void)ino;
	struct ferry_fs *fs = fs_of(req);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	ferry_err err;
	ferry_err_clear(&err);
	pthread_mutex_lock(&d->lock);
	size_t plen = strlen(d->path);
	int failed = 0;
	for (uint64_t i = (uint64_t)off;; i++) {
		/* Fetch a page only when nothing is ready to return: the kernel
		 * asks with a large buffer (1 MiB on recent kernels), and filling
		 * it would make the first entries of a huge folder wait. */
		const struct ferry_entry *e = dir_entry(fs, d, i, used == 0, &err);
		struct ferry_entry xe;
		if (!e && err.code == FERRY_OK && d->started && d->done && d->nextra) {
			/* past storage's listing: the local-only children */
			uint64_t total = d->have[1] ? d->base[1] + d->page[1].n : 0;
			if (i >= total && i - total < d->nextra) {
				char *xp = ferry_path_join(d->path, d->extra[i - total]);
				pthread_mutex_lock(&fs->tlock);
				struct node *xn = xp ? table_find(fs, xp) : NULL;
				memset(&xe, 0, sizeof(xe));
				xe.name = xp;
				xe.is_dir = xn ? xn->is_dir : 0;
				xe.size = xn ? xn->size : 0;
				xe.mtime = xn ? xn->mtime : 0;
				pthread_mutex_unlock(&fs->tlock);
				if (!xn) {
					free(xp);
					continue;
				}
				e = &xe;
			}
		}
		if (!e) {
			failed = err.code != FERRY_OK;
			break;
		}
		if (e != &xe)
			ahead_listed(fs->ahead, d->path, i, e); /* lookups and read-ahead follow the listing */
		char *own = e == &xe ? xe.name : NULL;
		int full = add_entry(fs, req, e, plen, plus, buf, size, &used, i, own != NULL);
		free(own);
		if (full)
			break;
	}
	ferry_debug("mount: readdir%s '%s' from entry %lld: %zu of %zu bytes", plus ? "plus" : "", d->path,
		    (long long)off, used, size);
	pthread_mutex_unlock(&d->lock);
	if (failed && used == 0) {
		ferry_log(FERRY_LOG_ERROR, "mount: listing of '%s' failed: %s", d->path, err.msg);
		fuse_reply_err(req, ferry_err_errno(&err));
	} else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	dir_reset(d);
	for (size_t i = 0; i < d->nextra; i++)
		free(d->extra[i]);
	free(d->extra);
	pthread_mutex_destroy(&d->lock);
	free(d->path);
	free(d);
	fuse_reply_err(req, 0);
}

/* 1 when folder `path` has a child here or in storage, 0 when empty, or -errno. */
int dir_has_children(struct ferry_fs *fs, const char *path)
{
	pthread_mutex_lock(&fs->tlock);
	int local = has_local_below(fs, path);
	pthread_mutex_unlock(&fs->tlock);
	if (local)
		return 1;
	struct ferry_list_page page = { 0 };
	ferry_err err;
	ferry_err_clear(&err);
	int rc = ferry_store_list(fs->store, path, 0, NULL, &page, &err);
	int found = 0;
	for (size_t i = 0; rc == 0 && i < page.n; i++)
		if (strlen(page.entries[i].name) > strlen(path)) /* not a folder's own marker */
			found = 1;
	ferry_page_clear(&page);
	if (rc < 0) {
		ferry_log(FERRY_LOG_ERROR, "mount: listing of '%s' failed: %s", path, err.msg);
		return -ferry_err_errno(&err);
	}
	return found;
}
