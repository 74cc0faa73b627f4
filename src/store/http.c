/*
 * http.c — the read-only HTTP store (see http.h).
 *
 * stat: HEAD; a 301/302 to the same path plus '/' (what nginx answers for
 * a folder) means a folder. list: GET <folder>/ and parse either nginx's
 * `autoindex_format json` array or, failing that, the relative links of an
 * HTML page. Names from the index are refused if they hold '/', '..' or
 * control characters. Recursive listing walks sub-folders breadth-first
 * into one page.
 */
#include "store/http.h"
#include "core/strbuf.h"
#include "core/uri.h"
#include "store/httpc.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpstore {
	struct ferry_store base;
	char *origin;
};

struct hreq {
	struct httpstore *hs;
	const char *path;
	int folder;
	char what[512];
};

static int h_prepare(void *ctx, const struct ferry_http_call *call, uint64_t off, uint64_t len,
		     struct ferry_http_attempt *a, ferry_err *err)
{
	(void)err;
	struct hreq *r = ctx;
	char *ep = ferry_uri_escape_path(r->path);
	size_t cap = strlen(r->hs->origin) + strlen(ep) + 4;
	a->url = malloc(cap);
	snprintf(a->url, cap, "%s/%s%s", r->hs->origin, ep, r->folder && *r->path ? "/" : "");
	free(ep);
	if (call->ranged && (off > 0 || len != UINT64_MAX)) {
		char range[80];
		if (len == UINT64_MAX)
			snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)off);
		else
			snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		a->headers = curl_slist_append(a->headers, range);
	}
	return 0;
}

static int h_do(struct httpstore *hs, const char *path, int folder, struct ferry_http_call *c,
		struct ferry_http_resp *resp, ferry_err *err)
{
	struct hreq r = { hs, path, folder, "" };
	snprintf(r.what, sizeof(r.what), "%s/%s%s", hs->origin, path, folder && *path ? "/" : "");
	c->prepare = h_prepare;
	c->ctx = &r;
	c->what = r.what;
	return ferry_http_perform(hs->base.settings, hs->base.stats, c, resp, err);
}

static int h_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	struct httpstore *hs = (struct httpstore *)s;
	out->name = strdup(path);
	if (!*path) {
		out->is_dir = 1;
		return 0;
	}
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "HEAD", path);
	int rc = h_do(hs, path, 0, &c, &resp, err);
	if (rc == 0) {
		out->size = resp.content_length > 0 ? (uint64_t)resp.content_length : 0;
		out->mtime = resp.last_modified;
		snprintf(out->etag, sizeof(out->etag), "%s", resp.etag);
		out->no_ranges = !resp.accept_ranges;
	} else if (resp.status == 301 || resp.status == 302 || resp.status == 307 || resp.status == 308) {
		out->is_dir = 1;
		rc = 0;
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static int safe_name(const char *n)
{
	if (!*n || !strcmp(n, ".") || !strcmp(n, "..") || strchr(n, '/') || strchr(n, '\\'))
		return 0;
	for (; *n; n++)
		if ((unsigned char)*n < 0x20)
			return 0;
	return 1;
}

static int add_child(struct ferry_list_page *page, const char *prefix, const char *name, uint64_t size,
		     int is_dir, const char *where, ferry_err *err)
{
	if (!safe_name(name))
		return ferry_err_set(err, FERRY_E_UNSAFE, "refusing entry '%s' in the index of %s", name, where);
	char *full = ferry_path_join(prefix, name);
	struct ferry_entry *e = ferry_page_add(page, full, size, is_dir);
	free(full);
	return e ? 0 : ferry_err_set(err, FERRY_E_IO, "out of memory");
}

/* nginx autoindex_format json: [{"name":..,"type":"file"|"directory","size":..}] */
static int parse_json_index(const char *body, const char *prefix, struct ferry_list_page *page,
			    const char *where, ferry_err *err)
{
	json_error_t je;
	json_t *arr = json_loads(body, 0, &je);
	if (!arr)
		return 1; /* not JSON: try HTML */
	if (!json_is_array(arr)) {
		json_decref(arr);
		return 1;
	}
	int rc = 0;
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *type = json_string_value(json_object_get(it, "type"));
		if (!name || !type)
			continue;
		int dir = !strcmp(type, "directory");
		if (!dir && strcmp(type, "file"))
			continue;
		uint64_t size = (uint64_t)json_integer_value(json_object_get(it, "size"));
		if ((rc = add_child(page, prefix, name, size, dir, where, err)) < 0)
			break;
	}
	json_decref(arr);
	return rc;
}

