/*
 * fs.c — the read-only file system: libfuse3 low-level operations over a store.
 *
 * Inodes. As in libfuse's passthrough_ll, a FUSE inode number is the address
 * of a `struct node` (the root is FUSE_ROOT_ID). Nodes are found by store path
 * in a hash table, carry the kernel's lookup count and are freed by forget
 * when it drops to zero. A node caches the blob's attributes; with
 * DATASET_MOUNT_ATTRIBUTE_CACHE_TTL set they are re-read from storage once
 * older than the TTL, and the same TTL is given to the kernel as entry and
 * attribute timeout (unset: never expire).
 *
 * Listing. A directory handle keeps the storage marker and the last two pages
 * of the listing, never the whole folder: readdir(off) serves entry `off` from
 * those pages and fetches the next page only when the kernel asks past the
 * current one (a page boundary may straddle two replies; a seek back further
 * restarts the listing). readdirplus hands out the listed sizes, so `ls -l`
 * and os.walk cost no per-file request.
 *
 * Reads. open() picks the mode: whole-file (the file cache downloads the file,
 * reads are served by splicing from the local copy) or block (the block
 * cache). A file the file cache cannot fit is streamed through the block
 * cache. Storage failures become EIO; the caches log blob, range and reason.
 * Everything that would modify the tree fails with EROFS (the mount is also
 * mounted read-only, so the kernel refuses most of it before asking).
 *
 * Threads: the session is multi-threaded. `tlock` guards the node table and
 * every node's lookup count and attributes; a directory handle has its own
 * lock; the caches lock themselves. Storage calls run without `tlock`.
 */
#define FUSE_USE_VERSION 312
#include "fs/fs.h"
#include "cache/blockcache.h"
#include "cache/filecache.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

struct node {
	char *path;           /* full store path (root prefix included) */
	uint64_t nlookup;     /* kernel references; guarded by tlock */
	uint64_t ino;         /* st_ino shown to programs */
	int is_dir;
	uint64_t size;
	int64_t mtime;
	char etag[72];
	double attr_ms;       /* when the attributes were read; 0 = never */
	struct node *hnext;
};

struct ferry_fs {
	struct ferry_store *store;
	const struct ferry_settings *settings;
	struct ferry_stats *stats;
	char *root;
	char *cache_dir;
	char *mountpoint;
	double ttl_ms;        /* < 0: attributes never expire */
	double kernel_timeout;
	int block_mode;
	uint64_t block_size;
	struct fuse_session *se;
	int mounted;
	struct ferry_bcache *bc;
	struct ferry_fcache *fc;

	pthread_mutex_t tlock; /* guards the node table, lookup counts and attributes */
	struct node **tab;
	size_t tabsize, nnodes;
	uint64_t next_ino;
	struct node rootnode;

	uint64_t opens, read_errors, streamed; /* atomic */
	uint64_t bytes_read;                   /* atomic: bytes programs read */
};

struct dirh {
	pthread_mutex_t lock;  /* guards the pages and the marker */
	char *path;
	struct ferry_list_page page[2]; /* [0] previous, [1] current */
	uint64_t base[2];      /* listing index of page[i].entries[0] */
	int have[2];
	char *marker;          /* next page's marker; NULL at the end */
	int started, done;
};

struct fileh {
	int fd;                          /* whole-file mode: the cached copy */
	struct ferry_fcache_entry *ent;
	struct ferry_bcache_reader *br;  /* block mode or streaming */
	uint64_t size;                   /* the file's size at open */
	unsigned inflight;               /* atomic: op_read calls using it */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct ferry_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- node table (tlock held) ---- */

static size_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h % n);
}

