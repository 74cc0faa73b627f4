/* test_fileset.c — store/fileset.c over a stub store: stat of files, implied
 * folders and missing names; recursive and folder listings (sub-folders once,
 * even across pages and when another name sorts between); reads delegated to
 * the right store and path; bad sets refused; release called once. */
#include "check.h"
#include "store/fileset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stub store whose read delivers "<display>:<path>". */
static int stub_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		     void *arg, ferry_err *err)
{
	(void)off;
	(void)len;
	(void)err;
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s:%s", s->display, path);
	return sink(arg, 0, buf, (size_t)n);
}

static const struct ferry_store_ops stub_ops = { .kind = "stub", .read = stub_read };

static int collect(void *arg, uint64_t off, const void *data, size_t len)
{
	(void)off;
	strncat(arg, data, len);
	return 0;
}

static int released;
static void release(void *owner)
{
	(void)owner;
	released++;
}

/* All names a listing of `prefix` returns, over every page, as "name/" for folders. */
static char *list_all(struct ferry_store *s, const char *prefix, int recursive, int *pages)
{
	static char out[200000];
	out[0] = '\0';
	*pages = 0;
	struct ferry_list_page page = { 0 };
	char *marker = NULL;
	ferry_err err;
	do {
		if (ferry_store_list(s, prefix, recursive, marker, &page, &err) < 0)
			return NULL;
		(*pages)++;
		free(marker);
		marker = page.next_marker ? strdup(page.next_marker) : NULL;
		for (size_t i = 0; i < page.n; i++) {
			strcat(out, page.entries[i].name);
			strcat(out, page.entries[i].is_dir ? "/ " : " ");
		}
	} while (marker);
	ferry_page_clear(&page);
	return out;
}

