/*
 * fs.h — the FUSE file system over a store (ro_mount and rw_mount, docs/jobs.md;
 * docs/architecture.md, "The read-only mount" and "The read-write mount").
 *
 * ferry_fs_* is the file system itself (fs.c, inode.c, dir.c, write.c; see
 * fs_internal.h): a libfuse3 low-level session with an inode table, streamed
 * readdir, the two open modes (whole-file cache, block cache) and, for
 * read-write mounts, the write path. ferry_mount_* (mount.c) is the mount's
 * lifecycle, the process around it: serve in the foreground, serve from a
 * forked child that reports when the mount works, stop such a child,
 * unmount a folder whatever state it is in, and clean up after servers
 * that died (over the records of fs/registry.h).
 *
 * Ownership: ferry_fs_new borrows what its options point to (struct
 * ferry_mount_opts); it must outlive the fs. Threads: ferry_fs_loop runs the
 * session on its own worker threads; the other functions are called from
 * one controlling thread.
 * Errors: 0 or -1 with a filled ferry_err.
 *
 * Layer fs may include: core, store, cache, transfer, resolve. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.) Other layers include
 * only this header: fs_internal.h, registry.h and staging.h stay inside fs/.
 */
#ifndef FERRY_FS_H
#define FERRY_FS_H

#include "core/err.h"
#include "resolve/resolve.h"

#include <sys/types.h>

struct ferry_fs;
struct ferry_fs_counters;
struct ferry_strbuf;

/*
 * What to mount and how: one struct for ferry_fs_new, ferry_mount_serve and
 * ferry_mount_spawn, filled with designated initializers (fields left out
 * are 0 / NULL):
 *
 *	struct ferry_mount_opts o = { .store = s, .root = path, .settings = &ctx.settings,
 *				      .stats = &ctx.stats, .dir = dir, .cache_dir = cache, .rw = 1 };
 *
 * Everything is borrowed and must outlive the mount.
 */
struct ferry_mount_opts {
	struct ferry_store *store;
	const char *root;                      /* folder of the store shown ("" = the whole store) */
	const struct ferry_settings *settings;
	struct ferry_stats *stats;
	const char *cache_dir;                 /* the fs's cache folder (created; emptied at the end) */
	/* Read-write (rw_mount): files written are staged in
	 * cache_dir/staging and uploaded when closed or fsynced (see "The
	 * read-write mount" in docs/architecture.md for what is atomic). The
	 * store must be writable (FERRY_E_AUTH otherwise); a root that does not
	 * exist yet is an empty folder. */
	int rw;
	/* ferry_mount_serve and ferry_mount_spawn: */
	const char *dir;                       /* the mount point (an existing folder) */
	const char *home;                      /* workspace whose registry records the mount; NULL: none */
	const char *summary_file;              /* NULL: none (see ferry_mount_serve) */
	int die_with_parent;                   /* spawn: the child stops when the caller dies */
	/* serve/spawn: when set, the server copies its counters here every
	 * 250 ms while it serves and once more at the end (after the last
	 * upload, before the summary file), each field with an atomic store.
	 * For a spawned child this is memory the caller mapped MAP_SHARED
	 * before the fork (job/series.h), so a sampler in the caller reads
	 * the child's figures with no request and no file. */
	struct ferry_fs_counters *live;
	/* serve: when set and o->settings has FERRY_METRICS_ADDR, the counters
	 * are served as Prometheus text at http://ADDR/metrics while the mount
	 * serves (`ferry mount`; jobs serve theirs from the job's process,
	 * job/metrics.h). A port that cannot be bound fails the mount. */
	int metrics;
};

/* A file system showing folder o->root of o->store, read-only or (o->rw)
 * read-write. o->cache_dir is a folder the fs owns for its caches (created;
 * its contents are removed by ferry_fs_destroy). */
int ferry_fs_new(const struct ferry_mount_opts *o, struct ferry_fs **out, ferry_err *err);
/* Mount at `mountpoint` (an existing folder). From here until the loop ends
 * SIGINT/SIGTERM/SIGHUP end the session rather than the process; after it
 * (and in ferry_fs_destroy) they are ignored so the teardown and unmount
 * finish. */
int ferry_fs_mount(struct ferry_fs *fs, const char *mountpoint, ferry_err *err);
/* Serve requests until the folder is unmounted or SIGINT/SIGTERM/SIGHUP
 * arrives (also one that came after ferry_fs_mount). Returns 0, or -1. */
int ferry_fs_loop(struct ferry_fs *fs);
/* Append the end-of-mount summary to `lines` (caller's; one line per '\n':
 * opens, hits, misses, bytes, wait time; memory; block-mode MD5 checks;
 * read-ahead; writes) for the caller to log, and, when buf is not NULL, put
 * a shorter one for a job summary there. ferry_mount_serve logs the lines
 * once the fs is destroyed and unregistered, so that a summary in the log
 * says the server is done. */
void ferry_fs_report(struct ferry_fs *fs, struct ferry_strbuf *lines, char *buf, size_t cap);
/* After ferry_fs_loop: list every file still open for writing (changed) as
 * not uploaded — its writer never closed it, so nothing of it is committed;
 * ferry_fs_destroy keeps its content under <cache_dir>.not-uploaded.
 * Returns 0 when every file written through the mount is in storage, -1
 * when some are not (ferry_fs_failed_uploads names them). */
