/*
 * eval.c — an evaluated MLTable as one store (eval_mount / eval_download).
 *
 * The glue between the MLTable's file set and store/fileset.c: the file
 * list and the MLTable (which owns the underlying stores) are kept together
 * and released when the fileset store is destroyed. The mount and download
 * code then run over it exactly as over any other store.
 */
#include "mltable/mltable.h"
#include "core/log.h"
#include "store/fileset.h"

#include <stdlib.h>

struct owner {
	struct ferry_mltable *m;
	struct ferry_mlt_files files;
};

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
	if (ferry_mltable_table_files(ctx, o->m, &o->files, err) < 0) {
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
