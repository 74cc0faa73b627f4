/*
 * store.h — the one interface every storage service is reached through.
 *
 * A store is a flat namespace of files addressed by '/'-separated relative
 * paths ("" is the root; no leading '/'), with folders implied by names (as
 * in Blob storage) or real (local). Operations are the ones both the transfer
 * engine and the mount need: stat, paged listing (streamed, so a 4M-entry
 * folder yields its first page at once), ranged reads into a sink, and writes
 * either whole (put) or as numbered blocks committed at the end.
 *
 * Threads: every operation may be called from many threads at once on the
 * same store; backends keep per-thread connections. Errors: 0 or -1 with a
 * filled ferry_err whose message names the object and the storage reason.
 * Backends retry transient failures themselves (AZUREML_DATASET_HTTP_RETRY_COUNT).
 *
 * Layer store may include: core. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include "core/err.h"
#include "core/settings.h"
#include "core/stats.h"

#include <stddef.h>
#include <stdint.h>

struct ferry_entry {
	char *name;        /* full path inside the store, no trailing '/' (owned) */
	uint64_t size;
	int is_dir;
	int64_t mtime;     /* seconds since the epoch, 0 if unknown */
	char md5[25];      /* base64 Content-MD5 if the store keeps one, else "" */
	char etag[72];     /* "" if unknown */
	int no_ranges;     /* the server cannot serve byte ranges: read it whole, from 0 */
	int size_unknown;  /* listed without a size (an HTML index): stat it before reading */
};

struct ferry_list_page {
	struct ferry_entry *entries; /* owned by the page */
	size_t n, cap;
	char *next_marker;           /* NULL when the listing is complete */
	int self_marker;             /* the listed folder's own marker ("dir/") was
					met: the folder exists, even empty (flatns.h) */
};

/* Receives response bytes. `off` is the offset in the object of data[0].
 * Returns 0 to go on, -1 to abort (with errno or a message logged). Called
 * from the thread that called read(). */
typedef int (*ferry_sink_fn)(void *arg, uint64_t off, const void *data, size_t len);

struct ferry_store;

struct ferry_store_ops {
	const char *kind; /* "local", "http", "azblob", "s3" */
	/* Properties of one file, or of a folder (is_dir=1) when `path` is a
	 * prefix with children. FERRY_E_NOTFOUND when neither exists. */
	int (*stat)(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err);
	/* One page of the entries under folder `prefix` ("" or "dir/sub", no
	 * trailing '/'). recursive=0: immediate children, sub-folders as is_dir
	 * entries; recursive=1: every file below, no folder entries. `marker` is
	 * NULL for the first page, then the previous page's next_marker. */
	int (*list)(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		    struct ferry_list_page *page, ferry_err *err);
	/* Bytes [off, off+len) of `path` into `sink`, in order. len may be
	 * UINT64_MAX for "to the end". A stream cut midway is resumed from the
	 * byte it reached. */
	int (*read)(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
		    ferry_sink_fn sink, void *arg, ferry_err *err);
	/* read, and `out` (caller's, zeroed, cleared with ferry_entry_clear)
	 * filled from the same response: size (the whole object's, from
	 * Content-Range), mtime, etag, md5 (the whole object's stored MD5 where
	 * the response carries it even for a range: Azure's
	 * x-ms-blob-content-md5; else ""); size_unknown=1 when the response did
	 * not tell. So one ranged GET both reads a file's first bytes and stats it
	 * (ferry_api_file_open_first). No file-or-folder rule here: a folder
	 * entry (ADLS marker) fails FERRY_E_INVALID "is a folder", a name with
	 * no object FERRY_E_NOTFOUND. NULL where a ranged read cannot say the
	 * size (http, local, file sets: callers stat first). */
	int (*read_info)(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
			 ferry_sink_fn sink, void *arg, struct ferry_entry *out, ferry_err *err);
	/* Create or replace `path` with bytes [0, size) of `fd` (read with pread). */
	int (*put)(struct ferry_store *s, const char *path, int fd, uint64_t size, ferry_err *err);
	/* Stage block `index` of `path` from bytes [off, off+len) of fd; blocks
	 * are committed in index order by commit(nblocks). `md5` (base64, or
	 * NULL) is the whole file's MD5: stored as the blob's Content-MD5 where
	 * the service keeps one for a block upload (Azure), so later reads can
	 * check it; ignored where it has none (S3 multipart). May be NULL: then
	 * the engine uses put() for every file. */
	int (*put_block)(struct ferry_store *s, const char *path, unsigned index, int fd,
			 uint64_t off, uint64_t len, ferry_err *err);
	int (*commit)(struct ferry_store *s, const char *path, unsigned nblocks, const char *md5, ferry_err *err);
	/* Delete file `path` (never a folder's contents). FERRY_E_NOTFOUND when
	 * there is no such file. NULL on read-only backends (http). */
	int (*remove)(struct ferry_store *s, const char *path, ferry_err *err);
	/* Copy file `from` to `to` inside the store, replacing `to`, without the
	 * bytes passing through this process (Azure Copy Blob, S3 CopyObject).
	 * Returns once `to` holds the complete copy (a pending Azure copy is
	 * polled). NULL on read-only backends. */
	int (*copy)(struct ferry_store *s, const char *from, const char *to, ferry_err *err);
	/* Atomic rename of a file, replacing `to`; NULL where the service has
	 * none (then callers copy and remove). Only the local backend has it. */
	int (*rename)(struct ferry_store *s, const char *from, const char *to, ferry_err *err);
	/* Create the container (bucket) if it does not exist; 0, or -1 with err.
	 * NULL where there is nothing to create. Azure: Create Container. */
	int (*ensure_container)(struct ferry_store *s, ferry_err *err);
	/* 1 when something lies below folder `path` ("path/…"), 0 when not, -1
	 * with err: one cheap request (a listing of at most one name). NULL
	 * where a name cannot be both a file and a folder (local, http, file
	 * sets check their items themselves). */
	int (*has_below)(struct ferry_store *s, const char *path, ferry_err *err);
	/* Limits of block uploads; 0 = the engine's defaults (50,000 blocks, no
	 * minimum). S3 multipart: at most 10,000 parts of at least 5 MiB. */
	unsigned max_blocks;
	uint64_t min_block_size;
	/* Free the store (no operation may be in flight). */
	void (*destroy)(struct ferry_store *s);
};

