/*
 * fs.c — the file system: libfuse3 low-level operations over a store.
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
 * Writes (read-write mounts). A file opened for writing has a stage
 * (staging.h); close and fsync upload it. Only a stage its writer finished
 * is committed: a failed write breaks it (wnode.broken), a close caused by
 * the death of a process killed by a signal breaks it, and a stage still
 * open when the session ends is never uploaded; such content is kept under
 * <cache>.not-uploaded and the file is listed as not uploaded.
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
#include "fs/staging.h"

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
	/* read-write mounts only (guarded by tlock) */
	int local;            /* exists only here so far: a new folder, or a file not yet uploaded */
	int unlinked;         /* deleted or replaced: out of the table, freed by forget */
	struct wnode *w;      /* the staged copy while the file is open for writing */
};

/* A file being written: its stage (staging.h) and who uses it. `users` is
 * guarded by tlock; `lock` guards the stage and serialises writes, uploads,
 * renames and deletes of the file. Lock order: a wnode's lock, then tlock. */
struct wnode {
	pthread_mutex_t lock;
	struct ferry_stage *st; /* NULL if creating it failed; set once, under tlock */
	unsigned users;         /* open handles and operations in progress */
	int ready;              /* st is set (tlock; fs->wready is signalled) */
	int broken;             /* errno of a write or truncate that failed, or of a writer killed
			         * before closing it (`lock`): the stage is never committed */
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

	/* read-write mounts */
	int rw;
	char *stage_dir;
	char *keep_dir;         /* <cache_dir>.not-uploaded: content whose upload failed */
	uint64_t reserved_free;
	size_t nlocal;          /* nodes with `local` set (tlock) */
	struct node *detached;  /* unlinked nodes the kernel still knows, via hnext (tlock) */
	pthread_cond_t wready;  /* a wnode became ready (with tlock) */
	pthread_mutex_t flock;  /* guards the upload counters and the failed list */
	uint64_t uploads, upload_bytes, upload_failures;
	uint64_t upload_seq;    /* atomic; names uploads in node etags */
	char **failed;          /* files whose last upload failed */
	size_t nfailed;
	uint64_t bytes_read;                   /* atomic: bytes programs read */
};

struct dirh {
	pthread_mutex_t lock;  /* guards the pages and the marker */
	char *path;
	char **extra;          /* rw: local-only children, listed after storage's */
	size_t nextra;
	struct ferry_list_page page[2]; /* [0] previous, [1] current */
	uint64_t base[2];      /* listing index of page[i].entries[0] */
	int have[2];
	char *marker;          /* next page's marker; NULL at the end */
	int started, done;
};

struct fileh {
	struct wnode *w;                 /* rw: the staged copy (reads and writes go there) */
	struct node *n;
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
	if (n->unlinked) {
		struct node **dp = &fs->detached;
		while (*dp && *dp != n)
			dp = &(*dp)->hnext;
		if (*dp)
			*dp = n->hnext;
		free(n->path);
		free(n);
		return;
	}
	if (n->local)
		fs->nlocal--;
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
	if (n->w || n->local)
		return 1; /* what is here is newer than storage */
	return n->attr_ms > 0 && (fs->ttl_ms < 0 || now_ms() - n->attr_ms <= fs->ttl_ms);
}

