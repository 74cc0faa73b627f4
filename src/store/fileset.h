/*
 * fileset.h — a read-only store made of chosen files of other stores.
 *
 * An evaluated MLTable names files in several accounts, containers and
 * datastores; eval_mount and eval_download present them as one tree
 * (`<account>/<container>/<path>`). This store is that tree: a sorted,
 * immutable table of (name -> underlying store, path, size, checksum),
 * with folders implied by the names. stat and list answer from the table;
 * read delegates to the underlying store, so the mount (src/fs) and the
 * download engine (src/transfer) work on it unchanged.
 *
 * Threads: immutable after open; every operation may run from many threads
 * (the underlying stores are thread-safe by store.h's contract).
 */
#ifndef FERRY_FILESET_H
#define FERRY_FILESET_H

#include "store/store.h"

struct ferry_fileset_item {
	const char *name;          /* path in the set: unique, safe (ferry_path_check_safe) */
	struct ferry_store *store; /* where the bytes are */
	const char *path;          /* path in that store */
	uint64_t size;
	int64_t mtime;
	const char *md5, *etag;    /* may be "" */
};

/* A store over items[0..n) (copied and sorted; strings and stores borrowed).
 * `release(owner)` is called when the store is destroyed: the owner keeps
 * the borrowed strings and stores alive until then. A duplicate or unsafe
 * name is an error (then release is not called); a file that is also a
 * folder of another item is left out (the folder wins, store.h). NULL with err on failure. */
struct ferry_store *ferry_fileset_open(const char *display, const struct ferry_fileset_item *items, size_t n,
				       void (*release)(void *owner), void *owner, const struct ferry_settings *settings,
				       struct ferry_stats *stats, ferry_err *err);

#endif
