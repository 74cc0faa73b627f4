/*
 * workdir.c — owns a job's working directory: the snapshot of its code,
 * ./outputs and ./logs, and their upload as the job's artifacts (workdir.h).
 */
#include "job/workdir.h"
#include "core/files.h"
#include "core/log.h"
#include "transfer/progress.h"
#include "workspace/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ferry_workdir_artifacts_uri(const char *job, char *buf, size_t cap)
{
	ferry_ws_artifacts_uri(job, buf, cap);
}

static int copy_file(const char *from, const char *to, mode_t mode, ferry_err *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot read %s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		int e = errno;
		close(in);
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", to, strerror(e));
	}
	char buf[1 << 16];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ferry_err_set(err, FERRY_E_IO, "cannot read %s: %s", from, strerror(errno));
			break;
		}
		if (ferry_write_all(out, buf, (size_t)n) < 0) {
			rc = ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", to, strerror(errno));
			break;
		}
	}
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", to, strerror(errno));
	return rc;
}

struct copy {
	dev_t skip_dev;     /* a folder not to copy (the workspace), or */
	ino_t skip_ino;     /* skip_ino 0 */
	unsigned long long bytes;
};

/* Copy the contents of folder `from` into the existing folder `to`. */
static int copy_tree(struct copy *c, const char *from, const char *to, int depth, ferry_err *err)
{
	if (depth > 64)
		return ferry_err_set(err, FERRY_E_INVALID, "%s: folders nested too deep to copy", from);
	DIR *d = opendir(from);
	if (!d)
		return ferry_err_set(err, FERRY_E_IO, "cannot read folder %s: %s", from, strerror(errno));
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".git"))
			continue;
		char a[4096], b[4096];
		if ((size_t)snprintf(a, sizeof(a), "%s/%s", from, n) >= sizeof(a) ||
		    (size_t)snprintf(b, sizeof(b), "%s/%s", to, n) >= sizeof(b)) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s/%s: path too long to copy", from, n);
			break;
		}
		struct stat st;
		if (lstat(a, &st) < 0) {
			rc = ferry_err_set(err, FERRY_E_IO, "cannot read %s: %s", a, strerror(errno));
		} else if (S_ISDIR(st.st_mode) && c->skip_ino && st.st_dev == c->skip_dev &&
			   st.st_ino == c->skip_ino) {
			ferry_info("snapshot: %s is ferry's workspace; not copied", a);
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(b, (st.st_mode & 07777) | 0700) < 0)
				rc = ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", b, strerror(errno));
			else
				rc = copy_tree(c, a, b, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(a, b, st.st_mode, err);
			c->bytes += (unsigned long long)st.st_size;
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(a, target, sizeof(target) - 1);
			if (len < 0 || (target[len] = '\0', symlink(target, b) < 0))
				rc = ferry_err_set(err, FERRY_E_IO, "cannot copy the link %s: %s", a, strerror(errno));
		} else
			ferry_info("snapshot: %s is not a file, folder or link; not copied", a);
	}
	closedir(d);
	return rc;
}

int ferry_workdir_snapshot(const char *src, const char *jobdir, const char *home, char **wd,
			   ferry_err *err)
{
	char exe[4096], path[4200];
	struct copy c = { 0 };
	struct stat hs;
	if (home && stat(home, &hs) == 0) {
		c.skip_dev = hs.st_dev;
		c.skip_ino = hs.st_ino;
	}
	*wd = NULL;
	snprintf(exe, sizeof(exe), "%s/exe", jobdir);
	if (ferry_mkdir_p(exe, 0755, err) < 0)
		return -1;
	snprintf(exe, sizeof(exe), "%s/exe/wd", jobdir);
	if (mkdir(exe, 0755) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", exe, strerror(errno));
	if (copy_tree(&c, src, exe, 0, err) < 0) {
		ferry_err_wrap(err, "snapshot of the code folder %s", src);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/outputs", exe);
	if (ferry_mkdir_p(path, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/logs", exe);
	if (ferry_mkdir_p(path, 0755, err) < 0)
		return -1;
	if (!(*wd = strdup(exe)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	ferry_info("working directory: a snapshot of %s in %s (%llu bytes)", src, exe, c.bytes);
	if (c.bytes > 300ull << 20)
		ferry_warn("the code snapshot of %s holds %llu MiB (Azure ML refuses more than 300 MiB): "
			   "point `code:` at the scripts' folder", src, c.bytes >> 20);
	return 0;
}

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 1;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int ferry_workdir_finish(struct ferry_ctx *ctx, const char *wd, const char *job, ferry_err *err)
{
	struct ferry_xfer_result total = { 0 }, *res = &total;
	static const char *const parts[] = { "outputs", "logs" };
	char base[1024], uri[1200], local[4200];
	ferry_workdir_artifacts_uri(job, base, sizeof(base));
	for (size_t i = 0; i < 2; i++) {
		snprintf(local, sizeof(local), "%s/%s", wd, parts[i]);
		if (empty_dir(local))
			continue;
		snprintf(uri, sizeof(uri), "%s%s/", base, parts[i]);
		struct ferry_xfer_result r = { 0 };
		ferry_info("artifacts: uploading %s to %s", local, uri);
		ferry_progress_set_label(parts[i][0] == 'o' ? "artifacts ./outputs" : "artifacts ./logs");
		if (ferry_upload(ctx, local, uri, &r, err) < 0) {
			ferry_err_wrap(err, "./%s of the job (kept in %s)", parts[i], local);
			return -1;
		}
		res->bytes += r.bytes;
		res->files += r.files;
		res->requests += r.requests;
		res->retries += r.retries;
		res->seconds += r.seconds;
	}
	if (total.files > 0) {
		char line[256];
		ferry_xfer_summary(&total, line, sizeof(line));
		fprintf(stderr, "ferry: artifacts (./outputs, ./logs) -> %s: %s\n", base, line);
	}
	ferry_rm_rf(wd);
	return 0;
}
