/* store.c — the generic half of store.h: dispatch, the file-or-folder rule,
 * entries, pages, path rules. */
#include "store/store.h"
#include "core/log.h"
#include "core/sys.h"
#include "store/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ferry_store_file_hidden(const char *display, const char *name)
{
	ferry_warn("'%s' in %s is both a file and a folder: the folder wins, the file is hidden", name, display);
}

int ferry_store_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	if (s->ops->stat(s, path, out, err) < 0)
		return -1;
	if (out->is_dir || !*path || !s->ops->has_below)
		return 0;
	int below = s->ops->has_below(s, path, err);
	if (below < 0) {
		ferry_entry_clear(out);
		return -1;
	}
	if (below) {
		ferry_store_file_hidden(s->display, path);
		char *name = out->name;
		memset(out, 0, sizeof(*out));
		out->name = name;
		out->is_dir = 1;
	}
	return 0;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Drop the files of `page` that are also folders: a folder entry of the same
 * name, or (recursive listings) an entry below "name/". Names are sorted
 * here (S3 answers files and folders in two runs); a file sorting after
 * everything else of a page that has more is asked about (has_below). */
static int folder_wins(struct ferry_store *s, struct ferry_list_page *page, ferry_err *err)
{
	size_t n = page->n, k = 0;
	char **keys = malloc((n ? n : 1) * sizeof(*keys));
	if (!keys)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct ferry_entry *e = &page->entries[i];
		if (asprintf(&keys[k], "%s%s", e->name, e->is_dir ? "/" : "") < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		else
			k++;
	}
	qsort(keys, k, sizeof(*keys), by_str);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		struct ferry_entry *e = &page->entries[i];
		int hide = 0;
		char *dir = NULL;
		if (!rc && !e->is_dir && asprintf(&dir, "%s/", e->name) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (!rc && dir) {
			size_t lo = 0, hi = k, dl = strlen(dir);
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (strcmp(keys[mid], dir) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < k)
				hide = !strncmp(keys[lo], dir, dl);
			else if (page->next_marker && (hide = s->ops->has_below(s, e->name, err)) < 0)
				rc = -1;
			if (hide > 0)
				ferry_store_file_hidden(s->display, e->name);
		}
		free(dir);
		if (hide > 0)
			free(e->name);
		else
			page->entries[w++] = *e;
	}
	page->n = w;
	for (size_t i = 0; i < k; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

int ferry_store_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		     struct ferry_list_page *page, ferry_err *err)
{
	ferry_page_clear(page);
	if (s->ops->list(s, prefix, recursive, marker, page, err) < 0)
		return -1;
	return s->ops->has_below ? folder_wins(s, page, err) : 0;
}

int ferry_store_each(struct ferry_store *s, const char *prefix, int recursive, ferry_entry_fn fn, void *arg,
		     ferry_err *err)
{
	size_t plen = strlen(prefix);
	struct ferry_list_page page = { 0 };
	char *marker = NULL;
	int rc;
	do {
		rc = ferry_store_list(s, prefix, recursive, marker, &page, err);
		free(marker);
		marker = NULL;
		for (size_t i = 0; rc == 0 && i < page.n; i++) {
			const struct ferry_entry *e = &page.entries[i];
			rc = fn(arg, e, e->name + plen + (plen ? 1 : 0), err);
		}
		if (rc == 0 && page.next_marker && !(marker = strdup(page.next_marker)))
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	} while (rc == 0 && marker);
	ferry_page_clear(&page);
	return rc;
}

int ferry_store_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
		     ferry_sink_fn sink, void *arg, ferry_err *err)
{
	return s->ops->read(s, path, off, len, sink, arg, err);
}

int ferry_store_on_disk(const struct ferry_store *s)
{
	return s && !strcmp(s->ops->kind, "local");
}

void ferry_store_ensure_container(struct ferry_store *s)
{
	ferry_err err;
	if (s->ops->ensure_container && s->ops->ensure_container(s, &err) < 0)
		ferry_debug("creating the container: %s", err.msg);
}

void ferry_store_global_init(void)
{
	ferry_http_global_init();
}

void ferry_store_global_cleanup(void)
{
	ferry_http_global_cleanup();
}