struct ferry_store {
	const struct ferry_store_ops *ops;
	char *display;                        /* where it points, for messages; no secrets */
	const struct ferry_settings *settings; /* borrowed; outlives the store */
	struct ferry_stats *stats;            /* borrowed; counters to add to */
	int writable;                         /* put/put_block allowed */
	/* "" or the ETag of the version this store's reads must return: a read
	 * (read, read_info) whose response carries another ETag fails with
	 * FERRY_E_INTEGRITY "changed since it was opened", so a file replaced
	 * between two reads of one open handle is an error, never bytes of two
	 * versions (azblob, s3; set by its one owner before any read). */
	char pin_etag[72];
};

/*
 * A name that is both a file and a folder (blob "a" beside blob "a/b": object
 * stores allow it, a file system cannot show it): the folder wins, the file
 * is hidden, and a warning names it. The rule lives here only:
 * ferry_store_stat and ferry_store_list apply it to what a backend with
 * has_below answers (a stat of a file costs one more request there: is there
 * a folder of that name?), and the MLTable file set (fileset.c) to its
 * items, so the mount, downloads and MLTable file sets agree.
 */
/* The warning for hidden file `name` of `display` (any thread). */
void ferry_store_file_hidden(const char *display, const char *name);

/* Convenience wrappers (same contracts as the ops, with the rule above). */
int ferry_store_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err);
int ferry_store_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		     struct ferry_list_page *page, ferry_err *err);
/* Every entry below folder `prefix`, page after page (ferry_store_list's
 * rules): fn(arg, entry, rel) once per entry, rel its name below the prefix.
 * fn returns 0 to go on, or -1 with err set to stop. Returns 0, or -1 with err
 * (a listing error, out of memory, or fn's). Called on the caller's thread. */
typedef int (*ferry_entry_fn)(void *arg, const struct ferry_entry *e, const char *rel, ferry_err *err);
int ferry_store_each(struct ferry_store *s, const char *prefix, int recursive, ferry_entry_fn fn, void *arg,
		     ferry_err *err);
int ferry_store_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
		     ferry_sink_fn sink, void *arg, ferry_err *err);
/* ferry_store_read bounded in total time: every attempt and retry of its
 * requests ends within `timeout_ms` (0 = unbounded), after which it fails
 * with FERRY_E_NET naming FERRY_READ_TIMEOUT_SECONDS (the mount's bound on
 * one read, so that a frozen server fails a read instead of blocking it for
 * minutes). Other threads are not affected. */
int ferry_store_read_within(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
			    ferry_sink_fn sink, void *arg, uint64_t timeout_ms, ferry_err *err);
/* ferry_store_read_within into `buf` (len bytes, the caller's): 0 when
 * exactly bytes [off, off+len) came, else -1 with err (FERRY_E_INTEGRITY
 * naming the blob and range when storage returned fewer: changed in storage?).
 * Logs nothing. Any thread. */
int ferry_store_read_exact(struct ferry_store *s, const char *path, uint64_t off, size_t len, char *buf,
			   uint64_t timeout_ms, ferry_err *err);
void ferry_store_destroy(struct ferry_store *s);

/* Before writing: make sure the container (bucket) exists, creating it as
 * rclone does on first write. Best effort: a credential that may not create
 * containers (a SAS) fails here quietly (logged at debug level), and the
 * write itself then says what is wrong. Used by upload, rw mounts and job
 * outputs alike, so none of them knows which backend it holds. */
void ferry_store_ensure_container(struct ferry_store *s);

/* 1 when `s` reads this machine's own file system (the local backend: a
 * path or a local datastore), else 0. Thread-safe. */
int ferry_store_on_disk(const struct ferry_store *s);

/* The store layer's process-wide state (libcurl's global state, the
 * per-thread connection handles): init before the first store is opened,
 * from one thread; cleanup once no store is left, at exit. */
void ferry_store_global_init(void);
void ferry_store_global_cleanup(void);

/* Entries and pages. */
void ferry_entry_clear(struct ferry_entry *e);
/* Append a copy of `name` with the given attributes; returns the entry or NULL (ENOMEM). */
struct ferry_entry *ferry_page_add(struct ferry_list_page *p, const char *name, uint64_t size, int is_dir);
void ferry_page_clear(struct ferry_list_page *p);

/* Join a store prefix and a relative name: ("a/b", "c") -> "a/b/c"; ("", "c") -> "c". malloc'd. */
char *ferry_path_join(const char *prefix, const char *name);

/*
 * Check that `rel` (a name relative to a destination folder, from storage)
 * is safe to create under that folder: not empty, not absolute, no "..",
 * no backslash, no NUL (cannot happen in C strings but is rejected upstream
 * in XML), no "." components that collapse. Returns 0 or -1 with
 * FERRY_E_UNSAFE naming the blob.
 */
int ferry_path_check_safe(const char *rel, ferry_err *err);

#endif
