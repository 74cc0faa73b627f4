/*
 * staging.h — the local copy of one file being written through the
 * read-write mount (rw_mount; docs/architecture.md, "The read-write mount").
 *
 * A stage is a file in the fs cache folder holding the whole current content
 * of one storage file: the existing bytes are fetched into it when it is
 * opened for writing without O_TRUNC, writes and truncates go to it, and
 * ferry_stage_upload sends it to storage (one put, or parallel blocks
 * committed last, so the blob changes only once every byte is in storage).
 * Writes that would leave less than DATASET_RESERVED_FREE_DISK_SPACE free on
 * the staging disk fail with ENOSPC before anything is written.
 *
 * Ownership: the stage owns its local file (deleted by ferry_stage_free).
 * Threads: a stage has no lock of its own; the caller serialises calls on one
 * stage (write.c holds the stage's mutex). Different stages are independent.
 * Errors: functions return 0 or a positive errno value (for FUSE replies),
 * and log what failed, naming the storage path.
 */
#ifndef FERRY_STAGING_H
#define FERRY_STAGING_H

#include "core/err.h"
#include "store/store.h"

#include <stdint.h>

struct ferry_stage {
	int fd;            /* read-write descriptor of the staging file */
	char *file;        /* its local name */
	uint64_t size;     /* current length (written atomically: inode.c reads it for stat) */
	int dirty;         /* changed since the last upload (or never uploaded) */
	uint64_t reserved; /* DATASET_RESERVED_FREE_DISK_SPACE */
};

/* Create a stage in folder `dir` for storage file `path`. When fetch_size > 0
 * the first fetch_size bytes of `path` are read from `store` into it (ENOSPC
 * when they would not fit above the reserve, EIO/ENOENT/EACCES when storage
 * fails). A new stage is dirty when `dirty` is 1 (a created or truncated
 * file). Returns 0 with *out, or an errno. */
int ferry_stage_new(const char *dir, struct ferry_store *store, const char *path, uint64_t fetch_size,
		    int dirty, uint64_t reserved, struct ferry_stage **out);
/* pwrite `len` bytes at `off`; ENOSPC when the disk would go below the reserve. */
int ferry_stage_write(struct ferry_stage *st, const void *buf, size_t len, uint64_t off);
/* Set the length (sparse when growing). */
int ferry_stage_truncate(struct ferry_stage *st, uint64_t size);
/* Upload the content to `path` when dirty; clears dirty on success. On a
 * failure logs "upload of 'PATH' failed: reason" and returns EIO (dirty
 * stays set, so a later call tries again). */
int ferry_stage_upload(struct ferry_stage *st, struct ferry_store *store, const struct ferry_settings *settings,
		       const char *path);
/* Keep the content of a stage that is not in storage: move its file to
 * `dir`/`rel` (parent folders made 0700), so that closing the stage does not
 * delete it. `rel` is a name relative to the mount (no "..": it came from the
 * kernel). Logs where the content went. Returns 0 or an errno (then nothing
 * moved and the stage is as before). */
int ferry_stage_keep(struct ferry_stage *st, const char *dir, const char *rel);
/* Close and delete the staging file (unless kept). NULL is fine. */
void ferry_stage_free(struct ferry_stage *st);

#endif
