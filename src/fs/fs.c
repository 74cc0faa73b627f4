/*
 * fs.c — the file system's ops table and lifecycle, lookups and the read path
 * (see fs_internal.h for how the file system is split).
 *
 * Reads. open() picks the mode: whole-file (the file cache downloads the file
 * in the background; a read is spliced from the local copy once its range has
 * landed, or read from storage by one ranged GET when it lies far ahead of
 * the download) or block (the block cache). A file the file cache cannot fit
 * is streamed through the block cache. Storage failures become EIO; the
 * caches log blob, range and reason. On a read-only mount everything that
 * would modify the tree fails with EROFS (the mount is also mounted
 * read-only, so the kernel refuses most of it before asking); on a read-write
 * mount a file with a stage is read from it (write.c).
 */
#include "fs/fs_internal.h"
#include "core/files.h"
#include "core/log.h"
#include "core/membudget.h"
#include "core/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

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
	/* a listed file the kernel forgot: its attributes are in the listing */
	int src = ahead_lookup(fs->ahead, path, &e);
	if (src < 0) {
		__atomic_add_fetch(&fs->stats_from_storage, 1, __ATOMIC_RELAXED);
		src = ferry_store_stat(fs->store, path, &e, &err);
	}
	if (src < 0) {
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
	reply_attr(req, fs, n, refresh(fs, n));
}

/* FERRY_VERIFY_MD5=require, a file read through the block cache whose
 * attributes carry no MD5 (a listing that does not give one): ask storage
 * (a HEAD); 0 with md5 (25 bytes) filled, or -1 (logged) when it keeps none
 * or cannot say: the open fails rather than read the file unchecked. */