static int hexv(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* href="name" or href="name/" links relative to the folder. */
static int parse_html_index(const char *body, const char *prefix, struct ferry_list_page *page,
			    const char *where, ferry_err *err)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT; /* a name of any length, never cut short */
	int rc = 0;
	for (const char *p = body; rc == 0 && (p = strstr(p, "href=\"")) != NULL;) {
		p += 6;
		const char *q = strchr(p, '"');
		if (!q)
			break;
		ferry_strbuf_reset(&sb);
		for (const char *c = p; c < q; c++) {
			if (*c == '%' && c + 2 < q && hexv(c[1]) >= 0 && hexv(c[2]) >= 0) {
				ferry_strbuf_addch(&sb, hexv(c[1]) * 16 + hexv(c[2]));
				c += 2;
			} else
				ferry_strbuf_addch(&sb, *c);
		}
		p = q + 1;
		if (sb.failed) {
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
			break;
		}
		char *name = sb.buf;
		size_t n = sb.len;
		if (!n || name[0] == '?' || name[0] == '/' || name[0] == '#' || strstr(name, "://") ||
		    !strncmp(name, "../", 3) || !strcmp(name, ".."))
			continue;
		int dir = name[n - 1] == '/';
		if (dir)
			name[n - 1] = '\0';
		if (!dir && strchr(name, '/'))
			continue;
		if ((rc = add_child(page, prefix, name, 0, dir, where, err)) == 0)
			page->entries[page->n - 1].size_unknown = !dir;
	}
	ferry_strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

static int list_one(struct httpstore *hs, const char *prefix, struct ferry_list_page *page, ferry_err *err)
{
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", prefix);
	int rc = h_do(hs, prefix, 1, &c, &resp, err);
	if (rc == 0) {
		char where[512];
		snprintf(where, sizeof(where), "%s/%s", hs->origin, prefix);
		const char *body = resp.body ? resp.body : "";
		rc = parse_json_index(body, prefix, page, where, err);
		if (rc == 1)
			rc = parse_html_index(body, prefix, page, where, err);
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static int h_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		  struct ferry_list_page *page, ferry_err *err)
{
	(void)marker;
	struct httpstore *hs = (struct httpstore *)s;
	if (list_one(hs, prefix, page, err) < 0)
		return -1;
	if (!recursive)
		return 0;
	/* breadth-first: expand folder entries in place, drop them from the page */
	for (size_t i = 0; i < page->n; i++) {
		if (!page->entries[i].is_dir)
			continue;
		char *dir = page->entries[i].name;
		page->entries[i] = page->entries[--page->n];
		int rc = list_one(hs, dir, page, err);
		free(dir);
		if (rc < 0)
			return -1;
		i--;
	}
	return 0;
}

static int h_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		  void *arg, ferry_err *err)
{
	struct httpstore *hs = (struct httpstore *)s;
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", path);
	c.ranged = 1;
	c.off = off;
	c.len = len;
	c.sink = sink;
	c.sink_arg = arg;
	int rc = h_do(hs, path, 0, &c, &resp, err);
	ferry_http_resp_clear(&resp);
	return rc;
}

static void h_destroy(struct ferry_store *s)
{
	struct httpstore *hs = (struct httpstore *)s;
	free(hs->origin);
	free(hs->base.display);
	free(hs);
}

static const struct ferry_store_ops http_ops = {
	.kind = "http",
	.stat = h_stat,
	.list = h_list,
	.read = h_read,
	.destroy = h_destroy,
};

struct ferry_store *ferry_http_open(const char *base, const struct ferry_settings *settings,
				    struct ferry_stats *stats, ferry_err *err)
{
	(void)err;
	struct httpstore *hs = calloc(1, sizeof(*hs));
	hs->origin = strdup(base);
	hs->base.display = strdup(base);
	hs->base.ops = &http_ops;
	hs->base.settings = settings;
	hs->base.stats = stats;
	return &hs->base;
}