int main(void)
{
	struct ferry_store a = { .ops = &stub_ops, .display = "A" }, b = { .ops = &stub_ops, .display = "B" };
	struct ferry_fileset_item items[] = {
		{ .name = "acct/c2/cam/x.jpg", .store = &b, .path = "cam/x.jpg", .size = 5, .md5 = "", .etag = "" },
		{ .name = "acct/c1/z.csv", .store = &a, .path = "deep/z.csv", .size = 7, .md5 = "bWQ1", .etag = "" },
		{ .name = "acct/c1/sub/y.txt", .store = &a, .path = "sub/y.txt", .size = 1, .md5 = "", .etag = "" },
		{ .name = "acct/c1/sub-x", .store = &a, .path = "sub-x", .size = 2, .md5 = "", .etag = "" },
		{ .name = "acct/c1/sub/w/v.txt", .store = &a, .path = "sub/w/v.txt", .size = 3, .md5 = "", .etag = "" },
	};
	ferry_err err;
	struct ferry_store *s = ferry_fileset_open("test set", items, 5, release, NULL, NULL, NULL, &err);
	CHECK(s != NULL);
	if (!s)
		return CHECK_DONE();
	struct ferry_entry e = { 0 };
	CHECK(ferry_store_stat(s, "acct/c1/z.csv", &e, &err) == 0 && !e.is_dir && e.size == 7 && !strcmp(e.md5, "bWQ1"));
	ferry_entry_clear(&e);
	CHECK(ferry_store_stat(s, "acct/c1/sub", &e, &err) == 0 && e.is_dir);
	ferry_entry_clear(&e);
	CHECK(ferry_store_stat(s, "", &e, &err) == 0 && e.is_dir);
	ferry_entry_clear(&e);
	CHECK(ferry_store_stat(s, "acct/c1/su", &e, &err) < 0 && err.code == FERRY_E_NOTFOUND);
	int pages;
	CHECK_STR(list_all(s, "", 0, &pages), "acct/ ");
	CHECK_STR(list_all(s, "acct/c1", 0, &pages), "acct/c1/sub-x acct/c1/sub/ acct/c1/z.csv ");
	CHECK_STR(list_all(s, "acct/c1/sub", 0, &pages), "acct/c1/sub/w/ acct/c1/sub/y.txt ");
	CHECK_STR(list_all(s, "acct", 1, &pages),
		  "acct/c1/sub-x acct/c1/sub/w/v.txt acct/c1/sub/y.txt acct/c1/z.csv acct/c2/cam/x.jpg ");
	CHECK_STR(list_all(s, "acct/c1/z.csv", 1, &pages), ""); /* a file is not a folder */
	char got[300] = "";
	CHECK(ferry_store_read(s, "acct/c2/cam/x.jpg", 0, UINT64_MAX, collect, got, &err) == 0);
	CHECK(!strcmp(got, "B:cam/x.jpg"));
	got[0] = '\0';
	CHECK(ferry_store_read(s, "acct/c1/z.csv", 0, UINT64_MAX, collect, got, &err) == 0);
	CHECK(!strcmp(got, "A:deep/z.csv"));
	CHECK(ferry_store_read(s, "acct/c1/nope", 0, 1, collect, got, &err) < 0 && err.code == FERRY_E_NOTFOUND);
	CHECK(s->ops->put(s, "x", -1, 0, &err) < 0 && strstr(err.msg, "read-only"));
	ferry_store_destroy(s);
	CHECK(released == 1);

	/* 2,500 files in 2,500 folders: paging returns each folder once */
	size_t n = 2500;
	struct ferry_fileset_item *many = calloc(n, sizeof(*many));
	char (*names)[32] = calloc(n, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "r/d%04zu/f", i);
		many[i] = (struct ferry_fileset_item){ .name = names[i], .store = &a, .path = names[i], .md5 = "", .etag = "" };
	}
	s = ferry_fileset_open("many", many, n, NULL, NULL, NULL, NULL, &err);
	CHECK(s != NULL);
	char *all = s ? list_all(s, "r", 0, &pages) : NULL;
	size_t count = 0;
	for (char *p = all; p && (p = strstr(p, "/ ")); p += 2)
		count++;
	CHECK(count == n && pages == 3);
	all = s ? list_all(s, "r", 1, &pages) : NULL;
	CHECK(all && pages == 3 && strstr(all, "r/d2499/f "));
	ferry_store_destroy(s);

	/* bad sets: a duplicate, an unsafe name, a name that is also a folder */
	struct ferry_fileset_item dup[] = { { .name = "a/b", .store = &a, .path = "x" }, { .name = "a/b", .store = &a, .path = "y" } };
	CHECK(!ferry_fileset_open("d", dup, 2, release, NULL, NULL, NULL, &err) && strstr(err.msg, "twice"));
	struct ferry_fileset_item unsafe[] = { { .name = "a/../b", .store = &a, .path = "x" } };
	CHECK(!ferry_fileset_open("u", unsafe, 1, release, NULL, NULL, NULL, &err) && strstr(err.msg, ".."));
	struct ferry_fileset_item both[] = { { .name = "x", .store = &a, .path = "x" }, { .name = "x-z", .store = &a, .path = "x-z" },
					     { .name = "x/y", .store = &a, .path = "x/y" } };
	CHECK(released == 1); /* not called for refused sets */
	/* a name that is also a folder: the folder wins, the file is left out */
	s = ferry_fileset_open("b", both, 3, release, NULL, NULL, NULL, &err);
	struct ferry_entry st;
	CHECK(s && ferry_store_stat(s, "x", &st, &err) == 0 && st.is_dir);
	ferry_entry_clear(&st);
	all = s ? list_all(s, "", 1, &pages) : NULL;
	CHECK(all && !strcmp(all, "x-z x/y "));
	all = s ? list_all(s, "", 0, &pages) : NULL;
	CHECK(all && !strcmp(all, "x-z x/ "));
	ferry_store_destroy(s);
	free(many);
	free(names);
	return CHECK_DONE();
}
