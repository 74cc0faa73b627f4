/*
 * parquet.c — the Parquet reader (see parquet.h): footer, schema, row
 * groups, pages, encodings, codecs, and values as text.
 */
#include "mltable/parquet.h"
#include "mltable/thrift.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#define MAX_PAGE (512u << 20)   /* uncompressed page size limit */
#define MAX_TEXT (1u << 30)     /* text of one column in one row group */
#define MAX_FOOTER (64u << 20)

enum { T_BOOLEAN, T_INT32, T_INT64, T_INT96, T_FLOAT, T_DOUBLE, T_BYTE_ARRAY, T_FIXED };
enum { LT_NONE, LT_STRING, LT_DATE, LT_DECIMAL, LT_TS_MS, LT_TS_US, LT_TS_NS, LT_UINT };

struct pq_col {
	char *name;       /* nested files: the leaf's dotted path ("add.path") */
	int type, optional, lt;
	int32_t type_length, scale;
	int max_def, max_rep; /* flat files: optional, 0 */
};

struct pq_chunk {
	int codec;
	int64_t nvalues, dict_off, data_off, size;
};

struct pq_rg {
	int64_t nrows;
	struct pq_chunk *ch;
};

struct ferry_pq {
	struct ferry_store *s;
	const uint8_t *mem;
	char *path, *label;
	uint64_t size, bytes, reads;
	struct pq_col *cols;
	size_t ncols;
	struct pq_rg *rgs;
	size_t nrgs;
	int64_t nrows;
	int nested;       /* opened by ferry_pq_open_nested: leaves of any depth */
};

/* one column of one row group, as text (nested files: with each value's
 * definition and repetition levels in dl/rl) */
struct cvals {
	uint8_t *kind, *dl, *rl;
	int levels;       /* keep dl/rl */
	uint32_t *len;
	size_t *off;
	size_t n, cap;
	char *a;
	size_t used, acap;
};

static int bad(ferry_err *err, const struct ferry_pq *q, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(ferry_err *err, const struct ferry_pq *q, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ferry_err_set(err, FERRY_E_INVALID, "%s: not a Parquet file ferry can read: %s", q->label, msg);
}

struct pq_chunk;
static int read_chunk(struct ferry_pq *q, size_t ci, const struct pq_chunk *ch, int64_t nrows, struct cvals *out,
		      ferry_err *err);
static void cv_free(struct cvals *v);

static int oom(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "out of memory");
}

/* ---- fetching ---- */

struct fetch {
	uint8_t *buf;
	uint64_t want, got;
};

static int fetch_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct fetch *f = arg;
	(void)off;
	if (len > f->want - f->got)
		len = (size_t)(f->want - f->got);
	memcpy(f->buf + f->got, data, len);
	f->got += len;
	return 0;
}

/* Read [off, off+len) of the file into a new buffer. */
static uint8_t *fetch(struct ferry_pq *q, uint64_t off, uint64_t len, ferry_err *err)
{
	if (off > q->size || len > q->size - off) {
		bad(err, q, "a range of %" PRIu64 " bytes at %" PRIu64 " lies beyond the file's %" PRIu64 " bytes", len,
		    off, q->size);
		return NULL;
	}
	uint8_t *b = malloc(len ? len : 1);
	if (!b) {
		oom(err);
		return NULL;
	}
	q->reads++;
	q->bytes += len;
	if (q->mem) {
		memcpy(b, q->mem + off, len);
		return b;
	}
	struct fetch f = { b, len, 0 };
	if (len && ferry_store_read(q->s, q->path, off, len, fetch_sink, &f, err) < 0) {
		free(b);
		return NULL;
	}
	if (f.got != len) {
		free(b);
		ferry_err_set(err, FERRY_E_IO, "%s: short read (%" PRIu64 " of %" PRIu64 " bytes at %" PRIu64 ")", q->label,
			      f.got, len, off);
		return NULL;
	}
	return b;
}

/* ---- footer ---- */

#define TH(x)                                                                                                          \
	do {                                                                                                           \
		if ((x) < 0)                                                                                           \
			return -1;                                                                                     \
	} while (0)

static int schema_elem(struct ferry_thrift *t, struct pq_col *c, int32_t *nchildren, int *repeated, int *conv,
		       int *ltkind)
{
	int id, ty, r;
	c->type = -1;
	*nchildren = 0;
	*repeated = 0;
	*conv = -1;
	*ltkind = 0;
	int lt = LT_NONE;
	TH(ferry_thrift_begin(t));
	while ((r = ferry_thrift_field(t, &id, &ty)) == 1) {
		int32_t v;
		const uint8_t *s;
		size_t n;
		switch (id) {
		case 1: TH(ferry_thrift_i32(t, ty, &v)); c->type = v; break;
		case 2: TH(ferry_thrift_i32(t, ty, &c->type_length)); break;
		case 3: TH(ferry_thrift_i32(t, ty, &v)); c->optional = v == 1; *repeated = v == 2; break;
		case 4:
			TH(ferry_thrift_binary(t, &s, &n));
			free(c->name);
			if (!(c->name = strndup((const char *)s, n)))
				return -2;
			break;
		case 5: TH(ferry_thrift_i32(t, ty, nchildren)); break;
		case 6: TH(ferry_thrift_i32(t, ty, conv)); break;
		case 7: TH(ferry_thrift_i32(t, ty, &c->scale)); break;
		case 10: { /* LogicalType union */
			int lid, lty, lr;
			if (ty != FERRY_TT_STRUCT)
				return -1;
			TH(ferry_thrift_begin(t));
			while ((lr = ferry_thrift_field(t, &lid, &lty)) == 1) {
				*ltkind = lid;
				if (lid == 5 && lty == FERRY_TT_STRUCT) { /* DECIMAL {1: scale, 2: precision} */
					int did, dty, dr;
					TH(ferry_thrift_begin(t));
					while ((dr = ferry_thrift_field(t, &did, &dty)) == 1) {
						if (did == 1)
							TH(ferry_thrift_i32(t, dty, &c->scale));
						else
							TH(ferry_thrift_skip(t, dty));
					}
					TH(dr);
					lt = LT_DECIMAL;
				} else if (lid == 8 && lty == FERRY_TT_STRUCT) { /* TIMESTAMP {1: utc, 2: unit} */
					int tid, tty, tr;
					TH(ferry_thrift_begin(t));
					while ((tr = ferry_thrift_field(t, &tid, &tty)) == 1) {
						if (tid == 2 && tty == FERRY_TT_STRUCT) {
							int uid, uty, ur;
							TH(ferry_thrift_begin(t));
							while ((ur = ferry_thrift_field(t, &uid, &uty)) == 1) {
								lt = uid == 1 ? LT_TS_MS : uid == 2 ? LT_TS_US : LT_TS_NS;
								TH(ferry_thrift_skip(t, uty));
							}
							TH(ur);
						} else {
							TH(ferry_thrift_skip(t, tty));
						}
					}
					TH(tr);
				} else {
					if (lid == 1)
						lt = LT_STRING;
					else if (lid == 6)
						lt = LT_DATE;
					TH(ferry_thrift_skip(t, lty));
				}
			}
			TH(lr);
			break;
		}
		default: TH(ferry_thrift_skip(t, ty)); break;
		}
	}
	TH(r);
	if (lt == LT_NONE) { /* converted types (older writers) */
		switch (*conv) {
		case 0: lt = LT_STRING; break;
		case 5: lt = LT_DECIMAL; break;
		case 6: lt = LT_DATE; break;
		case 9: lt = LT_TS_MS; break;
		case 10: lt = LT_TS_US; break;
		case 14: lt = LT_UINT; break;
		default: break;
		}
	}
	c->lt = lt;
	return 0;
}

