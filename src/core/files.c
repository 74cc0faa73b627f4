/*
 * files.c — write-all, mkdir -p, rm -rf and unlink-by-descriptor (see files.h).
 *
 * mkdir -p walks the path once, '/' by '/', in a copy it owns (no length
 * limit); rm -rf is nftw(FTW_DEPTH | FTW_PHYS): children before their folder,
 * links as links.
 */
#include "core/files.h"
#include "core/strbuf.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* write (off < 0) or pwrite at off until all n bytes are out. */
static int write_loop(int fd, const char *c, size_t n, int64_t off)
{
	while (n > 0) {
		ssize_t w = off < 0 ? write(fd, c, n) : pwrite(fd, c, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int ferry_write_all(int fd, const void *p, size_t n)
{
	return write_loop(fd, p, n, -1);
}

int ferry_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	return write_loop(fd, p, n, (int64_t)off);
}

/* mkdir every prefix of buf that ends before a '/' (from buf + 1), with
 * `mode`. -1 with errno, buf cut at the folder that failed. */
static int parents(char *buf, mode_t mode)
{
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

int ferry_mkdir_parents(const char *path)
{
	char *buf = strdup(path);
	if (!buf)
		return -1;
	int rc = parents(buf, 0777);
	int e = errno;
	free(buf);
	errno = e;
	return rc;
}

int ferry_mkdir_p(const char *path, mode_t mode, ferry_err *err)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	if (ferry_strbuf_adds(&sb, path) < 0)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	int rc = 0;
	if (parents(sb.buf, 0755) < 0 || (mkdir(sb.buf, mode) < 0 && errno != EEXIST))
		rc = ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", sb.buf, strerror(errno));
	ferry_strbuf_release(&sb);
	return rc;
}

static __thread int rm_errno;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (rc < 0 && errno != ENOENT && !rm_errno)
		rm_errno = errno;
	return 0;
}

int ferry_rm_rf(const char *path)
{
	rm_errno = 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT && !rm_errno)
		rm_errno = errno;
	if (rm_errno) {
		errno = rm_errno;
		return -1;
	}
	return 0;
}

void ferry_unlink_fd(int fd)
{
	if (fd < 0)
		return;
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	struct stat a, b;
	/* only a regular file still under that name: never a device (a stray
	 * descriptor 0 is /dev/null), never another file that took the name */
	if (n > 0) {
		path[n] = '\0';
		if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			unlink(path);
	}
	close(fd);
}
