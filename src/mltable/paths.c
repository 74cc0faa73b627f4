/*
 * paths.c — where an MLTable is and which files it names (see mltable.h).
 *
 * Relative entries resolve against the MLTable's folder inside the MLTable's
 * own store (sources[0]), with "." and ".." folded as a file system would
 * (".." above the store's root is an error). Absolute entries — any path
 * form (README.md, "Paths"): Blob URLs of other accounts and containers,
 * azureml://datastores/, local paths, s3:// — are resolved with
 * ferry_resolve_named into another source and its naming tree; sources are
 * shared by their tree, so a hundred files of one container open one store.
 *
 * Folders and patterns are listed page by page through the store interface
 * (a pattern lists from its longest literal folder, recursively only when
 * the rest of the pattern crosses a '/'), so the file list is the only thing
 * that grows with the data: about 150 bytes a file.
 */
#include "mltable/mltable.h"
#include "core/log.h"
#include "core/uri.h"
#include "mltable/glob.h"
#include "mltable/prng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MLTABLE_BYTES (4u << 20)

struct membuf {
	char *p;
	size_t n;
};

static int mem_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct membuf *b = arg;
	(void)off;
	if (b->n + len > MAX_MLTABLE_BYTES)
		return -1;
	char *p = realloc(b->p, b->n + len + 1);
	if (!p)
		return -1;
	memcpy(p + b->n, data, len);
	b->p = p;
	b->n += len;
	p[b->n] = '\0'; /* the text is kept (m->text) as a string */
	return 0;
}

int ferry_mltable_open(struct ferry_ctx *ctx, const char *uri, struct ferry_mltable **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_store *store = NULL;
	char *path = NULL, *tree = NULL, *folder = NULL, *file = NULL, *label = NULL;
	struct membuf b = { 0 };
	struct ferry_entry e = { 0 };
	int rc = ferry_resolve_named(ctx, uri, 0, &store, &path, NULL, &tree, err);
	if (rc == 0 && (rc = ferry_store_stat(store, path, &e, err)) < 0 && err->code == FERRY_E_NOTFOUND)
		ferry_err_set(err, FERRY_E_NOTFOUND, "no MLTable at '%s': it does not exist", uri);
	const char *base = path ? (strrchr(path, '/') ? strrchr(path, '/') + 1 : path) : "";
	size_t ul = strlen(uri);
	while (ul > 1 && uri[ul - 1] == '/')
		ul--;
	if (rc == 0 && e.is_dir) {
		folder = strdup(path);
		file = ferry_path_join(path, "MLTable");
		if (asprintf(&label, "%.*s/MLTable", (int)ul, uri) < 0)
			label = NULL;
	} else if (rc == 0) {
		folder = strndup(path, (size_t)(base - path) - (base > path ? 1 : 0));
		file = strdup(path);
		label = strndup(uri, ul);
		if (strcmp(base, "MLTable"))
			ferry_warn("'%s' is not named MLTable; reading it as one", uri);
	}
	if (rc == 0 && (!folder || !file || !label))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (rc == 0 && (rc = ferry_store_read(store, file, 0, UINT64_MAX, mem_sink, &b, err)) < 0) {
		if (b.n >= MAX_MLTABLE_BYTES)
			ferry_err_set(err, FERRY_E_INVALID, "%s: larger than %u MiB; not an MLTable file", label,
				      MAX_MLTABLE_BYTES >> 20);
		else if (err->code == FERRY_E_NOTFOUND)
			ferry_err_set(err, FERRY_E_NOTFOUND, "no MLTable file in '%s' (expected %s)", uri, label);
	}
	struct ferry_mltable *m = NULL;
	if (rc == 0)
		rc = ferry_mltable_parse(b.p ? b.p : "", b.n, label, &m, err);
	if (rc == 0 && !(m->sources = calloc(1, sizeof(*m->sources))))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (rc == 0) {
		m->sources[0].store = store;
		m->sources[0].tree = tree;
		m->sources[0].on_disk = ferry_store_on_disk(store);
		m->nsources = 1;
		m->folder = folder;
		m->uri = strndup(uri, ul);
		m->named_file = !e.is_dir;
		m->text = b.p ? b.p : strdup("");
		m->text_len = b.n;
		b.p = NULL;
		store = NULL;
		tree = folder = NULL;
		*out = m;
	} else {
		ferry_mltable_free(m);
	}
	ferry_entry_clear(&e);
	ferry_store_destroy(store);
	free(b.p);
	free(path);
	free(tree);
	free(folder);
	free(file);
	free(label);
	return rc;
}

