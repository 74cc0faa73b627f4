/*
 * mltable.c — MLTable tables through the C API (api.h, "MLTable tables"):
 * the document's transformations plus the caller's, evaluated by
 * src/mltable/, rows handed over in typed column batches.
 *
 * The evaluator pushes one row at a time (ferry_mltable_rows); crossing into
 * a binding once per row, or once per cell, would cost more than the
 * evaluation (a ctypes callback takes the GIL), so rows collect here into
 * column batches: fixed-width arrays for numbers, booleans and datetimes, one
 * text buffer with offsets for strings, a validity byte per value. A binding
 * turns a batch into arrays with one copy per column (numpy.frombuffer), not
 * one call per value.
 *
 * Each value is kept both as text and as its number (an int also as a
 * double) while the batch fills:
 * a column's type can only be settled when the batch is full (a value that
 * does not fit the inferred type widens the column for that batch: int and
 * float to float, anything else to string), and then the arrays for that
 * type are ready. Datetimes become nanoseconds since the epoch here, from
 * the evaluator's ISO text.
 *
 * The caller's steps are parsed by ferry_mltable_parse as the
 * transformations of a stand-in document, then moved to the end of the
 * opened MLTable's list: one parser, one set of checks and messages.
 *
 * Threads: a call uses only its own state and the context's (see api.c).
 */
#include "api/api.h"
#include "api/internal.h"
#include "core/uri.h"
#include "core/yaml.h"
#include "mltable/mltable.h"
#include "store/store.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "out of memory");
}

/* Open the MLTable at uri and append the transformations of `steps`. */
static int open_table(struct ferry_api *api, const char *uri, const char *steps, struct ferry_mltable **out,
		      ferry_err *err)
{
	ferry_err_clear(err);
	if (ferry_mltable_open(&api->ctx, uri, out, err) < 0)
		return -1;
	if (!steps || !*steps)
		return 0;
	struct ferry_mltable *m = *out, *x = NULL;
	char *doc = NULL, *label = NULL;
	/* the steps first: their text's line N is line N of the stand-in */
	int rc = asprintf(&doc, "transformations: %s\npaths: [{file: ./x}]\n", steps) < 0 ||
			 asprintf(&label, "%s (added transformations)", uri) < 0
		 ? nomem(err)
		 : ferry_mltable_parse(doc, strlen(doc), label, &x, err);
	struct ferry_mlt_step *v = NULL;
	if (rc == 0 && x->nsteps && !(v = realloc(m->steps, (m->nsteps + x->nsteps) * sizeof(*v))))
		rc = nomem(err);
	if (rc == 0 && x->nsteps) {
		memcpy(v + m->nsteps, x->steps, x->nsteps * sizeof(*v));
		for (size_t k = 0; k < x->nsteps; k++)
			v[m->nsteps + k].label = label; /* errors name the added steps, not the file */
		m->steps = v;
		m->nsteps += x->nsteps;
		x->nsteps = 0; /* the moved steps' strings and expressions now belong to m */
		m->added_label = label;
		label = NULL;
	}
	ferry_mltable_free(x);
	free(doc);
	free(label);
	if (rc < 0) {
		ferry_mltable_free(m);
		*out = NULL;
	}
	return rc;
}

/* ---- batches ---- */

struct bcol {
	int type;          /* the table's type */
	unsigned seen;     /* 1 << type of each value in this batch */
	uint8_t *valid;
	int64_t *ints;
	double *floats;
	uint64_t *offsets; /* batch_rows + 1 */
	char *text;
	size_t tlen, tcap;
	int dt_bad;        /* a datetime text that does not parse: the column goes as text */
};

struct batch {
	ferry_api_batch_fn fn;
	void *arg;
	size_t cap, n;
	struct bcol *c;
	char **names;
	size_t nc;
	struct ferry_api_column *out;
	int delivered;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nc; i++) {
		free(b->c[i].valid);
		free(b->c[i].ints);
		free(b->c[i].floats);
		free(b->c[i].offsets);
		free(b->c[i].text);
		free(b->names ? b->names[i] : NULL);
	}
	free(b->c);
	free(b->names);
	free(b->out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD[THH:MM:SS[.fraction]]" (what the evaluator writes) to
 * nanoseconds since the epoch. Returns 0, or -1 for any other text and for
 * a time that nanoseconds in 64 bits cannot hold. */
/* n decimal digits at *p into *v; advances *p. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int parse_dt(const char *s, int64_t *ns)
{
	/* by hand, not sscanf: a million datetimes a second is the budget */
	int y, mo, d, h = 0, mi = 0, sec = 0, neg = *s == '-';
	const char *p = s + neg;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	int64_t frac = 0;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
		    digits(&p, 2, &sec) < 0 || h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*p == '.') {
			int nd = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, nd++)
				if (nd < 9)
					frac = frac * 10 + (*p - '0');
			if (!nd)
				return -1;
			for (; nd < 9; nd++)
				frac *= 10;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p)
		return -1;
	int64_t days = days_from_civil(neg ? -y : y, (unsigned)mo, (unsigned)d);
	if (days < -106750 || days > 106750)
		return -1; /* outside 1677..2262, what nanoseconds in 64 bits hold: the column goes as text */
	*ns = ((days * 86400 + h * 3600 + mi * 60 + sec) * 1000000000) + frac;
	return 0;
}