int ferry_fs_finish_uploads(struct ferry_fs *fs);
/* Store paths of the files whose last upload failed; *names stays valid
 * until ferry_fs_destroy. Call with no request in flight. */
size_t ferry_fs_failed_uploads(struct ferry_fs *fs, const char *const **names);
/* What a mount did so far (for the job record: bytes read, cache hit rate, time spent
 * waiting for storage). Any thread, while the fs exists. */
struct ferry_fs_counters {
	uint64_t opens;
	uint64_t bytes_read;     /* bytes programs read through the mount */
	uint64_t cache_hits;     /* reads (block mode: blocks; whole-file: opens) served */
	uint64_t cache_misses;   /* … that had to wait for storage */
	uint64_t storage_bytes;  /* bytes fetched from storage */
	uint64_t requests, retries, read_errors;
	uint64_t wait_us;        /* time reads and opens waited for storage */
	uint64_t prefetched;     /* block mode: blocks prefetched */
	uint64_t prefetch_cancelled; /* … queued prefetches dropped on random access or close */
	uint64_t random_switches;    /* … times a reader turned to random access */
	uint64_t ranged_reads, ranged_bytes; /* … random reads served by small ranged reads */
	uint64_t prefetch_used;      /* … prefetched blocks a reader then used (prefetch hits) */
	uint64_t cache_disk_bytes;   /* the caches' files on disk now (a gauge, not a total) */
	uint64_t uploads, upload_bytes; /* read-write: files written through to storage, their bytes */
	uint64_t files_ahead;          /* whole-file mode: files fetched ahead of a walk in listing order */
	uint64_t files_ahead_used;     /* … opened afterwards */
	uint64_t files_ahead_cancelled;/* … queued, dropped when the walk stopped following the listing */
	uint64_t lookups_from_listing; /* lookups answered from a folder's listing (no request) */
	uint64_t stats_from_storage;   /* lookups and attribute refreshes that asked storage */
};
void ferry_fs_counters(struct ferry_fs *fs, struct ferry_fs_counters *out);
/* Unmount if still mounted and free everything. */
void ferry_fs_destroy(struct ferry_fs *fs);

/*
 * Serve the mount `o` describes at o->dir in this process until unmounted.
 * When `ready_fd` >= 0, one byte 'K' is written to it once the mount answers,
 * or the error message if it failed before that; then it is closed. When
 * o->summary_file is set, the end-of-mount summary line is written there,
 * then the struct ferry_fs_counters fields as NAME=VALUE lines (wait_us as
 * storage_wait_us), then (read-write mounts) one line "NOT UPLOADED <store
 * path>" per file written through the mount that is not in storage (files
 * still open for writing when the session ends are never uploaded; their
 * content is kept locally). The summary file appears (renamed into place)
 * only once all of that is done, so its absence after the server ended means
 * it did not finish. Returns -1 when a file written is not in storage.
 * When o->home is set the mount is in that workspace's registry of live
 * mounts (fs/registry.h) while it is served, so that the next ferry start
 * cleans it up if this process is killed.
 */
int ferry_mount_serve(const struct ferry_mount_opts *o, int ready_fd, ferry_err *err);

/*
 * Fork a child (no exec) that serves the mount in its own session; return
 * once the mount answers (0, *pid set) or failed (-1 with the child's
 * message). o->die_with_parent: the child stops when this process dies.
 * Call before starting threads in this process.
 */
int ferry_mount_spawn(const struct ferry_mount_opts *o, pid_t *pid, ferry_err *err);

/* Stop a child from ferry_mount_spawn: ask it to unmount, wait up to
 * timeout_s seconds, then kill it and detach the mount. Always leaves `dir`
 * unmounted. */
int ferry_mount_stop(pid_t pid, const char *dir, unsigned timeout_s, ferry_err *err);

/* Unmount `dir` (also a stale mount whose server died), waiting up to
 * timeout_s for busy files, then detaching lazily. FERRY_E_NOTFOUND when
 * `dir` is not a mount point. */
int ferry_mount_unmount(const char *dir, unsigned timeout_s, ferry_err *err);

/* 1 when `dir` is a mount point (per /proc/self/mountinfo), else 0. */
int ferry_mount_is_mounted(const char *dir);

/* The file system type and source of the top mount at `dir` (the last line
 * of /proc/self/mountinfo for it; "?" for a field the line lacks) into
 * fstype and source, cap bytes each (cut short if longer). 1 found, 0 when
 * `dir` is not a mount point. `dir` itself is never touched (a stale mount
 * fails every stat). */
int ferry_mount_top(const char *dir, char *fstype, char *source, size_t cap);

/*
 * Clean up after every mount server of workspace `home` that died (its
 * record in fs/registry.h is unlocked): unmount its folder (also a stale
 * "Transport endpoint is not connected" mount; busy ones are detached
 * lazily), remove its cache folder and drop the record, logging one warning
 * line each. Costs one opendir when there is no record. Returns how many
 * were cleaned. One thread of a process at a time; concurrent processes are
 * safe (a record is cleaned by whoever locks it first).
 */
int ferry_mount_reap(const char *home);

#endif
