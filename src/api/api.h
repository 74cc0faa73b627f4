/*
 * api.h — ferry's C API for other languages (the Python package over
 * build/libferry.so calls it through ctypes).
 *
 * A context (struct ferry_api) holds what the CLI's commands hold for one
 * run: the workspace ($FERRY_HOME: datastores, data assets), the settings
 * (the environment, then NAME=VALUE overrides given at open) and the
 * identity (FERRY_IDENTITY). Every call takes a path in any form ferry knows
 * (README.md, "Paths": azureml://datastores/<name>/paths/..., long-form
 * azureml://subscriptions/..., wasbs://, abfss://, https://, s3://,
 * azureml:<asset>:<version>, a local path) and resolves it the way the CLI
 * does, so credentials are found exactly as for `ferry ls`.
 *
 * Errors: every function returns 0 (or a count) on success and -1 on
 * failure, filling the caller's ferry_err (core/err.h: an int code from enum
 * ferry_errcode and a NUL-terminated, redacted message of at most 1023
 * bytes: never a key, SAS signature or token).
 *
 * Threads: every function may be called from many threads at once on the
 * same context (the Python package calls with the GIL released); a context
 * must not be closed while a call on it is in flight. A file handle
 * (ferry_api_file) may be read from many threads at once. There is no
 * global state beyond the store layer's (libcurl), initialised once on the
 * first ferry_api_open and never torn down (a library cannot know when the
 * last user is gone).
 *
 * Layer api may include: core, store, workspace, cache, resolve, transfer, mltable.
 * (docs/STYLE.md "Layers"; tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_API_H
#define FERRY_API_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct ferry_api;
struct ferry_api_file;

/* One entry of a stat or a listing. `name` is malloc'd (freed by
 * ferry_api_entries_free / ferry_api_entry_clear): for a listing the path
 * relative to the listed folder (no trailing '/'), for a stat the last
 * component of the path ("" for a container's root). */
struct ferry_api_entry {
	char *name;
	uint64_t size;    /* 0 for folders */
	int32_t is_dir;
	int64_t mtime;    /* seconds since the epoch, 0 if unknown */
	char md5[25];     /* base64 Content-MD5, or "" */
	char etag[72];    /* or "" */
};

/* The API's version: bumped when a signature or struct above changes, so a
 * binding can refuse a library it was not written for. */
#define FERRY_API_VERSION 1
int ferry_api_version(void);

/* Open a context. `home` is the workspace folder (NULL: $FERRY_HOME, else
 * ~/.ferry, created if missing, as the CLI does). `settings` is NULL or a
 * NULL-terminated array of "NAME=VALUE" strings (borrowed) that override the
 * environment for this context's settings (e.g. "RSLEX_DOWNLOADER_THREADS=8");
 * an unknown name or a bad value is FERRY_E_INVALID. Returns the context
 * (free with ferry_api_close) or NULL with err. Any thread. */
struct ferry_api *ferry_api_open(const char *home, const char *const *settings, ferry_err *err);
/* Free a context (NULL is fine). No call may be in flight on it. */
void ferry_api_close(struct ferry_api *api);

/* Properties of the file or folder `uri` into *out (clear with
 * ferry_api_entry_clear). FERRY_E_NOTFOUND when neither exists. */
int ferry_api_stat(struct ferry_api *api, const char *uri, struct ferry_api_entry *out, ferry_err *err);
void ferry_api_entry_clear(struct ferry_api_entry *e);

/* The entries of folder `uri`: recursive=0 its immediate children (folders
 * as is_dir entries), recursive=1 every file below it (no folder entries).
 * *out is a malloc'd array of *n entries (free with ferry_api_entries_free),
 * in the store's order (sorted by name on Blob and S3). A file `uri` lists
 * as itself (one entry, its base name). FERRY_E_NOTFOUND when `uri` names
 * nothing. */
int ferry_api_list(struct ferry_api *api, const char *uri, int recursive, struct ferry_api_entry **out,
		   size_t *n, ferry_err *err);
void ferry_api_entries_free(struct ferry_api_entry *entries, size_t n);

/* Open file `uri` for ranged reads: resolves and stats it once (a folder is
 * FERRY_E_INVALID with "is a folder" in the message, so bindings can raise
 * IsADirectoryError; missing is FERRY_E_NOTFOUND). *size gets its size.
 * Free with ferry_api_file_close. */