static struct node *node_of(struct ferry_fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->rootnode : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(struct ferry_fs *fs, struct node *n)
{
	return n == &fs->rootnode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static struct node *table_find(struct ferry_fs *fs, const char *path)
{
	for (struct node *n = fs->tab[hash_path(path, fs->tabsize)]; n; n = n->hnext)
		if (!strcmp(n->path, path))
			return n;
	return NULL;
}

/* Find or add the node for `path`; attributes from `e` when given. */
static struct node *table_get(struct ferry_fs *fs, const char *path, const struct ferry_entry *e)
{
	struct node *n = table_find(fs, path);
	if (!n) {
		if (!(n = calloc(1, sizeof(*n))) || !(n->path = strdup(path))) {
			free(n);
			return NULL;
		}
		n->ino = ++fs->next_ino;
		size_t s = hash_path(path, fs->tabsize);
		n->hnext = fs->tab[s];
		fs->tab[s] = n;
		fs->nnodes++;
	}
	if (e) {
		n->is_dir = e->is_dir;
		n->size = e->size;
		n->mtime = e->mtime;
		snprintf(n->etag, sizeof(n->etag), "%s", e->etag);
		n->attr_ms = e->size_unknown ? 0 : now_ms();
	}
	return n;
}

static void table_forget(struct ferry_fs *fs, struct node *n, uint64_t count)
{
	if (n == &fs->rootnode)
		return;
	n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
	if (n->nlookup)
		return;
	struct node **pp = &fs->tab[hash_path(n->path, fs->tabsize)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	fs->nnodes--;
	free(n->path);
	free(n);
}

static int fresh(struct ferry_fs *fs, const struct node *n)
{
	return n->attr_ms > 0 && (fs->ttl_ms < 0 || now_ms() - n->attr_ms <= fs->ttl_ms);
}

static void fill_stat(struct ferry_fs *fs, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = n->is_dir ? 0 : (off_t)n->size;
	st->st_blksize = (blksize_t)(fs->block_size > 0 && fs->block_size < (1u << 30) ? fs->block_size : 4096);
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = n->mtime;
}

/* Store errors as errno values. */
static int errno_of(const ferry_err *e)
{
	switch (e->code) {
	case FERRY_E_NOTFOUND:
		return ENOENT;
	case FERRY_E_AUTH:
		return EACCES;
	case FERRY_E_INVALID:
	case FERRY_E_UNSAFE:
		return EINVAL;
	default:
		return EIO;
	}
}

/* Refresh `n`'s attributes from storage when stale. Returns 0 or an errno. */
static int refresh(struct ferry_fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->tlock);
	int ok = fresh(fs, n);
	char *path = ok ? NULL : strdup(n->path);
	pthread_mutex_unlock(&fs->tlock);
	if (ok)
		return 0;
	if (!path)
		return ENOMEM;
	struct ferry_entry e;
	ferry_err err;
	ferry_err_clear(&err);
	int rc = ferry_store_stat(fs->store, path, &e, &err);
	if (rc < 0) {
		if (err.code != FERRY_E_NOTFOUND)
			ferry_log(FERRY_LOG_ERROR, "mount: stat of '%s' failed: %s", path, err.msg);
		free(path);
		return errno_of(&err);
	}
	pthread_mutex_lock(&fs->tlock);
	n->is_dir = n == &fs->rootnode ? 1 : e.is_dir;
	n->size = e.size;
	n->mtime = e.mtime;
	snprintf(n->etag, sizeof(n->etag), "%s", e.etag);
	n->attr_ms = now_ms();
	pthread_mutex_unlock(&fs->tlock);
	ferry_entry_clear(&e);
	free(path);
	return 0;
}

/* ---- lookup, forget, getattr ---- */

static void fill_entry(struct ferry_fs *fs, struct node *n, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = ino_of(fs, n);
	ep->attr_timeout = fs->kernel_timeout;
	ep->entry_timeout = fs->kernel_timeout;
	fill_stat(fs, n, &ep->attr);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ferry_fs *fs = fs_of(req);
	pthread_mutex_lock(&fs->tlock);
	char *path = ferry_path_join(node_of(fs, parent)->path, name);
	struct node *n = path ? table_find(fs, path) : NULL;
	if (n && fresh(fs, n)) {
		struct fuse_entry_param ep;
		n->nlookup++;
		fill_entry(fs, n, &ep);
		pthread_mutex_unlock(&fs->tlock);
		free(path);
		fuse_reply_entry(req, &ep);
		return;
	}
	pthread_mutex_unlock(&fs->tlock);
	if (!path) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct ferry_entry e;
	ferry_err err;
	ferry_err_clear(&err);
	if (ferry_store_stat(fs->store, path, &e, &err) < 0) {
		free(path);
		if (err.code == FERRY_E_NOTFOUND) {
			/* A negative entry, cached by the kernel as long as attributes. */
			struct fuse_entry_param ep;
			memset(&ep, 0, sizeof(ep));
			ep.entry_timeout = fs->kernel_timeout;
			fuse_reply_entry(req, &ep);
		} else {
			ferry_log(FERRY_LOG_ERROR, "mount: lookup of '%s' failed: %s", name, err.msg);
			fuse_reply_err(req, errno_of(&err));
		}
		return;
	}
	pthread_mutex_lock(&fs->tlock);
	n = table_get(fs, path, &e);
	struct fuse_entry_param ep;
	if (n) {
		n->nlookup++;
		fill_entry(fs, n, &ep);
	}
	pthread_mutex_unlock(&fs->tlock);
	ferry_entry_clear(&e);
	free(path);
	if (n)
		fuse_reply_entry(req, &ep);
	else
		fuse_reply_err(req, ENOMEM);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct ferry_fs *fs = fs_of(req);
	pthread_mutex_lock(&fs->tlock);
	table_forget(fs, node_of(fs, ino), nlookup);
	pthread_mutex_unlock(&fs->tlock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct ferry_fs *fs = fs_of(req);
	pthread_mutex_lock(&fs->tlock);
	for (size_t i = 0; i < count; i++)
		table_forget(fs, node_of(fs, forgets[i].ino), forgets[i].nlookup);
	pthread_mutex_unlock(&fs->tlock);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct ferry_fs *fs = fs_of(req);
	struct node *n = node_of(fs, ino);
	int rc = refresh(fs, n);
	if (rc) {
		fuse_reply_err(req, rc);
		return;
	}
	struct stat st;
	pthread_mutex_lock(&fs->tlock);
	fill_stat(fs, n, &st);
	pthread_mutex_unlock(&fs->tlock);
	fuse_reply_attr(req, &st, fs->kernel_timeout);
}

/* ---- directories ---- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = fs->ttl_ms < 0;
	fi->keep_cache = fs->ttl_ms < 0;
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
		if (!e) {
			failed = err.code != FERRY_OK;
			break;
		}
		const char *name = e->name + plen + (plen ? 1 : 0);
		if (strlen(e->name) <= plen || !*name || strchr(name, '/'))
			continue; /* a folder marker blob or an odd name: not an entry */
		if (!plus) {
			struct stat st = { .st_ino = 0, .st_mode = e->is_dir ? S_IFDIR : S_IFREG };
			size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(i + 1));
			if (need > size - used)
				break;
			used += need;
			continue;
		}
		struct fuse_entry_param ep;
		pthread_mutex_lock(&fs->tlock);
		struct node *n = table_get(fs, e->name, e);
		if (!n) {
			pthread_mutex_unlock(&fs->tlock);
			break;
		}
		n->nlookup++;
		fill_entry(fs, n, &ep);
		if (e->size_unknown)
			ep.attr_timeout = 0;
		size_t need = fuse_add_direntry_plus(req, buf + used, size - used, name, &ep, (off_t)(i + 1));
		if (need > size - used) {
			table_forget(fs, n, 1);
			pthread_mutex_unlock(&fs->tlock);
			break;
		}
		pthread_mutex_unlock(&fs->tlock);
		used += need;
	}
	ferry_debug("mount: readdir%s '%s' from entry %lld: %zu of %zu bytes", plus ? "plus" : "", d->path,
		    (long long)off, used, size);
	pthread_mutex_unlock(&d->lock);
	if (failed && used == 0) {
		ferry_log(FERRY_LOG_ERROR, "mount: listing of '%s' failed: %s", d->path, err.msg);
		fuse_reply_err(req, errno_of(&err));
	} else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	dir_reset(d);
	pthread_mutex_destroy(&d->lock);
	free(d->path);
	free(d);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ferry_fs *fs = fs_of(req);
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct node *n = node_of(fs, ino);
	int rc = refresh(fs, n);
	if (rc) {
		fuse_reply_err(req, rc);
		return;
	}
	pthread_mutex_lock(&fs->tlock);
	int isdir = n->is_dir;
	uint64_t size = n->size;
	int64_t mtime = n->mtime;
	char etag[72];
	snprintf(etag, sizeof(etag), "%s", n->etag);
	char *path = strdup(n->path);
	pthread_mutex_unlock(&fs->tlock);
	if (!path) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (isdir) {
		free(path);
		fuse_reply_err(req, EISDIR);
		return;
	}
	struct fileh *h = calloc(1, sizeof(*h));
	if (!h) {
		free(path);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->fd = -1;
	h->size = size;
	__atomic_add_fetch(&fs->opens, 1, __ATOMIC_RELAXED);
	ferry_debug("mount: open '%s' (%llu bytes, %s mode)", path, (unsigned long long)size,
		    fs->block_mode ? "block" : "whole-file");
	if (!fs->block_mode) {
		ferry_err err;
		ferry_err_clear(&err);
		int frc = ferry_fcache_open(fs->fc, path, size, mtime, etag, &h->fd, &h->ent, &err);
		if (frc < 0) {
			free(path);
			free(h);
			fuse_reply_err(req, errno_of(&err) == ENOENT ? ENOENT : EIO);
			return;
		}
		if (frc == FERRY_FCACHE_NOFIT)
			__atomic_add_fetch(&fs->streamed, 1, __ATOMIC_RELAXED);
	}
	if (h->fd < 0 && !(h->br = ferry_bcache_open(fs->bc, path, size, mtime, etag))) {
		free(path);
		free(h);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	free(path);
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = fs->ttl_ms < 0;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) == -ENOENT) { /* the open was interrupted */
		if (h->br)
			ferry_bcache_close(h->br);
		if (h->fd >= 0)
			close(h->fd);
		ferry_fcache_close(fs->fc, h->ent);
		free(h);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	struct ferry_fs *fs = fs_of(req);
	struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
	__atomic_add_fetch(&h->inflight, 1, __ATOMIC_ACQUIRE);
	if (h->fd >= 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = h->fd;
		bv.buf[0].pos = off;
		/* Counted before replying: once the reply is out, the program may
		 * close the file and `h` be released by another thread. */
		uint64_t n = (uint64_t)off < h->size ? h->size - (uint64_t)off : 0;
		if (fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE) == 0)
			__atomic_add_fetch(&fs->bytes_read, n < size ? n : size, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE); /* last use of h */
		return;
	}
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t got = 0;
	ferry_err err;
	ferry_err_clear(&err);
	if (ferry_bcache_read(h->br, (uint64_t)off, size, buf, &got, &err) < 0) {
		__atomic_add_fetch(&fs->read_errors, 1, __ATOMIC_RELAXED);
		fuse_reply_err(req, EIO);
	} else if (fuse_reply_buf(req, buf, got) == 0)
		__atomic_add_fetch(&fs->bytes_read, got, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE); /* last use of h */
	free(buf);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct ferry_fs *fs = fs_of(req);
	struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
	/* The kernel sends RELEASE only after every READ of the file got its
	 * reply, but a read's thread may still be between its reply and its
	 * return (libfuse reads the cached file's fd while it replies).
	 * Waiting for those few instructions makes the handle's
	 * lifetime ours rather than the kernel's, and lets ThreadSanitizer see
	 * the ordering it cannot see through /dev/fuse. */
	while (__atomic_load_n(&h->inflight, __ATOMIC_ACQUIRE))
		sched_yield();
	if (h->br)
		ferry_bcache_close(h->br);
	if (h->fd >= 0)
		close(h->fd);
	if (h->ent)
		ferry_fcache_close(fs->fc, h->ent);
	free(h);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 1024;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* Everything that writes: EROFS. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}