static void fill_stat(struct ferry_fs *fs, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	if (fs->rw)
		st->st_mode = n->is_dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	else
		st->st_mode = n->is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = n->is_dir ? 0 : (off_t)n->size;
	if (n->w && n->w->st)
		st->st_size = (off_t)__atomic_load_n(&n->w->st->size, __ATOMIC_RELAXED);
	st->st_blksize = (blksize_t)(fs->block_size > 0 && fs->block_size < (1u << 30) ? fs->block_size : 4096);
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = n->mtime;
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
		return ferry_err_errno(&err);
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

/* ---- the read-write mount: table changes, staged files, uploads ---- */

static void set_local(struct ferry_fs *fs, struct node *n, int v)
{
	if (n->local == v || n == &fs->rootnode)
		return;
	n->local = v;
	if (n->unlinked)
		return;
	if (v)
		fs->nlocal++;
	else
		fs->nlocal--;
}

/* tlock held: take `n` out of the table (deleted, or replaced by a rename);
 * the kernel's references keep it alive until forget. */
static void table_detach(struct ferry_fs *fs, struct node *n)
{
	if (n == &fs->rootnode || n->unlinked)
		return;
	set_local(fs, n, 0);
	struct node **pp = &fs->tab[hash_path(n->path, fs->tabsize)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->unlinked = 1;
	n->hnext = fs->detached;
	fs->detached = n;
	fs->nnodes--;
}

/* tlock held: give `n` the path `to` (no node may hold `to`). */
static int table_move_one(struct ferry_fs *fs, struct node *n, const char *to)
{
	char *np = strdup(to);
	if (!np)
		return ENOMEM;
	struct node **pp = &fs->tab[hash_path(n->path, fs->tabsize)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	free(n->path);
	n->path = np;
	size_t b = hash_path(np, fs->tabsize);
	n->hnext = fs->tab[b];
	fs->tab[b] = n;
	return 0;
}

/* tlock held: move every node below folder `from` to the same place below `to`. */
static int table_move_below(struct ferry_fs *fs, const char *from, const char *to)
{
	size_t fl = strlen(from), cap = 0, k = 0;
	struct node **v = NULL;
	for (size_t i = 0; i < fs->tabsize; i++)
		for (struct node *n = fs->tab[i]; n; n = n->hnext) {
			if (strncmp(n->path, from, fl) || n->path[fl] != '/')
				continue;
			if (k == cap) {
				cap = cap ? cap * 2 : 64;
				struct node **nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					free(v);
					return ENOMEM;
				}
				v = nv;
			}
			v[k++] = n;
		}
	int rc = 0;
	for (size_t i = 0; i < k && !rc; i++) {
		char *np = ferry_path_join(to, v[i]->path + fl + 1);
		rc = np ? table_move_one(fs, v[i], np) : ENOMEM;
		free(np);
	}
	free(v);
	return rc;
}

/* tlock held: 1 when a local-only node lies below folder `dir`. */
static int has_local_below(struct ferry_fs *fs, const char *dir)
{
	if (!fs->nlocal)
		return 0;
	size_t dl = strlen(dir);
	for (size_t i = 0; i < fs->tabsize; i++)
		for (struct node *n = fs->tab[i]; n; n = n->hnext)
			if (n->local && (!dl || (!strncmp(n->path, dir, dl) && n->path[dl] == '/')))
				return 1;
	return 0;
}

/* tlock held: once `path` is in storage, its folders are too. */
static void ancestors_stored(struct ferry_fs *fs, const char *path)
{
	char *p = strdup(path);
	if (!p)
		return;
	for (char *slash; (slash = strrchr(p, '/'));) {
		*slash = '\0';
		struct node *n = table_find(fs, p);
		if (n)
			set_local(fs, n, 0);
	}
	free(p);
}

/* The upload counters and the list of files whose last upload failed.
 * Returns 1 when a success took `path` off that list. */
static int note_upload(struct ferry_fs *fs, const char *path, uint64_t size, int rc)
{
	int cleared = 0;
	pthread_mutex_lock(&fs->flock);
	size_t i = 0;
	while (i < fs->nfailed && strcmp(fs->failed[i], path))
		i++;
	if (rc) {
		fs->upload_failures++;
		char **nf = i == fs->nfailed ? realloc(fs->failed, (fs->nfailed + 1) * sizeof(char *)) : NULL;
		if (nf) {
			fs->failed = nf;
			if ((nf[fs->nfailed] = strdup(path)))
				fs->nfailed++;
		}
	} else {
		if (size != UINT64_MAX) {
			fs->uploads++;
			fs->upload_bytes += size;
		}
		if (i < fs->nfailed) {
			free(fs->failed[i]);
			fs->failed[i] = fs->failed[--fs->nfailed];
			cleared = 1;
		}
	}
	pthread_mutex_unlock(&fs->flock);
	return cleared;
}

static void w_free(struct wnode *w)
{
	ferry_stage_free(w->st);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* `path` (a store path) relative to the mount's root. */
static const char *mount_rel(const struct ferry_fs *fs, const char *path)
{
	size_t rl = strlen(fs->root);
	return path + (rl && !strncmp(path, fs->root, rl) && path[rl] == '/' ? rl + 1 : 0);
}

/* Remove the copy kept under fs->keep_dir for `path` (its content is in
 * storage now, or the file was deleted). */
static void drop_kept(struct ferry_fs *fs, const char *path)
{
	if (!fs->keep_dir)
		return;
	char *kept = NULL;
	if (asprintf(&kept, "%s/%s", fs->keep_dir, mount_rel(fs, path)) >= 0)
		unlink(kept);
	free(kept);
}

/* Upload `n`'s stage if it changed (not once the file was deleted). A broken
 * stage (a write to it failed, or a writer died holding it) is never
 * uploaded: storage keeps the previous content and the file is listed as
 * not uploaded. Returns 0 or EIO. */
static int w_upload(struct ferry_fs *fs, struct node *n, struct wnode *w)
{
	pthread_mutex_lock(&w->lock);
	pthread_mutex_lock(&fs->tlock);
	int broken = w->st ? w->broken : 0;
	int skip = n->unlinked || !w->st || (!w->st->dirty && !broken);
	char *path = skip ? NULL : strdup(n->path);
	pthread_mutex_unlock(&fs->tlock);
	int rc = 0;
	if (!skip && !path)
		rc = ENOMEM;
	else if (!skip && broken) {
		ferry_log(FERRY_LOG_ERROR,
			  "mount: '%s' is not uploaded: %s (%s); storage keeps its previous content", path,
			  broken == ECANCELED ? "its writer was killed before closing it" : "a write to it failed",
			  strerror(broken));
		note_upload(fs, path, 0, EIO);
		rc = EIO;
	} else if (!skip) {
		uint64_t size = w->st->size;
		rc = ferry_stage_upload(w->st, fs->store, fs->settings, path);
		int was_failed = note_upload(fs, path, size, rc);
		pthread_mutex_lock(&fs->tlock);
		if (!rc) {
			/* What was uploaded is what storage has: no need to ask. The
			 * etag is ours, unique per upload, so the read caches (keyed
			 * by path, size, mtime and etag) never serve an older copy. */
			n->size = size;
			n->mtime = (int64_t)time(NULL);
			snprintf(n->etag, sizeof(n->etag), "ferry-upload-%llu",
				 (unsigned long long)__atomic_add_fetch(&fs->upload_seq, 1, __ATOMIC_RELAXED));
			n->attr_ms = now_ms();
			set_local(fs, n, 0);
			ancestors_stored(fs, path);
		}
		pthread_mutex_unlock(&fs->tlock);
		if (was_failed) /* a copy kept after the earlier failure is stale now */
			drop_kept(fs, path);
	}
	pthread_mutex_unlock(&w->lock);
	free(path);
	return rc;
}

/* The last use of a stage whose content is not in storage (its upload
 * failed, or it was never uploaded): keep that content under fs->keep_dir at
 * the file's name in the mount, rather than deleting it with the stage. */
static void w_keep(struct ferry_fs *fs, struct node *n, struct wnode *w)
{
	pthread_mutex_lock(&fs->tlock);
	int keep = w->st && (w->st->dirty || w->broken) && !n->unlinked && fs->keep_dir;
	char *rel = keep ? strdup(mount_rel(fs, n->path)) : NULL;
	pthread_mutex_unlock(&fs->tlock);
	if (rel && *rel)
		ferry_stage_keep(w->st, fs->keep_dir, rel);
	free(rel);
}

/* Drop one use of `w` (uploading first when `upload`); the last use deletes
 * the stage (keeping content that is not in storage: w_keep). Returns the
 * upload's result. */
static int w_release(struct ferry_fs *fs, struct node *n, struct wnode *w, int upload)
{
	int rc = upload ? w_upload(fs, n, w) : 0;
	pthread_mutex_lock(&fs->tlock);
	int last = --w->users == 0;
	if (last) {
		n->w = NULL;
		if (w->st && (w->st->dirty || w->broken))
			n->attr_ms = 0; /* not uploaded: storage says what the file is */
	}
	pthread_mutex_unlock(&fs->tlock);
	if (last) {
		w_keep(fs, n, w);
		w_free(w);
	}
	return rc;
}

/* w->lock held: write to the stage; a failure breaks it (never committed). */
static int w_write(struct wnode *w, const void *buf, size_t len, uint64_t off)
{
	int rc = ferry_stage_write(w->st, buf, len, off);
	if (rc)
		w->broken = rc;
	return rc;
}

/* w->lock held: set the stage's length. A failure breaks the stage; a
 * truncation to 0 (O_TRUNC, ftruncate(fd, 0)) starts the file over, so it
 * mends it. */
static int w_truncate(struct wnode *w, uint64_t size)
{
	int rc = ferry_stage_truncate(w->st, size);
	if (rc)
		w->broken = rc;
	else if (size == 0)
		w->broken = 0;
	return rc;
}

/* A use of `n`'s stage, creating it (and fetching the current content unless
 * `truncate` or the file is new) when there is none. Returns 0 or an errno. */
static int w_acquire(struct ferry_fs *fs, struct node *n, int truncate, struct wnode **out)
{
	pthread_mutex_lock(&fs->tlock);
	struct wnode *w = n->w;
	if (w) {
		w->users++;
		while (!w->ready) /* another thread is fetching the file */
			pthread_cond_wait(&fs->wready, &fs->tlock);
		pthread_mutex_unlock(&fs->tlock);
		pthread_mutex_lock(&w->lock);
		int rc = w->st ? 0 : EIO;
		if (!rc && truncate)
			rc = w_truncate(w, 0);
		pthread_mutex_unlock(&w->lock);
		if (rc) {
			w_release(fs, n, w, 0);
			return rc;
		}
		*out = w;
		return 0;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		pthread_mutex_unlock(&fs->tlock);
		return ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->users = 1;
	n->w = w;
	uint64_t fetch = n->local || truncate ? 0 : n->size;
	int dirty = n->local || truncate;
	char *path = strdup(n->path);
	pthread_mutex_unlock(&fs->tlock);
	struct ferry_stage *st = NULL;
	int rc = path ? ferry_stage_new(fs->stage_dir, fs->store, path, fetch, dirty, fs->reserved_free, &st)
		      : ENOMEM;
	pthread_mutex_lock(&fs->tlock);
	w->st = st;
	w->ready = 1;
	pthread_cond_broadcast(&fs->wready);
	pthread_mutex_unlock(&fs->tlock);
	free(path);
	if (rc) {
		w_release(fs, n, w, 0);
		return rc;
	}
	*out = w;
	return 0;
}

/* Move one file in storage: the store's rename, or copy then delete. */
static int move_file(struct ferry_fs *fs, const char *from, const char *to, ferry_err *err)
{
	struct ferry_store *s = fs->store;
	if (s->ops->rename)
		return s->ops->rename(s, from, to, err);
	if (s->ops->copy(s, from, to, err) < 0)
		return -1;
	if (s->ops->remove(s, from, err) < 0 && err->code != FERRY_E_NOTFOUND) {
		ferry_log(FERRY_LOG_ERROR, "mount: rename of '%s' to '%s': copied, but deleting the old name failed: %s",
			  from, to, err->msg);
		return -1;
	}
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
	/* Below a folder that exists only here, storage has nothing: no request. */
	int parent_local = node_of(fs, parent)->local && !n;
	pthread_mutex_unlock(&fs->tlock);
	if (!path) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (parent_local) {
		struct fuse_entry_param ep;
		memset(&ep, 0, sizeof(ep));
		ep.entry_timeout = fs->kernel_timeout;
		free(path);
		fuse_reply_entry(req, &ep);
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
			fuse_reply_err(req, ferry_err_errno(&err));
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
	for (size_t i = 0; i < d->nextra; i++)
		free(d->extra[i]);
	free(d->extra);
	pthread_mutex_destroy(&d->lock);
	free(d->path);
	free(d);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

/* A handle on stage `w` of `n` in fi->fh, after `rc` (the stage's result):
 * NULL when rc or out of memory — then the error is replied and the use of
 * `w` dropped. */
static struct fileh *staged_handle(struct ferry_fs *fs, fuse_req_t req, struct node *n, struct wnode *w, int rc,
				   struct fuse_file_info *fi)
{
	struct fileh *h = rc ? NULL : calloc(1, sizeof(*h));
	if (!rc && !h) {
		w_release(fs, n, w, 0);
		rc = ENOMEM;
	}
	if (rc) {
		fuse_reply_err(req, rc);
		return NULL;
	}
	__atomic_add_fetch(&fs->opens, 1, __ATOMIC_RELAXED);
	h->fd = -1;
	h->w = w;
	h->n = n;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	return h;
}

/* rw: open through the file's stage (for writing, or while someone writes it). */
static void open_staged(struct ferry_fs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi)
{
	int rc = refresh(fs, n);
	pthread_mutex_lock(&fs->tlock);
	int isdir = n->is_dir;
	pthread_mutex_unlock(&fs->tlock);
	if (!rc && isdir)
		rc = EISDIR;
	struct wnode *w = NULL;
	if (!rc)
		rc = w_acquire(fs, n, (fi->flags & O_TRUNC) != 0, &w);
	struct fileh *h = staged_handle(fs, req, n, w, rc, fi);
	if (!h)
		return;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		w_release(fs, n, w, 1);
		free(h);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ferry_fs *fs = fs_of(req);
	int writes = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND));
	if (writes && !fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct node *n = node_of(fs, ino);
	if (fs->rw) {
		pthread_mutex_lock(&fs->tlock);
		int staged = n->w != NULL || n->local;
		pthread_mutex_unlock(&fs->tlock);
		if (writes || staged) {
			open_staged(fs, req, n, fi);
			return;
		}
	}
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
			fuse_reply_err(req, ferry_err_errno(&err) == ENOENT ? ENOENT : EIO);
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
	fi->keep_cache = fs->ttl_ms < 0 && !fs->rw;
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
	if (h->fd >= 0 || h->w) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = h->w ? h->w->st->fd : h->fd;
		bv.buf[0].pos = off;
		/* Counted before replying: once the reply is out, the program may
		 * close the file and `h` be released by another thread. */
		uint64_t fsize = h->w ? __atomic_load_n(&h->w->st->size, __ATOMIC_RELAXED) /* grows and shrinks */
				      : h->size;
		uint64_t n = (uint64_t)off < fsize ? fsize - (uint64_t)off : 0;
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
	if (h->w) {
		/* normally flushed already; this catches writes after the last flush */
		w_release(fs, h->n, h->w, 1);
		free(h);
		fuse_reply_err(req, 0);
		return;
	}
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
	struct ferry_fs *fs = fs_of(req);
	struct statvfs local;
	if (fs->rw && statvfs(fs->stage_dir, &local) == 0) {
		/* what can be staged: the staging disk above the reserve */
		uint64_t bs = local.f_frsize ? local.f_frsize : 4096;
		uint64_t res = fs->reserved_free / bs;
		sv.f_bsize = local.f_bsize;
		sv.f_frsize = (unsigned long)bs;
		sv.f_blocks = local.f_blocks;
		sv.f_bfree = local.f_bfree > res ? local.f_bfree - res : 0;
		sv.f_bavail = local.f_bavail > res ? local.f_bavail - res : 0;
		sv.f_flag = 0;
	}
	fuse_reply_statfs(req, &sv);
}

/* ---- writes: EROFS on a read-only mount ---- */

static int refuse(struct ferry_fs *fs, fuse_req_t req)
{
	if (fs->rw)
		return 0;
	fuse_reply_err(req, EROFS);
	return 1;
}

/* The store path of `name` in folder `parent`, malloc'd (NULL: no memory). */
static char *child_path(struct ferry_fs *fs, fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&fs->tlock);
	char *p = ferry_path_join(node_of(fs, parent)->path, name);
	pthread_mutex_unlock(&fs->tlock);
	return p;
}

/* The store path a write operation on `name` in `parent` acts on, or NULL
 * when the error (EROFS on a read-only mount, ENOMEM) was replied. */
static char *write_target(struct ferry_fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (refuse(fs, req))
		return NULL;
	char *path = child_path(fs, parent, name);
	if (!path)
		fuse_reply_err(req, ENOMEM);
	return path;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	struct ferry_fs *fs = fs_of(req);
	if (refuse(fs, req))
		return;
	struct node *n = node_of(fs, ino);
	int rc = 0;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		pthread_mutex_lock(&fs->tlock);
		int isdir = n->is_dir;
		pthread_mutex_unlock(&fs->tlock);
		struct fileh *h = fi ? (struct fileh *)(uintptr_t)fi->fh : NULL;
		struct wnode *w = h && !isdir ? h->w : NULL;
		int own = !w;
		if (isdir)
			rc = EISDIR;
		else if (own) {
			rc = refresh(fs, n);
			if (!rc)
				rc = w_acquire(fs, n, attr->st_size == 0, &w);
		}
		if (!rc) {
			pthread_mutex_lock(&w->lock);
			rc = w_truncate(w, (uint64_t)attr->st_size);
			pthread_mutex_unlock(&w->lock);
		}
		/* truncate(2) of a file nobody has open: it lands now */
		if (own && w) {
			int urc = w_release(fs, n, w, 1);
			rc = rc ? rc : urc;
		}
	}
	/* modes, owners and times are not kept: storage has none of them */
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

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, dev_t rdev)
{
	(void)p, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)mode;
	struct ferry_fs *fs = fs_of(req);
	char *path = write_target(fs, req, parent, name);
	if (!path)
		return;
	/* Blob storage has no empty folders: the folder lives here until a
	 * file is uploaded below it. */
	struct fuse_entry_param ep;
	int rc = 0;
	pthread_mutex_lock(&fs->tlock);
	struct node *n = table_find(fs, path);
	if (n && (n->local || n->attr_ms > 0))
		rc = EEXIST;
	else if (!(n = table_get(fs, path, NULL)))
		rc = ENOMEM;
	else {
		n->is_dir = 1;
		n->size = 0;
		n->mtime = (int64_t)time(NULL);
		n->attr_ms = now_ms();
		set_local(fs, n, 1);
		n->nlookup++;
		fill_entry(fs, n, &ep);
	}
	pthread_mutex_unlock(&fs->tlock);
	free(path);
	if (rc)
		fuse_reply_err(req, rc);
	else
		fuse_reply_entry(req, &ep);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ferry_fs *fs = fs_of(req);
	char *path = write_target(fs, req, parent, name);
	if (!path)
		return;
	pthread_mutex_lock(&fs->tlock);
	struct node *n = table_find(fs, path);
	struct wnode *w = n ? n->w : NULL;
	if (w)
		w->users++;
	int isdir = n && n->is_dir;
	pthread_mutex_unlock(&fs->tlock);
	int rc = isdir ? EISDIR : 0;
	if (w)
		pthread_mutex_lock(&w->lock); /* no upload of it runs meanwhile */
	pthread_mutex_lock(&fs->tlock);
	int local = n && n->local;
	pthread_mutex_unlock(&fs->tlock);
	if (!rc && !local) {
		ferry_err err;
		ferry_err_clear(&err);
		if (fs->store->ops->remove(fs->store, path, &err) < 0 && (err.code != FERRY_E_NOTFOUND || !w)) {
			rc = ferry_err_errno(&err);
			if (err.code != FERRY_E_NOTFOUND)
				ferry_log(FERRY_LOG_ERROR, "mount: delete of '%s' failed: %s", path, err.msg);
		}
	}
	if (!rc) {
		pthread_mutex_lock(&fs->tlock);
		struct node *cur = table_find(fs, path);
		if (cur)
			table_detach(fs, cur);
		pthread_mutex_unlock(&fs->tlock);
		if (note_upload(fs, path, UINT64_MAX, 0)) /* a deleted file is not missing */
			drop_kept(fs, path);          /* nor is what was kept of it */
		ferry_debug("mount: deleted '%s'", path);
	}
	if (w) {
		pthread_mutex_unlock(&w->lock);
		w_release(fs, n, w, 0);
	}
	free(path);
	fuse_reply_err(req, rc);
}

/* 1 when folder `path` has a child here or in storage, 0 when empty, or -errno. */
static int dir_has_children(struct ferry_fs *fs, const char *path)
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

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ferry_fs *fs = fs_of(req);
	char *path = write_target(fs, req, parent, name);
	if (!path)
		return;
	int has = dir_has_children(fs, path);
	int rc = has < 0 ? -has : has ? ENOTEMPTY : 0;
	if (!rc) {
		pthread_mutex_lock(&fs->tlock);
		struct node *n = table_find(fs, path);
		if (n && !n->is_dir)
			rc = ENOTDIR;
		else if (n)
			table_detach(fs, n);
		pthread_mutex_unlock(&fs->tlock);
	}
	free(path);
	fuse_reply_err(req, rc);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name)
{
	(void)link, (void)p, (void)name;
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

/* Rename folder `from` to `to` in storage: every file below, one by one. */
static int rename_dir(struct ferry_fs *fs, const char *from, const char *to)
{
	int has = dir_has_children(fs, to);
	if (has != 0)
		return has < 0 ? -has : ENOTEMPTY;
	ferry_err err;
	ferry_err_clear(&err);
	char *marker = NULL;
	size_t fl = strlen(from);
	int rc = 0;
	do {
		struct ferry_list_page page = { 0 };
		if (ferry_store_list(fs->store, from, 1, marker, &page, &err) < 0) {
			ferry_log(FERRY_LOG_ERROR, "mount: listing of '%s' failed: %s", from, err.msg);
			rc = ferry_err_errno(&err);
		}
		free(marker);
		marker = page.next_marker ? strdup(page.next_marker) : NULL;
		for (size_t i = 0; !rc && i < page.n; i++) {
			const char *name = page.entries[i].name;
			if (strlen(name) <= fl + 1)
				continue;
			char *dst = ferry_path_join(to, name + fl + 1);
			if (!dst)
				rc = ENOMEM;
			else if (move_file(fs, name, dst, &err) < 0) {
				ferry_log(FERRY_LOG_ERROR, "mount: rename of folder '%s' stopped at '%s': %s", from,
					  name, err.msg);
				rc = ferry_err_errno(&err);
			}
			free(dst);
		}
		ferry_page_clear(&page);
	} while (!rc && marker);
	free(marker);
	return rc;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct ferry_fs *fs = fs_of(req);
	if (refuse(fs, req))
		return;
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE cannot be done on storage */
		return;
	}
	char *from = child_path(fs, parent, name), *to = child_path(fs, newparent, newname);
	if (!from || !to) {
		free(from);
		free(to);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int rc = 0;
	if (!strcmp(from, to))
		goto out;
	pthread_mutex_lock(&fs->tlock);
	struct node *n = table_find(fs, from), *t = table_find(fs, to);
	int isdir = n ? n->is_dir : 0, local = n ? n->local : 0;
	int t_exists = t != NULL, t_isdir = t ? t->is_dir : 0;
	struct wnode *w = n ? n->w : NULL;
	if (w)
		w->users++;
	pthread_mutex_unlock(&fs->tlock);
	if (!n) { /* the kernel looks names up first; be safe anyway */
		rc = ENOENT;
		goto out;
	}
	if ((flags & RENAME_NOREPLACE) && t_exists)
		rc = EEXIST;
	else if (isdir && t_exists && !t_isdir)
		rc = ENOTDIR;
	else if (!isdir && t_isdir)
		rc = EISDIR;
	else if (isdir) {
		size_t fl = strlen(from);
		if (!strncmp(to, from, fl) && to[fl] == '/')
			rc = EINVAL; /* into itself */
		else if (!local)
			rc = rename_dir(fs, from, to);
	} else {
		if (w)
			pthread_mutex_lock(&w->lock); /* no upload of it runs meanwhile */
		pthread_mutex_lock(&fs->tlock);
		local = n->local;
		pthread_mutex_unlock(&fs->tlock);
		ferry_err err;
		ferry_err_clear(&err);
		if (!local && move_file(fs, from, to, &err) < 0 && (err.code != FERRY_E_NOTFOUND || !w)) {
			ferry_log(FERRY_LOG_ERROR, "mount: rename of '%s' to '%s' failed: %s", from, to, err.msg);
			rc = ferry_err_errno(&err);
		}
	}
	if (!rc) {
		pthread_mutex_lock(&fs->tlock);
		t = table_find(fs, to);
		if (t && t != n)
			table_detach(fs, t);
		if (isdir)
			rc = table_move_below(fs, from, to);
		if (!rc && !n->unlinked)
			rc = table_move_one(fs, n, to);
		if (!rc && !n->local)
			ancestors_stored(fs, to);
		pthread_mutex_unlock(&fs->tlock);
		ferry_debug("mount: renamed '%s' to '%s'", from, to);
	}
	if (w && !isdir)
		pthread_mutex_unlock(&w->lock);
	if (w)
		w_release(fs, n, w, 0);
out:
	free(from);
	free(to);
	fuse_reply_err(req, rc);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
	(void)ino, (void)np, (void)nn;
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	struct ferry_fs *fs = fs_of(req);
	char *path = write_target(fs, req, parent, name);
	if (!path)
		return;
	pthread_mutex_lock(&fs->tlock);
	struct node *n = table_find(fs, path);
	int rc = 0;
	if (n && n->is_dir)
		rc = EISDIR;
	else if (!n && !(n = table_get(fs, path, NULL)))
		rc = ENOMEM;
	else {
		if (!n->w && n->attr_ms == 0) { /* new: nothing in storage yet */
			n->size = 0;
			n->etag[0] = '\0';
			set_local(fs, n, 1);
		}
		n->is_dir = 0;
		n->mtime = (int64_t)time(NULL);
		n->attr_ms = now_ms();
		n->nlookup++;
	}
	pthread_mutex_unlock(&fs->tlock);
	free(path);
	struct wnode *w = NULL;
	if (!rc) {
		rc = w_acquire(fs, n, 1, &w);
		if (rc) {
			pthread_mutex_lock(&fs->tlock);
			table_forget(fs, n, 1);
			pthread_mutex_unlock(&fs->tlock);
		}
	}
	struct fileh *h = staged_handle(fs, req, n, w, rc, fi);
	if (!h)
		return;
	struct fuse_entry_param ep;
	pthread_mutex_lock(&fs->tlock);
	fill_entry(fs, n, &ep);
	pthread_mutex_unlock(&fs->tlock);
	if (fuse_reply_create(req, &ep, fi) == -ENOENT) {
		w_release(fs, n, w, 1);
		free(h);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	struct ferry_fs *fs = fs_of(req);
	if (refuse(fs, req))
		return;
	struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
	if (!h->w) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&h->w->lock);
	int rc = w_write(h->w, buf, size, (uint64_t)off);
	pthread_mutex_unlock(&h->w->lock);
	if (rc) {
		if (rc == ENOSPC)
			ferry_log(FERRY_LOG_ERROR, "mount: no room to stage a write of %zu bytes (DATASET_RESERVED_FREE_DISK_SPACE "
				  "keeps %llu bytes free)", size, (unsigned long long)fs->reserved_free);
		fuse_reply_err(req, rc);
	} else
		fuse_reply_write(req, size);
}

/* The signal that is ending process `pid`, or 0: its files are being closed
 * by its death, not by itself (flags of /proc/PID/stat, field 9, hold
 * PF_EXITING; exit_code, field 52, holds the signal that killed it). */
static int dying_by_signal(pid_t pid)
{
	char name[64], buf[1024];
	if (pid <= 0)
		return 0;
	snprintf(name, sizeof(name), "/proc/%d/stat", (int)pid);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name (field 2) may hold anything */
	unsigned long long flags = 0;
	long code = 0;
	for (int field = 3; p && *p; field++) {
		if (!(p = strchr(p + 1, ' ')))
			break;
		if (field == 9)
			flags = strtoull(p + 1, NULL, 10);
		else if (field == 52)
			code = strtol(p + 1, NULL, 10);
	}
	return (flags & 0x4 /* PF_EXITING */) ? (int)(code & 0x7f) : 0;
}

/* close(2) and fsync(2): the file lands in storage before they return. A
 * close by the death of a process killed by a signal is not its writer's
 * close: what it wrote is never committed (the stage breaks). */
static void do_flush(fuse_req_t req, struct fuse_file_info *fi, int is_close)
{
	struct ferry_fs *fs = fs_of(req);
	struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
	if (!h->w) {
		fuse_reply_err(req, 0);
		return;
	}
	int sig = is_close ? dying_by_signal(fuse_req_ctx(req)->pid) : 0;
	if (sig) {
		pthread_mutex_lock(&h->w->lock);
		int changed = h->w->st && h->w->st->dirty;
		if (changed)
			h->w->broken = ECANCELED;
		pthread_mutex_unlock(&h->w->lock);
		pthread_mutex_lock(&fs->tlock);
		char *rel = changed ? strdup(mount_rel(fs, h->n->path)) : NULL;
		pthread_mutex_unlock(&fs->tlock);
		if (rel)
			ferry_warn("mount: process %d was killed (signal %d) with '%s' open for writing",
				   (int)fuse_req_ctx(req)->pid, sig, rel);
		free(rel);
	}
	fuse_reply_err(req, w_upload(fs, h->n, h->w));
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	do_flush(req, fi, 1);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync;
	do_flush(req, fi, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
			int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, fs_of(req)->rw ? ENOTSUP : EROFS);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, fs_of(req)->rw ? ENOTSUP : EROFS);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)off, (void)len, (void)fi;
	fuse_reply_err(req, fs_of(req)->rw ? EOPNOTSUPP : EROFS);
}