struct ferry_api_file *ferry_api_file_open(struct ferry_api *api, const char *uri, uint64_t *size,
					   ferry_err *err);
/* ferry_api_file_open in one request where the store can (Azure Blob/ADLS,
 * S3: store.h read_info): a ranged GET of bytes [0, first) whose response
 * gives the size, mtime and ETag; those bytes are kept in the handle and
 * serve reads within them (a file of at most `first` bytes needs no other
 * request). No file-or-folder rule (as ferry_api_cat: a blob "a" beside
 * "a/b" opens as the file); a missing name costs one more request (a
 * one-name listing) to tell a folder (FERRY_E_INVALID "is a folder") from
 * nothing (FERRY_E_NOTFOUND). Where one GET cannot tell (http, local, an
 * empty blob) it stats as ferry_api_file_open does. Either way the handle's
 * later reads must return the opened ETag (store.h pin_etag): a file
 * replaced while open fails them with FERRY_E_INTEGRITY. */
struct ferry_api_file *ferry_api_file_open_first(struct ferry_api *api, const char *uri, uint64_t first,
						 uint64_t *size, ferry_err *err);
/* The opened version's ETag ("" if the store gave none; valid until
 * ferry_api_file_close) and mtime (seconds since the epoch, 0 if unknown). */
const char *ferry_api_file_etag(const struct ferry_api_file *f);
int64_t ferry_api_file_mtime(const struct ferry_api_file *f);
/* Read bytes [off, off+len) of the file into `buf` (caller's, len bytes).
 * Returns the number of bytes read (less than len only at the end of the
 * file; 0 at or past it) or -1 with err. Reads of one handle may run in
 * many threads at once. */
int64_t ferry_api_file_read(struct ferry_api_file *f, uint64_t off, uint64_t len, void *buf, ferry_err *err);
void ferry_api_file_close(struct ferry_api_file *f);

/* Bytes [off, off+len) of file `uri` (len UINT64_MAX: to the end) in one
 * ranged read, without a stat first (one request for a small file, where a
 * file handle costs a stat too): *out gets a malloc'd buffer of *n bytes
 * (free with ferry_api_buf_free; *n is less than len at the end of the
 * file). A folder is FERRY_E_INVALID "is a folder", missing FERRY_E_NOTFOUND. */
int ferry_api_cat(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len, void **out,
		  uint64_t *n, ferry_err *err);
void ferry_api_buf_free(void *buf);

/* Download `uri` (a file or a folder, recursively) into local folder `dest`
 * with the parallel transfer engine (transfer.h: temporary names, renamed
 * when complete). A file lands as dest/<basename>. *bytes and *files (may be
 * NULL) get what was transferred. */
int ferry_api_download(struct ferry_api *api, const char *uri, const char *dest, uint64_t *bytes,
		       uint64_t *files, ferry_err *err);

/* Upload local file or folder `src` to `uri` (transfer.h's ferry_upload:
 * a folder's contents land under the path; a file lands at the path, or
 * inside it when it ends in '/' or names a folder). Creates the container
 * if missing and allowed. */
int ferry_api_upload(struct ferry_api *api, const char *src, const char *uri, uint64_t *bytes,
		     uint64_t *files, ferry_err *err);

/* Write bytes [0, size) of local descriptor `fd` (only pread) to exactly
 * `uri`: one put, or blocks committed last, so `uri` changes only when
 * every byte is in storage. */
int ferry_api_put_fd(struct ferry_api *api, int fd, uint64_t size, const char *uri, ferry_err *err);

/* Remove file `uri`; with recursive=1 a folder `uri` loses every file below
 * it (the folder then disappears on object stores, whose folders are only
 * names). A folder without recursive is FERRY_E_INVALID ("is a folder").
 * FERRY_E_NOTFOUND when nothing is there. Read-only forms (http, data
 * assets) are refused. */
int ferry_api_remove(struct ferry_api *api, const char *uri, int recursive, ferry_err *err);

/* Make folder `uri` usable for writing: creates the container (bucket)
 * when missing and allowed; on a local store creates the folder. Object
 * stores have no empty folders, so nothing else is written there. */