/* ColumnMetaData; *match = 1 when its path_in_schema, joined with '.', is `want`. */
static int column_meta(struct ferry_thrift *t, struct pq_chunk *c, const char *want, int *match)
{
	int id, ty, r;
	TH(ferry_thrift_begin(t));
	while ((r = ferry_thrift_field(t, &id, &ty)) == 1) {
		int32_t v;
		switch (id) {
		case 3: {
			int et;
			size_t n, pos = 0, wl = strlen(want);
			TH(ferry_thrift_list(t, &et, &n));
			*match = n > 0 && et == FERRY_TT_BINARY;
			for (size_t i = 0; i < n; i++) {
				if (et != FERRY_TT_BINARY) {
					TH(ferry_thrift_skip(t, et));
					continue;
				}
				const uint8_t *s;
				size_t l;
				TH(ferry_thrift_binary(t, &s, &l));
				if (i && (pos >= wl || want[pos++] != '.'))
					*match = 0;
				if (!*match || l > wl - pos || memcmp(want + pos, s, l))
					*match = 0;
				else
					pos += l;
			}
			if (pos != wl)
				*match = 0;
			break;
		}
		case 4: TH(ferry_thrift_i32(t, ty, &v)); c->codec = v; break;
		case 5: TH(ferry_thrift_i64(t, ty, &c->nvalues)); break;
		case 7: TH(ferry_thrift_i64(t, ty, &c->size)); break;
		case 9: TH(ferry_thrift_i64(t, ty, &c->data_off)); break;
		case 11: TH(ferry_thrift_i64(t, ty, &c->dict_off)); break;
		default: TH(ferry_thrift_skip(t, ty)); break;
		}
	}
	return r;
}

static int row_group(struct ferry_pq *q, struct ferry_thrift *t, struct pq_rg *g, ferry_err *err)
{
	int id, ty, r;
	int have_cols = 0;
	if (ferry_thrift_begin(t) < 0)
		return -1;
	while ((r = ferry_thrift_field(t, &id, &ty)) == 1) {
		if (id == 1 && ty == FERRY_TT_LIST) {
			int et;
			size_t n;
			TH(ferry_thrift_list(t, &et, &n));
			if (et != FERRY_TT_STRUCT || n != q->ncols || have_cols)
				return bad(err, q, "a row group has %zu column chunks, the schema %zu columns", n, q->ncols) - 1;
			have_cols = 1;
			g->ch = calloc(n ? n : 1, sizeof(*g->ch));
			if (!g->ch)
				return oom(err) - 1;
			for (size_t i = 0; i < n; i++) {
				int cid, cty, cr, match = 0;
				struct pq_chunk *c = &g->ch[i];
				c->dict_off = -1;
				TH(ferry_thrift_begin(t));
				while ((cr = ferry_thrift_field(t, &cid, &cty)) == 1) {
					if (cid == 1 && cty == FERRY_TT_BINARY) {
						const uint8_t *s;
						size_t l;
						TH(ferry_thrift_binary(t, &s, &l));
						if (l)
							return bad(err, q, "column '%s' is in another file (file_path): not supported",
								   q->cols[i].name) - 1;
					} else if (cid == 3 && cty == FERRY_TT_STRUCT) {
						TH(column_meta(t, c, q->cols[i].name, &match));
					} else {
						TH(ferry_thrift_skip(t, cty));
					}
				}
				TH(cr);
				if (!match)
					return bad(err, q, "column chunk %zu does not name column '%s'", i, q->cols[i].name) - 1;
			}
		} else if (id == 3) {
			TH(ferry_thrift_i64(t, ty, &g->nrows));
		} else {
			TH(ferry_thrift_skip(t, ty));
		}
	}
	TH(r);
	if (!have_cols)
		return bad(err, q, "a row group without columns") - 1;
	if (g->nrows < 0 || g->nrows > (int64_t)FERRY_PQ_MAX_GROUP_ROWS)
		return bad(err, q, "a row group of %" PRId64 " rows (ferry reads row groups of at most %u rows)", g->nrows,
			   FERRY_PQ_MAX_GROUP_ROWS) - 1;
	return 0;
}


/* The checks of a leaf column's type. */
static int leaf_check(struct ferry_pq *q, const struct pq_col *c, ferry_err *err)
{
	if (c->type > T_FIXED)
		return bad(err, q, "column '%s' has an unknown physical type %d", c->name, c->type);
	if (c->type == T_FIXED && (c->type_length < 1 || c->type_length > (1 << 20)))
		return bad(err, q, "column '%s': FIXED_LEN_BYTE_ARRAY of length %d", c->name, c->type_length);
	if (c->lt == LT_DECIMAL && (c->scale < 0 || c->scale > 38))
		return bad(err, q, "column '%s': decimal scale %d", c->name, c->scale);
	return 0;
}

#define MAX_NEST 16
#define MAX_LEAF_NAME 1024

/* A nested schema (ferry_pq_open_nested): the elements after the root, in
 * depth-first order, become one column per leaf, named by its dotted path,
 * with its maximum definition and repetition levels (Dremel: one level per
 * optional or repeated ancestor, itself included). Groups nest at most
 * MAX_NEST deep. Same returns as file_meta. */
static int nested_schema(struct ferry_pq *q, struct ferry_thrift *t, size_t n, int32_t root_children, ferry_err *err)
{
	struct { int32_t left; size_t plen; int def, rep; } st[MAX_NEST + 1];
	char path[MAX_LEAF_NAME];
	int top = 0;
	if (root_children < 1)
		return bad(err, q, "the schema's root has %d children", root_children);
	st[0].left = root_children;
	st[0].plen = 0;
	st[0].def = st[0].rep = 0;
	path[0] = '\0';
	for (size_t i = 1; i < n; i++) {
		struct pq_col e = { 0 };
		int32_t nch;
		int rep, conv, ltk;
		int rc = schema_elem(t, &e, &nch, &rep, &conv, &ltk);
		if (rc < 0 || !e.name) {
			free(e.name);
			return rc == -2 ? -2 : rc < 0 ? -3 : bad(err, q, "schema element %zu has no name", i);
		}
		if (top < 0 || st[top].left <= 0) {
			free(e.name);
			return bad(err, q, "schema element '%s' lies outside the schema's tree", e.name);
		}
		st[top].left--;
		size_t nl = strlen(e.name), plen = st[top].plen;
		if (plen + nl + 2 > sizeof(path)) {
			free(e.name);
			return bad(err, q, "a column path longer than %d bytes", MAX_LEAF_NAME);
		}
		if (plen)
			path[plen++] = '.';
		memcpy(path + plen, e.name, nl + 1);
		int def = st[top].def + (e.optional || rep), rp = st[top].rep + rep;
		free(e.name);
		if (nch > 0) {
			if (top == MAX_NEST)
				return bad(err, q, "'%s': groups nested more than %d deep", path, MAX_NEST);
			top++;
			st[top].left = nch;
			st[top].plen = plen + nl;
			st[top].def = def;
			st[top].rep = rp;
			continue;
		}
		struct pq_col *c = &q->cols[q->ncols++];
		*c = e;
		if (!(c->name = strdup(path)))
			return -2;
		c->max_def = def;
		c->max_rep = rp;
		c->optional = def > 0;
		if (c->type < 0)
			return bad(err, q, "column '%s' is a group without children", path);
		if (leaf_check(q, c, err) < 0)
			return -1;
		while (top > 0 && st[top].left == 0)
			top--;
	}
	if (top != 0 || st[0].left != 0)
		return bad(err, q, "the schema's elements do not fill its tree");
	return 0;
}

