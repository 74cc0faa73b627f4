/*
 * eval.c — an evaluated MLTable as one store (eval_mount / eval_download).
 *
 * The glue between the MLTable's file set and store/fileset.c: the file
 * list and the MLTable (which owns the underlying stores) are kept together
 * and released when the fileset store is destroyed. The mount and download
 * code then run over it exactly as over any other store.
 *
 * A file set whose later steps act on its table's rows (a filter on a
 * column extract_columns_from_partition_format added: mltable.h,
 * ferry_mlt_file_steps_end) is evaluated as a table too, and only the
 * files whose Path row survives stay in the set.
 */
#include "mltable/mltable.h"
#include "core/log.h"
#include "store/fileset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct owner {
	struct ferry_mltable *m;
	struct ferry_mlt_files files;
};

/* The Path values of the rows, in order (rows come one per file, in file order). */
struct picked {
	long col;
	char **v;
	size_t n, cap;
};

static int pick_columns(void *arg, char *const *names, const int *types, size_t n, ferry_err *err)
{
	(void)types;
	(void)err;
	struct picked *p = arg;
	p->col = -1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], "Path"))
			p->col = (long)i;
	return 0;
}

static int pick_row(void *arg, const struct ferry_mlt_cell *cells, size_t n, ferry_err *err)
{
	struct picked *p = arg;
	if (p->col < 0 || (size_t)p->col >= n)
		return 1; /* Path dropped: the files stay as picked before */
	if (cells[p->col].type < 0)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		char **v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		p->v = v;
		p->cap = cap;
	}
	if (!(p->v[p->n] = strdup(cells[p->col].s)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	p->n++;
	return 0;
}

/* Keep the files of a file set whose rows pass its row steps (see the top). */
static int prune_by_rows(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *f, ferry_err *err)
{
	for (size_t k = 0; k < m->nsteps; k++)
		if (ferry_mlt_is_read(m->steps[k].op))
			return 0;
	if (ferry_mlt_file_steps_end(m->steps, m->nsteps) == m->nsteps)
		return 0;
	struct picked p = { .col = -1 };
	struct ferry_mlt_sink sink = { pick_columns, pick_row, &p };
	int rc = ferry_mltable_rows(ctx, m, &sink, UINT64_MAX, NULL, err);
	char *keep = rc == 0 && p.col >= 0 ? calloc(f->n ? f->n : 1, 1) : NULL;
	if (rc == 0 && p.col >= 0 && !keep)
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (keep) {
		for (size_t i = 0, j = 0; i < f->n && j < p.n; i++) {
			if (!strcmp(f->v[i].name, p.v[j])) {
				keep[i] = 1;
				j++;
			}
		}
		ferry_mlt_files_keep(f, keep);
		free(keep);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i]);
	free(p.v);
	return rc;
}

int ferry_mltable_set_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			    ferry_err *err)
{
	if (ferry_mltable_table_files(ctx, m, out, err) < 0)
		return -1;
	if (prune_by_rows(ctx, m, out, err) < 0) {
		ferry_mlt_files_clear(out);
		return -1;
	}
	return 0;
}

static void release(void *arg)
{
	struct owner *o = arg;
	ferry_mlt_files_clear(&o->files);
	ferry_mltable_free(o->m);
	free(o);
}

int ferry_mltable_fileset(struct ferry_ctx *ctx, const char *uri, struct ferry_store **out, size_t *nfiles,
			  ferry_err *err)
{
	*out = NULL;
	struct ferry_mltable *m;
	if (ferry_mltable_open(ctx, uri, &m, err) < 0)
		return -1;
	return ferry_mltable_fileset_of(ctx, m, out, nfiles, err);
}

int ferry_mltable_fileset_of(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_store **out,
			     size_t *nfiles, ferry_err *err)
{
	*out = NULL;
	struct owner *o = calloc(1, sizeof(*o));
	if (!o) {
		ferry_mltable_free(m);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	o->m = m;
	if (ferry_mltable_set_files(ctx, o->m, &o->files, err) < 0) {
		release(o);
		return -1;
	}
	struct ferry_fileset_item *items = calloc(o->files.n ? o->files.n : 1, sizeof(*items));
	if (!items) {
		release(o);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	for (size_t i = 0; i < o->files.n; i++) {
		const struct ferry_mlt_file *f = &o->files.v[i];
		items[i] = (struct ferry_fileset_item){ .name = f->name, .store = o->m->sources[f->src].store,
							.path = f->path, .size = f->size, .mtime = f->mtime,
							.md5 = f->md5, .etag = f->etag };
	}
	size_t n = o->files.n;
	*out = ferry_fileset_open(o->m->label, items, n, release, o, &ctx->settings, &ctx->stats, err);
	free(items);
	if (!*out) {
		release(o);
		return -1;
	}
	if (nfiles)
		*nfiles = n;
	ferry_info("%s: evaluated to %zu files", o->m->label, n);
	return 0;
}