int ferry_api_mkdir(struct ferry_api *api, const char *uri, ferry_err *err);

/* ---- MLTable tables (mltable.c) ----
 * An MLTable at `uri` (a folder holding a file named MLTable, that file, or a
 * data asset of type mltable) is evaluated by src/mltable/ as `ferry mltable
 * export` evaluates it. `steps` is NULL or a YAML (or JSON) list of
 * transformations in the MLTable file's own form, e.g.
 *   [{"filter": "col(\"age\") > 3"}, {"take": 5}, {"keep_columns": ["a"]}]
 * appended after the file's transformations (how a binding's table methods
 * add steps without writing a file); take_random_sample also takes ferry's
 * `complement: true` (the rows the same probability and seed leave out).
 * Errors in an added step, when it is parsed and when it runs, name
 * "<uri> (added transformations):<line>" (the line of `steps`: with one step
 * per line, as the Python package writes them, the step's number) and the
 * field; errors in the file's own steps name the file and its line. */

/* Column types, as enum ferry_mlt_type (mltable.h). */
enum { FERRY_API_T_STRING, FERRY_API_T_INT, FERRY_API_T_FLOAT, FERRY_API_T_BOOL, FERRY_API_T_DATETIME };

/* One column of a batch of rows. Every pointer is borrowed for the call.
 * `type` is the column's type in this batch: the table's type for it
 * (convert_column_types, else inferred from the first 200 rows), widened
 * when a value in the batch does not fit (an int column with a float value
 * is FLOAT, with any other value STRING), so later batches may differ;
 * `table_type` is the table's type. valid[i] is 0 for a null. By type:
 *   INT      ints[i]
 *   FLOAT    floats[i]
 *   BOOL     ints[i] (0 or 1)
 *   DATETIME ints[i]: nanoseconds since 1970-01-01T00:00:00 (UTC)
 *   STRING   UTF-8 bytes text[offsets[i] .. offsets[i+1] - 1), each value followed
 *            by a NUL (offsets has nrows+1 entries), so the text of every
 *            value (all types have it) splits at NULs when no value holds one
 * (a null has 0 / an empty value). */
struct ferry_api_column {
	const char *name;
	int32_t type;
	int32_t table_type;
	const uint8_t *valid;
	const int64_t *ints;
	const double *floats;
	const char *text;
	const uint64_t *offsets;
};

/* Called with each batch of up to batch_rows rows, in table order, on the
 * thread that called ferry_api_mltable_rows (a table with no rows gets one
 * call with nrows 0, so the caller learns its columns). Returns 0 to go on,
 * 1 to stop (not an error), anything else to fail the call with
 * FERRY_E_INVALID "stopped by the caller". */
typedef int (*ferry_api_batch_fn)(void *arg, const struct ferry_api_column *cols, size_t ncols, size_t nrows);

/* Evaluate the table of the MLTable at `uri` plus `steps` and hand its rows
 * to fn in batches of batch_rows (0: 65536), at most max_rows rows
 * (UINT64_MAX: all). An MLTable with no read_* transformation is the table
 * of its files (one string column, Path). *rows (may be NULL) gets the rows
 * delivered. Memory: one batch and the evaluator's row, whatever the size. */
int ferry_api_mltable_rows(struct ferry_api *api, const char *uri, const char *steps, uint64_t max_rows,
			   size_t batch_rows, ferry_api_batch_fn fn, void *arg, uint64_t *rows, ferry_err *err);

/* The file set of the MLTable at `uri` plus `steps` (the paths, the
 * transformations before any read_* and select_partitions; in a file set,
 * only the files whose Path row survives its row steps: what eval_download
 * gives, ferry_mltable_set_files): *out gets a malloc'd array of *n
 * entries (free with ferry_api_entries_free) whose names are the files' tree
 * names (the Path column: "<account>/<container>/<path>", "local/<path>", ...),
 * in the order the table reads them. */
int ferry_api_mltable_files(struct ferry_api *api, const char *uri, const char *steps, struct ferry_api_entry **out,
			    size_t *n, ferry_err *err);