static int on_columns(void *arg, char *const *names, const int *types, size_t n, ferry_err *err)
{
	struct batch *b = arg;
	if (!(b->c = calloc(n ? n : 1, sizeof(*b->c))) || !(b->names = calloc(n ? n : 1, sizeof(*b->names))) ||
	    !(b->out = calloc(n ? n : 1, sizeof(*b->out))))
		return nomem(err);
	b->nc = n;
	for (size_t i = 0; i < n; i++) {
		struct bcol *c = &b->c[i];
		c->type = types[i];
		if (!(b->names[i] = strdup(names[i])) || !(c->valid = malloc(b->cap)) ||
		    !(c->ints = malloc(b->cap * sizeof(*c->ints))) || !(c->floats = malloc(b->cap * sizeof(*c->floats))) ||
		    !(c->offsets = malloc((b->cap + 1) * sizeof(*c->offsets))))
			return nomem(err);
		c->offsets[0] = 0;
	}
	return 0;
}

/* The column's type for this batch: its own, or widened to what was seen. */
static int batch_type(const struct bcol *c)
{
	unsigned own = 1u << c->type, nums = (1u << FERRY_API_T_INT) | (1u << FERRY_API_T_FLOAT);
	if (c->type == FERRY_API_T_DATETIME && c->dt_bad)
		return FERRY_API_T_STRING;
	if ((c->seen & ~own) == 0)
		return c->type;
	if ((c->seen & ~nums) == 0)
		return FERRY_API_T_FLOAT;
	return FERRY_API_T_STRING;
}

static int flush(struct batch *b, ferry_err *err)
{
	for (size_t i = 0; i < b->nc; i++) {
		struct bcol *c = &b->c[i];
		int ty = batch_type(c);
		b->out[i] = (struct ferry_api_column){ .name = b->names[i], .type = ty, .table_type = c->type,
						       .valid = c->valid, .ints = c->ints, .floats = c->floats,
						       .text = c->text ? c->text : "", .offsets = c->offsets };
	}
	int rc = b->fn(b->arg, b->out, b->nc, b->n);
	b->delivered = 1;
	for (size_t i = 0; i < b->nc; i++) {
		struct bcol *c = &b->c[i];
		c->seen = 0;
		c->dt_bad = 0;
		c->tlen = 0;
	}
	b->n = 0;
	if (rc == 0 || rc == 1)
		return rc;
	return ferry_err_set(err, FERRY_E_INVALID, "stopped by the caller");
}

static int on_row(void *arg, const struct ferry_mlt_cell *cells, size_t n, ferry_err *err)
{
	struct batch *b = arg;
	size_t r = b->n;
	for (size_t i = 0; i < n && i < b->nc; i++) {
		struct bcol *c = &b->c[i];
		const struct ferry_mlt_cell *x = &cells[i];
		c->valid[r] = x->type >= 0;
		c->ints[r] = 0;
		c->floats[r] = 0;
		size_t len = x->type >= 0 ? x->len : 0;
		if (c->tlen + len + 1 > c->tcap) {
			size_t cap = c->tcap ? c->tcap : 4096;
			while (cap < c->tlen + len + 1)
				cap *= 2;
			char *t = realloc(c->text, cap);
			if (!t)
				return nomem(err);
			c->text = t;
			c->tcap = cap;
		}
		if (len)
			memcpy(c->text + c->tlen, x->s, len);
		c->text[c->tlen + len] = '\0'; /* each value NUL-terminated: one split gives them all */
		c->tlen += len + 1;
		c->offsets[r + 1] = c->tlen;
		if (x->type < 0)
			continue;
		c->seen |= 1u << x->type;
		switch (x->type) {
		case FERRY_API_T_INT: /* also as a double, in case the batch widens to float */
			c->ints[r] = strtoll(x->s, NULL, 10);
			c->floats[r] = (double)c->ints[r];
			break;
		case FERRY_API_T_FLOAT:
			c->floats[r] = strtod(x->s, NULL);
			break;
		case FERRY_API_T_BOOL:
			c->ints[r] = x->s[0] == 't';
			break;
		case FERRY_API_T_DATETIME:
			if (parse_dt(x->s, &c->ints[r]) < 0)
				c->dt_bad = 1;
			break;
		}
	}
	if (++b->n == b->cap)
		return flush(b, err);
	return 0;
}