static int require_md5(struct ferry_fs *fs, const char *path, char *md5)
{
	struct ferry_entry st = { 0 };
	ferry_err err;
	ferry_err_clear(&err);
	__atomic_add_fetch(&fs->stats_from_storage, 1, __ATOMIC_RELAXED);
	int rc = ferry_store_stat(fs->store, path, &st, &err);
	if (rc < 0)
		ferry_log(FERRY_LOG_ERROR, "open of blob '%s': %s", path, err.msg);
	else if (!st.md5[0])
		ferry_log(FERRY_LOG_ERROR,
			  "blob '%s' has no stored Content-MD5 and FERRY_VERIFY_MD5=require: not opened unchecked", path);
	else
		memcpy(md5, st.md5, sizeof(st.md5));
	rc = rc < 0 || !st.md5[0] ? -1 : 0;
	ferry_entry_clear(&st);
	return rc;
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
	char md5[25];
	snprintf(md5, sizeof(md5), "%s", n->md5);
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
	int fresh_copy = 0;
	__atomic_add_fetch(&fs->opens, 1, __ATOMIC_RELAXED);
	ferry_debug("mount: open '%s' (%llu bytes, %s mode)", path, (unsigned long long)size,
		    fs->block_mode ? "block" : "whole-file");
	if (!fs->block_mode) {
		ferry_err err;
		ferry_err_clear(&err);
		ahead_opened(fs->ahead, path); /* before this file's own download: the next ones start now */
		int frc = ferry_fcache_open(fs->fc, path, size, mtime, etag, md5, &h->fd, &h->ent, &err);
		ahead_open_done(fs->ahead, path);
		if (frc < 0) {
			free(path);
			free(h);
			fuse_reply_err(req, ferry_err_errno(&err) == ENOENT ? ENOENT : EIO);
			return;
		}
		if (frc == FERRY_FCACHE_NOFIT)
			__atomic_add_fetch(&fs->streamed, 1, __ATOMIC_RELAXED);
		fresh_copy = frc == FERRY_FCACHE_MISS;
	}
	if (h->fd < 0 && !md5[0] && ferry_setting_int(fs->settings, FS_VERIFY_MD5) == FERRY_VERIFY_REQUIRE &&
	    require_md5(fs, path, md5) < 0) { /* block mode, or streamed: as whole-file mode refuses it */
		free(path);
		free(h);
		fuse_reply_err(req, EIO);
		return;
	}
	if (h->fd < 0 && !(h->br = ferry_bcache_open(fs->bc, path, size, mtime, etag, md5))) {
		free(path);
		free(h);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	free(path);
	fi->fh = (uint64_t)(uintptr_t)h;
	/* A new download (or, in block mode, a version read afresh after a
	 * failed MD5 check): pages the kernel kept may come from an earlier
	 * attempt that failed its MD5 check, so they go. */
	fi->keep_cache = fs->ttl_ms < 0 && !fs->rw && !fresh_copy && !(h->br && ferry_bcache_reader_refetch(h->br));
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
	ferry_err err;
	ferry_err_clear(&err);
	int far = 0;
	if (h->ent) { /* whole-file mode: the range may not have landed yet */
		int wr = ferry_fcache_wait(fs->fc, h->ent, (uint64_t)off, size, &err);
		if (wr < 0) {
			__atomic_add_fetch(&fs->read_errors, 1, __ATOMIC_RELAXED);
			fuse_reply_err(req, EIO);
			__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE); /* last use of h */
			return;
		}
		far = wr == FERRY_FCACHE_FAR;
	}
	if (!far && (h->fd >= 0 || h->w)) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = h->w ? h->w->st->fd : h->fd;
		bv.buf[0].pos = off;
		/* Counted before replying: once the reply is out, the program may
		 * close the file and `h` be released by another thread. */
		uint64_t fsize = h->w ? __atomic_load_n(&h->w->st->size, __ATOMIC_RELAXED) /* grows and shrinks */
				      : h->size;
		uint64_t n = (uint64_t)off < fsize ? fsize - (uint64_t)off : 0;
		n = n < size ? n : size;
		/* … and the bytes too: once the program has them it may read the
		 * counters (a scrape right after `cat`), so they must be in already */
		__atomic_add_fetch(&fs->bytes_read, n, __ATOMIC_RELAXED);
		if (fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE) != 0)
			__atomic_sub_fetch(&fs->bytes_read, n, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE); /* last use of h */
		return;
	}
	char *buf = ferry_data_alloc(size); /* mapped when large: see core/membudget.h */
	if (!buf) {
		__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t got = 0;
	if ((far ? ferry_fcache_fetch(fs->fc, h->ent, (uint64_t)off, size, buf, &got, &err)
		 : ferry_bcache_read(h->br, (uint64_t)off, size, buf, &got, &err)) < 0) {
		__atomic_add_fetch(&fs->read_errors, 1, __ATOMIC_RELAXED);
		fuse_reply_err(req, EIO);
	} else {
		__atomic_add_fetch(&fs->bytes_read, got, __ATOMIC_RELAXED); /* before the program has them */
		if (fuse_reply_buf(req, buf, got) != 0)
			__atomic_sub_fetch(&fs->bytes_read, got, __ATOMIC_RELAXED);
	}
	__atomic_sub_fetch(&h->inflight, 1, __ATOMIC_RELEASE); /* last use of h */
	ferry_data_free(buf, size);
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
		/* normally flushed already; this catches writes after the last
		 * flush (a reader's release commits nothing) */
		w_release(fs, h->n, h->w, h->writer);
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
	fs->rootnode.attr_ms = ferry_now_ms();

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
	ferry_membudget_configure(settings);
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
	if (!rw && !(fs->ahead = ahead_new(fs->fc, fs->store, (unsigned)ferry_setting_int(settings, FS_AHEAD_FILES),
					   (uint64_t)ferry_setting_int(settings, FS_AHEAD_BYTES),
					   u(settings, FS_AHEAD_THREADS), fs->ttl_ms))) {
		ferry_fs_destroy(fs);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
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

/* The loop has ended (or never ran): what follows (uploads of an rw mount,
 * the unmount) must not be cut short. A job's mount server gets SIGTERM again
 * each time a SIGKILLed `ferry run` hands it from one dying thread to the
 * next (its parent-death signal); the default action killed it before the
 * unmount and left a stale mount (t4241). The signals are ignored *before*
 * libfuse's handlers are removed: fuse_remove_signal_handlers puts the
 * default back only where its own handler is still set, so there is no
 * moment with the default action (that moment, between the two calls in the
 * other order, is what CI hit). SIGPIPE stays ignored too (libfuse set it
 * ignored and would put the default back under the uploads). SIGKILL still
 * stops the process. */
static void signals_release(struct ferry_fs *fs)
{
	if (!fs->signals)
		return;
	struct sigaction ign = { 0 };
	ign.sa_handler = SIG_IGN;
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	fuse_remove_signal_handlers(fs->se);
	fs->signals = 0;
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
	/* Before the mount exists: a SIGTERM from then on ends the session (it
	 * is seen when the loop starts) instead of killing a process that holds
	 * a mount, which would leave it stale. */
	if (fuse_set_signal_handlers(fs->se) != 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot set the FUSE session's signal handlers");
	fs->signals = 1;
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
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg) {
		signals_release(fs);
		return -1;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 64);
	fuse_loop_cfg_set_idle_threads(cfg, 16);
	int rc = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	signals_release(fs);
	/* libfuse reports the signal that ended the loop as a positive value:
	 * for us that is the normal way to stop. */
	return rc >= 0 ? 0 : -1;
}

void ferry_fs_report(struct ferry_fs *fs, struct ferry_strbuf *lines, char *buf, size_t cap)
{
	struct ferry_bcache_counters b = { 0 };
	struct ferry_fcache_counters f = { 0 };
	if (fs->bc)
		ferry_bcache_counters(fs->bc, &b);
	if (fs->fc)
		ferry_fcache_counters(fs->fc, &f);
	uint64_t hits = b.hits + f.hits, misses = b.misses + f.misses;
	ferry_strbuf_addf(lines, "mount summary: %llu opens, cache hits %llu, misses %llu (hit rate %.1f%%), "
		   "%llu bytes from storage in %llu requests (%llu retries), waited %.2f s for storage, "
		   "%llu blocks prefetched (%llu used, %llu cancelled), %llu random reads by small ranges "
		   "(%llu KiB), %llu from disk, %llu RAM evictions, %llu files evicted, %llu streamed, "
		   "%llu reads waited for a download, %llu read errors\n",
		   (unsigned long long)fs->opens, (unsigned long long)hits, (unsigned long long)misses,
		   hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
		   (unsigned long long)ferry_stats_get(&fs->stats->bytes),
		   (unsigned long long)ferry_stats_get(&fs->stats->requests),
		   (unsigned long long)ferry_stats_get(&fs->stats->retries), (b.wait_us + f.wait_us) / 1e6,
		   (unsigned long long)b.prefetched, (unsigned long long)b.prefetch_used,
		   (unsigned long long)b.prefetch_cancelled, (unsigned long long)(b.ranged + f.ranged),
		   (unsigned long long)((b.ranged_bytes + f.ranged_bytes) >> 10), (unsigned long long)b.disk_hits,
		   (unsigned long long)b.evicted, (unsigned long long)f.evicted,
		   (unsigned long long)fs->streamed, (unsigned long long)f.waits,
		   (unsigned long long)fs->read_errors);
	char mem[400];
	ferry_membudget_summary(ferry_membudget_process(), mem, sizeof(mem));
	ferry_strbuf_addf(lines, "mount %s; %llu prefetches refused by the budget, %llu blocks reclaimed for it\n", mem,
		   (unsigned long long)b.budget_refused, (unsigned long long)b.budget_reclaimed);
	if (fs->block_mode || b.md5_checked || b.md5_mismatches || b.md5_given_up)
		ferry_strbuf_addf(lines, "mount MD5 of files read in order (block mode): %llu checked, %llu mismatches, "
			   "%llu not checked (read out of order, or a block left RAM before it was hashed)\n",
			   (unsigned long long)b.md5_checked, (unsigned long long)b.md5_mismatches,
			   (unsigned long long)b.md5_given_up);
	if (fs->ahead) {
		struct ahead_counters a;
		ahead_counters(fs->ahead, &a);
		ferry_strbuf_addf(lines, "read-ahead summary: %llu files read ahead (%llu used, %llu cancelled), "
			   "%llu lookups answered from listings, %llu stats from storage, "
			   "%llu folders listed for opens in name order\n",
			   (unsigned long long)a.fetched, (unsigned long long)a.used, (unsigned long long)a.cancelled,
			   (unsigned long long)a.lookups,
			   (unsigned long long)__atomic_load_n(&fs->stats_from_storage, __ATOMIC_RELAXED),
			   (unsigned long long)a.listings);
	}
	char up[160] = "";
	if (fs->rw) {
		pthread_mutex_lock(&fs->flock);
		snprintf(up, sizeof(up), "; %llu uploads (%.1f MiB), %zu files not uploaded", (unsigned long long)fs->uploads,
			 (double)fs->upload_bytes / 1048576.0, fs->nfailed);
		pthread_mutex_unlock(&fs->flock);
		ferry_strbuf_addf(lines, "mount summary (writes)%s\n", up);
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
	out->prefetched = b.prefetched;
	out->prefetch_cancelled = b.prefetch_cancelled;
	out->random_switches = b.random_switches;
	out->ranged_reads = b.ranged + f.ranged;
	out->ranged_bytes = b.ranged_bytes + f.ranged_bytes;
	out->prefetch_used = b.prefetch_used;
	out->cache_disk_bytes = b.disk_bytes + f.used;
	pthread_mutex_lock(&fs->flock);
	out->uploads = fs->uploads;
	out->upload_bytes = fs->upload_bytes;
	pthread_mutex_unlock(&fs->flock);
	struct ahead_counters a;
	ahead_counters(fs->ahead, &a);
	out->files_ahead = a.fetched;
	out->files_ahead_used = a.used;
	out->files_ahead_cancelled = a.cancelled;
	out->lookups_from_listing = a.lookups;
	out->stats_from_storage = __atomic_load_n(&fs->stats_from_storage, __ATOMIC_RELAXED);
}

static void rm_dir_files(const char *dir)
{
	/* The cache folder holds only these sub-folders of files we wrote; the
	 * folder itself goes only if that leaves it empty. */
	struct ferry_strbuf sub = FERRY_STRBUF_INIT;
	for (int k = 0; k < 2; k++) {
		ferry_strbuf_reset(&sub);
		if (ferry_strbuf_addf(&sub, "%s/%s", dir, k ? "staging" : "blocks") == 0)
			(void)ferry_rm_rf(sub.buf);
	}
	ferry_strbuf_release(&sub);
	rmdir(dir);
}

void ferry_fs_destroy(struct ferry_fs *fs)
{
	if (!fs)
		return;
	if (fs->se) {
		signals_release(fs);
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_session_destroy(fs->se);
	}
	if (fs->mountpoint)
		ferry_info("unmounted %s", fs->mountpoint);
	ahead_free(fs->ahead); /* its fetches use the file cache */
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
