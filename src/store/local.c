/*
 * local.c — the local-folder store (see local.h).
 *
 * Listing reads the whole folder (or tree, for recursive listings) into one
 * page: local folders answer fast enough that paging buys nothing.
 */
#include "store/local.h"
#include "core/files.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/membudget.h"
#include "core/tmpname.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
	struct ferry_store base;
	char *root;
};

static char *full(struct local *l, const char *path)
{
	if (!strcmp(l->root, "/")) { /* join would drop the root's only '/' */
		char *r = malloc(strlen(path) + 2);
		if (r)
			sprintf(r, "/%s", path);
		return r;
	}
	return ferry_path_join(l->root, path);
}

static int errno_err(ferry_err *err, const char *what, const char *path)
{
	int e = errno;
	return ferry_err_set(err, e == ENOENT ? FERRY_E_NOTFOUND : FERRY_E_IO, "%s '%s': %s", what, path,
			     strerror(e));
}

static int l_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, path);
	struct stat st;
	int rc = stat(f, &st);
	if (rc < 0)
		rc = errno_err(err, "cannot read", f);
	else {
		out->name = strdup(path);
		out->is_dir = S_ISDIR(st.st_mode);
		out->size = out->is_dir ? 0 : (uint64_t)st.st_size;
		out->mtime = st.st_mtime;
	}
	free(f);
	return rc;
}

static int walk(struct local *l, const char *rel, int recursive, struct ferry_list_page *page, ferry_err *err)
{
	char *f = full(l, rel);
	DIR *d = opendir(f);
	if (!d) {
		int rc = errno_err(err, "cannot list", f);
		free(f);
		return rc;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || ferry_is_tmp_name(de->d_name))
			continue; /* a file being written (l_put) is not there yet */
		char *name = ferry_path_join(rel, de->d_name);
		char *abs = full(l, name);
		struct stat st;
		/* follow links to files, never links to folders: a link loop must not recurse forever */
		int is_link = lstat(abs, &st) == 0 && S_ISLNK(st.st_mode);
		if (stat(abs, &st) < 0)
			rc = errno_err(err, "cannot read", abs);
		else if (S_ISDIR(st.st_mode) && is_link)
			ferry_warn("skipping '%s': a link to a folder", abs);
		else if (S_ISDIR(st.st_mode)) {
			if (recursive)
				rc = walk(l, name, 1, page, err);
			else if (!ferry_page_add(page, name, 0, 1))
				rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		} else if (S_ISREG(st.st_mode)) {
			struct ferry_entry *e = ferry_page_add(page, name, (uint64_t)st.st_size, 0);
			if (!e)
				rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
			else
				e->mtime = st.st_mtime;
		}
		free(abs);
		free(name);
	}
	closedir(d);
	free(f);
	return rc;
}

static int l_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		  struct ferry_list_page *page, ferry_err *err)
{
	(void)marker;
	return walk((struct local *)s, prefix, recursive, page, err);
}

static int l_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		  void *arg, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, path);
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = errno_err(err, "cannot open", f);
		free(f);
		return rc;
	}
	/* 1 MiB when the memory budget has it spare, else 64 KiB outside it: the
	 * caller may hold a reservation already (a block being fetched), so this
	 * must not wait on the budget (core/membudget.h). */
	struct ferry_membudget *mb = ferry_membudget_process();
	size_t bufsz = ferry_membudget_try_reserve(mb, 1 << 20, 0) ? 1 << 20 : 64 << 10;
	char *buf = ferry_data_alloc(bufsz);
	int rc = buf ? 0 : ferry_err_set(err, FERRY_E_IO, "out of memory reading '%s'", f);
	if (!buf)
		len = 0;
	while (len > 0) {
		size_t want = len < bufsz ? (size_t)len : bufsz;
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got < 0) {
			rc = errno_err(err, "cannot read", f);
			break;
		}
		if (got == 0)
			break;
		if (ferry_interrupted()) {
			rc = ferry_err_set(err, FERRY_E_INTERRUPTED, "reading '%s': interrupted", f);
			break;
		}
		if (sink(arg, off, buf, (size_t)got) < 0) {
			rc = ferry_err_set(err, FERRY_E_IO, "writing data read from '%s' failed: %s", f, strerror(errno));
			break;
		}
		ferry_stats_add(&s->stats->bytes, (uint64_t)got);
		off += (uint64_t)got;
		if (len != UINT64_MAX)
			len -= (uint64_t)got;
	}
	ferry_stats_add(&s->stats->requests, 1);
	ferry_data_free(buf, bufsz);
	if (bufsz == 1 << 20)
		ferry_membudget_release(mb, bufsz);
	close(fd);
	free(f);
	return rc;
}