/* FileMetaData. Returns 0; -1 with err set by us; -2 out of memory; -3 Thrift error. */
static int file_meta(struct ferry_pq *q, struct ferry_thrift *t, ferry_err *err)
{
	int id, ty, r;
	if (ferry_thrift_begin(t) < 0)
		return -3;
	while ((r = ferry_thrift_field(t, &id, &ty)) == 1) {
		if (id == 2 && ty == FERRY_TT_LIST) {
			int et;
			size_t n;
			if (ferry_thrift_list(t, &et, &n) < 0)
				return -3;
			if (et != FERRY_TT_STRUCT || n < 1 || q->cols)
				return bad(err, q, "the schema is not a list of elements");
			q->cols = calloc(n, sizeof(*q->cols));
			if (!q->cols)
				return -2;
			struct pq_col root = { 0 };
			int32_t nch;
			int rep, conv, ltk;
			int rc = schema_elem(t, &root, &nch, &rep, &conv, &ltk);
			free(root.name);
			if (rc < 0)
				return rc == -2 ? -2 : -3;
			int32_t root_children = nch;
			if (q->nested) {
				rc = nested_schema(q, t, n, root_children, err);
				if (rc < 0)
					return rc;
				continue;
			}
			for (size_t i = 1; i < n; i++) {
				struct pq_col *c = &q->cols[q->ncols++];
				rc = schema_elem(t, c, &nch, &rep, &conv, &ltk);
				if (rc < 0)
					return rc == -2 ? -2 : -3;
				if (!c->name)
					return bad(err, q, "schema element %zu has no name", i);
				if (nch > 0 || c->type < 0 || conv == 1 || conv == 2 || conv == 3 || ltk == 2 || ltk == 3)
					return bad(err, q, "column '%s' is a nested type (group, LIST or MAP): ferry reads flat "
							   "columns only",
						   c->name);
				if (rep)
					return bad(err, q, "column '%s' is repeated: ferry reads flat columns only", c->name);
				c->max_def = c->optional;
				if (leaf_check(q, c, err) < 0)
					return -1;
				for (size_t j = 0; j + 1 < q->ncols; j++)
					if (!strcmp(q->cols[j].name, c->name))
						return bad(err, q, "column '%s' appears twice", c->name);
			}
			if (root_children < 0 || (size_t)root_children != n - 1)
				return bad(err, q, "the schema's root has %d children, the schema %zu columns", root_children,
					   n - 1);
		} else if (id == 3) {
			if (ferry_thrift_i64(t, ty, &q->nrows) < 0)
				return -3;
		} else if (id == 4 && ty == FERRY_TT_LIST) {
			int et;
			size_t n;
			if (ferry_thrift_list(t, &et, &n) < 0)
				return -3;
			if (!q->cols)
				return bad(err, q, "row groups before the schema");
			if (et != FERRY_TT_STRUCT || q->rgs)
				return bad(err, q, "the row groups are not a list of structs");
			q->rgs = calloc(n ? n : 1, sizeof(*q->rgs));
			if (!q->rgs)
				return -2;
			for (size_t i = 0; i < n; i++) {
				q->nrgs = i + 1;
				int rc = row_group(q, t, &q->rgs[i], err);
				if (rc == -1)
					return -3;
				if (rc < -1)
					return -1;
			}
		} else if (ferry_thrift_skip(t, ty) < 0) {
			return -3;
		}
	}
	if (r < 0)
		return -3;
	if (!q->cols)
		return bad(err, q, "no schema in the footer");
	return 0;
}

static void pq_free(struct ferry_pq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->ncols; i++)
		free(q->cols[i].name);
	free(q->cols);
	for (size_t i = 0; i < q->nrgs; i++)
		free(q->rgs[i].ch);
	free(q->rgs);
	free(q->path);
	free(q->label);
	free(q);
}

void ferry_pq_close(struct ferry_pq *q)
{
	pq_free(q);
}

static int open_common(struct ferry_pq *q, ferry_err *err)
{
	if (q->size < 12)
		return bad(err, q, "%" PRIu64 " bytes, shorter than a Parquet file's header and footer", q->size);
	uint64_t tail = q->size < 8192 ? q->size : 8192; /* most footers; a longer one is a second read */
	uint8_t *b = fetch(q, q->size - tail, tail, err);
	if (!b)
		return -1;
	if (memcmp(b + tail - 4, "PAR1", 4)) {
		int enc = !memcmp(b + tail - 4, "PARE", 4);
		free(b);
		return bad(err, q, "no PAR1 magic at its end%s", enc ? " (an encrypted file)" : "");
	}
	uint32_t flen = (uint32_t)b[tail - 8] | (uint32_t)b[tail - 7] << 8 | (uint32_t)b[tail - 6] << 16 |
			(uint32_t)b[tail - 5] << 24;
	if ((uint64_t)flen + 12 > q->size || flen > MAX_FOOTER) {
		free(b);
		return bad(err, q, "a footer of %u bytes in a file of %" PRIu64 " bytes", flen, q->size);
	}
	const uint8_t *foot;
	uint8_t *big = NULL;
	if ((uint64_t)flen + 8 <= tail) {
		foot = b + tail - 8 - flen;
	} else {
		big = fetch(q, q->size - 8 - flen, flen, err);
		if (!big) {
			free(b);
			return -1;
		}
		foot = big;
	}
	struct ferry_thrift t;
	ferry_thrift_init(&t, foot, flen);
	int rc = file_meta(q, &t, err);
	free(b);
	free(big);
	if (rc == -2)
		return oom(err);
	if (rc == -3)
		return bad(err, q, "its footer (FileMetaData): %s", t.why ? t.why : "malformed");
	return rc;
}

int ferry_pq_open(struct ferry_store *s, const char *path, uint64_t size, const char *label, struct ferry_pq **out,
		  ferry_err *err)
{
	struct ferry_pq *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(path)) || !(q->label = strdup(label))) {
		pq_free(q);
		return oom(err);
	}
	q->s = s;
	q->size = size;
	if (open_common(q, err) < 0) {
		pq_free(q);
		return -1;
	}
	*out = q;
	return 0;
}

int ferry_pq_open_nested(struct ferry_store *s, const char *path, uint64_t size, const char *label,
			 struct ferry_pq **out, ferry_err *err)
{
	struct ferry_pq *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(path)) || !(q->label = strdup(label))) {
		pq_free(q);
		return oom(err);
	}
	q->s = s;
	q->size = size;
	q->nested = 1;
	if (open_common(q, err) < 0) {
		pq_free(q);
		return -1;
	}
	*out = q;
	return 0;
}

size_t ferry_pq_ngroups(const struct ferry_pq *q)
{
	return q->nrgs;
}

void ferry_pq_levels(const struct ferry_pq *q, size_t col, int *max_def, int *max_rep)
{
	*max_def = q->cols[col].max_def;
	*max_rep = q->cols[col].max_rep;
}

int ferry_pq_read_leaf(struct ferry_pq *q, size_t col, size_t group, struct ferry_pq_leaf *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	struct cvals *cv = calloc(1, sizeof(*cv));
	if (!cv)
		return oom(err);
	cv->levels = 1;
	if (read_chunk(q, col, &q->rgs[group].ch[col], q->rgs[group].nrows, cv, err) < 0) {
		cv_free(cv);
		free(cv);
		return -1;
	}
	out->n = cv->n;
	out->def = cv->dl;
	out->rep = cv->rl;
	out->priv = cv;
	return 0;
}

struct ferry_pq_val ferry_pq_leaf_val(const struct ferry_pq_leaf *l, size_t i)
{
	const struct cvals *cv = l->priv;
	if (cv->kind[i] == FERRY_PQ_NULL)
		return (struct ferry_pq_val){ FERRY_PQ_NULL, NULL, 0 };
	return (struct ferry_pq_val){ cv->kind[i], cv->a + cv->off[i], cv->len[i] };
}