int ferry_api_mltable_rows(struct ferry_api *api, const char *uri, const char *steps, uint64_t max_rows,
			   size_t batch_rows, ferry_api_batch_fn fn, void *arg, uint64_t *rows, ferry_err *err)
{
	struct ferry_mltable *m;
	if (rows)
		*rows = 0;
	if (open_table(api, uri, steps, &m, err) < 0)
		return -1;
	struct batch b = { .fn = fn, .arg = arg, .cap = batch_rows ? batch_rows : 65536 };
	struct ferry_mlt_sink sink = { on_columns, on_row, &b };
	int rc = ferry_mltable_rows(&api->ctx, m, &sink, max_rows, rows, err);
	if (rc == 0 && (b.n || !b.delivered) && flush(&b, err) < 0)
		rc = -1;
	batch_free(&b);
	ferry_mltable_free(m);
	return rc < 0 ? -1 : 0;
}

int ferry_api_mltable_files(struct ferry_api *api, const char *uri, const char *steps, struct ferry_api_entry **out,
			    size_t *n, ferry_err *err)
{
	struct ferry_mltable *m;
	struct ferry_mlt_files f = { 0 };
	*out = NULL;
	*n = 0;
	if (open_table(api, uri, steps, &m, err) < 0)
		return -1;
	int rc = ferry_mltable_set_files(&api->ctx, m, &f, err);
	if (rc == 0 && !(*out = calloc(f.n ? f.n : 1, sizeof(**out))))
		rc = nomem(err);
	for (size_t i = 0; rc == 0 && i < f.n; i++) {
		struct ferry_api_entry *e = &(*out)[i];
		if (!(e->name = strdup(f.v[i].name))) {
			rc = nomem(err);
			break;
		}
		e->size = f.v[i].size;
		e->mtime = f.v[i].mtime;
		memcpy(e->md5, f.v[i].md5, sizeof(e->md5));
		memcpy(e->etag, f.v[i].etag, sizeof(e->etag));
		*n = i + 1;
	}
	if (rc < 0) {
		ferry_api_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	ferry_mlt_files_clear(&f);
	ferry_mltable_free(m);
	return rc;
}

int ferry_api_mltable_check(const char *steps, ferry_err *err)
{
	ferry_err_clear(err);
	if (!steps || !*steps)
		return 0;
	struct ferry_mltable *x = NULL;
	char *doc = NULL;
	int rc = asprintf(&doc, "transformations: %s\npaths: [{file: ./x}]\n", steps) < 0
			 ? nomem(err)
			 : ferry_mltable_parse(doc, strlen(doc), "(added transformations)", &x, err);
	ferry_mltable_free(x);
	free(doc);
	return rc < 0 ? -1 : 0;
}

int ferry_api_mltable_paths(struct ferry_api *api, const char *uri, char **out, ferry_err *err)
{
	static const char *const kind[] = { [FERRY_MLT_FILE] = "file", [FERRY_MLT_FOLDER] = "folder",
					    [FERRY_MLT_PATTERN] = "pattern" };
	struct ferry_mltable *m;
	*out = NULL;
	if (ferry_mltable_open(&api->ctx, uri, &m, err) < 0)
		return -1;
	json_t *a = json_array();
	for (size_t i = 0; a && i < m->npaths; i++) {
		json_t *o = json_object();
		if (!o || json_array_append_new(a, o) < 0 ||
		    json_object_set_new(o, kind[m->paths[i].kind], json_string(m->paths[i].value)) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	ferry_mltable_free(m);
	if (a)
		*out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return *out ? 0 : nomem(err);
}

/* ---- file sets ---- */

struct ferry_api_fileset {
	struct ferry_store *store; /* store/fileset.c over the table's files */
};

/* Drop m's transformations (freed through a stand-in table that takes them). */
static int drop_steps(struct ferry_mltable *m, ferry_err *err)
{
	struct ferry_mltable *x = calloc(1, sizeof(*x));
	if (!x)
		return nomem(err);
	x->steps = m->steps;
	x->nsteps = m->nsteps;
	m->steps = NULL;
	m->nsteps = 0;
	ferry_mltable_free(x);
	return 0;
}

struct ferry_api_fileset *ferry_api_mltable_fileset(struct ferry_api *api, const char *uri, const char *steps,
						    int all_files, struct ferry_api_entry **entries, size_t *n,
						    ferry_err *err)
{
	struct ferry_mltable *m;
	*entries = NULL;
	*n = 0;
	if (open_table(api, uri, all_files ? NULL : steps, &m, err) < 0)
		return NULL;
	if (all_files && drop_steps(m, err) < 0) {
		ferry_mltable_free(m);
		return NULL;
	}
	struct ferry_api_fileset *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		ferry_mltable_free(m);
		nomem(err);
		return NULL;
	}
	if (ferry_mltable_fileset_of(&api->ctx, m, &fs->store, NULL, err) < 0 ||
	    ferry_api_store_list(fs->store, "", 1, entries, n, err) < 0) {
		ferry_api_entries_free(*entries, *n);
		*entries = NULL;
		*n = 0;
		ferry_api_fileset_close(fs);
		return NULL;
	}
	return fs;
}

int64_t ferry_api_fileset_read(struct ferry_api_fileset *fs, const char *name, uint64_t off, uint64_t len, void *buf,
			       ferry_err *err)
{
	ferry_err_clear(err);
	return ferry_api_store_read(fs->store, name, name, off, len, buf, err);
}

void ferry_api_fileset_close(struct ferry_api_fileset *fs)
{
	if (!fs)
		return;
	ferry_store_destroy(fs->store);
	free(fs);
}

/* ---- the document (for a binding's save) ---- */

/* A YAML tree as JSON: maps, lists; a plain scalar as null, true/false, an
 * integer or a number when it reads as one (an integer past int64, which
 * jansson cannot hold, as {"$ferry:int": "<digits>"}), any other scalar as a
 * string. */
static json_t *yaml_json(const struct ferry_yaml_node *n)
{
	if (n->kind == FERRY_YAML_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->n; i++)
			if (json_array_append_new(a, yaml_json(n->vals[i])) < 0) {
				json_decref(a);
				a = NULL;
			}
		return a;
	}
	if (n->kind == FERRY_YAML_MAP) {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n->n; i++)
			if (json_object_set_new(o, n->keys[i], yaml_json(n->vals[i])) < 0) {
				json_decref(o);
				o = NULL;
			}
		return o;
	}
	if (!n->plain)
		return json_string(n->text);
	if (ferry_yaml_is_null(n))
		return json_null();
	if (!strcmp(n->text, "true") || !strcmp(n->text, "false"))
		return json_boolean(n->text[0] == 't');
	char *end = NULL;
	errno = 0;
	long long v = strtoll(n->text, &end, 10);
	if (end && end != n->text && !*end && !errno)
		return json_integer(v);
	if (end && end != n->text && !*end && n->text[0] >= '0' && n->text[0] <= '9') /* past int64 (a seed) */
		return json_pack("{s:s}", "$ferry:int", n->text);
	errno = 0;
	double d = strtod(n->text, &end);
	if (end && end != n->text && !*end && !errno && d == d && d - d == 0)
		return json_real(d);
	return json_string(n->text);
}

