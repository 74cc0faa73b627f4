/* test_flatns.c — the listing rules Azure Blob and S3 share (store/flatns.c):
 * the prefix of a folder, names outside it refused, folder markers neither files
 * nor errors (the folder's own marker noted), folders listed without their
 * trailing '/'s and never as themselves. t5080 checks both backends against a
 * real server; this checks the rules on their own. */
#include "check.h"
#include "store/flatns.h"

#include <stdlib.h>
#include <string.h>

/* add(pfx, name, is_prefix): the name added, "" when skipped, "!" on error. */
static const char *add(struct ferry_list_page *p, const char *pfx, const char *name, int is_prefix)
{
	static char out[256];
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", name);
	int rc;
	ferry_err err;
	struct ferry_entry *e = ferry_flatns_add(p, pfx, buf, is_prefix, "test", &rc, &err);
	snprintf(out, sizeof(out), "%s", e ? e->name : rc < 0 ? "!" : "");
	if (e)
		CHECK(e->is_dir == is_prefix);
	return out;
}

/* add() once (CHECK_STR evaluates its arguments more than once) */
#define CHECK_ADD(p, pfx, name, is_prefix, want)                   \
	do {                                                       \
		const char *got_ = add(p, pfx, name, is_prefix);   \
		CHECK_STR(got_, want);                             \
	} while (0)

int main(void)
{
	char *p = ferry_flatns_prefix("dir");
	CHECK_STR(p, "dir/");
	free(p);
	p = ferry_flatns_prefix("");
	CHECK_STR(p, "");
	free(p);

	struct ferry_list_page page = { 0 };
	CHECK_ADD(&page, "d/", "d/a.txt", 0, "d/a.txt");
	CHECK(!page.self_marker);
	CHECK_ADD(&page, "d/", "d/", 0, "");       /* the folder's own marker */
	CHECK(page.self_marker);
	CHECK_ADD(&page, "d/", "d/sub/", 0, "");   /* a sub-folder's marker */
	CHECK_ADD(&page, "d/", "d/sub/", 1, "d/sub");
	CHECK_ADD(&page, "d/", "d/x//", 1, "d/x");
	CHECK_ADD(&page, "d/", "d//", 1, "");      /* folds to the folder itself */
	CHECK_ADD(&page, "d/", "e/a", 0, "!");     /* outside the prefix */
	CHECK_ADD(&page, "d/", "d", 0, "!");
	CHECK_ADD(&page, "", "/", 1, "");          /* root: "/" folds to the root */
	CHECK_ADD(&page, "", "top", 0, "top");
	CHECK(page.n == 4);
	ferry_page_clear(&page);
	CHECK(!page.self_marker && page.n == 0);
	return CHECK_DONE();
}