static int is_absolute(const char *v)
{
	return v[0] == '/' || strstr(v, "://") || ferry_uri_scheme(v, NULL) != FERRY_SCHEME_NONE;
}

/* folder + rel with "." and ".." folded; NULL when ".." climbs above the root. */
static char *join_rel(const char *folder, const char *rel, int *above)
{
	size_t cap = strlen(folder) + strlen(rel) + 2;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	strcpy(out, folder);
	size_t n = strlen(out);
	*above = 0;
	const char *p = rel;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0) {
				*above = 1;
				free(out);
				return NULL;
			}
			char *s = strrchr(out, '/');
			n = s ? (size_t)(s - out) : 0;
			out[n] = '\0';
		} else {
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
			out[n] = '\0';
		}
		if (!e)
			break;
		p = e + 1;
	}
	return out;
}

/* The source and store path an entry's value names. */
static int locate(struct ferry_ctx *ctx, struct ferry_mltable *m, const struct ferry_mlt_path *mp, unsigned *src,
		  char **path, ferry_err *err)
{
	if (!is_absolute(mp->value)) {
		int above;
		*src = 0;
		*path = join_rel(m->folder, mp->value, &above);
		if (!*path)
			return above ? ferry_err_set(err, FERRY_E_INVALID, "%s:%d: path '%s' climbs above the root of its store",
						     m->label, mp->line, mp->value)
				     : ferry_err_set(err, FERRY_E_IO, "out of memory");
		/* plain "." and ".." were folded above; an encoded one ("%2e%2e",
		 * "..\\") would reach the server unfolded */
		const char *seg;
		size_t n;
		if (ferry_uri_dot_segment(*path, strlen(*path), &seg, &n)) {
			ferry_err_set(err, FERRY_E_INVALID,
				      "%s:%d: path '%s' holds '%.*s', an encoded '.' or '..' segment; write plain "
				      "'..' to name a parent folder",
				      m->label, mp->line, mp->value, (int)(n > 40 ? 40 : n), seg);
			free(*path);
			*path = NULL;
			return -1;
		}
		return 0;
	}
	char *tree = NULL;
	struct ferry_store *s = NULL;
	/* An MLTable read from storage must not reach into the machine that
	 * evaluates it (a shared MLTable naming /root/... would copy local files
	 * into a job's input). Local MLTables may name local files. */
	if (!ferry_uri_is_remote(mp->value) && !m->sources[0].on_disk)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "%s:%d: path '%s' names a local file, but this MLTable is in storage (%s); "
				     "only an MLTable on the local disk may name local files",
				     m->label, mp->line, mp->value, m->sources[0].tree);
	if (ferry_resolve_named(ctx, mp->value, 0, &s, path, NULL, &tree, err) < 0)
		return ferry_err_wrap(err, "%s:%d", m->label, mp->line);
	for (unsigned i = 0; i < m->nsources; i++)
		if (!strcmp(m->sources[i].tree, tree)) {
			*src = i;
			free(tree);
			ferry_store_destroy(s);
			return 0;
		}
	struct ferry_mlt_source *v = realloc(m->sources, (m->nsources + 1) * sizeof(*v));
	if (!v) {
		free(tree);
		ferry_store_destroy(s);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	m->sources = v;
	v[m->nsources].store = s;
	v[m->nsources].tree = tree;
	v[m->nsources].on_disk = ferry_store_on_disk(s);
	*src = (unsigned)m->nsources++;
	return 0;
}

