/*
 * staging.c — the local copy of a file being written (see staging.h).
 *
 * Fetching existing content is one streamed read into the staging file;
 * uploading reuses the transfer engine's ferry_upload_fd (its block sizing
 * and parallel block staging). The free-space check is a statvfs of the
 * staging folder before each write or fetch: a write of N bytes needs N bytes
 * above the reserve, whether or not it overwrites (conservative: a hole in a
 * sparse file takes new blocks too).
 */
#include "fs/staging.h"
#include "core/log.h"
#include "transfer/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static unsigned long long seq; /* atomic; names staging files */

/* 0 when `need` more bytes leave at least the reserve free, else ENOSPC. */
static int room_for(const struct ferry_stage *st, uint64_t need)
{
	struct statvfs sv;
	if (fstatvfs(st->fd, &sv) < 0)
		return 0; /* cannot tell: let the write itself say */
	uint64_t avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return avail >= need && avail - need >= st->reserved ? 0 : ENOSPC;
}

struct fetch {
	int fd;
	int err; /* errno of a failed local write */
};

static int fetch_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct fetch *f = arg;
	const char *p = data;
	while (len > 0) {
		ssize_t w = pwrite(f->fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->err = w < 0 ? errno : EIO;
			return -1;
		}
		p += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

int ferry_stage_new(const char *dir, struct ferry_store *store, const char *path, uint64_t fetch_size,
		    int dirty, uint64_t reserved, struct ferry_stage **out)
{
	struct ferry_stage *st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	st->fd = -1;
	st->reserved = reserved;
	st->dirty = dirty;
	size_t cap = strlen(dir) + 40;
	if (!(st->file = malloc(cap))) {
		free(st);
		return ENOMEM;
	}
	snprintf(st->file, cap, "%s/w%d-%llu", dir, (int)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	st->fd = open(st->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (st->fd < 0) {
		int e = errno;
		ferry_log(FERRY_LOG_ERROR, "mount: cannot create the staging file of '%s' in %s: %s", path, dir,
			  strerror(e));
		ferry_stage_free(st);
		return e;
	}
	if (fetch_size > 0) {
		int rc = room_for(st, fetch_size);
		if (rc) {
			ferry_log(FERRY_LOG_ERROR,
				  "mount: no room to stage '%s' (%llu bytes) above the %llu bytes kept free "
				  "(DATASET_RESERVED_FREE_DISK_SPACE)",
				  path, (unsigned long long)fetch_size, (unsigned long long)reserved);
			ferry_stage_free(st);
			return rc;
		}
		struct fetch f = { st->fd, 0 };
		ferry_err err;
		ferry_err_clear(&err);
		if (ferry_store_read(store, path, 0, fetch_size, fetch_sink, &f, &err) < 0) {
			rc = f.err ? f.err : ferry_err_errno(&err);
			ferry_log(FERRY_LOG_ERROR, "mount: fetching '%s' to write to it failed: %s", path,
				  f.err ? strerror(f.err) : err.msg);
			ferry_stage_free(st);
			return rc;
		}
		__atomic_store_n(&st->size, fetch_size, __ATOMIC_RELAXED);
	}
	*out = st;
	return 0;
}

int ferry_stage_write(struct ferry_stage *st, const void *buf, size_t len, uint64_t off)
{
	int rc = room_for(st, len);
	if (rc)
		return rc;
	const char *p = buf;
	size_t left = len;
	uint64_t at = off;
	while (left > 0) {
		ssize_t w = pwrite(st->fd, p, left, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		p += w;
		at += (uint64_t)w;
		left -= (size_t)w;
	}
	if (off + len > st->size)
		__atomic_store_n(&st->size, off + len, __ATOMIC_RELAXED);
	st->dirty = 1;
	return 0;
}

int ferry_stage_truncate(struct ferry_stage *st, uint64_t size)
{
	if (ftruncate(st->fd, (off_t)size) < 0)
		return errno;
	__atomic_store_n(&st->size, size, __ATOMIC_RELAXED);
	st->dirty = 1;
	return 0;
}

int ferry_stage_upload(struct ferry_stage *st, struct ferry_store *store, const struct ferry_settings *settings,
		       const char *path)
{
	if (!st->dirty)
		return 0;
	ferry_err err;
	ferry_err_clear(&err);
	if (ferry_upload_fd(store, settings, path, st->fd, st->size, &err) < 0) {
		ferry_log(FERRY_LOG_ERROR, "mount: upload of '%s' (%llu bytes) failed: %s", path,
			  (unsigned long long)st->size, err.msg);
		return EIO;
	}
	ferry_debug("mount: uploaded '%s' (%llu bytes)", path, (unsigned long long)st->size);
	st->dirty = 0;
	return 0;
}

int ferry_stage_keep(struct ferry_stage *st, const char *dir, const char *rel)
{
	char *dest = NULL;
	if (!st->file || asprintf(&dest, "%s/%s", dir, rel) < 0)
		return ENOMEM;
	/* `dir`, then the parent folders of `rel`, one component at a time
	 * (a failure shows as rename's error below) */
	mkdir(dir, 0700);
	for (char *p = dest + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(dest, 0700);
		*p = '/';
	}
	if (rename(st->file, dest) < 0) {
		int e = errno;
		ferry_log(FERRY_LOG_ERROR, "mount: could not keep the content of '%s' at %s: %s", rel, dest,
			  strerror(e));
		free(dest);
		return e;
	}
	ferry_log(FERRY_LOG_ERROR, "mount: '%s' is not in storage; what was written is kept at %s", rel, dest);
	free(st->file);
	st->file = NULL;
	free(dest);
	return 0;
}

void ferry_stage_free(struct ferry_stage *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (st->file)
		unlink(st->file);
	free(st->file);
	free(st);
}
