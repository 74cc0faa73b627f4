/* test_folder_wins.c — the rule for a name that is both a file and a folder
 * (store.c) over a stub store: a listing page in S3's order (files, then
 * folders) loses the file that is also a folder, whether the folder is on the
 * same page, below it in a recursive page, or (asked with has_below) on a
 * later page; a stat of such a name answers the folder; a store without
 * has_below is left alone. */
#include "check.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* The stub's names: files a, a-z, b; folders a/ (holding a/x) and c/. */
static int has_below_calls;

static int stub_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		     struct ferry_list_page *page, ferry_err *err)
{
	(void)s, (void)prefix, (void)err;
	if (recursive) { /* page 1: a, a-z; page 2: a/x, b */
		if (!marker) {
			ferry_page_add(page, "a", 1, 0);
			ferry_page_add(page, "a-z", 1, 0);
			page->next_marker = strdup("2");
		} else {
			ferry_page_add(page, "a/x", 1, 0);
			ferry_page_add(page, "b", 1, 0);
		}
		return 0;
	}
	/* one level, S3's order: the files, then the folders */
	ferry_page_add(page, "a", 1, 0);
	ferry_page_add(page, "a-z", 1, 0);
	ferry_page_add(page, "b", 1, 0);
	ferry_page_add(page, "a", 0, 1);
	ferry_page_add(page, "c", 0, 1);
	return 0;
}

static int stub_has_below(struct ferry_store *s, const char *path, ferry_err *err)
{
	(void)s, (void)err;
	has_below_calls++;
	return !strcmp(path, "a") || !strcmp(path, "c");
}

static int stub_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	(void)s, (void)err;
	out->name = strdup(path);
	out->size = 7;
	out->is_dir = !strcmp(path, "c");
	return 0;
}

static const struct ferry_store_ops with_rule = { .kind = "stub", .list = stub_list, .stat = stub_stat,
						  .has_below = stub_has_below };
static const struct ferry_store_ops without = { .kind = "plain", .list = stub_list, .stat = stub_stat };

/* The names of one page, as "name/" for folders. */
static char *names(const struct ferry_list_page *p)
{
	static char out[256];
	out[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		strcat(out, p->entries[i].name);
		strcat(out, p->entries[i].is_dir ? "/ " : " ");
	}
	return out;
}

int main(void)
{
	struct ferry_store s = { .ops = &with_rule, .display = "stub" };
	struct ferry_list_page page = { 0 };
	ferry_err err;

	/* one level: the folder on the same page, after the files */
	has_below_calls = 0;
	CHECK(ferry_store_list(&s, "", 0, NULL, &page, &err) == 0);
	CHECK_STR(names(&page), "a-z b a/ c/ ");
	CHECK(has_below_calls == 0); /* the last page: nothing to ask */

	/* recursive: "a" ends page 1 (a-z sorts after it), its folder is on page 2 */
	CHECK(ferry_store_list(&s, "", 1, NULL, &page, &err) == 0);
	CHECK_STR(names(&page), "a-z ");
	CHECK(has_below_calls == 2); /* "a" and "a-z": nothing on the page sorts after "a/" or "a-z/" */
	CHECK(ferry_store_list(&s, "", 1, "2", &page, &err) == 0);
	CHECK_STR(names(&page), "a/x b ");

	/* stat: the file "a" answers the folder; "b" stays a file; "c" is a folder */
	struct ferry_entry e;
	CHECK(ferry_store_stat(&s, "a", &e, &err) == 0 && e.is_dir && e.size == 0 && !strcmp(e.name, "a"));
	ferry_entry_clear(&e);
	CHECK(ferry_store_stat(&s, "b", &e, &err) == 0 && !e.is_dir && e.size == 7);
	ferry_entry_clear(&e);
	CHECK(ferry_store_stat(&s, "c", &e, &err) == 0 && e.is_dir);
	ferry_entry_clear(&e);

	/* a store that cannot hold both (no has_below) is left alone */
	struct ferry_store p = { .ops = &without, .display = "plain" };
	CHECK(ferry_store_list(&p, "", 0, NULL, &page, &err) == 0);
	CHECK_STR(names(&page), "a a-z b a/ c/ ");
	ferry_page_clear(&page);
	return CHECK_DONE();
}
