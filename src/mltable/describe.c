/*
 * describe.c — the MLTable file of a `type: mltable` job output
 * (ferry_mltable_describe, see mltable.h).
 *
 * The command writes files into its output folder; ferry then writes
 * `<folder>/MLTable` naming each of them (`paths: - file: ./<relative
 * path>`, in name order) so the output can be read as a table or mounted as
 * a file set. When the command also wrote an `MLTable` there, that file is
 * the template: its `paths` are replaced by the files written and everything
 * else (the read_* transformation and the rest) is kept as written;
 * otherwise the MLTable has no transformations (a file set). The result is
 * parsed with ferry_mltable_parse before it replaces anything, so a broken
 * template fails the output with the parser's message, and it is written to
 * a temporary name and renamed, so the folder never holds half an MLTable.
 */
#include "mltable/mltable.h"
#include "core/files.h"
#include "core/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEMPLATE (1u << 20)

struct names {
	char **v;
	size_t n, cap;
};

static int add_name(struct names *x, const char *s)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		char **v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return -1;
		x->v = v;
		x->cap = cap;
	}
	if (!(x->v[x->n] = strdup(s)))
		return -1;
	x->n++;
	return 0;
}

/* Every regular file below root/rel (rel "" for root), as paths relative to root. */
static int walk(const char *root, const char *rel, struct names *out, ferry_err *err)
{
	struct ferry_strbuf dir = FERRY_STRBUF_INIT;
	ferry_strbuf_addf(&dir, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = dir.failed ? NULL : opendir(dir.buf);
	if (!d) {
		int rc = ferry_err_set(err, FERRY_E_IO, "cannot list '%s': %s", dir.buf ? dir.buf : root, strerror(errno));
		ferry_strbuf_release(&dir);
		return rc;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct ferry_strbuf r = FERRY_STRBUF_INIT, full = FERRY_STRBUF_INIT;
		ferry_strbuf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		ferry_strbuf_addf(&full, "%s/%s", dir.buf, e->d_name);
		struct stat sb;
		if (r.failed || full.failed)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		else if (lstat(full.buf, &sb) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "cannot stat '%s': %s", full.buf, strerror(errno));
		else if (S_ISDIR(sb.st_mode))
			rc = walk(root, r.buf, out, err);
		else if (S_ISREG(sb.st_mode) && strcmp(r.buf, "MLTable") && add_name(out, r.buf) < 0)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		ferry_strbuf_release(&r);
		ferry_strbuf_release(&full);
	}
	closedir(d);
	ferry_strbuf_release(&dir);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The template without its top-level `paths` (block or flow style). */
static void without_paths(struct ferry_strbuf *out, const char *t)
{
	int skipping = 0;
	for (const char *line = t; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		int top = line[0] != ' ' && line[0] != '\t' && line[0] != '\n' && line[0] != '\r' && line[0] != '#' &&
			  line[0] != '-';
		if (top)
			skipping = !strncmp(line, "paths:", 6) || !strncmp(line, "paths :", 7);
		if (!skipping)
			ferry_strbuf_add(out, line, len);
		line += len;
	}
}

/* A YAML single-quoted scalar. */
static void quoted(struct ferry_strbuf *b, const char *s)
{
	ferry_strbuf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			ferry_strbuf_addch(b, '\'');
		ferry_strbuf_addch(b, *s);
	}
	ferry_strbuf_addch(b, '\'');
}

int ferry_mltable_describe(const char *folder, size_t *nfiles, ferry_err *err)
{
	struct names files = { 0 };
	struct ferry_strbuf path = FERRY_STRBUF_INIT, tmp = FERRY_STRBUF_INIT, doc = FERRY_STRBUF_INIT;
	char *tmpl = NULL;
	int rc = walk(folder, "", &files, err);
	ferry_strbuf_addf(&path, "%s/MLTable", folder);
	ferry_strbuf_addf(&tmp, "%s/.MLTable.ferry-tmp", folder);
	if (rc == 0 && (path.failed || tmp.failed))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (rc == 0 && files.n == 0)
		rc = ferry_err_set(err, FERRY_E_INVALID, "the command wrote no files into %s (an mltable output names "
				   "the files it holds)", folder);
	/* the command's own MLTable: the template */
	FILE *f = rc == 0 ? fopen(path.buf, "re") : NULL;
	if (f) {
		tmpl = calloc(1, MAX_TEMPLATE + 1);
		size_t n = tmpl ? fread(tmpl, 1, MAX_TEMPLATE + 1, f) : 0;
		fclose(f);
		if (!tmpl)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
		else if (n > MAX_TEMPLATE)
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: larger than %u bytes", path.buf, MAX_TEMPLATE);
		else if (memchr(tmpl, '\0', n))
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: not a text file", path.buf);
	}
	if (rc == 0) {
		qsort(files.v, files.n, sizeof(*files.v), by_name);
		ferry_strbuf_adds(&doc, "# written by ferry: the files of this job output\npaths:\n");
		for (size_t i = 0; i < files.n; i++) {
			struct ferry_strbuf rel = FERRY_STRBUF_INIT;
			ferry_strbuf_addf(&rel, "./%s", files.v[i]);
			ferry_strbuf_adds(&doc, "  - file: ");
			quoted(&doc, rel.failed ? "" : rel.buf);
			ferry_strbuf_addch(&doc, '\n');
			doc.failed |= rel.failed;
			ferry_strbuf_release(&rel);
		}
		if (tmpl)
			without_paths(&doc, tmpl);
		else
			ferry_strbuf_adds(&doc, "type: mltable\n");
		if (doc.failed)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	struct ferry_mltable *m = NULL;
	if (rc == 0 && ferry_mltable_parse(doc.buf, doc.len, path.buf, &m, err) < 0) {
		ferry_err_wrap(err, "the MLTable of the output (from the command's MLTable)");
		rc = -1;
	}
	ferry_mltable_free(m);
	if (rc == 0) {
		int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int wrc = fd < 0 ? -1 : ferry_write_all(fd, doc.buf, doc.len);
		if (fd >= 0 && close(fd) < 0)
			wrc = -1;
		if (wrc < 0 || rename(tmp.buf, path.buf) < 0) {
			rc = ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", path.buf, strerror(errno));
			unlink(tmp.buf);
		}
	}
	if (nfiles)
		*nfiles = files.n;
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	free(tmpl);
	ferry_strbuf_release(&path);
	ferry_strbuf_release(&tmp);
	ferry_strbuf_release(&doc);
	return rc;
}
