/*
 * write.c — the write path of read-write mounts (see fs_internal.h and "The
 * read-write mount" in docs/architecture.md).
 *
 * A file opened for writing has a stage (staging.h) shared by every
 * descriptor of it (struct wnode); close and fsync upload it (a close of
 * a file still empty since it was created or truncated, while the closing
 * process or an ancestor holds another descriptor on it, waits for that
 * one: do_flush). Only a stage
 * its writer finished is committed: a failed write breaks it
 * (wnode.broken), a close caused by the death of a process killed by a
 * signal breaks it, and a stage still open when the session ends is never
 * uploaded; such content is kept under <cache>.not-uploaded and the file is
 * listed as not uploaded. mkdir, unlink, rmdir and rename act on storage at
 * once (folders made here live only here until a file lands below them).
 * On a read-only mount every operation here fails with EROFS.
 */
#include "fs/fs_internal.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>
#include <unistd.h>
#include <sys/statvfs.h>

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

void w_free(struct wnode *w)
{
	ferry_stage_free(w->st);
	pthread_mutex_destroy(&w->lock);
	free(w);
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
			n->md5[0] = '\0'; /* the stored one (if any) was the old content's */
			n->mtime = (int64_t)time(NULL);
			snprintf(n->etag, sizeof(n->etag), "ferry-upload-%llu",
				 (unsigned long long)__atomic_add_fetch(&fs->upload_seq, 1, __ATOMIC_RELAXED));
			n->attr_ms = ferry_now_ms();
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
void w_keep(struct ferry_fs *fs, struct node *n, struct wnode *w)
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
int w_release(struct ferry_fs *fs, struct node *n, struct wnode *w, int upload)
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
	w->fresh = 0;
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
	w->fresh = !rc && size == 0;
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
	w->fresh = truncate; /* nobody uses the stage before it is ready */
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
	h->writer = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND));
	h->n = n;
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	return h;
}

/* rw: open through the file's stage (for writing, or while someone writes it). */
void open_staged(struct ferry_fs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi)
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

static int refuse(struct ferry_fs *fs, fuse_req_t req)
{
	if (fs->rw)
		return 0;
	fuse_reply_err(req, EROFS);
	return 1;
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

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
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
	reply_attr(req, fs, n, rc);
}

void op_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, dev_t rdev)
{
	(void)p, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
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
		n->attr_ms = ferry_now_ms();
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

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
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

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
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

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name)
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

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
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

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
	(void)ino, (void)np, (void)nn;
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi)
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
			n->md5[0] = '\0';
			set_local(fs, n, 1);
		}
		n->is_dir = 0;
		n->mtime = (int64_t)time(NULL);
		n->attr_ms = ferry_now_ms();
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

void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
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

/* Process `pid`'s /proc/PID/stat read into buf: a pointer to the ')' that
 * ends field 2 (the command name, which may hold anything), or NULL. */
static char *proc_stat(pid_t pid, char *buf, size_t len)
{
	char name[64];
	if (pid <= 0)
		return NULL;
	snprintf(name, sizeof(name), "/proc/%d/stat", (int)pid);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strrchr(buf, ')');
}

/* The signal that is ending process `pid`, or 0: its files are being closed
 * by its death, not by itself (flags of /proc/PID/stat, field 9, hold
 * PF_EXITING; exit_code, field 52, holds the signal that killed it). */
static int dying_by_signal(pid_t pid)
{
	char buf[1024];
	char *p = proc_stat(pid, buf, sizeof(buf));
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

/* Whether process `pid` has a descriptor on this mount's file `ino`, named
 * `rel` in the mount (only the end of the name is compared: the process may
 * see the mount elsewhere). Reads /proc/PID/fd and /proc/PID/fdinfo, which
 * ask the mount nothing. 0 when unsure. */
static int holds_file(pid_t pid, uint64_t ino, const char *rel)
{
	char dir[32];
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	char fds[48];
	snprintf(fds, sizeof(fds), "%s/fd", dir);
	DIR *d = pid > 0 ? opendir(fds) : NULL;
	if (!d)
		return 0;
	size_t rl = strlen(rel);
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		char name[320], target[PATH_MAX], info[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/fd/%s", dir, e->d_name);
		ssize_t tl = readlink(name, target, sizeof(target) - 1);
		if (tl <= (ssize_t)rl || target[tl - (ssize_t)rl - 1] != '/' || memcmp(target + tl - rl, rel, rl))
			continue;
		snprintf(name, sizeof(name), "%s/fdinfo/%s", dir, e->d_name);
		int fd = open(name, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, info, sizeof(info) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		info[n] = '\0';
		const char *p = strstr(info, "\nino:");
		found = p && strtoull(p + 5, NULL, 10) == ino;
	}
	closedir(d);
	return found;
}

/* Whether the process closing a descriptor on file `ino` (named `rel` in the
 * mount), or one of its ancestors, still has one on it: the descriptor
 * being closed is out of the closer's table by the time its flush comes; a
 * shell's children inherit its descriptors and close them as they exit. */
static int held_elsewhere(pid_t pid, uint64_t ino, const char *rel)
{
	char buf[1024];
	for (int depth = 0; pid > 1 && depth < 16; depth++) {
		if (holds_file(pid, ino, rel))
			return 1;
		char *p = proc_stat(pid, buf, sizeof(buf));
		int ppid = 0;
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
			return 0;
		pid = ppid;
	}
	return 0;
}

/* close(2) of a descriptor open for writing, and fsync(2): the file lands in
 * storage before they return. The close of a reader (a descriptor opened
 * read-only while another writes the file) commits nothing. A close by the
 * death of a process killed by a signal is not its writer's close: what it
 * wrote is never committed (the stage breaks). A close of a file nobody
 * wrote since it was created or truncated to 0, while the closing process
 * or an ancestor still holds a descriptor on it, uploads nothing yet: a
 * shell's `>` opens the file, dup2s it and closes the first descriptor
 * before the command writes, and uploading there would cost a second
 * request and show an empty blob meanwhile. The holder's own close uploads
 * it (or, killed, breaks it), so an empty file still lands as an empty
 * blob. */
static void do_flush(fuse_req_t req, struct fuse_file_info *fi, int is_close)
{
	struct ferry_fs *fs = fs_of(req);
	struct fileh *h = (struct fileh *)(uintptr_t)fi->fh;
	if (!h->w || (is_close && !h->writer)) {
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
	} else if (is_close) {
		pthread_mutex_lock(&h->w->lock);
		int fresh = h->w->st && h->w->fresh && h->w->st->dirty && !h->w->broken;
		pthread_mutex_unlock(&h->w->lock);
		pthread_mutex_lock(&fs->tlock);
		char *rel = fresh ? strdup(mount_rel(fs, h->n->path)) : NULL;
		uint64_t ino = h->n->ino;
		pthread_mutex_unlock(&fs->tlock);
		int later = rel && *rel && held_elsewhere(fuse_req_ctx(req)->pid, ino, rel);
		free(rel);
		if (later) {
			fuse_reply_err(req, 0);
			return;
		}
	}
	fuse_reply_err(req, w_upload(fs, h->n, h->w));
}

void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	do_flush(req, fi, 1);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync;
	do_flush(req, fi, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, 0);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
		 int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, fs_of(req)->rw ? ENOTSUP : EROFS);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, fs_of(req)->rw ? ENOTSUP : EROFS);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)off, (void)len, (void)fi;
	fuse_reply_err(req, fs_of(req)->rw ? EOPNOTSUPP : EROFS);
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