static int add_file(struct ferry_mlt_files *f, const struct ferry_mltable *m, unsigned src,
		    const struct ferry_entry *e, const char *rel, ferry_err *err)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct ferry_mlt_file *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		f->v = v;
		f->cap = cap;
	}
	struct ferry_mlt_file *x = &f->v[f->n];
	memset(x, 0, sizeof(*x));
	x->src = src;
	x->path = strdup(e->name);
	x->rel = strdup(rel);
	x->name = ferry_path_join(m->sources[src].tree, e->name);
	x->size = e->size;
	x->mtime = e->mtime;
	memcpy(x->md5, e->md5, sizeof(x->md5));
	memcpy(x->etag, e->etag, sizeof(x->etag));
	f->n++;
	if (!x->path || !x->rel || !x->name)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	return 0;
}

static int entry_err(const struct ferry_mltable *m, const struct ferry_mlt_path *mp, ferry_err *err,
		     const char *fmt, const char *a)
{
	static const char *const kinds[] = { "file", "folder", "pattern" };
	char msg[900];
	snprintf(msg, sizeof(msg), fmt, a);
	return ferry_err_set(err, err->code == FERRY_E_NOTFOUND ? FERRY_E_NOTFOUND : FERRY_E_INVALID,
			     "%s:%d: %s '%s': %s", m->label, mp->line, kinds[mp->kind], mp->value, msg);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct ferry_mlt_file *)a)->path, ((const struct ferry_mlt_file *)b)->path);
}

/* List `base` (recursive or not) and add the files whose name below base
 * matches `glob` (NULL: all). Returns the number added, or -1. */
static long list_add(struct ferry_mlt_files *f, const struct ferry_mltable *m, unsigned src, const char *base,
		     int recursive, const char *glob, ferry_err *err)
{
	struct ferry_store *s = m->sources[src].store;
	size_t blen = strlen(base);
	struct ferry_list_page page = { 0 };
	char *marker = NULL;
	long added = 0;
	int rc;
	do {
		rc = ferry_store_list(s, base, recursive, marker, &page, err);
		free(marker);
		marker = NULL;
		for (size_t i = 0; rc == 0 && i < page.n; i++) {
			const struct ferry_entry *e = &page.entries[i];
			if (e->is_dir)
				continue;
			const char *rel = e->name + blen + (blen ? 1 : 0);
			if (blen && (strncmp(e->name, base, blen) || e->name[blen] != '/'))
				continue;
			int gm = glob ? ferry_glob_match(glob, rel) : 1;
			if (gm < 0) {
				rc = ferry_err_set(err, FERRY_E_INVALID,
						   "the pattern is too complex to match against '%s' (more than %ld steps; "
						   "use fewer '**')", e->name, FERRY_GLOB_MAX_STEPS);
				break;
			}
			if (!gm)
				continue;
			rc = add_file(f, m, src, e, rel, err);
			added++;
		}
		if (rc == 0 && page.next_marker && !(marker = strdup(page.next_marker)))
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	} while (rc == 0 && marker);
	free(marker);
	ferry_page_clear(&page);
	/* name order whatever the store's listing order (a local folder lists in
	 * readdir order; Blob and S3 already in name order) */
	if (rc == 0 && added > 1)
		qsort(f->v + f->n - (size_t)added, (size_t)added, sizeof(*f->v), by_path);
	return rc < 0 ? -1 : added;
}