static int l_put(struct ferry_store *s, const char *path, int fd, uint64_t size, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, path);
	char *tmp = ferry_tmp_name(f); /* short: the final name may take all 255 bytes */
	int rc = 0, out = -1;
	if (ferry_mkdir_parents(f) < 0 || (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = errno_err(err, "cannot create", f);
		goto done;
	}
	char *buf = malloc(1 << 20);
	for (uint64_t off = 0; off < size && rc == 0;) {
		size_t want = size - off < (1 << 20) ? (size_t)(size - off) : (1 << 20);
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got <= 0 || ferry_write_all(out, buf, (size_t)got) < 0)
			rc = errno_err(err, "cannot write", f);
		else {
			off += (uint64_t)got;
			ferry_stats_add(&s->stats->bytes, (uint64_t)got);
		}
	}
	free(buf);
	if (close(out) < 0 && rc == 0)
		rc = errno_err(err, "cannot write", f);
	if (rc == 0 && rename(tmp, f) < 0)
		rc = errno_err(err, "cannot rename into", f);
	if (rc < 0)
		unlink(tmp);
	ferry_stats_add(&s->stats->requests, 1);
done:
	free(tmp);
	free(f);
	return rc;
}

static int l_remove(struct ferry_store *s, const char *path, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, path);
	struct stat st;
	int rc = 0;
	if (stat(f, &st) == 0 && S_ISDIR(st.st_mode))
		rc = ferry_err_set(err, FERRY_E_NOTFOUND, "'%s' is a folder, not a file", f);
	else if (unlink(f) < 0)
		rc = errno_err(err, "cannot delete", f);
	ferry_stats_add(&s->stats->requests, 1);
	free(f);
	return rc;
}

static int l_rename(struct ferry_store *s, const char *from, const char *to, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, from), *t = full(l, to);
	int rc = 0;
	if (ferry_mkdir_parents(t) < 0 || rename(f, t) < 0)
		rc = errno_err(err, "cannot rename", f);
	ferry_stats_add(&s->stats->requests, 1);
	free(f);
	free(t);
	return rc;
}

/* A copy through a temporary name in the destination folder (the same way
 * put writes), so `to` never holds a partial file. */
static int l_copy(struct ferry_store *s, const char *from, const char *to, ferry_err *err)
{
	struct local *l = (struct local *)s;
	char *f = full(l, from);
	int fd = open(f, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc;
	if (fd < 0 || fstat(fd, &st) < 0)
		rc = errno_err(err, "cannot read", f);
	else
		rc = l_put(s, to, fd, (uint64_t)st.st_size, err);
	if (fd >= 0)
		close(fd);
	free(f);
	return rc;
}

static void l_destroy(struct ferry_store *s)
{
	struct local *l = (struct local *)s;
	free(l->root);
	free(l->base.display);
	free(l);
}

static const struct ferry_store_ops local_ops = {
	.kind = "local",
	.stat = l_stat,
	.list = l_list,
	.read = l_read,
	.put = l_put,
	.remove = l_remove,
	.copy = l_copy,
	.rename = l_rename,
	.destroy = l_destroy,
};

struct ferry_store *ferry_local_open(const char *root, int writable, const struct ferry_settings *settings,
				     struct ferry_stats *stats, ferry_err *err)
{
	struct stat st;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ferry_err_set(err, FERRY_E_NOTFOUND, "local folder '%s' does not exist", root);
		return NULL;
	}
	struct local *l = calloc(1, sizeof(*l));
	l->root = strdup(root);
	size_t n = strlen(l->root);
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = '\0';
	l->base.display = strdup(root);
	l->base.ops = &local_ops;
	l->base.settings = settings;
	l->base.stats = stats;
	l->base.writable = writable;
	return &l->base;
}
