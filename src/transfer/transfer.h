/*
 * transfer.h — the parallel download and upload engine.
 *
 * RSLEX_DOWNLOADER_THREADS workers take items from one queue: whole small
 * files, or ranged parts of large ones (FERRY_TRANSFER_PART_SIZE). Each file
 * is written under a temporary name in its final folder and renamed only once
 * every part is in and its MD5 (when the store keeps one) matches; on any
 * failure the temporary files are removed, so a final name always holds
 * complete bytes. Names from storage are checked (ferry_path_check_safe)
 * before anything is written.
 *
 * Threads: one call at a time per ctx; the calls start and join their own
 * workers. Results are also added to ctx->stats.
 *
 * Layer transfer may include: core, store, resolve. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_TRANSFER_H
#define FERRY_TRANSFER_H

#include "core/err.h"
#include "resolve/resolve.h"

#include <stdint.h>

struct ferry_xfer_result {
	uint64_t bytes, files, requests, retries;
	double seconds;
};

/* Download `uri` into the local folder `dest` (created if missing).
 * A folder URI: its contents land in dest (sub-folders kept). A file URI:
 * the file lands as dest/<basename>; then *single_file (if not NULL) gets the
 * malloc'd local path of that file, else NULL. */
int ferry_download(struct ferry_ctx *ctx, const char *uri, const char *dest,
		   struct ferry_xfer_result *res, char **single_file, ferry_err *err);

/* The same from folder (or file) `path` of an opened store (borrowed; folder_hint=1
 * when `path` is known to be a folder); `uri` only names the source in logs
 * and errors. ferry_download is ferry_resolve plus this. */
int ferry_download_store(struct ferry_ctx *ctx, struct ferry_store *store, const char *path, int folder_hint,
			 const char *uri, const char *dest, struct ferry_xfer_result *res, char **single_file,
			 ferry_err *err);

/* Upload local `src` to `uri`. A folder: its contents land under the URI's
 * path. A file: lands at the URI's path, or at <path>/<basename> when the URI
 * ends in '/' or names an existing folder. */
int ferry_upload(struct ferry_ctx *ctx, const char *src, const char *uri,
		 struct ferry_xfer_result *res, ferry_err *err);

/* Block size for uploading a file of `size` bytes to `store`: 0 when it
 * goes as one put (up to FERRY_UPLOAD_SINGLE_PUT_MAX, or no block support),
 * else FERRY_TRANSFER_PART_SIZE grown to the store's minimum and so that the
 * file needs no more than the store's block limit. */
uint64_t ferry_upload_block_size(const struct ferry_store *store, const struct ferry_settings *settings,
				 uint64_t size);

/* Upload bytes [0, size) of `fd` to `path` of `store`: one put, or blocks
 * staged in parallel (RSLEX_DOWNLOADER_THREADS workers, started and joined
 * here) and committed last, so `path` changes only when every byte is in
 * storage. Retries are the store's. Thread-safe: concurrent calls for
 * different paths are fine (the fd is only pread). Returns 0 or -1 with err. */
int ferry_upload_fd(struct ferry_store *store, const struct ferry_settings *settings, const char *path, int fd,
		    uint64_t size, ferry_err *err);

/* One line: "1.00 GiB in 2,000 files, 3.2 s, 320 MiB/s, 2,004 requests, 0 retries". */
void ferry_xfer_summary(const struct ferry_xfer_result *r, char *buf, unsigned cap);

#endif