int ferry_api_mltable_doc(struct ferry_api *api, const char *uri, char **out, ferry_err *err)
{
	struct ferry_mltable *m;
	*out = NULL;
	ferry_err_clear(err);
	if (ferry_mltable_open(&api->ctx, uri, &m, err) < 0)
		return -1;
	struct ferry_yaml_node *root = NULL;
	char *folder = NULL;
	int rc = ferry_yaml_parse(m->text ? m->text : "", m->text ? m->text_len : 0, m->label, &root, err);
	if (rc == 0 && ferry_uri_scheme(m->uri, NULL) == FERRY_SCHEME_ASSET) {
		/* the asset's storage path: relative entries resolve there */
		struct ferry_uri u;
		struct ferry_data_asset a;
		if ((rc = ferry_uri_parse(m->uri, &u, err)) == 0) {
			if (!api->ctx.ws)
				rc = ferry_err_set(err, FERRY_E_INVALID, "'%s': no workspace is open", m->uri);
			else if ((rc = ferry_ws_asset_get(api->ctx.ws, u.asset_name, u.asset_version, &a, err)) == 0) {
				folder = strdup(a.path);
				ferry_data_asset_free(&a);
			}
			ferry_uri_free(&u);
		}
	} else if (rc == 0) {
		folder = strdup(m->uri);
	}
	if (rc == 0 && !folder)
		rc = nomem(err);
	if (rc == 0) {
		size_t l = strlen(folder);
		while (l > 1 && folder[l - 1] == '/')
			folder[--l] = '\0';
		char *slash = strrchr(folder, '/');
		if (m->named_file && slash) /* the MLTable file was named: its folder */
			*slash = '\0';
		json_t *o = json_pack("{s:o?,s:s,s:b}", "doc", root ? yaml_json(root) : NULL, "folder", folder,
				      "on_disk", m->sources[0].on_disk);
		if (o)
			*out = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!*out)
			rc = nomem(err);
	}
	free(folder);
	ferry_yaml_free(root);
	ferry_mltable_free(m);
	return rc < 0 ? -1 : 0;
}
