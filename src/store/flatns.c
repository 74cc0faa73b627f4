/*
 * flatns.c — listing and stat rules of Azure Blob and S3 (see flatns.h).
 */
#include "store/flatns.h"

#include <stdlib.h>
#include <string.h>

char *ferry_flatns_prefix(const char *folder)
{
	size_t n = strlen(folder);
	char *p = malloc(n + 2);
	if (!p)
		return NULL;
	memcpy(p, folder, n);
	p[n] = '/';
	p[n + (n ? 1 : 0)] = '\0';
	return p;
}

struct ferry_entry *ferry_flatns_add(struct ferry_list_page *page, const char *pfx, char *name, int is_prefix,
				     const char *what, int *rc, ferry_err *err)
{
	size_t plen = strlen(pfx);
	*rc = 0;
	if (!name || strncmp(name, pfx, plen)) {
		*rc = ferry_err_set(err, FERRY_E_NET, "listing %s: the server returned name '%s' outside prefix '%s'",
				    what, name ? name : "(none)", pfx);
		return NULL;
	}
	size_t n = strlen(name);
	if (is_prefix) {
		while (n > plen && name[n - 1] == '/')
			name[--n] = '\0';
		if (n == plen)
			return NULL; /* the listed folder itself */
	} else if (n == plen) {
		page->self_marker = 1; /* "dir/": the folder's own marker */
		return NULL;
	} else if (name[n - 1] == '/') {
		return NULL; /* "dir/sub/": a sub-folder's marker, not a file */
	}
	struct ferry_entry *e = ferry_page_add(page, name, 0, is_prefix);
	if (!e)
		*rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	return e;
}

int ferry_flatns_stat(struct ferry_store *s, const struct ferry_flatns_ops *ops, const char *name, const char *path,
		      struct ferry_entry *out, ferry_err *err)
{
	ferry_err head_err;
	ferry_err_clear(&head_err);
	if (*path) {
		if (ops->head(s, path, out, &head_err) == 0)
			return 0;
		if (head_err.code != FERRY_E_NOTFOUND && head_err.code != FERRY_E_AUTH) {
			*err = head_err;
			return -1;
		}
	}
	/* one name is enough to know a folder exists (a full page of a big
	 * folder cost 0.4 s of Azurite's time per stat) */
	struct ferry_list_page page = { 0 };
	int rc = ops->list(s, path, 1, &page, err);
	int found = rc == 0 && (page.n > 0 || page.self_marker);
	ferry_page_clear(&page);
	if (rc < 0)
		return -1;
	if (!found && head_err.code == FERRY_E_AUTH) {
		*err = head_err;
		return -1;
	}
	if (!found && *path)
		return ferry_err_set(err, FERRY_E_NOTFOUND, "%s '%s' not found in %s '%s' (HTTP 404 %s)", ops->object,
				     path, ops->container, name, ops->notfound);
	out->name = strdup(path);
	out->is_dir = 1;
	return 0;
}
