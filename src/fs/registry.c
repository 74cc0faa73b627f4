/*
 * registry.c — entry files of live mount servers in <home>/mounts/, and the
 * walk over the entries whose server died (see registry.h). What cleaning up
 * after such a server means (unmount, cache removal) is mount.c's.
 *
 * An entry is "<pid>-<start>.mount" holding four NUL-terminated fields: pid,
 * start time (clock ticks since boot, /proc/self/stat field 22), mount folder
 * and cache folder; NUL separators let any path through. It is written under
 * a temporary name, locked, then renamed into place, so a reaper never sees
 * an entry whose server has not locked it yet. The server registers before
 * it mounts and unregisters after it unmounted, so a live mount always has a
 * locked entry.
 *
 * The walk takes the lock without waiting: a server that holds it is alive.
 * After taking it, an entry already unlinked (st_nlink == 0) was cleaned by
 * a concurrent reaper or unregistered by its server, and is skipped.
 */
#include "fs/registry.h"
#include "core/files.h"
#include "core/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUFFIX ".mount"

static unsigned long long start_ticks(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces: count from its ')'. */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Absolute form of `path` (malloc'd; NULL when out of memory): its real
 * path, else — when it cannot be resolved — `path` itself, joined to the
 * working directory first if `join_cwd` and it is relative. */
static char *absolute(const char *path, int join_cwd)
{
	char *p = realpath(path, NULL), *cwd = NULL;
	if (p)
		return p;
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	if (join_cwd && path[0] != '/' && (cwd = getcwd(NULL, 0)))
		ferry_strbuf_addpath(&sb, cwd);
	ferry_strbuf_addpath(&sb, path);
	free(cwd);
	return ferry_strbuf_detach(&sb, NULL);
}

/* The entry file's fields: pid \0 start \0 dir \0 cache \0. */
static int write_entry(int fd, int pid, unsigned long long start, const char *dir, const char *cache_dir)
{
	/* Absolute folders: the reaper runs from any working directory. */
	char *adir = absolute(dir, 0), *acache = absolute(cache_dir, 1);
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	int rc = -1;
	if (adir && acache) {
		ferry_strbuf_addf(&sb, "%d%c%llu%c", pid, 0, start, 0);
		ferry_strbuf_add(&sb, adir, strlen(adir) + 1);
		ferry_strbuf_add(&sb, acache, strlen(acache) + 1);
		if (!sb.failed)
			rc = ferry_write_all(fd, sb.buf, sb.len);
	}
	if (rc < 0 && (!adir || !acache || sb.failed))
		errno = ENOMEM;
	int e = errno;
	ferry_strbuf_release(&sb);
	free(adir);
	free(acache);
	errno = e;
	return rc;
}

int ferry_mount_register(const char *home, const char *dir, const char *cache_dir, ferry_err *err)
{
	struct ferry_strbuf rdir = FERRY_STRBUF_INIT, tmp = FERRY_STRBUF_INIT, name = FERRY_STRBUF_INIT;
	int pid = (int)getpid(), fd = -1;
	unsigned long long start = start_ticks();
	if (ferry_strbuf_addf(&rdir, "%s/mounts", home) < 0 || ferry_strbuf_addf(&tmp, "%s/.%d.tmp", rdir.buf, pid) < 0 ||
	    ferry_strbuf_addf(&name, "%s/%d-%llu" SUFFIX, rdir.buf, pid, start) < 0)
		ferry_err_set(err, FERRY_E_IO, "out of memory");
	else if (mkdir(rdir.buf, 0700) < 0 && errno != EEXIST)
		ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", rdir.buf, strerror(errno));
	else if ((fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", tmp.buf, strerror(errno));
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0 || write_entry(fd, pid, start, dir, cache_dir) < 0 ||
		 rename(tmp.buf, name.buf) < 0) {
		int e = errno;
		close(fd);
		fd = -1;
		unlink(tmp.buf);
		ferry_err_set(err, FERRY_E_IO, "cannot register the mount in %s: %s", rdir.buf, strerror(e));
	}
	ferry_strbuf_release(&rdir);
	ferry_strbuf_release(&tmp);
	ferry_strbuf_release(&name);
	return fd;
}

void ferry_mount_unregister(int handle)
{
	ferry_unlink_fd(handle); /* the entry's name is known only through the descriptor */
}

/* Hand the entry `name` in `rdir` to `cleanup` if its server is gone, then
 * drop it: 1 done, else 0. */
static int reap_one(const char *rdir, const char *name, ferry_mount_cleanup_fn cleanup, void *arg)
{
	struct ferry_strbuf path = FERRY_STRBUF_INIT;
	int fd = ferry_strbuf_addf(&path, "%s/%s", rdir, name) == 0 ? open(path.buf, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		if (fd >= 0)
			close(fd); /* a live server, or already cleaned */
		ferry_strbuf_release(&path);
		return 0;
	}
	char buf[2 * PATH_MAX + 128];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	/* pid \0 start \0 dir \0 cache \0 */
	const char *field[4] = { 0 };
	size_t off = 0;
	for (int i = 0; i < 4 && off < n; i++) {
		field[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (field[2] && field[3] && field[2][0] == '/') {
		struct ferry_mount_entry e = { .pid = field[0], .start = field[1], .dir = field[2], .cache = field[3] };
		cleanup(&e, arg);
	}
	unlink(path.buf);
	close(fd);
	ferry_strbuf_release(&path);
	return 1;
}

int ferry_mount_registry_reap(const char *home, ferry_mount_cleanup_fn cleanup, void *arg)
{
	struct ferry_strbuf rdir = FERRY_STRBUF_INIT;
	DIR *d = ferry_strbuf_addf(&rdir, "%s/mounts", home) == 0 ? opendir(rdir.buf) : NULL;
	if (!d) {
		ferry_strbuf_release(&rdir);
		return 0;
	}
	int cleaned = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= strlen(SUFFIX) ||
		    strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX))
			continue;
		cleaned += reap_one(rdir.buf, de->d_name, cleanup, arg);
	}
	closedir(d);
	ferry_strbuf_release(&rdir);
	return cleaned;
}
