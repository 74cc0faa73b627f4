/*
 * ls.c — `ferry ls URI [-R]`: one line per entry, `<size>\t<path>` for files
 * and `-\t<path>/` for folders, paths relative to the listed folder. Pages
 * are printed as they arrive, so a huge folder starts printing at once.
 */
#include "cli/cli.h"
#include "resolve/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry ls URI [-R]";

/* One line per entry, out at once (a long listing streams page by page). */
static int print_entry(void *arg, const struct ferry_entry *x, const char *rel, ferry_err *err)
{
	(void)arg;
	(void)err;
	if (x->is_dir)
		printf("-\t%s/\n", rel);
	else
		printf("%llu\t%s\n", (unsigned long long)x->size, rel);
	fflush(stdout);
	return 0;
}

static int list(struct ferry_store *s, const char *path, int recursive, ferry_err *err)
{
	struct ferry_entry e = { 0 };
	if (ferry_store_stat(s, path, &e, err) < 0)
		return -1;
	if (!e.is_dir) {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		printf("%llu\t%s\n", (unsigned long long)e.size, base);
		ferry_entry_clear(&e);
		return 0;
	}
	ferry_entry_clear(&e);
	return ferry_store_each(s, path, recursive, print_entry, NULL, err);
}

int cmd_ls(int argc, char **argv)
{
	const char *uri = NULL;
	int recursive = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-R") || !strcmp(argv[i], "--recursive"))
			recursive = 1;
		else if (!uri)
			uri = argv[i];
		else
			return cli_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	if (!uri)
		return cli_usage(usage, "ls takes a URI");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	struct ferry_store *s;
	char *path;
	int rc = ferry_resolve(&ctx, uri, 0, &s, &path, NULL, &err);
	if (rc == 0) {
		rc = list(s, path, recursive, &err);
		ferry_store_destroy(s);
		free(path);
	}
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