/* Read-ahead of the mount. The kernel sends buffered reads of a FUSE file as
 * large as its backing device's read-ahead window, which starts at 128 KiB
 * and which INIT can only lower; a bigger window can only be set in sysfs
 * (/sys/class/bdi/MAJ:MIN/read_ahead_kb, root only). 512 KiB quarters the
 * requests of a sequential pass and still fits libfuse's splice pipe (1 MiB
 * requests do not: libfuse then copies through a fresh buffer, and the pass
 * costs twice the CPU of 128 KiB ones). Measured on a cached 1 GiB file
 * (docs/performance.md, mount run 5): 128 KiB 0.54 s of server CPU, 512 KiB
 * 0.37 s, 1 MiB 1.08 s. */
#define FS_READAHEAD_KB 512

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ferry_fs *fs = userdata;
	if (fs->rw && (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC))
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC; /* open(O_TRUNC) needs no fetch first */
	if (fs->rw)
		conn->max_write = 1u << 20;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: sizes come with the listing */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->max_readahead = FS_READAHEAD_KB * 1024u; /* the kernel keeps min(this, the device's) */
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
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.fsyncdir = op_fsyncdir,
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

int ferry_fs_new(const struct ferry_mount_opts *o, struct ferry_fs **out, ferry_err *err)
{
	struct ferry_store *store = o->store;
	const struct ferry_settings *settings = o->settings;
	const char *root = o->root ? o->root : "", *cache_dir = o->cache_dir;
	int rw = o->rw;
	if (rw && (!store->writable || !store->ops->put || !store->ops->remove || !store->ops->copy))
		return ferry_err_set(err, FERRY_E_AUTH,
				     "%s is read-only here: a read-write mount needs a credential that may write "
				     "(account key or SAS token; AWS keys for s3://)",
				     store->display);
	struct ferry_fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	fs->rw = rw;
	pthread_mutex_init(&fs->flock, NULL);
	pthread_cond_init(&fs->wready, NULL);
	fs->store = store;
	fs->settings = settings;
	fs->stats = o->stats;
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

	/* The root must be a folder (for a read-write mount, one that does
	 * not exist yet is an empty folder). */
	struct ferry_entry e;
	memset(&e, 0, sizeof(e));
	if (ferry_store_stat(store, root, &e, err) < 0) {
		if (!rw || err->code != FERRY_E_NOTFOUND) {
			ferry_fs_destroy(fs);
			return -1;
		}
		ferry_err_clear(err);
		e.is_dir = 1;
		e.mtime = (int64_t)time(NULL);
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
	if (rw) {
		snprintf(dir, sizeof(dir), "%s/staging", cache_dir);
		if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || !(fs->stage_dir = strdup(dir))) {
			ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", dir, strerror(errno));
			ferry_fs_destroy(fs);
			return -1;
		}
		fs->reserved_free = (uint64_t)ferry_setting_int(settings, FS_RESERVED_FREE_DISK);
		if (asprintf(&fs->keep_dir, "%s.not-uploaded", cache_dir) < 0)
			fs->keep_dir = NULL;
	}
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
		.read_timeout_ms = (uint64_t)ferry_setting_int(settings, FS_READ_TIMEOUT) * 1000,
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
			.read_timeout_ms = (uint64_t)ferry_setting_int(settings, FS_READ_TIMEOUT) * 1000,
		};
		if (ferry_fcache_new(&fcfg, &fs->fc, err) < 0) {
			ferry_fs_destroy(fs);
			return -1;
		}
	}
	*out = fs;
	return 0;
}