static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, dev_t rdev)
{
	(void)p, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}
static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode)
{
	(void)p, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}
static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *name)
{
	(void)p, (void)name;
	fuse_reply_err(req, EROFS);
}
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name)
{
	(void)link, (void)p, (void)name;
	fuse_reply_err(req, EROFS);
}
static void op_rename(fuse_req_t req, fuse_ino_t p, const char *name, fuse_ino_t np, const char *nn,
		      unsigned int flags)
{
	(void)p, (void)name, (void)np, (void)nn, (void)flags;
	fuse_reply_err(req, EROFS);
}
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
	(void)ino, (void)np, (void)nn;
	fuse_reply_err(req, EROFS);
}
static void op_create(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	(void)p, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, EROFS);
}
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
			int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)off, (void)len, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: sizes come with the listing */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->max_readahead = conn->max_readahead > (1u << 20) ? conn->max_readahead : (1u << 20);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};

/* ---- lifecycle ---- */

static unsigned u(const struct ferry_settings *s, enum ferry_setting_id id)
{
	int64_t v = ferry_setting_int(s, id);
	return v < 0 ? 0 : v > 1024 ? 1024 : (unsigned)v;
}

int ferry_fs_new(struct ferry_store *store, const char *root, const struct ferry_settings *settings,
		 struct ferry_stats *stats, const char *cache_dir, struct ferry_fs **out, ferry_err *err)
{
	struct ferry_fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	fs->store = store;
	fs->settings = settings;
	fs->stats = stats;
	fs->root = strdup(root);
	fs->cache_dir = strdup(cache_dir);
	fs->tabsize = 1 << 16;
	fs->tab = calloc(fs->tabsize, sizeof(*fs->tab));
	pthread_mutex_init(&fs->tlock, NULL);
	fs->rootnode.path = fs->root;
	fs->rootnode.is_dir = 1;
	fs->rootnode.ino = 1;
	fs->next_ino = 1;
	if (!fs->root || !fs->cache_dir || !fs->tab) {
		ferry_fs_destroy(fs);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	int64_t ttl = ferry_setting_int(settings, FS_ATTR_CACHE_TTL);
	fs->ttl_ms = ttl < 0 ? -1 : (double)ttl;
	fs->kernel_timeout = ttl < 0 ? 365.0 * 86400 : ttl / 1000.0;
	fs->block_mode = ferry_setting_int(settings, FS_BLOCK_CACHE_ENABLED) > 0;
	fs->block_size = (uint64_t)ferry_setting_int(settings, FS_READ_BLOCK_SIZE);

	/* The root must be a folder. */
	struct ferry_entry e;
	if (ferry_store_stat(store, root, &e, err) < 0) {
		ferry_fs_destroy(fs);
		return -1;
	}
	int isdir = e.is_dir;
	fs->rootnode.mtime = e.mtime;
	ferry_entry_clear(&e);
	if (!isdir) {
		ferry_fs_destroy(fs);
		return ferry_err_set(err, FERRY_E_INVALID,
				     "'%s' in %s is a file; a mount shows a folder (mount its parent)", root,
				     store->display);
	}
	fs->rootnode.attr_ms = now_ms();

	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST) {
		ferry_err_set(err, FERRY_E_IO, "cannot create cache folder %s: %s", cache_dir, strerror(errno));
		ferry_fs_destroy(fs);
		return -1;
	}
	int64_t cache_size = ferry_setting_int(settings, FS_MOUNT_CACHE_SIZE);
	char dir[4200];
	struct ferry_bcache_config bcfg = {
		.store = store,
		.block_size = fs->block_size,
		.ram_limit = (uint64_t)ferry_setting_int(settings, FS_MEMORY_CACHE_SIZE),
		.prefetch_blocks = (unsigned)ferry_setting_int(settings, FS_READ_BUFFER_BLOCKS),
		.read_threads = u(settings, FS_READ_THREADS),
		.disk_limit = cache_size >= 0 ? cache_size : -1,
		.write_threads = u(settings, FS_BLOCK_FILE_WRITE_THREADS),
		.write_queue_max = (uint64_t)ferry_setting_int(settings, FS_BLOCK_FILE_QUEUE),
		.coalesce_max = (uint64_t)ferry_setting_int(settings, FS_PART_SIZE),
	};
	if (fs->block_mode && ferry_setting_int(settings, FS_BLOCK_FILE_CACHE_ENABLED) > 0) {
		snprintf(dir, sizeof(dir), "%s/blocks", cache_dir);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", dir, strerror(errno));
			ferry_fs_destroy(fs);
			return -1;
		}
		bcfg.disk_dir = dir;
	}
	if (ferry_bcache_new(&bcfg, &fs->bc, err) < 0) {
		ferry_fs_destroy(fs);
		return -1;
	}
	if (!fs->block_mode) {
		snprintf(dir, sizeof(dir), "%s/files", cache_dir);
		struct ferry_fcache_config fcfg = {
			.store = store,
			.dir = dir,
			.cache_size = cache_size,
			.reserved_free = (uint64_t)ferry_setting_int(settings, FS_RESERVED_FREE_DISK),
			.prune_threshold = ferry_setting_f64(settings, FS_PRUNE_THRESHOLD),
			.prune_target = ferry_setting_f64(settings, FS_PRUNE_TARGET),
			.threads = u(settings, FS_DOWNLOADER_THREADS),
			.part_size = (uint64_t)ferry_setting_int(settings, FS_PART_SIZE),
		};
		if (ferry_fcache_new(&fcfg, &fs->fc, err) < 0) {
			ferry_fs_destroy(fs);
			return -1;
		}
	}
	*out = fs;
	return 0;
}