/* Check a binding's added steps (as for ferry_api_mltable_rows) without
 * opening a table: 0, or -1 with err naming "(added transformations):<line>",
 * the field and the problem (a filter's expression: the position in it), so
 * a binding can refuse a bad step when it is added. No storage access. */
int ferry_api_mltable_check(const char *steps, ferry_err *err);

/* The `paths` of the MLTable at `uri` as written in the file, as a JSON
 * array of one-key objects ([{"file": "./a.csv"}, {"folder": "./images"}],
 * Azure's MLTable.paths): *out is malloc'd (free with ferry_api_buf_free). */
int ferry_api_mltable_paths(struct ferry_api *api, const char *uri, char **out, ferry_err *err);

/* The MLTable file at `uri` as a binding saves it again (Python's
 * MLTable.save): *out (malloc'd, free with ferry_api_buf_free) gets the JSON
 * {"doc": <the document: maps, lists, plain scalars as null / booleans /
 * numbers — an integer past int64 as {"$ferry:int": "<digits>"} — other scalars as
 * strings>, "folder": <the URI or path of the
 * folder that relative paths resolve against: `uri` (a data asset: its
 * registered storage path; the MLTable file named: its folder)>, "on_disk":
 * <true when that folder is on the local file system>}. Errors as for
 * ferry_mltable_open and the file's YAML. */
int ferry_api_mltable_doc(struct ferry_api *api, const char *uri, char **out, ferry_err *err);

/* The files of the MLTable at `uri` plus `steps` as one read-only set, the
 * one `ferry mltable eval_download` evaluates (ferry_mltable_fileset: a
 * file set's files, or the files a table reads), to read by tree name.
 * *entries gets every file (name: its tree name, the Path column's value;
 * size, mtime, md5, etag), in name order (free with ferry_api_entries_free).
 * all_files=1 ignores every transformation (the file's and `steps`): the
 * files the paths name, a superset of any evaluation's, for a process that
 * reads the names another evaluation gave (a forked DataLoader worker: an
 * unseeded take_random_sample evaluated again would pick other files).
 * Returns the set (close with ferry_api_fileset_close, before the context)
 * or NULL with err. */
struct ferry_api_fileset;
struct ferry_api_fileset *ferry_api_mltable_fileset(struct ferry_api *api, const char *uri, const char *steps,
						    int all_files, struct ferry_api_entry **entries, size_t *n,
						    ferry_err *err);
/* Bytes [off, off+len) of the set's file `name` (a tree name) into `buf`, as
 * ferry_api_read (missing: FERRY_E_NOTFOUND). Any thread, many at once. */
int64_t ferry_api_fileset_read(struct ferry_api_fileset *fs, const char *name, uint64_t off, uint64_t len, void *buf,
			       ferry_err *err);
void ferry_api_fileset_close(struct ferry_api_fileset *fs);

/* Bytes [off, off+len) of file `uri` into `buf` (the caller's, len bytes) in
 * one ranged read without a stat first: ferry_api_cat without its buffer,
 * for a reader that knows the size from a listing (ferry.torch reads each
 * small file of a dataset into memory it allocated, with no copy and one
 * request). Returns the number of bytes read (less than len at the end of
 * the file; 0 at or past it) or -1 with err: a folder is FERRY_E_INVALID
 * "is a folder", missing FERRY_E_NOTFOUND. Any thread. */
int64_t ferry_api_read(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len, void *buf, ferry_err *err);

/* Serve the reads of file handle `f` from now on through its own block cache
 * (cache/blockcache.h, as the mount's block mode reads): blocks of
 * DATASET_MOUNT_READ_BLOCK_SIZE, a reader that goes sequentially gets the next
 * DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT blocks fetched ahead by
 * DATASET_MOUNT_READ_THREADS threads (started here, stopped by
 * ferry_api_file_close), at most DATASET_MOUNT_MEMORY_CACHE_SIZE of read
 * blocks kept in RAM, nothing on disk; a reader that jumps turns random and
 * reads only ranges around its reads, and a read that jumps and is between
 * half a block and FERRY_TRANSFER_PART_SIZE long (a Parquet column chunk) is
 * one exact ranged GET, not whole blocks. Bytes the open's first GET holds
 * (ferry_api_file_open_first) are never fetched again. For the Python file object of a large
 * file (fsspec open "rb"), which reads in order a little at a time. Call it
 * before reads start, from one thread; 0, or -1 with err (the handle then
 * reads as before). A second call does nothing. */
