/*
 * inode.c — the inode table of the file system (see fs_internal.h).
 *
 * As in libfuse's passthrough_ll, a FUSE inode number is the address of a
 * `struct node` (the root is FUSE_ROOT_ID). Nodes are found by store path in
 * a hash table, carry the kernel's lookup count and are freed by forget when
 * it drops to zero. A node caches the blob's attributes; with
 * DATASET_MOUNT_ATTRIBUTE_CACHE_TTL set they are re-read from storage once
 * older than the TTL, and the same TTL is given to the kernel as entry and
 * attribute timeout (unset: never expire). On read-write mounts nodes also
 * move (rename), leave the table while the kernel still knows them
 * (delete), and may exist only here (a new folder, a file not yet uploaded).
 */
#include "fs/fs_internal.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h % n);
}

struct node *table_find(struct ferry_fs *fs, const char *path)
{
	for (struct node *n = fs->tab[hash_path(path, fs->tabsize)]; n; n = n->hnext)
		if (!strcmp(n->path, path))
			return n;
	return NULL;
}

/* Find or add the node for `path`; attributes from `e` when given. */
struct node *table_get(struct ferry_fs *fs, const char *path, const struct ferry_entry *e)
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
		snprintf(n->md5, sizeof(n->md5), "%s", e->md5);
		n->attr_ms = e->size_unknown ? 0 : ferry_now_ms();
	}
	return n;
}

void table_forget(struct ferry_fs *fs, struct node *n, uint64_t count)
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

int fresh(struct ferry_fs *fs, const struct node *n)
{
	if (n->w || n->local)
		return 1; /* what is here is newer than storage */
	return n->attr_ms > 0 && (fs->ttl_ms < 0 || ferry_now_ms() - n->attr_ms <= fs->ttl_ms);
}

void reply_attr(fuse_req_t req, struct ferry_fs *fs, struct node *n, int rc)
{
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

void fill_stat(struct ferry_fs *fs, const struct node *n, struct stat *st)
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
int refresh(struct ferry_fs *fs, struct node *n)
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
	int rc = 0;
	if (n == &fs->rootnode || ahead_lookup(fs->ahead, path, &e) < 0) {
		__atomic_add_fetch(&fs->stats_from_storage, 1, __ATOMIC_RELAXED);
		rc = ferry_store_stat(fs->store, path, &e, &err);
	}
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
	snprintf(n->md5, sizeof(n->md5), "%s", e.md5);
	n->attr_ms = ferry_now_ms();
	pthread_mutex_unlock(&fs->tlock);
	ferry_entry_clear(&e);
	free(path);
	return 0;
}

void set_local(struct ferry_fs *fs, struct node *n, int v)
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
void table_detach(struct ferry_fs *fs, struct node *n)
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
int table_move_one(struct ferry_fs *fs, struct node *n, const char *to)
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
int table_move_below(struct ferry_fs *fs, const char *from, const char *to)
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
int has_local_below(struct ferry_fs *fs, const char *dir)
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
void ancestors_stored(struct ferry_fs *fs, const char *path)
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

/* `path` (a store path) relative to the mount's root. */
const char *mount_rel(const struct ferry_fs *fs, const char *path)
{
	size_t rl = strlen(fs->root);
	return path + (rl && !strncmp(path, fs->root, rl) && path[rl] == '/' ? rl + 1 : 0);
}

void fill_entry(struct ferry_fs *fs, struct node *n, struct fuse_entry_param *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ino = ino_of(fs, n);
	ep->attr_timeout = fs->kernel_timeout;
	ep->entry_timeout = fs->kernel_timeout;
	fill_stat(fs, n, &ep->attr);
}

/* The store path of `name` in folder `parent`, malloc'd (NULL: no memory). */
char *child_path(struct ferry_fs *fs, fuse_ino_t parent, const char *name)
{
	pthread_mutex_lock(&fs->tlock);
	char *p = ferry_path_join(node_of(fs, parent)->path, name);
	pthread_mutex_unlock(&fs->tlock);
	return p;
}