int ferry_fs_mount(struct ferry_fs *fs, const char *mountpoint, ferry_err *err)
{
	char opts[1200];
	snprintf(opts, sizeof(opts), "ro,default_permissions,fsname=ferry,subtype=ferry%s",
		 geteuid() == 0 ? ",allow_other" : "");
	char *argv[] = { "ferry", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	fuse_opt_free_args(&args); /* the parser may have copied them */
	if (!fs->se)
		return ferry_err_set(err, FERRY_E_IO, "cannot start a FUSE session (is /dev/fuse there?)");
	if (fuse_session_mount(fs->se, mountpoint) != 0)
		return ferry_err_set(err, FERRY_E_IO,
				     "cannot mount at %s (is it an existing folder, and FUSE allowed here?)",
				     mountpoint);
	fs->mounted = 1;
	fs->mountpoint = strdup(mountpoint);
	ferry_info("mounted %s%s%s at %s read-only (%s mode)", fs->store->display, fs->root[0] ? "/" : "",
		   fs->root, mountpoint, fs->block_mode ? "block" : "whole-file cache");
	return 0;
}

int ferry_fs_loop(struct ferry_fs *fs)
{
	if (fuse_set_signal_handlers(fs->se) != 0)
		return -1;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fuse_remove_signal_handlers(fs->se);
		return -1;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 64);
	fuse_loop_cfg_set_idle_threads(cfg, 16);
	int rc = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_remove_signal_handlers(fs->se);
	/* libfuse reports the signal that ended the loop as a positive value:
	 * for us that is the normal way to stop. */
	return rc >= 0 ? 0 : -1;
}