void ferry_pq_leaf_free(struct ferry_pq_leaf *l)
{
	if (l->priv) {
		cv_free(l->priv);
		free(l->priv);
	}
	memset(l, 0, sizeof(*l));
}

size_t ferry_pq_ncols(const struct ferry_pq *q)
{
	return q->ncols;
}

const char *ferry_pq_colname(const struct ferry_pq *q, size_t i)
{
	return q->cols[i].name;
}

uint64_t ferry_pq_nrows(const struct ferry_pq *q)
{
	return q->nrows > 0 ? (uint64_t)q->nrows : 0;
}

void ferry_pq_fetched(const struct ferry_pq *q, uint64_t *bytes, uint64_t *reads)
{
	*bytes = q->bytes;
	*reads = q->reads;
}

/* ---- RLE / bit-packed hybrid ---- */

int ferry_pq_rle_decode(const uint8_t *p, size_t len, int width, uint32_t *out, size_t n, const char **why)
{
	const uint8_t *end = p + len;
	size_t i = 0;
	if (width < 0 || width > 32) {
		*why = "a bit width above 32";
		return -1;
	}
	size_t vbytes = ((size_t)width + 7) / 8;
	while (i < n) {
		uint64_t h = 0;
		int shift = 0;
		for (;;) {
			if (p >= end || shift > 63) {
				*why = "RLE data ends early";
				return -1;
			}
			uint8_t b = *p++;
			h |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
			if (!(b & 0x80))
				break;
		}
		if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
			uint64_t groups = h >> 1;
			/* width 0 (a dictionary of one value): no data, the count is bounded by n */
			if (width && (groups > (uint64_t)(end - p) || groups * width > (uint64_t)(end - p))) {
				*why = "a bit-packed run longer than its data";
				return -1;
			}
			uint64_t count = groups * 8;
			uint64_t bit = 0;
			for (uint64_t k = 0; k < count && i < n; k++, i++) {
				uint32_t v = 0;
				for (int b = 0; b < width; b++, bit++)
					v |= (uint32_t)((p[bit >> 3] >> (bit & 7)) & 1) << b;
				out[i] = v;
			}
			p += groups * (uint64_t)width;
		} else {
			uint64_t count = h >> 1;
			if ((size_t)(end - p) < vbytes) {
				*why = "an RLE run longer than its data";
				return -1;
			}
			uint32_t v = 0;
			for (size_t b = 0; b < vbytes; b++)
				v |= (uint32_t)p[b] << (8 * b);
			p += vbytes;
			if (width < 32 && (v >> width)) {
				*why = "an RLE value wider than its bit width";
				return -1;
			}
			if (count == 0) {
				*why = "an empty RLE run";
				return -1;
			}
			for (uint64_t k = 0; k < count && i < n; k++)
				out[i++] = v;
		}
	}
	return 0;
}

/* ---- values as text ---- */

static int cv_push(struct cvals *v, int kind, const char *s, size_t len, int dl, int rl)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		if (v->levels) {
			uint8_t *d = realloc(v->dl, cap);
			if (!d)
				return -1;
			v->dl = d;
			uint8_t *r = realloc(v->rl, cap);
			if (!r)
				return -1;
			v->rl = r;
		}
		uint8_t *k = realloc(v->kind, cap);
		if (k)
			v->kind = k;
		uint32_t *l = k ? realloc(v->len, cap * sizeof(*l)) : NULL;
		if (l)
			v->len = l;
		size_t *o = l ? realloc(v->off, cap * sizeof(*o)) : NULL;
		if (!o)
			return -1;
		v->off = o;
		v->cap = cap;
	}
	if (kind != FERRY_PQ_NULL) {
		if (len > MAX_TEXT || v->used + len + 1 > MAX_TEXT)
			return -2;
		if (v->used + len + 1 > v->acap) {
			size_t cap = v->acap ? v->acap : 4096;
			while (cap < v->used + len + 1)
				cap *= 2;
			char *a = realloc(v->a, cap);
			if (!a)
				return -1;
			v->a = a;
			v->acap = cap;
		}
		memcpy(v->a + v->used, s, len);
		v->a[v->used + len] = '\0';
		v->off[v->n] = v->used;
		v->used += len + 1;
	}
	v->kind[v->n] = (uint8_t)kind;
	if (v->levels) {
		v->dl[v->n] = (uint8_t)dl;
		v->rl[v->n] = (uint8_t)rl;
	}
	v->len[v->n] = (uint32_t)len;
	v->n++;
	return 0;
}

static void cv_free(struct cvals *v)
{
	free(v->dl);
	free(v->rl);
	free(v->kind);
	free(v->len);
	free(v->off);
	free(v->a);
	memset(v, 0, sizeof(*v));
}

/* an int64 in decimal (buf holds at least 21 bytes); printf costs more */
static size_t fmt_i64(char *buf, int64_t v)
{
	char tmp[24];
	size_t n = 0, o = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[o++] = '-';
	while (n)
		buf[o++] = tmp[--n];
	buf[o] = '\0';
	return o;
}

static size_t fmt_real(char *buf, size_t cap, double d, int is_float)
{
	if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) { /* integral: "3.0" */
		size_t n = fmt_i64(buf, (int64_t)d);
		memcpy(buf + n, ".0", 3);
		return n + 2;
	}
	for (int prec = is_float ? 6 : 15; prec <= (is_float ? 9 : 17); prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (is_float ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
			break;
	}
	if (isfinite(d) && !strpbrk(buf, ".eE") && strlen(buf) + 3 < cap)
		strcat(buf, ".0");
	return strlen(buf);
}