int ferry_api_file_readahead(struct ferry_api_file *f, ferry_err *err);

/* ---- Large reads into the caller's memory (cat.c) ----
 * Bytes [off, off+len) of file `uri` (len UINT64_MAX: to the end) into one
 * buffer the caller allocates once the size is known, fetched in parallel:
 * ferry_api_cat_open makes one ranged GET of the first FERRY_TRANSFER_PART_SIZE
 * bytes (no stat first; where the store can tell the size from it: Azure
 * Blob/ADLS, S3) and sets *n to the bytes the read gives (less than len at
 * the end of the file; 0 for a range at or past the end or len 0). A small
 * file is then read whole: one request. ferry_api_cat_fill writes those *n
 * bytes into `buf` (the caller's, *n bytes): the first GET's bytes, and the
 * other parts by ranged GETs on `threads` threads (0: RSLEX_DOWNLOADER_THREADS)
 * started and joined by the call, each written straight into its place (parts
 * of the part size, or larger up to FERRY_TRANSFER_PART_SIZE_MAX when the
 * first GET showed requests slow against the stream, as downloads choose). Every
 * part must come from the version the first GET saw (its ETag): a file
 * replaced meanwhile fails FERRY_E_INTEGRITY. When the read is the whole file
 * and the store gave its MD5 (Azure's stored Content-MD5) the bytes are
 * checked against it unless FERRY_VERIFY_MD5=off (require: a whole-file read
 * without one is refused at open); a mismatch is FERRY_E_INTEGRITY. After a
 * failed fill the buffer's content is undefined. Stores without a ranged read
 * that tells the size (http, local) read the range in one stream at open.
 * Errors as ferry_api_cat (a folder FERRY_E_INVALID "is a folder", missing
 * FERRY_E_NOTFOUND). A handle is for one thread at a time; fill once. */
struct ferry_api_cat;
struct ferry_api_cat *ferry_api_cat_open(struct ferry_api *api, const char *uri, uint64_t off, uint64_t len,
					 uint64_t *n, ferry_err *err);
int ferry_api_cat_fill(struct ferry_api_cat *c, void *buf, unsigned threads, ferry_err *err);
void ferry_api_cat_close(struct ferry_api_cat *c);

/* ferry_api_cat_open for many items at once (fsspec's cat of many paths and
 * cat_ranges): item i is bytes [offs[i], offs[i]+lens[i]) of uris[i] (offs
 * NULL: from 0; lens NULL or UINT64_MAX: to the end), opened on `threads`
 * threads (0: RSLEX_DOWNLOADER_THREADS; at most n) started and joined by the
 * call: cats[i] gets the handle and ns[i] its size, or cats[i] NULL and
 * errs[i] why (the others are opened anyway). A small file's bytes are then
 * all in its handle (its one request done); the caller fills each item with
 * ferry_api_cat_fill (a small one: a copy, no request; a large one: its other
 * parts in parallel) and closes it, so at most one item is held twice.
 * Returns the number of items that failed. Any thread. */
size_t ferry_api_cat_open_many(struct ferry_api *api, size_t n, const char *const *uris, const uint64_t *offs,
			       const uint64_t *lens, unsigned threads, struct ferry_api_cat **cats, uint64_t *ns,
			       ferry_err *errs);

/* Download files uris[i] to exactly local paths lpaths[i] (parents created),
 * `threads` files at once (0: RSLEX_DOWNLOADER_THREADS; at most n), each read
 * as ferry_api_cat_open/fill reads it (one GET for a small file; the parts of
 * a large one on the threads the other files leave, MD5 checked) into a
 * temporary beside its final name, renamed into place only when complete, so
 * a final name never holds a partial file. On return got[i] is the file's
 * size and errs[i].code 0, or errs[i] says why item i failed (its temporary
 * removed; a folder is FERRY_E_INVALID "is a folder"); the others are
 * downloaded anyway. Returns the number of failed items. Any thread. */
size_t ferry_api_get_many(struct ferry_api *api, size_t n, const char *const *uris, const char *const *lpaths,
			  unsigned threads, uint64_t *got, ferry_err *errs);

#endif