/* The MAJ:MIN of the mount at `path` (absolute, resolved), from
 * /proc/self/mountinfo: the last fuse mount there. Reading the file sends
 * nothing to our own (not yet serving) session. */
static int mount_dev(const char *path, char *dev, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[8192];
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		char mm[64], mp[4200], *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %63s %*s %4199s", mm, mp) != 2 || strncmp(sep + 3, "fuse", 4) != 0)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo */
		char *w = mp;
		for (const char *r = mp; *r; w++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
			    r[3] <= '7') {
				*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 4;
			} else
				*w = *r++;
		}
		*w = 0;
		if (strcmp(mp, path) == 0) {
			snprintf(dev, cap, "%s", mm);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* Best effort: raise the read-ahead window of the mount at `path`. */
static void tune_readahead(const char *path)
{
	char dev[64], name[128];
	if (!path || mount_dev(path, dev, sizeof(dev)) < 0) {
		ferry_debug("mount: read-ahead left at the kernel's default (mount not found in mountinfo)");
		return;
	}
	snprintf(name, sizeof(name), "/sys/class/bdi/%s/read_ahead_kb", dev);
	int fd = open(name, O_WRONLY | O_CLOEXEC);
	char val[16];
	int n = snprintf(val, sizeof(val), "%d", FS_READAHEAD_KB);
	if (fd < 0 || write(fd, val, (size_t)n) != n)
		ferry_debug("mount: read-ahead left at the kernel's default (%s: %s)", name, strerror(errno));
	else
		ferry_info("mount: read-ahead %d KiB (%s)", FS_READAHEAD_KB, name);
	if (fd >= 0)
		close(fd);
}

int ferry_fs_mount(struct ferry_fs *fs, const char *mountpoint, ferry_err *err)
{
	char opts[1200];
	snprintf(opts, sizeof(opts), "%sdefault_permissions,fsname=ferry,subtype=ferry%s", fs->rw ? "" : "ro,",
		 geteuid() == 0 ? ",allow_other" : "");
	char *argv[] = { "ferry", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	fuse_opt_free_args(&args); /* the parser may have copied them */
	if (!fs->se)
		return ferry_err_set(err, FERRY_E_IO, "cannot start a FUSE session (is /dev/fuse there?)");
	/* resolved before mounting: afterwards a lookup of the folder would wait
	 * for our own session, which does not serve yet */
	char *resolved = realpath(mountpoint, NULL);
	if (fuse_session_mount(fs->se, mountpoint) != 0) {
		free(resolved);
		return ferry_err_set(err, FERRY_E_IO,
				     "cannot mount at %s (is it an existing folder, and FUSE allowed here?)",
				     mountpoint);
	}
	/* before INIT, which keeps the smaller of this and max_readahead */
	tune_readahead(resolved);
	free(resolved);
	fs->mounted = 1;
	fs->mountpoint = strdup(mountpoint);
	ferry_info("mounted %s%s%s at %s %s (%s mode)", fs->store->display, fs->root[0] ? "/" : "", fs->root,
		   mountpoint, fs->rw ? "read-write" : "read-only", fs->block_mode ? "block" : "whole-file cache");
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
	char up[160] = "";
	if (fs->rw) {
		pthread_mutex_lock(&fs->flock);
		snprintf(up, sizeof(up), "; %llu uploads (%.1f MiB), %zu files not uploaded", (unsigned long long)fs->uploads,
			 (double)fs->upload_bytes / 1048576.0, fs->nfailed);
		pthread_mutex_unlock(&fs->flock);
		ferry_info("mount summary (writes)%s", up);
	}
	if (buf)
		snprintf(buf, cap,
			 "%llu opens, cache hit rate %.1f%%, %.1f MiB through storage in %llu requests, "
			 "waited %.2f s for storage%s",
			 (unsigned long long)fs->opens,
			 hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
			 (double)ferry_stats_get(&fs->stats->bytes) / 1048576.0,
			 (unsigned long long)ferry_stats_get(&fs->stats->requests), (b.wait_us + f.wait_us) / 1e6, up);
}

int ferry_fs_finish_uploads(struct ferry_fs *fs)
{
	if (!fs->rw)
		return 0;
	/* Stages still held after the session ended: handles the kernel never
	 * released (a forced unmount). Upload what changed. */
	size_t k = 0, cap = 0;
	struct node **v = NULL;
	pthread_mutex_lock(&fs->tlock);
	for (size_t i = 0; i < fs->tabsize; i++)
		for (struct node *n = fs->tab[i]; n; n = n->hnext)
			if (n->w) {
				if (k == cap) {
					cap = cap ? cap * 2 : 16;
					struct node **nv = realloc(v, cap * sizeof(*v));
					if (!nv)
						break;
					v = nv;
				}
				v[k++] = n;
			}
	pthread_mutex_unlock(&fs->tlock);
	for (size_t i = 0; i < k; i++) {
		/* Its writer never closed it: what was written may be a prefix.
		 * Never committed; ferry_fs_destroy keeps it under keep_dir. */
		struct wnode *w = v[i]->w;
		pthread_mutex_lock(&w->lock);
		int changed = w->st && (w->st->dirty || w->broken);
		pthread_mutex_unlock(&w->lock);
		if (!changed)
			continue;
		ferry_log(FERRY_LOG_ERROR,
			  "mount: '%s' is not uploaded: it was still open for writing at unmount; storage keeps "
			  "its previous content",
			  v[i]->path);
		note_upload(fs, v[i]->path, 0, EIO);
	}
	free(v);
	pthread_mutex_lock(&fs->flock);
	size_t nf = fs->nfailed;
	pthread_mutex_unlock(&fs->flock);
	return nf ? -1 : 0;
}

size_t ferry_fs_failed_uploads(struct ferry_fs *fs, const char *const **names)
{
	*names = (const char *const *)fs->failed;
	return fs->nfailed;
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
	/* The cache folder holds only files we wrote and these sub-folders. */
	char sub[4200];
	for (int k = 0; k < 2; k++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, k ? "staging" : "blocks");
		DIR *d = opendir(sub);
		if (!d)
			continue;
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
	for (size_t i = 0; fs->tab && i < fs->tabsize; i++) /* before the stages go */
		for (struct node *n = fs->tab[i]; n; n = n->hnext)
			if (n->w)
				w_keep(fs, n, n->w);
	if (fs->cache_dir)
		rm_dir_files(fs->cache_dir);
	for (size_t i = 0; fs->tab && i < fs->tabsize; i++)
		for (struct node *n = fs->tab[i], *nx; n; n = nx) {
			nx = n->hnext;
			if (n->w)
				w_free(n->w);
			free(n->path);
			free(n);
		}
	for (struct node *n = fs->detached, *nx; n; n = nx) {
		nx = n->hnext;
		if (n->w)
			w_free(n->w);
		free(n->path);
		free(n);
	}
	free(fs->tab);
	pthread_mutex_destroy(&fs->tlock);
	for (size_t i = 0; i < fs->nfailed; i++)
		free(fs->failed[i]);
	free(fs->failed);
	free(fs->stage_dir);
	free(fs->keep_dir);
	pthread_mutex_destroy(&fs->flock);
	pthread_cond_destroy(&fs->wready);
	free(fs->root);
	free(fs->cache_dir);
	free(fs->mountpoint);
	free(fs);
}