static int eval_path(struct ferry_ctx *ctx, struct ferry_mltable *m, const struct ferry_mlt_path *mp,
		     struct ferry_mlt_files *f, ferry_err *err)
{
	unsigned src;
	char *p = NULL;
	if (locate(ctx, m, mp, &src, &p, err) < 0)
		return -1;
	struct ferry_store *s = m->sources[src].store;
	int rc = 0;
	ferry_err_clear(err);
	if (mp->kind == FERRY_MLT_FILE) {
		struct ferry_entry e = { 0 };
		if (ferry_store_stat(s, p, &e, err) < 0)
			rc = entry_err(m, mp, err, "%s", err->msg);
		else if (e.is_dir)
			rc = entry_err(m, mp, err, "%s", "names a folder (use folder: or pattern:)");
		else {
			if (!e.name || strcmp(e.name, p)) { /* stores fill name differently; keep the asked path */
				free(e.name);
				e.name = strdup(p);
			}
			const char *b = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
			rc = add_file(f, m, src, &e, b, err);
		}
		ferry_entry_clear(&e);
	} else if (mp->kind == FERRY_MLT_FOLDER) {
		long n = list_add(f, m, src, p, 1, NULL, err);
		if (n < 0)
			rc = entry_err(m, mp, err, "%s", err->msg);
		else if (n == 0) {
			struct ferry_entry e = { 0 };
			if (ferry_store_stat(s, p, &e, err) < 0)
				rc = entry_err(m, mp, err, "%s", err->msg);
			else
				rc = entry_err(m, mp, err, "%s", e.is_dir ? "the folder has no files" : "names a file (use file:)");
			ferry_entry_clear(&e);
		}
	} else {
		size_t cut = ferry_glob_literal_prefix(p);
		char *base = strndup(p, cut ? cut - 1 : 0);
		const char *glob = p + cut;
		int recursive = strchr(glob, '/') != NULL || strstr(glob, "**") != NULL;
		long n = base ? list_add(f, m, src, base, recursive, glob, err) : -1;
		if (n < 0)
			rc = entry_err(m, mp, err, "%s", err->msg);
		else if (n == 0)
			rc = entry_err(m, mp, err, "%s", "matches no file");
		free(base);
	}
	free(p);
	return rc;
}

void ferry_mlt_files_clear(struct ferry_mlt_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].path);
		free(f->v[i].rel);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static const struct ferry_mlt_file *sort_base;
static int by_name(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_base[x].name, sort_base[y].name);
	return c ? c : (x > y) - (x < y);
}

/* Keep the first of each name, in order. */
static int dedupe(struct ferry_mlt_files *f, ferry_err *err)
{
	if (f->n < 2)
		return 0;
	size_t *idx = malloc(f->n * sizeof(*idx));
	char *dup = calloc(f->n, 1);
	if (!idx || !dup) {
		free(idx);
		free(dup);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	for (size_t i = 0; i < f->n; i++)
		idx[i] = i;
	sort_base = f->v; /* qsort has no argument: one evaluation sorts at a time per process here */
	qsort(idx, f->n, sizeof(*idx), by_name);
	for (size_t i = 1; i < f->n; i++)
		if (!strcmp(f->v[idx[i]].name, f->v[idx[i - 1]].name))
			dup[idx[i]] = 1;
	size_t w = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (dup[i]) {
			free(f->v[i].name);
			free(f->v[i].path);
			free(f->v[i].rel);
			continue;
		}
		f->v[w++] = f->v[i];
	}
	f->n = w;
	free(idx);
	free(dup);
	return 0;
}

static const char *path_lookup(void *arg, const char *column, int *is_null)
{
	*is_null = 0;
	if (!strcmp(column, "Path"))
		return ((const struct ferry_mlt_file *)arg)->name;
	*is_null = 1;
	return NULL;
}

static int only_path(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "Path") ? -1 : 0;
}

void ferry_mlt_files_keep(struct ferry_mlt_files *f, const char *keep)
{
	size_t w = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (!keep[i]) {
			free(f->v[i].name);
			free(f->v[i].path);
			free(f->v[i].rel);
			continue;
		}
		f->v[w++] = f->v[i];
	}
	f->n = w;
}

/* select_partitions: keep the files at s->parts (see mltable.h). */
static int select_parts(const struct ferry_mltable *m, const struct ferry_mlt_step *s, struct ferry_mlt_files *f,
			ferry_err *err)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i] >= f->n)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "%s:%d: select_partitions: partition %llu is out of range: the table has %zu "
					     "partition%s (one per file), numbered from 0", ferry_mlt_step_label(m, s),
					     s->line, (unsigned long long)s->parts[i], f->n, f->n == 1 ? "" : "s");
	char *keep = calloc(f->n ? f->n : 1, 1);
	if (!keep)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	for (size_t i = 0; i < s->nparts; i++)
		keep[s->parts[i]] = 1;
	ferry_mlt_files_keep(f, keep);
	free(keep);
	return 0;
}