/* days since 1970-01-01 -> y, m, d (H. Hinnant's civil_from_days) */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static size_t fmt_date(char *buf, size_t cap, int64_t days)
{
	int64_t y;
	unsigned m, d;
	civil(days, &y, &m, &d);
	return (size_t)snprintf(buf, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* v units of 10^-digits seconds since the epoch */
static size_t fmt_ts(char *buf, size_t cap, int64_t v, int digits)
{
	int64_t per = digits == 3 ? 1000 : digits == 6 ? 1000000 : 1000000000;
	int64_t secs = v / per, frac = v % per;
	if (frac < 0) {
		frac += per;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	size_t n = fmt_date(buf, cap, days);
	n += (size_t)snprintf(buf + n, cap - n, "T%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	if (frac) {
		n += (size_t)snprintf(buf + n, cap - n, ".%0*" PRId64, digits, frac);
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
	}
	return n;
}

/* an unscaled decimal (two's complement, up to 128 bits) as text */
static size_t fmt_decimal(char *buf, size_t cap, __int128 v, int scale)
{
	char digits[64];
	int neg = v < 0, nd = 0;
	unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		digits[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u && nd < 60);
	while (nd <= scale && nd < 60)
		digits[nd++] = '0';
	size_t n = 0;
	if (neg)
		buf[n++] = '-';
	for (int i = nd - 1; i >= 0 && n + 2 < cap; i--) {
		buf[n++] = digits[i];
		if (i == scale && scale > 0)
			buf[n++] = '.';
	}
	buf[n] = '\0';
	return n;
}

/* Format one integer value of column c. */
static int fmt_int(const struct pq_col *c, int64_t v, char *buf, size_t cap, size_t *len)
{
	switch (c->lt) {
	case LT_DATE: *len = fmt_date(buf, cap, v); return FERRY_PQ_DT;
	case LT_TS_MS: *len = fmt_ts(buf, cap, v, 3); return FERRY_PQ_DT;
	case LT_TS_US: *len = fmt_ts(buf, cap, v, 6); return FERRY_PQ_DT;
	case LT_TS_NS: *len = fmt_ts(buf, cap, v, 9); return FERRY_PQ_DT;
	case LT_DECIMAL: *len = fmt_decimal(buf, cap, v, c->scale); return FERRY_PQ_STR;
	case LT_UINT:
		*len = (size_t)snprintf(buf, cap, "%" PRIu64, c->type == T_INT32 ? (uint64_t)(uint32_t)v : (uint64_t)v);
		return FERRY_PQ_INT;
	default: *len = fmt_i64(buf, v); return FERRY_PQ_INT;
	}
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY value: a decimal as text, else the bytes. */
static int bytes_value(const struct pq_col *c, const uint8_t *v, size_t n, char *buf, size_t cap, const char **out,
		       size_t *len, int *kind, const char **why)
{
	*kind = FERRY_PQ_STR;
	if (c->lt == LT_DECIMAL) {
		if (n > 16 || n == 0) {
			*why = "a decimal wider than 128 bits";
			return -1;
		}
		__int128 x = (v[0] & 0x80) ? -1 : 0;
		for (size_t i = 0; i < n; i++)
			x = (__int128)(((unsigned __int128)x << 8) | v[i]);
		*len = fmt_decimal(buf, cap, x, c->scale);
		*out = buf;
		return 0;
	}
	*out = (const char *)v;
	*len = n;
	return 0;
}

/* ---- pages ---- */

struct src {
	const struct pq_col *c;
	int enc;                 /* 0 plain, 1 dictionary, 2 rle booleans, 3 delta, 4 delta
				    lengths, 5 delta byte arrays, 6 byte stream split */
	const uint8_t *p, *end;
	const struct cvals *dict;
	uint32_t *idx;           /* dictionary indices / booleans */
	int64_t *ints;           /* delta-decoded (values, lengths or prefix lengths) */
	int64_t *ints2;          /* delta byte arrays: suffix lengths */
	uint8_t *prev;           /* delta byte arrays: the previous value; split: one value */
	size_t prevlen, prevcap;
	size_t k, n;
	uint64_t bit;            /* plain booleans */
};

/* The next non-null value of the page: *kind, text in buf or *s. */
static int src_next(struct src *s, char *buf, size_t cap, const char **out, size_t *len, int *kind, const char **why)
{
	const struct pq_col *c = s->c;
	*out = buf;
	if (s->enc == 1) {
		uint32_t i = s->idx[s->k++];
		if (i >= s->dict->n) {
			*why = "a dictionary index beyond the dictionary";
			return -1;
		}
		*kind = s->dict->kind[i];
		*out = s->dict->a + s->dict->off[i];
		*len = s->dict->len[i];
		return 0;
	}
	if (s->enc == 2 || (s->enc == 0 && c->type == T_BOOLEAN)) {
		int b;
		if (s->enc == 2) {
			b = s->idx[s->k++] != 0;
		} else {
			if ((s->bit >> 3) >= (uint64_t)(s->end - s->p)) {
				*why = "PLAIN booleans end early";
				return -1;
			}
			b = (s->p[s->bit >> 3] >> (s->bit & 7)) & 1;
			s->bit++;
		}
		*out = b ? "true" : "false";
		*len = b ? 4 : 5;
		*kind = FERRY_PQ_BOOL;
		return 0;
	}
	if (s->enc == 3) {
		*kind = fmt_int(c, s->ints[s->k++], buf, cap, len);
		return 0;
	}
	if (s->enc == 4 || s->enc == 5) {
		int64_t pre = s->enc == 5 ? s->ints[s->k] : 0, n = s->enc == 5 ? s->ints2[s->k] : s->ints[s->k];
		s->k++;
		if (pre < 0 || n < 0 || (uint64_t)pre > s->prevlen || (uint64_t)n > (uint64_t)(s->end - s->p)) {
			*why = "a delta-encoded byte array longer than its data";
			return -1;
		}
		if (s->enc == 4) {
			const uint8_t *v = s->p;
			s->p += n;
			return bytes_value(c, v, (size_t)n, buf, cap, out, len, kind, why);
		}
		size_t need = (size_t)pre + (size_t)n;
		if (need > s->prevcap) {
			uint8_t *b = realloc(s->prev, need);
			if (!b) {
				*why = "out of memory";
				return -1;
			}
			s->prev = b;
			s->prevcap = need;
		}
		memcpy(s->prev + pre, s->p, (size_t)n);
		s->p += n;
		s->prevlen = need;
		return bytes_value(c, s->prev, need, buf, cap, out, len, kind, why);
	}
	if (s->enc == 6) { /* byte k of value i is at k * n + i */
		size_t w = (size_t)(s->prevcap), i = s->k++;
		for (size_t b = 0; b < w; b++)
			s->prev[b] = s->p[b * s->n + i];
		struct src one = { .c = c, .enc = 0, .p = s->prev, .end = s->prev + w };
		return src_next(&one, buf, cap, out, len, kind, why);
	}
	size_t avail = (size_t)(s->end - s->p);
	switch (c->type) {
	case T_INT32:
		if (avail < 4)
			goto short_;
		*kind = fmt_int(c, (int32_t)(uint32_t)le(s->p, 4), buf, cap, len);
		s->p += 4;
		return 0;
	case T_INT64:
		if (avail < 8)
			goto short_;
		*kind = fmt_int(c, (int64_t)le(s->p, 8), buf, cap, len);
		s->p += 8;
		return 0;
	case T_INT96: { /* nanoseconds of the day, then the Julian day */
		if (avail < 12)
			goto short_;
		uint64_t ns = le(s->p, 8);
		int64_t jd = (int32_t)(uint32_t)le(s->p + 8, 4);
		s->p += 12;
		if (ns >= 86400ull * 1000000000ull) {
			*why = "an INT96 timestamp with more nanoseconds than a day";
			return -1;
		}
		int64_t days = jd - 2440588;
		if (days > 106750 || days < -106750) { /* keep it in int64 nanoseconds */
			*why = "an INT96 timestamp out of range";
			return -1;
		}
		*len = fmt_ts(buf, cap, days * 86400 * 1000000000 + (int64_t)ns, 9);
		*kind = FERRY_PQ_DT;
		return 0;
	}
	case T_FLOAT: {
		if (avail < 4)
			goto short_;
		uint32_t u = (uint32_t)le(s->p, 4);
		float f;
		memcpy(&f, &u, 4);
		s->p += 4;
		*len = fmt_real(buf, cap, f, 1);
		*kind = FERRY_PQ_FLOAT;
		return 0;
	}
	case T_DOUBLE: {
		if (avail < 8)
			goto short_;
		uint64_t u = le(s->p, 8);
		double d;
		memcpy(&d, &u, 8);
		s->p += 8;
		*len = fmt_real(buf, cap, d, 0);
		*kind = FERRY_PQ_FLOAT;
		return 0;
	}
	case T_BYTE_ARRAY:
	case T_FIXED: {
		size_t n;
		if (c->type == T_FIXED) {
			n = (size_t)c->type_length;
		} else {
			if (avail < 4)
				goto short_;
			n = (size_t)le(s->p, 4);
			s->p += 4;
			avail -= 4;
		}
		if (n > avail)
			goto short_;
		const uint8_t *v = s->p;
		s->p += n;
		return bytes_value(c, v, n, buf, cap, out, len, kind, why);
	}
	}
	*why = "an unknown physical type";
	return -1;
short_:
	*why = "PLAIN values end early";
	return -1;
}

static uint8_t *decompress(struct ferry_pq *q, const struct pq_col *col, int codec, const uint8_t *src, size_t clen,
			   size_t ulen, ferry_err *err)
{
	static const char *const names[] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW" };
	if (ulen > MAX_PAGE) {
		bad(err, q, "column '%s': a page of %zu bytes (ferry reads pages of at most %u MiB)", col->name, ulen,
		    MAX_PAGE >> 20);
		return NULL;
	}
	uint8_t *dst = malloc(ulen ? ulen : 1);
	if (!dst) {
		oom(err);
		return NULL;
	}
	const char *why = NULL;
	switch (codec) {
	case 0:
		if (clen != ulen)
			why = "its compressed and uncompressed sizes differ";
		else
			memcpy(dst, src, ulen);
		break;
	case 1: {
		size_t n;
		if (snappy_uncompressed_length((const char *)src, clen, &n) != SNAPPY_OK || n != ulen)
			why = "snappy data of the wrong length";
		else if (snappy_uncompress((const char *)src, clen, (char *)dst, &n) != SNAPPY_OK || n != ulen)
			why = "corrupt snappy data";
		break;
	}
	case 2: {
		z_stream z;
		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, 15 + 32) != Z_OK) {
			why = "zlib failed to start";
			break;
		}
		z.next_in = (Bytef *)src;
		z.avail_in = (uInt)clen;
		z.next_out = dst;
		z.avail_out = (uInt)ulen;
		int zr = inflate(&z, Z_FINISH);
		if (zr != Z_STREAM_END || z.total_out != ulen)
			why = "corrupt gzip data or the wrong length";
		inflateEnd(&z);
		break;
	}
	case 6: {
		size_t n = ZSTD_decompress(dst, ulen, src, clen);
		if (ZSTD_isError(n) || n != ulen)
			why = "corrupt zstd data or the wrong length";
		break;
	}
	default:
		free(dst);
		if (codec >= 0 && codec < 8)
			bad(err, q, "column '%s' is compressed with %s; ferry reads UNCOMPRESSED, SNAPPY, GZIP and ZSTD",
			    col->name, names[codec]);
		else
			bad(err, q, "column '%s': unknown compression codec %d", col->name, codec);
		return NULL;
	}
	if (why) {
		free(dst);
		bad(err, q, "column '%s': %s", col->name, why);
		return NULL;
	}
	return dst;
}

/* DELTA_BINARY_PACKED: n values into out. With `used`, the data must hold
 * exactly n values and *used gets the bytes they take. */
static int delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, int bits, size_t *used,
			const char **why)
{
	struct ferry_thrift t;
	ferry_thrift_init(&t, p, len);
	uint64_t bsize, nmini, total, first;
	if (ferry_thrift_varint(&t, &bsize) < 0 || ferry_thrift_varint(&t, &nmini) < 0 ||
	    ferry_thrift_varint(&t, &total) < 0 || ferry_thrift_varint(&t, &first) < 0)
		goto short_;
	if (!bsize || bsize % 128 || !nmini || bsize % nmini || (bsize / nmini) % 32 || bsize > (1u << 20)) {
		*why = "a DELTA_BINARY_PACKED header with bad block sizes";
		return -1;
	}
	if (total < n || (used && total != n)) {
		*why = "DELTA_BINARY_PACKED holds another number of values than the page";
		return -1;
	}
	uint64_t cur = (first >> 1) ^ -(first & 1);
	size_t k = 0;
	if (n)
		out[k++] = bits == 32 ? (int32_t)(uint32_t)cur : (int64_t)cur;
	uint64_t vpm = bsize / nmini;
	while (k < n) {
		uint64_t mdz;
		if (ferry_thrift_varint(&t, &mdz) < 0)
			goto short_;
		uint64_t mind = (mdz >> 1) ^ -(mdz & 1);
		if ((uint64_t)(t.end - t.p) < nmini)
			goto short_;
		const uint8_t *widths = t.p;
		t.p += nmini;
		for (uint64_t m = 0; m < nmini && k < n; m++) {
			int w = widths[m];
			if (w > 64) {
				*why = "a DELTA_BINARY_PACKED bit width above 64";
				return -1;
			}
			uint64_t bytes = vpm * (uint64_t)w / 8;
			if ((uint64_t)(t.end - t.p) < bytes)
				goto short_;
			uint64_t bit = 0;
			for (uint64_t j = 0; j < vpm && k < n; j++) {
				uint64_t v = 0;
				for (int b = 0; b < w; b++, bit++)
					v |= (uint64_t)((t.p[bit >> 3] >> (bit & 7)) & 1) << b;
				cur += mind + v;
				out[k++] = bits == 32 ? (int32_t)(uint32_t)cur : (int64_t)cur;
			}
			t.p += bytes;
		}
	}
	if (used)
		*used = (size_t)(t.p - p);
	return 0;
short_:
	*why = "DELTA_BINARY_PACKED data ends early";
	return -1;
}

struct page_hdr {
	int type;
	int32_t usize, csize;
	int32_t nvalues, enc, def_enc, rep_enc, nnulls, nrows, def_len, rep_len;
	int compressed;
};

static int page_header(struct ferry_thrift *t, struct page_hdr *h)
{
	int id, ty, r;
	memset(h, 0, sizeof(*h));
	h->type = -1;
	h->compressed = 1;
	TH(ferry_thrift_begin(t));
	while ((r = ferry_thrift_field(t, &id, &ty)) == 1) {
		int32_t v;
		if (id == 1) {
			TH(ferry_thrift_i32(t, ty, &v));
			h->type = v;
		} else if (id == 2) {
			TH(ferry_thrift_i32(t, ty, &h->usize));
		} else if (id == 3) {
			TH(ferry_thrift_i32(t, ty, &h->csize));
		} else if ((id == 5 || id == 7 || id == 8) && ty == FERRY_TT_STRUCT) {
			int sid, sty, sr;
			TH(ferry_thrift_begin(t));
			while ((sr = ferry_thrift_field(t, &sid, &sty)) == 1) {
				int32_t *dst = NULL;
				if (sid == 1)
					dst = &h->nvalues;
				else if (id == 5 && sid == 2)
					dst = &h->enc;
				else if (id == 5 && sid == 3)
					dst = &h->def_enc;
				else if (id == 5 && sid == 4)
					dst = &h->rep_enc;
				else if (id == 7 && sid == 2)
					dst = &h->enc;
				else if (id == 8 && sid == 2)
					dst = &h->nnulls;
				else if (id == 8 && sid == 3)
					dst = &h->nrows;
				else if (id == 8 && sid == 4)
					dst = &h->enc;
				else if (id == 8 && sid == 5)
					dst = &h->def_len;
				else if (id == 8 && sid == 6)
					dst = &h->rep_len;
				if (dst) {
					TH(ferry_thrift_i32(t, sty, dst));
				} else if (id == 8 && sid == 7) {
					TH(ferry_thrift_bool(t, sty, &h->compressed));
				} else {
					TH(ferry_thrift_skip(t, sty));
				}
			}
			TH(sr);
		} else {
			TH(ferry_thrift_skip(t, ty));
		}
	}
	return r;
}

static const char *type_name(int t)
{
	static const char *const n[] = { "BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
					  "FIXED_LEN_BYTE_ARRAY" };
	return t >= 0 && t <= T_FIXED ? n[t] : "an unknown type";
}

static const char *enc_name(int e)
{
	static const char *const n[] = { "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
					  "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
					  "RLE_DICTIONARY", "BYTE_STREAM_SPLIT" };
	return e >= 0 && e < 10 ? n[e] : "an unknown encoding";
}

/* Values of one data page (levels + values in [p, end)) appended to out. */
static int level_bits(int max)
{
	int b = 0;
	while (max >> b)
		b++;
	return b;
}

/* Values of one data page (repetition levels in [rl, rl+rllen), definition
 * levels in [lv, lv+lvlen), values in [p, end)) appended to out. */
static int data_page(struct ferry_pq *q, const struct pq_col *c, const struct page_hdr *h, const uint8_t *rl,
		     size_t rllen, const uint8_t *lv, size_t lvlen, const uint8_t *p, size_t len,
		     const struct cvals *dict, struct cvals *out, ferry_err *err)
{
	size_t n = (size_t)h->nvalues;
	uint32_t *def = NULL, *idx = NULL, *rep = NULL;
	int64_t *ints = NULL, *ints2 = NULL;
	struct src s = { .c = c, .p = p, .end = p + len, .dict = dict };
	const char *why = NULL;
	int rc = -1;
	size_t nnon = n;
	if (c->max_def > 0) {
		if (!(def = malloc((n ? n : 1) * sizeof(*def))))
			return oom(err);
		if (ferry_pq_rle_decode(lv, lvlen, level_bits(c->max_def), def, n, &why) < 0)
			goto bad_;
		nnon = 0;
		for (size_t i = 0; i < n; i++) {
			if (def[i] > (uint32_t)c->max_def) {
				why = "a definition level above the column's maximum";
				goto bad_;
			}
			nnon += def[i] == (uint32_t)c->max_def;
		}
	}
	if (c->max_rep > 0) {
		if (!(rep = malloc((n ? n : 1) * sizeof(*rep)))) {
			rc = oom(err);
			goto out;
		}
		if (ferry_pq_rle_decode(rl, rllen, level_bits(c->max_rep), rep, n, &why) < 0)
			goto bad_;
		for (size_t i = 0; i < n; i++)
			if (rep[i] > (uint32_t)c->max_rep || (i == 0 && out->n == 0 && rep[i])) {
				why = "a repetition level above the column's maximum, or a first value that repeats";
				goto bad_;
			}
	}
	if (h->enc == 0) {
		s.enc = 0;
	} else if (h->enc == 2 || h->enc == 8) {
		if (!dict) {
			why = "a dictionary-encoded page without a dictionary page";
			goto bad_;
		}
		if (len < 1) {
			why = "a dictionary-encoded page without its bit width";
			goto bad_;
		}
		s.enc = 1;
		if (!(idx = malloc((nnon ? nnon : 1) * sizeof(*idx)))) {
			rc = oom(err);
			goto out;
		}
		if (ferry_pq_rle_decode(p + 1, len - 1, p[0], idx, nnon, &why) < 0)
			goto bad_;
	} else if (h->enc == 3 && c->type == T_BOOLEAN) {
		if (len < 4 || le(p, 4) > len - 4) {
			why = "RLE booleans with a bad length";
			goto bad_;
		}
		s.enc = 2;
		if (!(idx = malloc((nnon ? nnon : 1) * sizeof(*idx)))) {
			rc = oom(err);
			goto out;
		}
		if (ferry_pq_rle_decode(p + 4, (size_t)le(p, 4), 1, idx, nnon, &why) < 0)
			goto bad_;
	} else if (h->enc == 5 && (c->type == T_INT32 || c->type == T_INT64)) {
		s.enc = 3;
		if (!(ints = malloc((nnon ? nnon : 1) * sizeof(*ints)))) {
			rc = oom(err);
			goto out;
		}
		if (delta_decode(p, len, ints, nnon, c->type == T_INT32 ? 32 : 64, NULL, &why) < 0)
			goto bad_;
	} else if ((h->enc == 6 && c->type == T_BYTE_ARRAY) ||
		   (h->enc == 7 && (c->type == T_BYTE_ARRAY || c->type == T_FIXED))) {
		size_t used = 0, used2 = 0;
		s.enc = h->enc == 6 ? 4 : 5;
		if (!(ints = malloc((nnon ? nnon : 1) * sizeof(*ints))) ||
		    (h->enc == 7 && !(ints2 = malloc((nnon ? nnon : 1) * sizeof(*ints2))))) {
			rc = oom(err);
			goto out;
		}
		if (delta_decode(p, len, ints, nnon, 64, &used, &why) < 0 ||
		    (h->enc == 7 && delta_decode(p + used, len - used, ints2, nnon, 64, &used2, &why) < 0))
			goto bad_;
		s.p = p + used + used2;
	} else if (h->enc == 9 && c->type != T_BOOLEAN && c->type != T_BYTE_ARRAY && c->type != T_INT96) {
		size_t w = c->type == T_INT32 || c->type == T_FLOAT ? 4 : c->type == T_FIXED ? (size_t)c->type_length : 8;
		if (nnon > len / w) {
			why = "BYTE_STREAM_SPLIT values end early";
			goto bad_;
		}
		s.enc = 6;
		s.n = nnon;
		if (!(s.prev = malloc(w))) {
			rc = oom(err);
			goto out;
		}
		s.prevcap = w;
	} else {
		rc = bad(err, q, "column '%s': encoding %s is not supported for %s (ferry reads PLAIN, dictionary, RLE, "
				 "the DELTA encodings and BYTE_STREAM_SPLIT)",
			 c->name, enc_name(h->enc), type_name(c->type));
		goto out;
	}
	s.idx = idx;
	s.ints = ints;
	s.ints2 = ints2;
	for (size_t i = 0; i < n; i++) {
		char buf[128];
		const char *v = NULL;
		size_t vl = 0;
		int kind = FERRY_PQ_NULL, r;
		if (!def || def[i] == (uint32_t)c->max_def) {
			if (src_next(&s, buf, sizeof(buf), &v, &vl, &kind, &why) < 0)
				goto bad_;
		}
		if ((r = cv_push(out, kind, v, vl, def ? (int)def[i] : 0, rep ? (int)rep[i] : 0)) < 0) {
			rc = r == -2 ? bad(err, q, "column '%s': more than %u MiB of text in one row group", c->name,
					   MAX_TEXT >> 20)
				     : oom(err);
			goto out;
		}
	}
	rc = 0;
	goto out;
bad_:
	rc = bad(err, q, "column '%s': %s", c->name, why);
out:
	free(def);
	free(rep);
	free(idx);
	free(ints);
	free(ints2);
	free(s.prev);
	return rc;
}

/* Decode column chunk `ci` of a row group into `out`: nrows values (a flat
 * column), or the chunk's num_values level entries (a repeated leaf). */
static int read_chunk(struct ferry_pq *q, size_t ci, const struct pq_chunk *ch, int64_t nrows, struct cvals *out,
		      ferry_err *err)
{
	const struct pq_col *c = &q->cols[ci];
	int64_t start = ch->dict_off > 0 && ch->dict_off < ch->data_off ? ch->dict_off : ch->data_off;
	if (start < 4 || ch->size <= 0 || (uint64_t)start > q->size || (uint64_t)ch->size > q->size - (uint64_t)start)
		return bad(err, q, "column '%s': a column chunk of %" PRId64 " bytes at %" PRId64
				   " does not lie in the file's %" PRIu64 " bytes",
			   c->name, ch->size, start, q->size);
	uint8_t *buf = fetch(q, (uint64_t)start, (uint64_t)ch->size, err);
	if (!buf)
		return -1;
	struct cvals dict = { 0 };
	int have_dict = 0, rc = -1;
	size_t pos = 0, len = (size_t)ch->size;
	if (c->max_rep > 0) {
		if (ch->nvalues < nrows || ch->nvalues > (int64_t)FERRY_PQ_MAX_GROUP_ROWS * 4) {
			free(buf);
			return bad(err, q, "column '%s': %" PRId64 " values in a row group of %" PRId64 " rows", c->name,
				   ch->nvalues, nrows);
		}
		nrows = ch->nvalues;
	}
	while ((int64_t)out->n < nrows) {
		if (pos >= len) {
			rc = bad(err, q, "column '%s' has %zu values, its row group %" PRId64 " rows", c->name, out->n, nrows);
			goto out;
		}
		struct ferry_thrift t;
		struct page_hdr h;
		ferry_thrift_init(&t, buf + pos, len - pos);
		if (page_header(&t, &h) < 0) {
			rc = bad(err, q, "column '%s': a page header: %s", c->name, t.why ? t.why : "malformed");
			goto out;
		}
		pos = (size_t)(t.p - buf);
		if (h.csize < 0 || h.usize < 0 || (size_t)h.csize > len - pos) {
			rc = bad(err, q, "column '%s': a page of %d bytes beyond its column chunk", c->name, h.csize);
			goto out;
		}
		const uint8_t *pg = buf + pos;
		pos += (size_t)h.csize;
		if (h.type == 2) { /* dictionary */
			if (have_dict) {
				rc = bad(err, q, "column '%s': two dictionary pages", c->name);
				goto out;
			}
			if (h.enc != 0 && h.enc != 2) {
				rc = bad(err, q, "column '%s': a dictionary page in %s", c->name, enc_name(h.enc));
				goto out;
			}
			uint8_t *u = decompress(q, c, ch->codec, pg, (size_t)h.csize, (size_t)h.usize, err);
			if (!u)
				goto out;
			struct page_hdr ph = h;
			ph.enc = 0;
			struct pq_col nc = *c;
			nc.optional = nc.max_def = nc.max_rep = 0;
			if (h.nvalues < 0 || (size_t)h.nvalues > (size_t)h.usize * 8 + 8) {
				free(u);
				rc = bad(err, q, "column '%s': a dictionary of %d values in %d bytes", c->name, h.nvalues, h.usize);
				goto out;
			}
			rc = data_page(q, &nc, &ph, NULL, 0, NULL, 0, u, (size_t)h.usize, NULL, &dict, err);
			free(u);
			if (rc < 0)
				goto out;
			rc = -1;
			have_dict = 1;
		} else if (h.type == 0 || h.type == 3) {
			if (h.nvalues < 0 || (int64_t)h.nvalues > nrows - (int64_t)out->n) {
				rc = bad(err, q, "column '%s': a page of %d values, more than its row group's rows", c->name,
					 h.nvalues);
				goto out;
			}
			uint8_t *u;
			const uint8_t *lv = NULL, *rl = NULL, *vals;
			size_t lvlen = 0, rllen = 0, vlen;
			if (h.type == 0) {
				u = decompress(q, c, ch->codec, pg, (size_t)h.csize, (size_t)h.usize, err);
				if (!u)
					goto out;
				vals = u;
				vlen = (size_t)h.usize;
				if (c->max_rep > 0) {
					if (h.rep_enc != 3 || vlen < 4 || le(u, 4) > vlen - 4) {
						free(u);
						rc = bad(err, q, "column '%s': repetition levels not in RLE or longer than "
								 "their page",
							 c->name);
						goto out;
					}
					rl = u + 4;
					rllen = (size_t)le(u, 4);
					vals = rl + rllen;
					vlen -= 4 + rllen;
				}
				if (c->max_def > 0) {
					if (h.def_enc != 3) {
						free(u);
						rc = bad(err, q, "column '%s': definition levels in %s", c->name,
							 enc_name(h.def_enc));
						goto out;
					}
					if (vlen < 4 || le(vals, 4) > vlen - 4) {
						free(u);
						rc = bad(err, q, "column '%s': definition levels longer than their page",
							 c->name);
						goto out;
					}
					lv = vals + 4;
					lvlen = (size_t)le(vals, 4);
					vals = lv + lvlen;
					vlen -= 4 + lvlen;
				}
			} else {
				if (h.rep_len < 0 || (size_t)h.rep_len > (size_t)h.csize || (!c->max_rep && h.rep_len) ||
				    h.def_len < 0 || (size_t)h.def_len > (size_t)h.csize - (size_t)h.rep_len ||
				    (!c->max_def && h.def_len)) {
					rc = bad(err, q, "column '%s': a v2 page's level lengths are wrong", c->name);
					goto out;
				}
				rl = pg;
				rllen = (size_t)h.rep_len;
				lv = pg + rllen;
				lvlen = (size_t)h.def_len;
				size_t levels = rllen + lvlen, clen = (size_t)h.csize - levels;
				if ((size_t)h.usize < levels) {
					rc = bad(err, q, "column '%s': a v2 page smaller than its levels", c->name);
					goto out;
				}
				u = decompress(q, c, h.compressed ? ch->codec : 0, pg + levels, clen,
					       (size_t)h.usize - levels, err);
				if (!u)
					goto out;
				vals = u;
				vlen = (size_t)h.usize - levels;
			}
			rc = data_page(q, c, &h, rl, rllen, lv, lvlen, vals, vlen, have_dict ? &dict : NULL, out, err);
			free(u);
			if (rc < 0)
				goto out;
			rc = -1;
		}
		/* index pages and unknown page types are skipped */
	}
	rc = 0;
out:
	cv_free(&dict);
	free(buf);
	return rc;
}

int ferry_pq_read(struct ferry_pq *q, const unsigned char *want, ferry_pq_row_fn fn, void *arg, ferry_err *err)
{
	struct cvals *cv = calloc(q->ncols ? q->ncols : 1, sizeof(*cv));
	struct ferry_pq_val *v = calloc(q->ncols ? q->ncols : 1, sizeof(*v));
	uint64_t rowno = 0;
	int rc = 0;
	if (!cv || !v) {
		free(cv);
		free(v);
		return oom(err);
	}
	for (size_t i = 0; rc == 0 && i < q->ncols; i++)
		if ((!want || want[i]) && q->cols[i].max_rep > 0)
			rc = bad(err, q, "column '%s' is repeated: ferry reads flat columns only", q->cols[i].name);
	for (size_t g = 0; rc == 0 && g < q->nrgs; g++) {
		const struct pq_rg *rg = &q->rgs[g];
		for (size_t i = 0; rc == 0 && i < q->ncols; i++) {
			cv_free(&cv[i]);
			if (!want || want[i])
				rc = read_chunk(q, i, &rg->ch[i], rg->nrows, &cv[i], err);
		}
		for (int64_t r = 0; rc == 0 && r < rg->nrows; r++) {
			for (size_t i = 0; i < q->ncols; i++) {
				if ((want && !want[i]) || cv[i].kind[r] == FERRY_PQ_NULL) {
					v[i] = (struct ferry_pq_val){ FERRY_PQ_NULL, NULL, 0 };
					continue;
				}
				v[i] = (struct ferry_pq_val){ cv[i].kind[r], cv[i].a + cv[i].off[r], cv[i].len[r] };
			}
			rc = fn(arg, v, rowno++);
		}
	}
	for (size_t i = 0; i < q->ncols; i++)
		cv_free(&cv[i]);
	free(cv);
	free(v);
	return rc;
}

int ferry_pq_open_buffer(const void *data, size_t len, const char *label, struct ferry_pq **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_pq *q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(label)) || !(q->label = strdup(label))) {
		pq_free(q);
		return oom(err);
	}
	q->mem = data;
	q->size = len;
	if (open_common(q, err) < 0) {
		pq_free(q);
		return -1;
	}
	*out = q;
	return 0;
}

int ferry_pq_decode_buffer(const void *data, size_t len, const char *label, ferry_pq_row_fn fn, void *arg,
			   ferry_err *err)
{
	struct ferry_pq *q;
	if (ferry_pq_open_buffer(data, len, label, &q, err) < 0)
		return -1;
	int rc = ferry_pq_read(q, NULL, fn, arg, err);
	ferry_pq_close(q);
	return rc;
}
