/*
 * fs_internal.h — what the files of the FUSE file system share; included
 * only by src/fs/{fs,inode,dir,write}.c (the public interface is fs.h).
 *
 * The file system is split by responsibility, along mountpoint-s3's map:
 *   fs.c     the ops table and lifecycle (new, mount, loop, report,
 *            destroy), lookup/getattr/forget and the read path
 *   inode.c  the inode table: nodes by store path, lookup counts, attributes
 *   dir.c    directory streaming (opendir, readdir, readdirplus)
 *   write.c  the write path of read-write mounts: stages, uploads, and the
 *            operations that change the tree
 *
 * Threads: the session is multi-threaded. `tlock` guards the node table and
 * every node's lookup count and attributes; a directory handle has its own
 * lock; a wnode's `lock` guards its stage (lock order: a wnode's lock, then
 * tlock); the caches lock themselves. Storage calls run without `tlock`.
 */
#ifndef FERRY_FS_INTERNAL_H
#define FERRY_FS_INTERNAL_H

#define FUSE_USE_VERSION 312
#include "fs/fs.h"
#include "cache/blockcache.h"
#include "cache/filecache.h"
#include "fs/staging.h"
#include "core/sys.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct node {
	char *path;           /* full store path (root prefix included) */
	uint64_t nlookup;     /* kernel references; guarded by tlock */
	uint64_t ino;         /* st_ino shown to programs */
	int is_dir;
	uint64_t size;
	int64_t mtime;
	char etag[72];
	char md5[25];         /* stored Content-MD5 (base64) from the attributes, "" if none */
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
	int fresh;              /* truncated to 0 (created, O_TRUNC, ftruncate(fd, 0)) and not
			         * written since (`lock`): see do_flush in write.c */
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
	int signals; /* libfuse's SIGTERM/SIGINT/SIGHUP handlers are set (signals_release) */
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
	struct ferry_ahead *ahead;             /* read-only mounts: listings and read-ahead (ahead.c) */
	uint64_t stats_from_storage;           /* atomic: lookups and refreshes that asked storage */
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
	int writer;                      /* rw: opened for writing (its close commits the stage) */
	struct node *n;
	int fd;                          /* whole-file mode: the cached copy */
	struct ferry_fcache_entry *ent;
	struct ferry_bcache_reader *br;  /* block mode or streaming */
	uint64_t size;                   /* the file's size at open */
	unsigned inflight;               /* atomic: op_read calls using it */
};

static inline struct ferry_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct node *node_of(struct ferry_fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->rootnode : (struct node *)(uintptr_t)ino;
}