int ferry_store_read_within(struct ferry_store *s, const char *path, uint64_t off, uint64_t len,
			    ferry_sink_fn sink, void *arg, uint64_t timeout_ms, ferry_err *err)
{
	if (!timeout_ms)
		return s->ops->read(s, path, off, len, sink, arg, err);
	int64_t deadline = (int64_t)ferry_now_us() + (int64_t)timeout_ms * 1000;
	int64_t prev = ferry_http_deadline(deadline);
	int rc = s->ops->read(s, path, off, len, sink, arg, err);
	ferry_http_deadline(prev);
	return rc;
}

struct fill {
	char *buf;
	uint64_t base;
	size_t len, got;
};

static int fill_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct fill *f = arg;
	if (off < f->base || off + len > f->base + f->len)
		return -1;
	memcpy(f->buf + (off - f->base), data, len);
	if (off + len - f->base > f->got)
		f->got = off + len - f->base;
	return 0;
}

int ferry_store_read_exact(struct ferry_store *s, const char *path, uint64_t off, size_t len, char *buf,
			   uint64_t timeout_ms, ferry_err *err)
{
	struct fill f = { .buf = buf, .base = off, .len = len };
	if (ferry_store_read_within(s, path, off, len, fill_sink, &f, timeout_ms, err) < 0)
		return -1;
	if (f.got != len)
		return ferry_err_set(err, FERRY_E_INTEGRITY,
				     "blob '%s': bytes %llu-%llu: storage returned %zu of %zu bytes (changed in storage?)",
				     path, (unsigned long long)off, (unsigned long long)(off + len - 1), f.got, len);
	return 0;
}

void ferry_store_destroy(struct ferry_store *s)
{
	if (s)
		s->ops->destroy(s);
}

void ferry_entry_clear(struct ferry_entry *e)
{
	free(e->name);
	memset(e, 0, sizeof(*e));
}

struct ferry_entry *ferry_page_add(struct ferry_list_page *p, const char *name, uint64_t size, int is_dir)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct ferry_entry *e = realloc(p->entries, cap * sizeof(*e));
		if (!e)
			return NULL;
		p->entries = e;
		p->cap = cap;
	}
	struct ferry_entry *e = &p->entries[p->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = strdup(name)))
		return NULL;
	e->size = size;
	e->is_dir = is_dir;
	p->n++;
	return e;
}

void ferry_page_clear(struct ferry_list_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->entries[i].name);
	free(p->entries);
	free(p->next_marker);
	memset(p, 0, sizeof(*p));
}

char *ferry_path_join(const char *prefix, const char *name)
{
	size_t a = strlen(prefix), b = strlen(name);
	char *r = malloc(a + b + 2);
	if (!r)
		return NULL;
	memcpy(r, prefix, a);
	size_t at = a;
	if (a && b)
		r[at++] = '/';
	memcpy(r + at, name, b + 1);
	return r;
}

int ferry_path_check_safe(const char *rel, ferry_err *err)
{
	if (!rel || !*rel)
		return ferry_err_set(err, FERRY_E_UNSAFE, "refusing an empty file name from storage");
	if (rel[0] == '/')
		return ferry_err_set(err, FERRY_E_UNSAFE,
				     "refusing blob '%s': an absolute name would be written outside the destination", rel);
	if (strchr(rel, '\\'))
		return ferry_err_set(err, FERRY_E_UNSAFE,
				     "refusing blob '%s': backslashes in names are not allowed", rel);
	const char *p = rel;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 2 && !strncmp(p, "..", 2)))
			return ferry_err_set(err, FERRY_E_UNSAFE,
					     "refusing blob '%s': a '..' component would leave the destination folder", rel);
		if (n == 0 || (n == 1 && *p == '.'))
			return ferry_err_set(err, FERRY_E_UNSAFE,
					     "refusing blob '%s': empty or '.' path components are not allowed", rel);
		if (!e)
			break;
		p = e + 1;
		if (!*p)
			return ferry_err_set(err, FERRY_E_UNSAFE,
					     "refusing blob '%s': a name ending in '/' is not a file", rel);
	}
	return 0;
}
