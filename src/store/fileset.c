/*
 * fileset.c — the read-only store of chosen files (see fileset.h).
 *
 * Items are kept sorted by name with strcmp. In that order every name under
 * "a/b/" is contiguous (any byte sorting before '/' makes "a/b<byte>..." sort
 * before all of "a/b/..."), so a folder is one binary search plus a scan,
 * and the immediate sub-folders of a listing come out deduplicated by
 * skipping each sub-folder's run. A list marker is the index to resume at.
 */
#include "store/fileset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 1000

struct fileset {
	struct ferry_store base;
	struct ferry_fileset_item *items;
	size_t n;
	void (*release)(void *);
	void *owner;
};

/* First index whose name is >= key. */
static size_t lower_bound(const struct fileset *f, const char *key)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(f->items[mid].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct ferry_fileset_item *find(const struct fileset *f, const char *name)
{
	size_t i = lower_bound(f, name);
	return i < f->n && !strcmp(f->items[i].name, name) ? &f->items[i] : NULL;
}

/* "prefix/" (or "" for the root), malloc'd. */
static char *dir_key(const char *prefix)
{
	size_t n = strlen(prefix);
	char *k = malloc(n + 2);
	if (!k)
		return NULL;
	memcpy(k, prefix, n);
	if (n)
		k[n++] = '/';
	k[n] = '\0';
	return k;
}

static void fill(struct ferry_entry *out, const struct ferry_fileset_item *it)
{
	out->size = it->size;
	out->mtime = it->mtime;
	snprintf(out->md5, sizeof(out->md5), "%s", it->md5 ? it->md5 : "");
	snprintf(out->etag, sizeof(out->etag), "%s", it->etag ? it->etag : "");
}

static int fs_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	struct fileset *f = (struct fileset *)s;
	const struct ferry_fileset_item *it = find(f, path);
	if (it) {
		if (!(out->name = strdup(path)))
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		fill(out, it);
		return 0;
	}
	char *k = dir_key(path);
	if (!k)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	size_t i = lower_bound(f, k);
	int dir = !*path || (i < f->n && !strncmp(f->items[i].name, k, strlen(k)));
	free(k);
	if (!dir)
		return ferry_err_set(err, FERRY_E_NOTFOUND, "'%s' is not in the evaluated file set of %s", path,
				     s->display);
	if (!(out->name = strdup(path)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	out->is_dir = 1;
	return 0;
}

static int fs_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		   struct ferry_list_page *page, ferry_err *err)
{
	struct fileset *f = (struct fileset *)s;
	char *k = dir_key(prefix);
	if (!k)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	size_t kl = strlen(k);
	size_t i = marker ? (size_t)strtoull(marker, NULL, 10) : lower_bound(f, k);
	int rc = 0;
	while (rc == 0 && i < f->n && !strncmp(f->items[i].name, k, kl)) {
		if (page->n >= PAGE) {
			if (asprintf(&page->next_marker, "%zu", i) < 0)
				page->next_marker = NULL;
			break;
		}
		const struct ferry_fileset_item *it = &f->items[i];
		const char *slash = recursive ? NULL : strchr(it->name + kl, '/');
		if (slash) { /* a sub-folder: one entry, then skip its run */
			size_t dl = (size_t)(slash - it->name);
			char *d = strndup(it->name, dl);
			if (!d || !ferry_page_add(page, d, 0, 1))
				rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
			free(d);
			while (i < f->n && !strncmp(f->items[i].name, it->name, dl + 1))
				i++;
			continue;
		}
		struct ferry_entry *e = ferry_page_add(page, it->name, it->size, 0);
		if (!e)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		else
			fill(e, it);
		i++;
	}
	free(k);
	return rc;
}

static int fs_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		   void *arg, ferry_err *err)
{
	struct fileset *f = (struct fileset *)s;
	const struct ferry_fileset_item *it = find(f, path);
	if (!it)
		return ferry_err_set(err, FERRY_E_NOTFOUND, "'%s' is not in the evaluated file set of %s", path,
				     s->display);
	return ferry_store_read(it->store, it->path, off, len, sink, arg, err);
}

static int fs_put(struct ferry_store *s, const char *path, int fd, uint64_t size, ferry_err *err)
{
	(void)fd;
	(void)size;
	return ferry_err_set(err, FERRY_E_INVALID, "'%s': the evaluated file set of %s is read-only", path,
			     s->display);
}

static void fs_destroy(struct ferry_store *s)
{
	struct fileset *f = (struct fileset *)s;
	if (f->release)
		f->release(f->owner);
	free(f->items);
	free(s->display);
	free(f);
}

static const struct ferry_store_ops fileset_ops = {
	.kind = "fileset",
	.stat = fs_stat,
	.list = fs_list,
	.read = fs_read,
	.put = fs_put,
	.destroy = fs_destroy,
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ferry_fileset_item *)a)->name, ((const struct ferry_fileset_item *)b)->name);
}

struct ferry_store *ferry_fileset_open(const char *display, const struct ferry_fileset_item *items, size_t n,
				       void (*release)(void *owner), void *owner, const struct ferry_settings *settings,
				       struct ferry_stats *stats, ferry_err *err)
{
	struct fileset *f = calloc(1, sizeof(*f));
	if (!f || !(f->items = malloc((n ? n : 1) * sizeof(*items))) || !(f->base.display = strdup(display))) {
		if (f)
			free(f->items);
		free(f);
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	memcpy(f->items, items, n * sizeof(*items));
	f->n = n;
	qsort(f->items, n, sizeof(*items), by_name);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		int bad = ferry_path_check_safe(f->items[i].name, err) < 0;
		if (!bad && i && !strcmp(f->items[i].name, f->items[i - 1].name))
			bad = ferry_err_set(err, FERRY_E_INVALID, "'%s' appears twice in the file set of %s",
					    f->items[i].name, display);
		/* a name that is also a folder of another ("a" and "a/b"): the
		 * folder wins (store.h); "a/..." need not follow "a" directly
		 * ("a-x" sorts between them) */
		char *k = bad ? NULL : dir_key(f->items[i].name);
		if (!bad && !k)
			bad = ferry_err_set(err, FERRY_E_IO, "out of memory");
		f->n = n;
		size_t at = k ? lower_bound(f, k) : n;
		int hidden = k && at < n && !strncmp(f->items[at].name, k, strlen(k));
		free(k);
		if (bad) {
			free(f->items);
			free(f->base.display);
			free(f);
			return NULL;
		}
		if (hidden)
			ferry_store_file_hidden(display, f->items[i].name);
		else
			f->items[w++] = f->items[i];
	}
	f->n = w;
	f->base.ops = &fileset_ops;
	f->base.settings = settings;
	f->base.stats = stats;
	f->release = release;
	f->owner = owner;
	return &f->base;
}