int ferry_mltable_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < m->npaths; i++)
		if (eval_path(ctx, m, &m->paths[i], out, err) < 0)
			goto fail;
	if (dedupe(out, err) < 0)
		goto fail;
	size_t end = ferry_mlt_file_steps_end(m->steps, m->nsteps);
	for (size_t k = 0; k < end; k++) { /* what follows acts on rows */
		const struct ferry_mlt_step *s = &m->steps[k];
		if (s->op == FERRY_MLT_SELECT_PARTITIONS) {
			if (select_parts(m, s, out, err) < 0)
				goto fail;
			continue;
		}
		char *keep = calloc(out->n ? out->n : 1, 1);
		if (!keep) {
			ferry_err_set(err, FERRY_E_IO, "out of memory");
			goto fail;
		}
		struct ferry_prng r;
		ferry_prng_seed(&r, s->seed);
		for (size_t i = 0; i < out->n; i++) {
			switch (s->op) {
			case FERRY_MLT_TAKE: keep[i] = i < s->n; break;
			case FERRY_MLT_SKIP: keep[i] = i >= s->n; break;
			case FERRY_MLT_SAMPLE: keep[i] = (ferry_prng_unit(&r) < s->probability) != s->complement; break;
			case FERRY_MLT_FILTER: keep[i] = (char)ferry_mlt_expr_eval(s->expr, path_lookup, &out->v[i]); break;
			default: keep[i] = 1; break;
			}
		}
		int bad = 0;
		if (s->op == FERRY_MLT_FILTER && ferry_mlt_expr_columns(s->expr, only_path, NULL) < 0)
			bad = ferry_err_set(err, FERRY_E_INVALID,
					    "%s:%d: filter '%s' comes before any read_* transformation, so it acts on "
					    "files and can only use col(\"Path\")",
					    ferry_mlt_step_label(m, s), s->line, s->text);
		else if (s->op != FERRY_MLT_TAKE && s->op != FERRY_MLT_SKIP && s->op != FERRY_MLT_SAMPLE &&
			 s->op != FERRY_MLT_FILTER)
			bad = ferry_err_set(err, FERRY_E_INVALID,
					    "%s:%d: transformation '%s' acts on columns and needs a read_delimited or "
					    "read_json_lines before it",
					    ferry_mlt_step_label(m, s), s->line, s->name);
		if (!bad)
			ferry_mlt_files_keep(out, keep);
		free(keep);
		if (bad)
			goto fail;
	}
	/* select_partitions after the read still picks files (mltable.h); in a
	 * file set, where a row is a file, table.c selects rows by their index */
	const struct ferry_mlt_step *order = NULL; /* a row step whose rows depend on the ones before it */
	for (size_t k = end; k < m->nsteps && end < m->nsteps && ferry_mlt_is_read(m->steps[end].op); k++) {
		const struct ferry_mlt_step *s = &m->steps[k];
		if (s->op == FERRY_MLT_TAKE || s->op == FERRY_MLT_SKIP || s->op == FERRY_MLT_SAMPLE) {
			order = order ? order : s;
		} else if (s->op == FERRY_MLT_READ_DELTA_LAKE) {
			for (size_t j = 0; j < m->nsteps; j++)
				if (m->steps[j].op == FERRY_MLT_SELECT_PARTITIONS) {
					ferry_err_set(err, FERRY_E_INVALID,
						      "%s:%d: select_partitions is not supported with read_delta_lake (its "
						      "files are the snapshot's)", ferry_mlt_step_label(m, &m->steps[j]),
						      m->steps[j].line);
					goto fail;
				}
		} else if (s->op == FERRY_MLT_SELECT_PARTITIONS) {
			if (order) {
				ferry_err_set(err, FERRY_E_INVALID,
					      "%s:%d: select_partitions after '%s' (%s:%d): a partition is a file, and "
					      "selecting files does not commute with %s on rows; select partitions first",
					      ferry_mlt_step_label(m, s), s->line, order->name, ferry_mlt_step_label(m, order),
					      order->line, order->name);
				goto fail;
			}
			if (select_parts(m, s, out, err) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	ferry_mlt_files_clear(out);
	return -1;
}