static inline fuse_ino_t ino_of(struct ferry_fs *fs, struct node *n)
{
	return n == &fs->rootnode ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* ---- inode.c ---- */

struct node *table_find(struct ferry_fs *fs, const char *path);
/* Find or add the node for `path`; attributes from `e` when given. */
struct node *table_get(struct ferry_fs *fs, const char *path, const struct ferry_entry *e);
/* tlock held: drop `count` kernel references; the last one frees the node. */
void table_forget(struct ferry_fs *fs, struct node *n, uint64_t count);
/* tlock held: 1 when `n`'s attributes need no refresh (TTL, or newer here). */
int fresh(struct ferry_fs *fs, const struct node *n);
/* tlock held: the stat(2) view of `n`. */
void fill_stat(struct ferry_fs *fs, const struct node *n, struct stat *st);
/* Reply to `req` with errno `rc` when it is not 0, else with `n`'s
 * attributes (taking tlock to read them). */
void reply_attr(fuse_req_t req, struct ferry_fs *fs, struct node *n, int rc);
/* Refresh `n`'s attributes from storage when stale. Returns 0 or an errno. */
int refresh(struct ferry_fs *fs, struct node *n);
/* tlock held: mark `n` as existing only here (v = 1) or in storage too. */
void set_local(struct ferry_fs *fs, struct node *n, int v);
/* tlock held: take `n` out of the table (deleted, or replaced by a rename);
 * the kernel's references keep it alive until forget. */
void table_detach(struct ferry_fs *fs, struct node *n);
/* tlock held: give `n` the path `to` (no node may hold `to`). */
int table_move_one(struct ferry_fs *fs, struct node *n, const char *to);
/* tlock held: move every node below folder `from` to the same place below `to`. */
int table_move_below(struct ferry_fs *fs, const char *from, const char *to);
/* tlock held: 1 when a local-only node lies below folder `dir`. */
int has_local_below(struct ferry_fs *fs, const char *dir);
/* tlock held: once `path` is in storage, its folders are too. */
void ancestors_stored(struct ferry_fs *fs, const char *path);
/* `path` (a store path) relative to the mount's root. */
const char *mount_rel(const struct ferry_fs *fs, const char *path);
/* tlock held: the lookup reply for `n` (timeouts from the TTL). */
void fill_entry(struct ferry_fs *fs, struct node *n, struct fuse_entry_param *ep);
/* The store path of `name` in folder `parent`, malloc'd (NULL: no memory). */
char *child_path(struct ferry_fs *fs, fuse_ino_t parent, const char *name);

/* ---- dir.c ---- */

/* FUSE operations here and below: the ops table is in fs.c, and
 * fuse_lowlevel.h says what each one gets and must reply. */
void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* 1 when folder `path` has a child here or in storage, 0 when empty, or -errno. */
int dir_has_children(struct ferry_fs *fs, const char *path);

/* ---- write.c ---- */

/* Free a wnode and its stage (no use left). */
void w_free(struct wnode *w);
/* The last use of a stage whose content is not in storage (its upload
 * failed, or it was never uploaded): keep that content under fs->keep_dir at
 * the file's name in the mount, rather than deleting it with the stage. */
void w_keep(struct ferry_fs *fs, struct node *n, struct wnode *w);
/* Drop one use of `w` (uploading first when `upload`); the last use deletes
 * the stage (keeping content that is not in storage: w_keep). Returns the
 * upload's result. */
int w_release(struct ferry_fs *fs, struct node *n, struct wnode *w, int upload);
/* rw: open through the file's stage (for writing, or while someone writes it). */
void open_staged(struct ferry_fs *fs, fuse_req_t req, struct node *n, struct fuse_file_info *fi);
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi);
void op_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, dev_t rdev);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn);
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
		 int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi);

/* ---- ahead.c ---- */

struct ferry_ahead;
struct ahead_counters {
	uint64_t fetched;   /* files fetched ahead (downloads; files found cached are not counted) */
	uint64_t used;      /* … of them opened afterwards (or while loading) */
	uint64_t cancelled; /* queued files dropped when the walk stopped following the listing */
	uint64_t lookups;   /* lookups answered from a listing */
	uint64_t listings;  /* folders listed because their files were opened in name order */
};
/* The listings and read-ahead of a read-only mount. `fc` NULL (block mode),
 * `files` or `bytes` 0: listings only (lookups), no read-ahead; else
 * `threads` workers fetch into `fc`, and list folders of `store` (borrowed,
 * outlives the result) whose files are opened in name order without a
 * listing. ttl_ms < 0: listings never go stale. NULL when out of memory. */
struct ferry_ahead *ahead_new(struct ferry_fcache *fc, struct ferry_store *store, unsigned files, uint64_t bytes,
			      unsigned threads, double ttl_ms);
/* Cancel what is queued, wait for fetches in flight, free (NULL is fine).
 * Before the file cache goes. */
void ahead_free(struct ferry_ahead *a);
/* readdir served entry number `i` of folder `dir` (a store path); entries
 * must come in order from 0 (others are ignored). Any thread. */
void ahead_listed(struct ferry_ahead *a, const char *dir, uint64_t i, const struct ferry_entry *e);
/* The attributes of `path` from its folder's listing (fresh within the TTL):
 * 0 with *out filled (the caller clears it), -1 when not known. */
int ahead_lookup(struct ferry_ahead *a, const char *path, struct ferry_entry *out);
/* A program opens `path` (whole-file mode): continue or start a walk of its
 * folder, queue the next files while the folder is walked in order, cancel
 * its queue when it stops being; queue a listing of a folder without one
 * whose files are opened in name order. Never waits for storage. */
void ahead_opened(struct ferry_ahead *a, const char *path);
/* The open announced by ahead_opened has its file-cache entry (or failed):
 * until then that file is not queued, so a fetch ahead cannot race the
 * reader's own download, win, and be counted as never used. Call once per
 * ahead_opened, after ferry_fcache_open. */
void ahead_open_done(struct ferry_ahead *a, const char *path);
void ahead_counters(struct ferry_ahead *a, struct ahead_counters *out);

#endif
