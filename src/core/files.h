/*
 * files.h — the local file-system helpers every layer needs: write all of a
 * buffer, make a folder with its parents, remove a tree.
 *
 * They retry EINTR, never follow a symbolic link out of the tree they remove,
 * and report errors the usual way (0, or -1 with errno or a ferry_err).
 * Threads: no shared state; any thread.
 */
#ifndef FERRY_FILES_H
#define FERRY_FILES_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write all `n` bytes of `p` to `fd` (at its offset), retrying short writes
 * and EINTR. 0, or -1 with errno (a write that returns 0 is EIO). */
int ferry_write_all(int fd, const void *p, size_t n);
/* The same at file offset `off` (pwrite: the fd's offset is untouched). */
int ferry_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

/* Create folder `path` with `mode`, and each missing parent with 0755 (less
 * the umask); an existing folder is fine. 0, or -1 with err naming the
 * folder that could not be made. */
int ferry_mkdir_p(const char *path, mode_t mode, ferry_err *err);
/* Create the missing parents of `path` (not path itself) with 0777 less the
 * umask. 0, or -1 with errno. */
int ferry_mkdir_parents(const char *path);

/* Remove `path` and everything below it, depth first; symbolic links are
 * removed, never followed. A missing path is fine. 0 when it is gone, -1
 * with errno from the first thing that could not be removed (the rest is
 * still tried). */
int ferry_rm_rf(const char *path);

/* Remove the file that `fd` is open on — by the name /proc/self/fd shows for
 * it now, so a rename since it was opened is followed — then close `fd`
 * (releasing any lock held through it). For record files that live exactly
 * as long as a descriptor (a mount's registry entry, a running job's claim).
 * Safe with -1. */
void ferry_unlink_fd(int fd);

#endif