void ferry_fs_report(struct ferry_fs *fs, char *buf, size_t cap)
{
	struct ferry_bcache_counters b = { 0 };
	struct ferry_fcache_counters f = { 0 };
	if (fs->bc)
		ferry_bcache_counters(fs->bc, &b);
	if (fs->fc)
		ferry_fcache_counters(fs->fc, &f);
	uint64_t hits = b.hits + f.hits, misses = b.misses + f.misses;
	ferry_info("mount summary: %llu opens, cache hits %llu, misses %llu (hit rate %.1f%%), "
		   "%llu bytes from storage in %llu requests (%llu retries), waited %.2f s for storage, "
		   "%llu blocks prefetched (%llu used), %llu from disk, %llu RAM evictions, %llu files "
		   "evicted, %llu streamed, %llu read errors",
		   (unsigned long long)fs->opens, (unsigned long long)hits, (unsigned long long)misses,
		   hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
		   (unsigned long long)ferry_stats_get(&fs->stats->bytes),
		   (unsigned long long)ferry_stats_get(&fs->stats->requests),
		   (unsigned long long)ferry_stats_get(&fs->stats->retries), (b.wait_us + f.wait_us) / 1e6,
		   (unsigned long long)b.prefetched, (unsigned long long)b.prefetch_used,
		   (unsigned long long)b.disk_hits, (unsigned long long)b.evicted, (unsigned long long)f.evicted,
		   (unsigned long long)fs->streamed, (unsigned long long)fs->read_errors);
	if (buf)
		snprintf(buf, cap,
			 "%llu opens, cache hit rate %.1f%%, %.1f MiB from storage in %llu requests, "
			 "waited %.2f s for storage",
			 (unsigned long long)fs->opens,
			 hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
			 (double)ferry_stats_get(&fs->stats->bytes) / 1048576.0,
			 (unsigned long long)ferry_stats_get(&fs->stats->requests), (b.wait_us + f.wait_us) / 1e6);
}

