/* store.c — the generic half of store.h: dispatch, entries, pages, path rules. */
#include "store/store.h"
#include "core/log.h"
#include "store/httpc.h"

#include <stdlib.h>
#include <string.h>

int ferry_store_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	return s->ops->stat(s, path, out, err);
}

int ferry_store_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		     struct ferry_list_page *page, ferry_err *err)
{
	ferry_page_clear(page);
	return s->ops->list(s, prefix, recursive, marker, page, err);
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
