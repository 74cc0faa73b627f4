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

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ferry_mount_register(const char *home, const char *dir, const char *cache_dir, ferry_err *err)
{
	char rdir[PATH_MAX], tmp[PATH_MAX + 64], name[PATH_MAX + 64];
	snprintf(rdir, sizeof(rdir), "%s/mounts", home);
	if (mkdir(rdir, 0700) < 0 && errno != EEXIST)
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", rdir, strerror(errno));
	/* Absolute folders: the reaper runs from any working directory. */
	char adir[PATH_MAX], acache[PATH_MAX];
	if (!realpath(dir, adir))
		snprintf(adir, sizeof(adir), "%s", dir);
	if (!realpath(cache_dir, acache)) {
		char cwd[PATH_MAX];
		if (cache_dir[0] != '/' && getcwd(cwd, sizeof(cwd)))
			snprintf(acache, sizeof(acache), "%s/%s", cwd, cache_dir);
		else
			snprintf(acache, sizeof(acache), "%s", cache_dir);
	}
	int pid = (int)getpid();
	unsigned long long start = start_ticks();
	snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", rdir, pid);
	snprintf(name, sizeof(name), "%s/%d-%llu" SUFFIX, rdir, pid, start);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", tmp, strerror(errno));
	char head[64];
	int hn = snprintf(head, sizeof(head), "%d%c%llu%c", pid, 0, start, 0);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || write_all(fd, head, (size_t)hn) < 0 ||
	    write_all(fd, adir, strlen(adir) + 1) < 0 || write_all(fd, acache, strlen(acache) + 1) < 0 ||
	    rename(tmp, name) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot register the mount in %s: %s", rdir, strerror(e));
	}
	return fd;
}

void ferry_mount_unregister(int handle)
{
	if (handle < 0)
		return;
	/* The entry's name is known only through the descriptor. */
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", handle);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		unlink(path);
	}
	close(handle);
}

/* Hand the entry `name` in `rdir` to `cleanup` if its server is gone, then
 * drop it: 1 done, else 0. */
static int reap_one(const char *rdir, const char *name, ferry_mount_cleanup_fn cleanup, void *arg)
{
	char path[PATH_MAX + 300];
	snprintf(path, sizeof(path), "%s/%s", rdir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd); /* a live server, or already cleaned */
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
	unlink(path);
	close(fd);
	return 1;
}

int ferry_mount_registry_reap(const char *home, ferry_mount_cleanup_fn cleanup, void *arg)
{
	char rdir[PATH_MAX];
	snprintf(rdir, sizeof(rdir), "%s/mounts", home);
	DIR *d = opendir(rdir);
	if (!d)
		return 0;
	int cleaned = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= strlen(SUFFIX) ||
		    strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX))
			continue;
		cleaned += reap_one(rdir, de->d_name, cleanup, arg);
	}
	closedir(d);
	return cleaned;
}