void ferry_fs_counters(struct ferry_fs *fs, struct ferry_fs_counters *out)
{
	struct ferry_bcache_counters b = { 0 };
	struct ferry_fcache_counters f = { 0 };
	if (fs->bc)
		ferry_bcache_counters(fs->bc, &b);
	if (fs->fc)
		ferry_fcache_counters(fs->fc, &f);
	out->opens = __atomic_load_n(&fs->opens, __ATOMIC_RELAXED);
	out->bytes_read = __atomic_load_n(&fs->bytes_read, __ATOMIC_RELAXED);
	out->cache_hits = b.hits + f.hits;
	out->cache_misses = b.misses + f.misses;
	out->storage_bytes = ferry_stats_get(&fs->stats->bytes);
	out->requests = ferry_stats_get(&fs->stats->requests);
	out->retries = ferry_stats_get(&fs->stats->retries);
	out->read_errors = __atomic_load_n(&fs->read_errors, __ATOMIC_RELAXED);
	out->wait_us = b.wait_us + f.wait_us;
}

static void rm_dir_files(const char *dir)
{
	/* The cache folder holds only files we wrote and the two sub-folders. */
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/blocks", dir);
	DIR *d = opendir(sub);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char f[4500];
			snprintf(f, sizeof(f), "%s/%s", sub, de->d_name);
			unlink(f);
		}
		closedir(d);
		rmdir(sub);
	}
	rmdir(dir);
}

void ferry_fs_destroy(struct ferry_fs *fs)
{
	if (!fs)
		return;
	if (fs->se) {
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
	}
	if (fs->mountpoint)
		ferry_info("unmounted %s", fs->mountpoint);
	ferry_bcache_destroy(fs->bc);
	ferry_fcache_destroy(fs->fc);
	if (fs->cache_dir)
		rm_dir_files(fs->cache_dir);
	for (size_t i = 0; fs->tab && i < fs->tabsize; i++)
		for (struct node *n = fs->tab[i], *nx; n; n = nx) {
			nx = n->hnext;
			free(n->path);
			free(n);
		}
	free(fs->tab);
	pthread_mutex_destroy(&fs->tlock);
	free(fs->root);
	free(fs->cache_dir);
	free(fs->mountpoint);
	free(fs);
}
