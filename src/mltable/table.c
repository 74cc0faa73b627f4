/*
 * table.c — evaluating an MLTable as a table, one row at a time
 * (ferry_mltable_export; see mltable.h).
 *
 * The shape is a push pipeline: each file of the file set is streamed from
 * its store (store read -> transcoding -> csv.c or a JSON-lines splitter;
 * read_parquet: parquet.c's ranged reads of the footer and of the column
 * chunks a later stage needs, one row group at a time; read_delta_lake: the
 * same over the live files that delta.c finds, with the partition columns
 * from the log),
 * every record becomes a row, and the row passes through one stage per
 * transformation after the read_* (take, skip, take_random_sample, filter,
 * keep/drop_columns, convert_column_types, extract_columns_from_partition_format)
 * to a writer (CSV, JSON lines, the schema, or a caller's row sink: the C
 * API streams typed rows to Python this way). Nothing holds more than one
 * row, except type inference for JSON lines and the schema, which holds the
 * first 200 rows (INFER_ROWS) before writing. A `take` that is used up, or
 * the row limit of `head`, stops the reads at once, so `take: 1` on a huge
 * table reads one buffer.
 *
 * Values keep their text as read; a value's kind says how to write it:
 * TEXT (untyped, from CSV: inferred per column), STR, INT, FLOAT, BOOL, DT
 * (after convert_column_types or from JSON), NULL. Row values live in one
 * arena per row, addressed by offsets so the arena can grow.
 */
#include "mltable/mltable.h"
#include "mltable/csv.h"
#include "mltable/delta.h"
#include "mltable/parquet.h"
#include "mltable/pqwrite.h"
#include "core/log.h"
#include "mltable/prng.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define INFER_ROWS 200

enum { K_NULL, K_TEXT, K_STR, K_INT, K_FLOAT, K_BOOL, K_DT };

struct val {
	int k;
	size_t off, len;
};

struct row {
	struct val *v;
	size_t n, cap;
	char *a;
	size_t used, acap;
	const struct ferry_mlt_file *file;
	uint64_t line;
};

struct stage {
	const struct ferry_mlt_step *s;
	uint64_t count;
	struct ferry_prng prng;
	size_t *map, nmap;      /* keep/drop: output column i is input column map[i] */
	int *conv;              /* convert: per input column, index in s->convs or -1 */
	size_t nin;             /* number of input columns */
	char **pnames, **pfmts; /* partition: added columns and their formats (NULL: text) */
	size_t np;
	char **cols;            /* output column names (owned) */
	size_t ncols;
};

struct table {
	struct ferry_ctx *ctx;
	struct ferry_mltable *m;
	const struct ferry_mlt_step *read;
	struct ferry_mlt_files files;
	struct stage *st;
	size_t nst;
	int ready;              /* stages built */
	char **cols0;           /* the read step's columns */
	size_t ncols0;
	size_t nfilecols;       /* columns from the file (before Path) */
	enum ferry_mlt_format fmt;
	FILE *out;
	uint64_t max_rows, written;
	int header_written;
	struct row *buf;        /* inference buffer */
	size_t nbuf;
	int *types;             /* final column types, once inferred */
	int inferring;
	ferry_err *err;
	struct row r, tmp;
	/* the file being read */
	const struct ferry_mlt_file *file;
	size_t file_index;
	int header_done;        /* this file's header record was consumed */
	size_t *fmap;           /* all_files_different_headers: file column -> table column */
	size_t nfmap;           /* (read_parquet: the file's columns, mapped by pqmap) */
	char label[1200];
	int enc_first;          /* first chunk of the file (BOM check) */
	char *conv;             /* transcoding buffer */
	size_t convcap;
	uint64_t enc_line;
	struct ferry_csv *csv;  /* read_delimited */
	/* JSON lines */
	char *jl;
	size_t jlen, jcap;
	uint64_t jline;
	int stop;               /* take/head satisfied */
	int fileset;            /* the table of a file set (one row per file) */
	char **filter_cols;     /* build_stages: the columns a filter sees */
	size_t filter_ncols;
	const char *missing;
	char **jkeys;           /* JSON: each column's "name": */
	size_t *jkeylen, njkeys;
	size_t *pqmap;          /* read_parquet: file column -> table column (SIZE_MAX: none) */
	unsigned char *pqwant;  /* read_parquet: the file columns to fetch */
	struct ferry_pqw *pqw;  /* --to parquet, once the types are known */
	int pqfail;             /* the Parquet writer failed: t->err says why */
	struct ferry_delta delta; /* read_delta_lake: schema, partition values */
	size_t *dpart;          /* read_delta_lake: partition column j -> table column */
	char *ob;               /* output buffer (OB_CAP) */
	size_t on;
	int oerr;               /* errno of a failed write */
	const struct ferry_mlt_sink *sink; /* FERRY_MLT_ROWS: where rows go */
	struct ferry_mlt_cell *cells;
	size_t ncells;
	int sinkrc;             /* the sink stopped (1) or failed (-1) */
};

/* ---- rows ---- */

static int row_reserve(struct row *r, size_t n)
{
	if (n <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 16;
	while (cap < n)
		cap *= 2;
	struct val *v = realloc(r->v, cap * sizeof(*v));
	if (!v)
		return -1;
	r->v = v;
	r->cap = cap;
	return 0;
}

/* Copy `len` bytes (+NUL) into the arena; returns the offset or (size_t)-1. */
static size_t arena_put(struct row *r, const char *s, size_t len)
{
	if (r->used + len + 1 > r->acap) {
		size_t cap = r->acap ? r->acap : 1024;
		while (cap < r->used + len + 1)
			cap *= 2;
		char *a = realloc(r->a, cap);
		if (!a)
			return (size_t)-1;
		r->a = a;
		r->acap = cap;
	}
	size_t off = r->used;
	memcpy(r->a + off, s, len);
	r->a[off + len] = '\0';
	r->used += len + 1;
	return off;
}

static int set_val(struct row *r, size_t i, int k, const char *s, size_t len)
{
	if (k == K_NULL) {
		r->v[i] = (struct val){ K_NULL, 0, 0 };
		return 0;
	}
	size_t off = arena_put(r, s, len);
	if (off == (size_t)-1)
		return -1;
	r->v[i] = (struct val){ k, off, len };
	return 0;
}

static const char *vtext(const struct row *r, size_t i)
{
	return r->v[i].k == K_NULL ? NULL : r->a + r->v[i].off;
}

static void row_free(struct row *r)
{
	free(r->v);
	free(r->a);
	memset(r, 0, sizeof(*r));
}

static int row_copy(struct row *dst, const struct row *src)
{
	memset(dst, 0, sizeof(*dst));
	if (row_reserve(dst, src->n ? src->n : 1) < 0 || !(dst->a = malloc(src->used ? src->used : 1)))
		return -1;
	memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	memcpy(dst->a, src->a, src->used);
	dst->n = src->n;
	dst->used = dst->acap = src->used ? src->used : 1;
	dst->file = src->file;
	dst->line = src->line;
	return 0;
}

static int oom(struct table *t)
{
	return ferry_err_set(t->err, FERRY_E_IO, "out of memory");
}

/* ---- value parsing ---- */

/* JSON-number integer: -?(0|[1-9][0-9]*), fits in 64 bits */
static int is_int(const char *s, size_t len)
{
	size_t i = s[0] == '-';
	if (i >= len || len - i > 19)
		return 0;
	if (s[i] == '0' && len - i > 1)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* JSON-number grammar (so it can be written unquoted). */
static int is_number(const char *s, size_t len)
{
	size_t i = 0;
	if (i < len && s[i] == '-')
		i++;
	if (i >= len || !isdigit((unsigned char)s[i]))
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return 0;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return 0;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	return i == len;
}

static int bool_text(const char *s, int *b)
{
	if (!strcasecmp(s, "true")) {
		*b = 1;
		return 1;
	}
	if (!strcasecmp(s, "false")) {
		*b = 0;
		return 1;
	}
	return 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* ---- schema helpers ---- */

static char **dup_cols(char *const *c, size_t n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(c[i])))
			return NULL; /* leak on OOM is acceptable: the evaluation ends */
	return v;
}

static void free_cols(char **c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i]);
	free(c);
}

static long col_index(char *const *cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cols[i], name))
			return (long)i;
	return -1;
}

static int no_column(struct table *t, const struct ferry_mlt_step *s, const char *name, char *const *cols, size_t n)
{
	char list[600] = "";
	for (size_t i = 0; i < n && strlen(list) < sizeof(list) - 80; i++) {
		if (i)
			strcat(list, ", ");
		strncat(list, cols[i], 60);
	}
	return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%d: %s: no column '%s' (columns: %s)",
			     ferry_mlt_step_label(t->m, s), s->line,
			     s->name, name, list);
}

/* Parse a partition format into column names and per-column formats. */
static int partition_cols(struct table *t, struct stage *g)
{
	const char *p = g->s->text;
	while ((p = strchr(p, '{'))) {
		const char *e = strchr(p, '}');
		if (!e)
			return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%d: %s: '{' without '}' in '%s'",
					     ferry_mlt_step_label(t->m, g->s), g->s->line, g->s->name, g->s->text);
		char *spec = strndup(p + 1, (size_t)(e - p - 1));
		char **n = realloc(g->pnames, (g->np + 1) * sizeof(*n)), **f = n ? realloc(g->pfmts, (g->np + 1) * sizeof(*f)) : NULL;
		if (!spec || !n || !f) {
			free(spec);
			if (n)
				g->pnames = n;
			return oom(t);
		}
		g->pnames = n;
		g->pfmts = f;
		char *colon = strchr(spec, ':');
		f[g->np] = colon ? strdup(colon + 1) : NULL;
		if (colon)
			*colon = '\0';
		n[g->np++] = spec;
		p = e + 1;
	}
	return 0;
}

static int filter_col_ok(void *arg, const char *name)
{
	struct table *t = arg;
	if (col_index(t->filter_cols, t->filter_ncols, name) >= 0)
		return 0;
	t->missing = name;
	return -1;
}

/* Build the stages once the read step's columns are known. */
static int build_stages(struct table *t)
{
	char **cols = dup_cols(t->cols0, t->ncols0);
	size_t ncols = t->ncols0;
	int rc = 0;
	if (!cols)
		return oom(t);
	for (size_t k = 0; k < t->nst; k++) {
		struct stage *g = &t->st[k];
		const struct ferry_mlt_step *s = g->s;
		g->nin = ncols;
		ferry_prng_seed(&g->prng, s->seed);
		if (s->op == FERRY_MLT_KEEP_COLUMNS || s->op == FERRY_MLT_DROP_COLUMNS) {
			for (size_t j = 0; j < s->ncolumns; j++)
				if (col_index(cols, ncols, s->columns[j]) < 0) {
					rc = no_column(t, s, s->columns[j], cols, ncols);
					goto fail;
				}
			g->map = calloc(ncols ? ncols : 1, sizeof(*g->map));
			if (!g->map) {
				rc = oom(t);
				goto fail;
			}
			if (s->op == FERRY_MLT_KEEP_COLUMNS) { /* in the order written */
				for (size_t j = 0; j < s->ncolumns; j++)
					if (col_index(s->columns, j, s->columns[j]) < 0)
						g->map[g->nmap++] = (size_t)col_index(cols, ncols, s->columns[j]);
			} else {
				for (size_t i = 0; i < ncols; i++)
					if (col_index(s->columns, s->ncolumns, cols[i]) < 0)
						g->map[g->nmap++] = i;
			}
			char **nc = calloc(g->nmap ? g->nmap : 1, sizeof(*nc));
			if (!nc) {
				rc = oom(t);
				goto fail;
			}
			for (size_t i = 0; i < g->nmap; i++)
				nc[i] = strdup(cols[g->map[i]]);
			free_cols(cols, ncols);
			cols = nc;
			ncols = g->nmap;
		} else if (s->op == FERRY_MLT_CONVERT) {
			g->conv = malloc((ncols ? ncols : 1) * sizeof(*g->conv));
			if (!g->conv) {
				rc = oom(t);
				goto fail;
			}
			for (size_t i = 0; i < ncols; i++)
				g->conv[i] = -1;
			for (size_t c = 0; c < s->nconvs; c++)
				for (size_t j = 0; j < s->convs[c].ncolumns; j++) {
					long i = col_index(cols, ncols, s->convs[c].columns[j]);
					if (i < 0) {
						rc = no_column(t, s, s->convs[c].columns[j], cols, ncols);
						goto fail;
					}
					g->conv[i] = (int)c;
				}
		} else if (s->op == FERRY_MLT_FILTER) {
			t->filter_cols = cols;
			t->filter_ncols = ncols;
			if (ferry_mlt_expr_columns(s->expr, filter_col_ok, t) < 0) {
				rc = no_column(t, s, t->missing, cols, ncols);
				goto fail;
			}
		} else if (s->op == FERRY_MLT_PARTITION) {
			if (partition_cols(t, g) < 0) {
				rc = -1;
				goto fail;
			}
			char **nc = realloc(cols, (ncols + g->np) * sizeof(*nc));
			if (!nc) {
				rc = oom(t);
				goto fail;
			}
			cols = nc;
			for (size_t i = 0; i < g->np; i++)
				cols[ncols++] = strdup(g->pnames[i]);
		} else if (s->op != FERRY_MLT_TAKE && s->op != FERRY_MLT_SKIP && s->op != FERRY_MLT_SAMPLE &&
			   s->op != FERRY_MLT_SELECT_PARTITIONS) { /* select_partitions: applied to the files (paths.c) */
			rc = ferry_err_set(t->err, FERRY_E_INVALID,
					   "%s:%d: transformation '%s' after %s: only one read_* transformation is allowed",
					   ferry_mlt_step_label(t->m, s), s->line, s->name, t->read->name);
			goto fail;
		}
		g->cols = dup_cols(cols, ncols);
		g->ncols = ncols;
		if (!g->cols) {
			rc = oom(t);
			goto fail;
		}
	}
	free_cols(cols, ncols);
	t->ready = 1;
	return 0;
fail:
	free_cols(cols, ncols);
	return rc;
}

static char *const *out_cols(const struct table *t, size_t *n)
{
	if (t->nst) {
		*n = t->st[t->nst - 1].ncols;
		return t->st[t->nst - 1].cols;
	}
	*n = t->ncols0;
	return t->cols0;
}

/* ---- writers ----
 * Output goes through the table's own buffer (OB_CAP bytes) rather than
 * stdio's per-character calls: fields are copied in runs found with a
 * 256-entry table of the bytes that need quoting or escaping. */

#define OB_CAP (256u << 10)

static void ob_flush(struct table *t)
{
	if (t->on && fwrite(t->ob, 1, t->on, t->out) != t->on)
		t->oerr = errno ? errno : EIO;
	t->on = 0;
}

static __attribute__((noinline)) void ob_put_slow(struct table *t, const char *p, size_t n)
{
	ob_flush(t);
	if (n > OB_CAP) {
		if (fwrite(p, 1, n, t->out) != n)
			t->oerr = errno ? errno : EIO;
		return;
	}
	memcpy(t->ob, p, n);
	t->on = n;
}

static inline void ob_put(struct table *t, const char *p, size_t n)
{
	if (t->on + n > OB_CAP) {
		ob_put_slow(t, p, n);
		return;
	}
	memcpy(t->ob + t->on, p, n);
	t->on += n;
}

static inline void ob_c(struct table *t, char c)
{
	if (t->on == OB_CAP)
		ob_flush(t);
	t->ob[t->on++] = c;
}

static unsigned char json_special[256];

static void init_tables(void)
{
	for (int c = 0; c < 0x20; c++)
		json_special[c] = 1;
	json_special['"'] = json_special['\\'] = 1;
}

static void csv_field(struct table *t, const char *s, size_t len)
{
	if (!s)
		return;
	if (ferry_csv_scan4(s, s + len, ',', '"', '\r', '\n') == s + len) {
		ob_put(t, s, len);
		return;
	}
	ob_c(t, '"');
	const char *run = s;
	for (const char *q = s; q < s + len; q++)
		if (*q == '"') {
			ob_put(t, run, (size_t)(q - run) + 1);
			run = q; /* the quote again: doubled */
		}
	ob_put(t, run, (size_t)(s + len - run));
	ob_c(t, '"');
}

/* The first byte in [p, end) that JSON must escape ('"', '\\', < 0x20),
 * eight bytes at a time as in ferry_csv_scan4. */
static inline const char *json_scan(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	const uint64_t mq = '"' * ones, mb = '\\' * ones, m20 = 0x20 * ones;
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t xq = w ^ mq, xb = w ^ mb;
		uint64_t hit = (((xq - ones) & ~xq) | ((xb - ones) & ~xb) | ((w - m20) & ~w)) & highs;
		if (hit)
			return p + (__builtin_ctzll(hit) >> 3);
		p += 8;
	}
	while (p < end && !json_special[(unsigned char)*p])
		p++;
	return p;
}

static void json_str(struct table *t, const char *s, size_t len)
{
	ob_c(t, '"');
	const char *run = s, *end = s + len;
	for (const char *q = json_scan(s, end); q < end; q = json_scan(q + 1, end)) {
		unsigned char c = (unsigned char)*q;
		if (!json_special[c])
			continue; /* a false flag of the word test after a real one */
		ob_put(t, run, (size_t)(q - run));
		run = q + 1;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ob_put(t, esc, 2);
		} else if (c == '\n')
			ob_put(t, "\\n", 2);
		else if (c == '\r')
			ob_put(t, "\\r", 2);
		else if (c == '\t')
			ob_put(t, "\\t", 2);
		else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			ob_put(t, esc, 6);
		}
	}
	ob_put(t, run, (size_t)(end - run));
	ob_c(t, '"');
}

static void write_header(struct table *t)
{
	size_t n;
	char *const *c = out_cols(t, &n);
	if (t->fmt != FERRY_MLT_CSV)
		return;
	for (size_t i = 0; i < n; i++) {
		if (i)
			ob_c(t, ',');
		csv_field(t, c[i], strlen(c[i]));
	}
	ob_c(t, '\n');
}

/* The type of column i judged from value kinds (and text, for TEXT). */
static int value_type(const struct row *r, size_t i, int infer)
{
	const struct val *v = &r->v[i];
	const char *s = r->a + v->off;
	int b;
	switch (v->k) {
	case K_INT: return FERRY_MLT_T_INT;
	case K_FLOAT: return FERRY_MLT_T_FLOAT;
	case K_BOOL: return FERRY_MLT_T_BOOL;
	case K_DT: return FERRY_MLT_T_DATETIME;
	case K_STR: return FERRY_MLT_T_STRING;
	default:
		if (!infer)
			return FERRY_MLT_T_STRING;
		if (is_int(s, v->len))
			return FERRY_MLT_T_INT;
		if (is_number(s, v->len))
			return FERRY_MLT_T_FLOAT;
		if (bool_text(s, &b))
			return FERRY_MLT_T_BOOL;
		return FERRY_MLT_T_STRING;
	}
}

static void infer_types(struct table *t)
{
	size_t n;
	out_cols(t, &n);
	t->types = malloc((n ? n : 1) * sizeof(*t->types));
	if (!t->types)
		return;
	int infer = t->read->op != FERRY_MLT_READ_DELIMITED || t->read->infer_types;
	for (size_t i = 0; i < n; i++) {
		int ty = -1;
		for (size_t j = 0; j < t->nbuf; j++) {
			if (t->buf[j].v[i].k == K_NULL)
				continue;
			int x = value_type(&t->buf[j], i, infer);
			if (ty < 0)
				ty = x;
			else if (ty != x)
				ty = ((ty == FERRY_MLT_T_INT && x == FERRY_MLT_T_FLOAT) ||
				      (ty == FERRY_MLT_T_FLOAT && x == FERRY_MLT_T_INT))
					     ? FERRY_MLT_T_FLOAT
					     : FERRY_MLT_T_STRING;
		}
		t->types[i] = ty < 0 ? FERRY_MLT_T_STRING : ty;
	}
}

/* Each column's `"name":`, escaped once for the whole table. */
static int json_keys(struct table *t)
{
	size_t n;
	char *const *c = out_cols(t, &n);
	t->jkeys = calloc(n ? n : 1, sizeof(*t->jkeys));
	t->jkeylen = calloc(n ? n : 1, sizeof(*t->jkeylen));
	if (!t->jkeys || !t->jkeylen)
		return -1;
	t->njkeys = n;
	for (size_t i = 0; i < n; i++) {
		/* render into the (flushed) output buffer, then take it back out */
		ob_flush(t);
		json_str(t, c[i], strlen(c[i]));
		ob_c(t, ':');
		if (!(t->jkeys[i] = strndup(t->ob, t->on)))
			return -1;
		t->jkeylen[i] = t->on;
		t->on = 0;
	}
	return 0;
}

static void write_json_row(struct table *t, const struct row *r)
{
	size_t n;
	out_cols(t, &n);
	if (!t->jkeys && json_keys(t) < 0) {
		t->oerr = ENOMEM;
		return;
	}
	ob_c(t, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			ob_c(t, ',');
		ob_put(t, t->jkeys[i], t->jkeylen[i]);
		const struct val *v = &r->v[i];
		const char *s = r->a + v->off;
		int b;
		int ty = t->types ? t->types[i] : FERRY_MLT_T_STRING;
		if (v->k == K_NULL)
			ob_put(t, "null", 4);
		else if (v->k == K_INT || v->k == K_FLOAT ||
			 (v->k == K_TEXT && (ty == FERRY_MLT_T_INT || ty == FERRY_MLT_T_FLOAT) && is_number(s, v->len)))
			ob_put(t, s, v->len);
		else if ((v->k == K_BOOL || (v->k == K_TEXT && ty == FERRY_MLT_T_BOOL)) && bool_text(s, &b))
			ob_put(t, b ? "true" : "false", b ? 4 : 5);
		else
			json_str(t, s, v->len);
	}
	ob_put(t, "}\n", 2);
}

/* FERRY_MLT_ROWS: hand row r to the sink, each value with its type (a value
 * that does not fit its column's inferred type goes as the type it has). */
static void sink_row(struct table *t, const struct row *r)
{
	if (t->sinkrc)
		return;
	if (t->ncells < r->n) {
		struct ferry_mlt_cell *c = realloc(t->cells, r->n * sizeof(*c));
		if (!c) {
			t->sinkrc = oom(t);
			return;
		}
		t->cells = c;
		t->ncells = r->n;
	}
	int infer = t->read->op != FERRY_MLT_READ_DELIMITED || t->read->infer_types;
	for (size_t i = 0; i < r->n; i++) {
		const struct val *v = &r->v[i];
		int ty = t->types ? t->types[i] : FERRY_MLT_T_STRING;
		int b;
		struct ferry_mlt_cell *c = &t->cells[i];
		c->s = v->k == K_NULL ? NULL : r->a + v->off;
		c->len = v->len;
		if (v->k == K_NULL)
			c->type = -1;
		else if (v->k == K_TEXT && ty == FERRY_MLT_T_STRING)
			c->type = FERRY_MLT_T_STRING;
		else
			c->type = value_type(r, i, infer);
		if (c->type == FERRY_MLT_T_BOOL && v->k == K_TEXT && bool_text(c->s, &b)) {
			c->s = b ? "true" : "false"; /* "TRUE", "False": the sink sees one spelling */
			c->len = b ? 4 : 5;
		}
	}
	t->sinkrc = t->sink->row(t->sink->arg, t->cells, r->n, t->err);
}

/* --to parquet: the writer, with each column's type (a datetime column whose
 * buffered values are all dates is a DATE column, else timestamps). */
static void pq_writer(struct table *t)
{
	static const enum ferry_pqw_codec codecs[] = { FERRY_PQW_SNAPPY, FERRY_PQW_ZSTD, FERRY_PQW_GZIP,
						       FERRY_PQW_UNCOMPRESSED };
	size_t n;
	char *const *c = out_cols(t, &n);
	enum ferry_pqw_type *ty = malloc((n ? n : 1) * sizeof(*ty));
	if (!ty || !t->types) {
		free(ty);
		t->pqfail = 1;
		oom(t);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		switch (t->types[i]) {
		case FERRY_MLT_T_INT: ty[i] = FERRY_PQW_INT64; break;
		case FERRY_MLT_T_FLOAT: ty[i] = FERRY_PQW_DOUBLE; break;
		case FERRY_MLT_T_BOOL: ty[i] = FERRY_PQW_BOOL; break;
		case FERRY_MLT_T_DATETIME:
			ty[i] = FERRY_PQW_DATE;
			for (size_t j = 0; j < t->nbuf; j++)
				if (t->buf[j].v[i].k != K_NULL && t->buf[j].v[i].len != 10)
					ty[i] = FERRY_PQW_TS_US;
			break;
		default: ty[i] = FERRY_PQW_STRING; break;
		}
	}
	t->pqw = ferry_pqw_new(t->out, c, ty, n, codecs[t->fmt - FERRY_MLT_PARQUET], t->err);
	free(ty);
	if (!t->pqw)
		t->pqfail = 1;
}

static void write_pq_row(struct table *t, const struct row *r)
{
	if (t->pqfail)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].k != K_NULL && ferry_pqw_value(t->pqw, i, vtext(r, i), r->v[i].len, t->err) < 0) {
			ferry_err_wrap(t->err, "%s:%llu", r->file ? r->file->name : "", (unsigned long long)r->line);
			t->pqfail = 1;
			return;
		}
	if (ferry_pqw_end_row(t->pqw, t->err) < 0)
		t->pqfail = 1;
}

static void write_row(struct table *t, const struct row *r)
{
	if (t->fmt == FERRY_MLT_ROWS) {
		sink_row(t, r);
		return;
	}
	if (ferry_mlt_is_parquet(t->fmt)) {
		write_pq_row(t, r);
		return;
	}
	if (t->fmt == FERRY_MLT_JSONL) {
		write_json_row(t, r);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			ob_c(t, ',');
		csv_field(t, vtext(r, i), r->v[i].len);
	}
	ob_c(t, '\n');
}

static void flush_buffer(struct table *t)
{
	infer_types(t);
	t->inferring = 0;
	if (t->fmt == FERRY_MLT_ROWS) {
		size_t n;
		char *const *c = out_cols(t, &n);
		if (!t->types)
			t->sinkrc = oom(t);
		else
			t->sinkrc = t->sink->columns(t->sink->arg, c, t->types, n, t->err);
		for (size_t j = 0; j < t->nbuf; j++)
			write_row(t, &t->buf[j]);
	} else if (t->fmt == FERRY_MLT_SCHEMA) {
		size_t n;
		char *const *c = out_cols(t, &n);
		for (size_t i = 0; i < n; i++)
{
			ob_put(t, c[i], strlen(c[i]));
			ob_c(t, '\t');
			const char *tn = ferry_mlt_type_name(t->types ? t->types[i] : 0);
			ob_put(t, tn, strlen(tn));
			ob_c(t, '\n');
		}
	} else {
		if (ferry_mlt_is_parquet(t->fmt))
			pq_writer(t);
		for (size_t j = 0; j < t->nbuf; j++)
			write_row(t, &t->buf[j]);
	}
	for (size_t j = 0; j < t->nbuf; j++)
		row_free(&t->buf[j]);
	t->nbuf = 0;
}

/* A row that passed every stage. Returns 1 when no more rows are wanted. */
static int emit(struct table *t, const struct row *r)
{
	if (!t->header_written) {
		t->header_written = 1;
		write_header(t);
	}
	if (t->written >= t->max_rows)
		return 1;
	if (t->inferring) {
		if (row_copy(&t->buf[t->nbuf], r) < 0)
			return oom(t);
		t->nbuf++;
		t->written++;
		if (t->nbuf == INFER_ROWS) {
			flush_buffer(t);
			if (t->fmt == FERRY_MLT_SCHEMA)
				return 1;
		}
	} else {
		write_row(t, r);
		t->written++;
	}
	if (t->sinkrc)
		return t->sinkrc;
	if (t->pqfail)
		return -1;
	if (t->oerr)
		return ferry_err_set(t->err, FERRY_E_IO, "cannot write the output: %s", strerror(t->oerr));
	return t->written >= t->max_rows ? 1 : 0;
}

/* ---- stages ---- */

struct lookup_ctx {
	const struct row *r;
	char *const *cols;
	size_t n;
};

static const char *row_lookup(void *arg, const char *column, int *is_null)
{
	struct lookup_ctx *c = arg;
	long i = col_index(c->cols, c->n, column);
	if (i < 0 || c->r->v[i].k == K_NULL) {
		*is_null = 1;
		return NULL;
	}
	*is_null = 0;
	return c->r->a + c->r->v[i].off;
}

static int conv_err(struct table *t, const struct stage *g, const struct row *r, size_t col, const char *what)
{
	const char *colname = g->nin ? (g == t->st ? t->cols0[col] : g[-1].cols[col]) : "?";
	return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%llu: column '%s': '%s' is not %s (convert_column_types, %s:%d)",
			     r->file ? r->file->name : "?", (unsigned long long)r->line, colname, vtext(r, col), what,
			     ferry_mlt_step_label(t->m, g->s), g->s->line);
}

static int fmt_double(char *buf, size_t cap, double d)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eE") && strlen(buf) + 3 < cap)
		strcat(buf, ".0");
	return (int)strlen(buf);
}

static int convert_one(struct table *t, const struct stage *g, struct row *r, size_t i,
		       const struct ferry_mlt_convert *cv)
{
	if (r->v[i].k == K_NULL)
		return 0;
	const char *s0 = vtext(r, i);
	const char *s = s0;
	size_t len = r->v[i].len;
	char buf[64];
	switch (cv->type) {
	case FERRY_MLT_T_STRING:
		r->v[i].k = K_STR;
		return 0;
	case FERRY_MLT_T_INT: {
		trim(&s, &len);
		char *end;
		errno = 0;
		long long v = len ? strtoll(s, &end, 10) : 0;
		if (!len || errno || end != s + len) {
			/* "3.0" is an int; "3.5" is not */
			double d = len ? strtod(s, &end) : 0;
			if (!len || end != s + len || d != floor(d) || fabs(d) > 9.2e18)
				return conv_err(t, g, r, i, "an int");
			v = (long long)d;
		}
		int n = snprintf(buf, sizeof(buf), "%lld", v);
		return set_val(r, i, K_INT, buf, (size_t)n) < 0 ? oom(t) : 0;
	}
	case FERRY_MLT_T_FLOAT: {
		trim(&s, &len);
		char *end;
		double d = len ? strtod(s, &end) : 0;
		if (!len || end != s + len || !isfinite(d))
			return conv_err(t, g, r, i, "a float");
		int n = fmt_double(buf, sizeof(buf), d);
		return set_val(r, i, K_FLOAT, buf, (size_t)n) < 0 ? oom(t) : 0;
	}
	case FERRY_MLT_T_BOOL: {
		trim(&s, &len);
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)len, s);
		int b = -1;
		if (cv->ntrue || cv->nfalse) {
			for (size_t k = 0; k < cv->ntrue; k++)
				if (!strcmp(tmp, cv->true_values[k]))
					b = 1;
			for (size_t k = 0; b < 0 && k < cv->nfalse; k++)
				if (!strcmp(tmp, cv->false_values[k]))
					b = 0;
		} else if (!strcasecmp(tmp, "true") || !strcmp(tmp, "1") || !strcasecmp(tmp, "yes")) {
			b = 1;
		} else if (!strcasecmp(tmp, "false") || !strcmp(tmp, "0") || !strcasecmp(tmp, "no")) {
			b = 0;
		}
		if (b < 0) {
			if (cv->mismatch == 0)
				return conv_err(t, g, r, i, "a boolean");
			b = cv->mismatch == 1;
		}
		return set_val(r, i, K_BOOL, b ? "true" : "false", b ? 4 : 5) < 0 ? oom(t) : 0;
	}
	case FERRY_MLT_T_DATETIME: {
		static const char *const iso[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
						   "%Y-%m-%d %H:%M", "%Y-%m-%d" };
		const char *const *f = cv->nformats ? (const char *const *)cv->formats : iso;
		size_t nf = cv->nformats ? cv->nformats : sizeof(iso) / sizeof(iso[0]);
		trim(&s, &len);
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)len, s);
		for (size_t k = 0; k < nf; k++) {
			struct tm tm;
			memset(&tm, 0, sizeof(tm));
			const char *end = strptime(tmp, f[k], &tm);
			if (end && !*end) {
				int n = (int)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
				return set_val(r, i, K_DT, buf, (size_t)n) < 0 ? oom(t) : 0;
			}
		}
		return conv_err(t, g, r, i, "a datetime in the formats given");
	}
	}
	return 0;
}

/* Match a partition format against `rel`; fills vals (malloc'd, NULL = no
 * value) for each {column}. The format must cover whole leading segments of
 * the path ("{y}/{m}/" and "{y}/{m}" both match "2021/01/part.csv"), or all
 * of it. */
static int match_partition(const struct stage *g, const char *rel, char **vals)
{
	const char *f = g->s->text, *p = rel;
	if (*f == '/') /* Azure's form '/{Department}/{Date:yyyy/MM/dd}/data.csv' */
		f++;
	size_t col = 0;
	while (*f) {
		if (*f == '{') {
			const char *e = strchr(f, '}');
			const char *fmt = g->pfmts[col];
			const char *start = p;
			if (fmt) { /* yyyy MM dd HH mm ss and literals */
				char norm[32] = "0000-01-01T00:00:00";
				for (const char *q = fmt; *q;) {
					static const struct { const char *tok; int at, n; } toks[] = {
						{ "yyyy", 0, 4 }, { "MM", 5, 2 }, { "dd", 8, 2 }, { "HH", 11, 2 }, { "mm", 14, 2 }, { "ss", 17, 2 },
					};
					size_t k;
					for (k = 0; k < 6; k++)
						if (!strncmp(q, toks[k].tok, strlen(toks[k].tok)))
							break;
					if (k < 6) {
						for (int d = 0; d < toks[k].n; d++)
							if (!isdigit((unsigned char)p[d]))
								return 0;
						memcpy(norm + toks[k].at, p, (size_t)toks[k].n);
						p += toks[k].n;
						q += strlen(toks[k].tok);
					} else {
						if (*p != *q)
							return 0;
						p++;
						q++;
					}
				}
				vals[col] = strdup(norm);
			} else {
				char stop = e[1];
				while (*p && *p != '/' && *p != stop)
					p++;
				if (p == start)
					return 0;
				vals[col] = strndup(start, (size_t)(p - start));
			}
			col++;
			f = e + 1;
			continue;
		}
		if (*f != *p)
			return 0;
		f++;
		p++;
	}
	/* the format covers whole leading segments of the path */
	return *p == '\0' || *p == '/' || (p > rel && p[-1] == '/');
}

static int apply_partition(struct table *t, struct stage *g, struct row *r)
{
	size_t base = r->n;
	if (row_reserve(r, base + g->np) < 0)
		return oom(t);
	char **vals = calloc(g->np ? g->np : 1, sizeof(*vals));
	if (!vals)
		return oom(t);
	const char *rel = r->file ? r->file->rel : "";
	/* the path below the folder/pattern base and each shorter tail of it;
	 * then the tails of the whole path, for a format that names partition
	 * folders above the base (Azure's formats run to the end of the path) */
	int hit = 0;
	const char *full = r->file ? r->file->path : "";
	const char *name = r->file ? r->file->name : ""; /* the tree name: Azure's {account}/{container}/... */
	for (int pass = 0; pass < 3 && !hit; pass++) {
		for (const char *p = pass == 0 ? rel : pass == 1 ? full : name; p;
		     p = pass < 2 && strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
			if ((hit = match_partition(g, p, vals)))
				break;
			for (size_t i = 0; i < g->np; i++) {
				free(vals[i]);
				vals[i] = NULL;
			}
		}
	}
	int rc = 0;
	for (size_t i = 0; i < g->np; i++) {
		int k = !vals[i] ? K_NULL : g->pfmts[i] ? K_DT : K_TEXT;
		if (set_val(r, base + i, k, vals[i], vals[i] ? strlen(vals[i]) : 0) < 0)
			rc = oom(t);
		free(vals[i]);
	}
	free(vals);
	r->n = base + g->np;
	return rc;
}

/* Run row r through the stages. Returns 0 (go on), 1 (stop reading), -1. */
static int push_row(struct table *t, struct row *r)
{
	for (size_t k = 0; k < t->nst; k++) {
		struct stage *g = &t->st[k];
		const struct ferry_mlt_step *s = g->s;
		switch (s->op) {
		case FERRY_MLT_TAKE:
			if (g->count >= s->n)
				return 1;
			g->count++;
			break;
		case FERRY_MLT_SKIP:
			if (g->count < s->n) {
				g->count++;
				return 0;
			}
			break;
		case FERRY_MLT_SAMPLE:
			if ((ferry_prng_unit(&g->prng) < s->probability) == s->complement)
				return 0;
			break;
		case FERRY_MLT_FILTER: {
			struct lookup_ctx c = { r, k ? t->st[k - 1].cols : t->cols0, g->nin };
			if (!ferry_mlt_expr_eval(s->expr, row_lookup, &c))
				return 0;
			break;
		}
		case FERRY_MLT_KEEP_COLUMNS:
		case FERRY_MLT_DROP_COLUMNS:
			if (row_reserve(&t->tmp, g->nmap ? g->nmap : 1) < 0)
				return oom(t);
			for (size_t i = 0; i < g->nmap; i++)
				t->tmp.v[i] = r->v[g->map[i]];
			memcpy(r->v, t->tmp.v, g->nmap * sizeof(*r->v));
			r->n = g->nmap;
			break;
		case FERRY_MLT_CONVERT:
			for (size_t i = 0; i < r->n; i++)
				if (g->conv[i] >= 0 && convert_one(t, g, r, i, &s->convs[g->conv[i]]) < 0)
					return -1;
			break;
		case FERRY_MLT_PARTITION:
			if (apply_partition(t, g, r) < 0)
				return -1;
			break;
		case FERRY_MLT_SELECT_PARTITIONS: /* a file set's rows: one per file (paths.c does tables') */
			if (!t->fileset)
				break;
			{
				uint64_t i = g->count++;
				int keep = 0;
				for (size_t j = 0; j < s->nparts && !keep; j++)
					keep = s->parts[j] == i;
				if (!keep)
					return 0;
			}
			break;
		default:
			break;
		}
	}
	return emit(t, r);
}

/* ---- readers ---- */

static int set_columns(struct table *t, char **names, size_t n)
{
	int path = t->read->include_path;
	t->cols0 = calloc(n + 1, sizeof(*t->cols0));
	if (!t->cols0)
		return oom(t);
	for (size_t i = 0; i < n; i++) {
		/* an empty header field (a trailing comma) gets a generated name */
		if (!names[i][0] ? asprintf(&t->cols0[i], "Column%zu", i + 1) < 0 : !(t->cols0[i] = strdup(names[i]))) {
			t->cols0[i] = NULL;
			return oom(t);
		}
		t->ncols0 = i + 1; /* freed by the caller, also on the errors below */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->cols0[j], names[i]))
				return ferry_err_set(t->err, FERRY_E_INVALID, "%s: the header names column '%s' twice",
						     t->label, t->cols0[i]);
	}
	t->ncols0 = t->nfilecols = n;
	if (path && !(t->cols0[t->ncols0++] = strdup("Path")))
		return oom(t);
	return build_stages(t);
}

/* A data row from file columns f[0..n). */
static int data_row(struct table *t, const char *const *f, const size_t *len, size_t n, uint64_t line)
{
	struct row *r = &t->r;
	r->used = 0;
	r->file = t->file;
	r->line = line;
	if (row_reserve(r, t->ncols0 + 1) < 0)
		return oom(t);
	r->n = t->ncols0;
	for (size_t i = 0; i < t->ncols0; i++)
		r->v[i] = (struct val){ K_NULL, 0, 0 };
	if (!t->fmap && n > t->nfilecols)
		return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%llu: %zu fields, but the table has %zu columns",
				     t->label, (unsigned long long)line, n, t->nfilecols);
	int eas = t->read->empty_as_string;
	/* the reader keeps a record's fields back to back, NUL-terminated: one copy */
	size_t block = n ? (size_t)(f[n - 1] - f[0]) + len[n - 1] + 1 : 0;
	size_t base = block ? arena_put(r, f[0], block - 1) : 0;
	if (base == (size_t)-1)
		return oom(t);
	for (size_t i = 0; i < n; i++) {
		size_t c = t->fmap ? (i < t->nfmap ? t->fmap[i] : (size_t)-1) : i;
		if (c == (size_t)-1)
			return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%llu: %zu fields, but its header has %zu",
					     t->label, (unsigned long long)line, n, t->nfmap);
		if (len[i] == 0 && !eas)
			continue;
		r->v[c] = (struct val){ len[i] ? K_TEXT : K_STR, base + (size_t)(f[i] - f[0]), len[i] };
	}
	if (t->read->include_path && set_val(r, t->ncols0 - 1, K_STR, t->file->name, strlen(t->file->name)) < 0)
		return oom(t);
	return push_row(t, r);
}

static char **column_names(const struct ferry_csv_record *rec, int generated)
{
	char **v = calloc(rec->n ? rec->n : 1, sizeof(*v));
	for (size_t i = 0; v && i < rec->n; i++) {
		if (generated) {
			if (asprintf(&v[i], "Column%zu", i + 1) < 0)
				v[i] = NULL;
		} else {
			v[i] = strdup(rec->f[i]);
		}
	}
	return v;
}

static int csv_record(void *arg, const struct ferry_csv_record *rec)
{
	struct table *t = arg;
	enum ferry_mlt_header h = t->read->header;
	int is_header = !t->header_done &&
			(h == FERRY_MLT_ALL_SAME || h == FERRY_MLT_ALL_DIFFERENT ||
			 (h == FERRY_MLT_FROM_FIRST_FILE && t->file_index == 0));
	t->header_done = 1;
	if (!t->ready) {
		char **names = column_names(rec, h == FERRY_MLT_NO_HEADER || (h == FERRY_MLT_FROM_FIRST_FILE && !is_header));
		if (!names)
			return oom(t);
		int rc = set_columns(t, names, rec->n);
		free_cols(names, rec->n);
		if (rc < 0)
			return -1;
		if (is_header)
			return 0;
	}
	if (is_header) {
		if (h == FERRY_MLT_ALL_DIFFERENT) { /* map this file's columns onto the table's */
			free(t->fmap);
			t->fmap = malloc((rec->n ? rec->n : 1) * sizeof(*t->fmap));
			if (!t->fmap)
				return oom(t);
			t->nfmap = rec->n;
			for (size_t i = 0; i < rec->n; i++) {
				long c = col_index(t->cols0, t->nfilecols, rec->f[i]);
				if (c < 0)
					return ferry_err_set(t->err, FERRY_E_INVALID,
							     "%s: column '%s' is not in the first file's header; ferry reads "
							     "all_files_different_headers files with the columns of the first",
							     t->label, rec->f[i]);
				t->fmap[i] = (size_t)c;
			}
		}
		return 0;
	}
	int rc = data_row(t, rec->f, rec->len, rec->n, rec->line);
	return rc;
}

static int json_line(struct table *t, char *line, size_t len, uint64_t lineno)
{
	while (len && (line[len - 1] == '\r' || isspace((unsigned char)line[len - 1])))
		len--;
	if (!len)
		return 0;
	json_error_t je;
	json_t *o = json_loadb(line, len, 0, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		if (t->read->drop_invalid)
			return 0;
		return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%llu: not a JSON object%s%s (invalid_lines: drop skips such lines)",
				     t->label, (unsigned long long)lineno, o ? "" : ": ", o ? "" : je.text);
	}
	if (!t->ready) {
		size_t n = json_object_size(o), i = 0;
		char **names = calloc(n ? n : 1, sizeof(*names));
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) names[i++] = strdup(k);
		int rc = set_columns(t, names, n);
		free_cols(names, n);
		if (rc < 0) {
			json_decref(o);
			return -1;
		}
	}
	struct row *r = &t->r;
	r->used = 0;
	r->file = t->file;
	r->line = lineno;
	if (row_reserve(r, t->ncols0 + 1) < 0) {
		json_decref(o);
		return oom(t);
	}
	r->n = t->ncols0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < t->nfilecols; i++) {
		json_t *v = json_object_get(o, t->cols0[i]);
		char buf[64];
		r->v[i] = (struct val){ K_NULL, 0, 0 };
		if (!v || json_is_null(v))
			continue;
		if (json_is_string(v))
			rc = set_val(r, i, K_STR, json_string_value(v), json_string_length(v));
		else if (json_is_integer(v))
			rc = set_val(r, i, K_INT, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)));
		else if (json_is_real(v))
			rc = set_val(r, i, K_FLOAT, buf, (size_t)fmt_double(buf, sizeof(buf), json_real_value(v)));
		else if (json_is_boolean(v))
			rc = set_val(r, i, K_BOOL, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
		else {
			char *s = json_dumps(v, JSON_COMPACT);
			rc = s ? set_val(r, i, K_STR, s, strlen(s)) : -1;
			free(s);
		}
	}
	json_decref(o);
	if (rc < 0)
		return oom(t);
	if (t->read->include_path && set_val(r, t->ncols0 - 1, K_STR, t->file->name, strlen(t->file->name)) < 0)
		return oom(t);
	return push_row(t, r);
}

static int json_feed(struct table *t, const char *p, size_t len)
{
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;
		if (t->jlen + n + 1 > t->jcap) {
			if (t->jlen + n + 1 > FERRY_CSV_MAX_RECORD)
				return ferry_err_set(t->err, FERRY_E_INVALID, "%s:%llu: a line longer than %u MiB", t->label,
						     (unsigned long long)t->jline, FERRY_CSV_MAX_RECORD >> 20);
			size_t cap = t->jcap ? t->jcap : 4096;
			while (cap < t->jlen + n + 1)
				cap *= 2;
			char *b = realloc(t->jl, cap);
			if (!b)
				return oom(t);
			t->jl = b;
			t->jcap = cap;
		}
		memcpy(t->jl + t->jlen, p, n);
		t->jlen += n;
		p += n;
		len -= n;
		if (nl) {
			p++;
			len--;
			int rc = json_line(t, t->jl, t->jlen, t->jline++);
			t->jlen = 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

static const unsigned short cp1252[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* Bytes of the file, in order: decode, then hand to the reader. */
static int file_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct table *t = arg;
	const char *p = data;
	(void)off;
	if (t->enc_first) {
		t->enc_first = 0;
		if ((t->read->encoding == FERRY_MLT_UTF8 || t->read->encoding == FERRY_MLT_UTF8BOM) && len >= 3 &&
		    !memcmp(p, "\xEF\xBB\xBF", 3)) {
			p += 3;
			len -= 3;
		}
	}
	enum ferry_mlt_encoding e = t->read->encoding;
	if (e == FERRY_MLT_ASCII) {
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '\n')
				t->enc_line++;
			if ((unsigned char)p[i] >= 0x80) {
				ferry_err_set(t->err, FERRY_E_INVALID,
					      "%s:%llu: byte 0x%02X is not ASCII (encoding: ascii in %s; declare utf8 or latin1)",
					      t->label, (unsigned long long)t->enc_line, (unsigned char)p[i], t->m->label);
				return -1;
			}
		}
	} else if (e == FERRY_MLT_LATIN1 || e == FERRY_MLT_WIN1252) {
		if (t->convcap < len * 3) {
			char *b = realloc(t->conv, len * 3);
			if (!b) {
				oom(t);
				return -1;
			}
			t->conv = b;
			t->convcap = len * 3;
		}
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned c = (unsigned char)p[i];
			if (e == FERRY_MLT_WIN1252 && c >= 0x80 && c < 0xA0)
				c = cp1252[c - 0x80];
			if (c < 0x80)
				t->conv[o++] = (char)c;
			else if (c < 0x800) {
				t->conv[o++] = (char)(0xC0 | (c >> 6));
				t->conv[o++] = (char)(0x80 | (c & 0x3F));
			} else {
				t->conv[o++] = (char)(0xE0 | (c >> 12));
				t->conv[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
				t->conv[o++] = (char)(0x80 | (c & 0x3F));
			}
		}
		p = t->conv;
		len = o;
	}
	int rc = t->csv ? ferry_csv_feed(t->csv, p, len, t->label, t->err) : json_feed(t, p, len);
	if (rc > 0)
		t->stop = 1;
	return rc ? -1 : 0;
}

/* ---- read_parquet ---- */

static int pq_row(void *arg, const struct ferry_pq_val *v, uint64_t rowno)
{
	static const int kinds[] = { [FERRY_PQ_NULL] = K_NULL, [FERRY_PQ_STR] = K_STR, [FERRY_PQ_INT] = K_INT,
				     [FERRY_PQ_FLOAT] = K_FLOAT, [FERRY_PQ_BOOL] = K_BOOL, [FERRY_PQ_DT] = K_DT };
	struct table *t = arg;
	struct row *r = &t->r;
	r->used = 0;
	r->file = t->file;
	r->line = rowno + 1;
	if (row_reserve(r, t->ncols0 + 1) < 0)
		return oom(t);
	r->n = t->ncols0;
	for (size_t i = 0; i < t->ncols0; i++)
		r->v[i] = (struct val){ K_NULL, 0, 0 };
	for (size_t i = 0; i < t->nfmap; i++)
		if (t->pqmap[i] != SIZE_MAX && v[i].kind != FERRY_PQ_NULL &&
		    set_val(r, t->pqmap[i], kinds[v[i].kind], v[i].s, v[i].len) < 0)
			return oom(t);
	if (t->dpart) {
		static const int pkinds[] = { K_STR, K_INT, K_FLOAT, K_BOOL, K_DT };
		char **pv = t->delta.values[t->file_index];
		for (size_t j = 0; j < t->delta.npart; j++) {
			if (!pv[j])
				continue;
			/* typed by the schema, as text when the log's value does not parse as that type */
			size_t len = strlen(pv[j]);
			int k = pkinds[t->delta.kind[t->delta.part[j]]], b;
			if ((k == K_INT && !is_int(pv[j], len)) || (k == K_FLOAT && !is_number(pv[j], len)) ||
			    (k == K_BOOL && !bool_text(pv[j], &b)))
				k = K_STR;
			if (set_val(r, t->dpart[j], k, pv[j], len) < 0)
				return oom(t);
		}
	}
	if (t->read->include_path && set_val(r, t->ncols0 - 1, K_STR, t->file->name, strlen(t->file->name)) < 0)
		return oom(t);
	return push_row(t, r);
}

struct name_hit {
	const char *name;
	int hit;
};

static int expr_names(void *arg, const char *name)
{
	struct name_hit *h = arg;
	h->hit |= !strcmp(h->name, name);
	return 0;
}

/* Does any later transformation see file column `name`? (projection: the
 * columns that keep_columns / drop_columns remove are not fetched) */
static int pq_needed(const struct table *t, const char *name)
{
	for (size_t k = 0; k < t->nst; k++) {
		const struct ferry_mlt_step *s = t->st[k].s;
		if (s->op == FERRY_MLT_FILTER) {
			struct name_hit h = { name, 0 };
			ferry_mlt_expr_columns(s->expr, expr_names, &h);
			if (h.hit)
				return 1;
		} else if (s->op == FERRY_MLT_KEEP_COLUMNS) {
			return col_index(s->columns, s->ncolumns, name) >= 0;
		} else if (s->op == FERRY_MLT_DROP_COLUMNS) {
			if (col_index(s->columns, s->ncolumns, name) >= 0)
				return 0;
		} else if (s->op == FERRY_MLT_PARTITION) {
			return 1; /* its columns may shadow names: keep it simple */
		}
	}
	return 1;
}

static int read_parquet_file(struct table *t, const struct ferry_mlt_file *f)
{
	struct ferry_pq *q;
	if (ferry_pq_open(t->m->sources[f->src].store, f->path, f->size, t->label, &q, t->err) < 0)
		return -1;
	size_t n = ferry_pq_ncols(q);
	int rc = 0;
	if (!t->ready) {
		char **names = calloc(n ? n : 1, sizeof(*names));
		for (size_t i = 0; names && i < n; i++)
			names[i] = (char *)ferry_pq_colname(q, i);
		rc = names ? set_columns(t, names, n) : oom(t);
		free(names);
	}
	free(t->pqmap);
	free(t->pqwant);
	t->pqmap = malloc((n ? n : 1) * sizeof(*t->pqmap));
	t->pqwant = calloc(n ? n : 1, 1);
	t->nfmap = n;
	if (rc == 0 && (!t->pqmap || !t->pqwant))
		rc = oom(t);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		long c = col_index(t->cols0, t->nfilecols, ferry_pq_colname(q, i));
		if (c < 0 && t->dpart)
			rc = ferry_err_set(t->err, FERRY_E_INVALID, "%s: column '%s' is not in the Delta table's schema",
					   t->label, ferry_pq_colname(q, i));
		else if (c < 0)
			rc = ferry_err_set(t->err, FERRY_E_INVALID,
					   "%s: column '%s' is not in the first file's schema; ferry reads read_parquet files "
					   "with the columns of the first",
					   t->label, ferry_pq_colname(q, i));
		for (size_t j = 0; c >= 0 && j < t->delta.npart; j++)
			if (t->dpart[j] == (size_t)c)
				rc = ferry_err_set(t->err, FERRY_E_INVALID, "%s: column '%s' is a partition column of the "
						   "Delta table, yet the file has it", t->label, ferry_pq_colname(q, i));
		t->pqmap[i] = (size_t)c;
		t->pqwant[i] = (unsigned char)pq_needed(t, ferry_pq_colname(q, i));
	}
	if (rc == 0)
		rc = ferry_pq_read(q, t->pqwant, pq_row, t, t->err);
	uint64_t bytes, reads;
	ferry_pq_fetched(q, &bytes, &reads);
	ferry_info("read_parquet %s: fetched %llu of %llu bytes in %llu reads", t->label, (unsigned long long)bytes,
		   (unsigned long long)f->size, (unsigned long long)reads);
	ferry_pq_close(q);
	if (rc > 0)
		t->stop = 1;
	return rc < 0 ? -1 : rc;
}

/* read_delta_lake: the table's columns are the schema's, in its order; a
 * partition column's values come from the log, the others from the files. */
static int delta_columns(struct table *t)
{
	if (!(t->dpart = calloc(t->delta.npart ? t->delta.npart : 1, sizeof(*t->dpart))))
		return oom(t);
	for (size_t j = 0; j < t->delta.npart; j++)
		t->dpart[j] = t->delta.part[j];
	return set_columns(t, t->delta.cols, t->delta.ncols);
}

/* Read one file of the set into the pipeline. */
static int read_file(struct table *t, size_t idx)
{
	const struct ferry_mlt_file *f = &t->files.v[idx];
	t->file = f;
	t->file_index = idx;
	t->header_done = 0;
	t->enc_first = 1;
	t->enc_line = 1;
	t->jlen = 0;
	t->jline = 1;
	snprintf(t->label, sizeof(t->label), "%s", f->name);
	if (t->csv)
		ferry_csv_reset(t->csv);
	if (t->read->op == FERRY_MLT_READ_PARQUET || t->read->op == FERRY_MLT_READ_DELTA_LAKE)
		return read_parquet_file(t, f);
	struct ferry_store *s = t->m->sources[f->src].store;
	ferry_err rerr;
	ferry_err_clear(&rerr);
	int rc = ferry_store_read(s, f->path, 0, UINT64_MAX, file_sink, t, &rerr);
	if (rc < 0 && t->stop)
		return 1;
	if (rc < 0) {
		/* the sink's own error is in t->err; a storage error in rerr */
		if (t->err->code == FERRY_OK)
			*t->err = rerr;
		return -1;
	}
	if (t->csv)
		rc = ferry_csv_finish(t->csv, t->label, t->err);
	else if (t->jlen)
		rc = json_line(t, t->jl, t->jlen, t->jline);
	if (rc > 0)
		t->stop = 1;
	return rc;
}

/* all_files_different_headers: the table's columns are those of the first
 * file; later files' headers are mapped onto them by name. */

/* An MLTable with no read_*: one row per file, column Path. */
static int files_table(struct table *t)
{
	char *names[] = { "Path" };
	static const struct ferry_mlt_step none = { .op = FERRY_MLT_READ_DELIMITED, .name = "paths", .infer_types = 0 };
	t->read = &none;
	t->fileset = 1;
	if (set_columns(t, names, 1) < 0)
		return -1;
	for (size_t i = 0; i < t->files.n && !t->stop; i++) {
		struct row *r = &t->r;
		r->used = 0;
		r->file = &t->files.v[i];
		r->line = 0;
		if (row_reserve(r, 2) < 0)
			return oom(t);
		r->n = 1;
		if (set_val(r, 0, K_STR, r->file->name, strlen(r->file->name)) < 0)
			return oom(t);
		int rc = push_row(t, r);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 0;
	}
	if (t->stop)
		return 0;
	for (size_t k = 0; k < t->nst; k++) { /* every row seen: an index past them is an error */
		const struct ferry_mlt_step *s = t->st[k].s;
		for (size_t j = 0; s->op == FERRY_MLT_SELECT_PARTITIONS && j < s->nparts; j++)
			if (s->parts[j] >= t->st[k].count)
				return ferry_err_set(t->err, FERRY_E_INVALID,
						     "%s:%d: select_partitions: partition %llu is out of range: the file set "
						     "has %llu partition%s (one per file) at this step, numbered from 0",
						     ferry_mlt_step_label(t->m, s), s->line, (unsigned long long)s->parts[j],
						     (unsigned long long)t->st[k].count, t->st[k].count == 1 ? "" : "s");
	}
	return 0;
}

static int evaluate(struct ferry_ctx *ctx, struct ferry_mltable *m, enum ferry_mlt_format fmt, FILE *out,
		    const struct ferry_mlt_sink *sink, uint64_t max_rows, uint64_t *rows, ferry_err *err)
{
	struct table t = { .ctx = ctx, .m = m, .fmt = fmt, .out = out, .sink = sink, .max_rows = max_rows, .err = err };
	ferry_err_clear(err);
	if (rows)
		*rows = 0;
	size_t first = m->nsteps;
	for (size_t k = 0; k < m->nsteps; k++)
		if (ferry_mlt_is_read(m->steps[k].op)) {
			first = k;
			break;
		}
	if (first < m->nsteps && m->steps[first].op == FERRY_MLT_READ_UNSUPPORTED)
		return ferry_err_set(err, FERRY_E_INVALID, "%s:%d: transformation '%s' is not supported by ferry",
				     ferry_mlt_step_label(m, &m->steps[first]), m->steps[first].line, m->steps[first].name);
	if (ferry_mltable_files(ctx, m, &t.files, err) < 0)
		return -1;
	if (first < m->nsteps && m->steps[first].op == FERRY_MLT_READ_DELTA_LAKE &&
	    ferry_delta_snapshot(m, &m->steps[first], &t.files, &t.delta, err) < 0) {
		ferry_mlt_files_clear(&t.files);
		return -1;
	}
	/* a file set's column steps act on its table's rows (mltable.h) */
	size_t from = first < m->nsteps ? first + 1 : ferry_mlt_file_steps_end(m->steps, m->nsteps);
	t.nst = m->nsteps - from;
	t.st = calloc(t.nst ? t.nst : 1, sizeof(*t.st));
	if (!t.st) {
		ferry_mlt_files_clear(&t.files);
		return oom(&t);
	}
	for (size_t k = 0; k < t.nst; k++)
		t.st[k].s = &m->steps[from + k];
	for (size_t k = from; k < m->nsteps; k++)
		if (ferry_mlt_is_read(m->steps[k].op)) {
			ferry_err_set(err, FERRY_E_INVALID, "%s:%d: a second read transformation ('%s'); an MLTable has one",
				      ferry_mlt_step_label(m, &m->steps[k]), m->steps[k].line, m->steps[k].name);
			goto out;
		}
	init_tables();
	if (!(t.ob = malloc(OB_CAP))) {
		oom(&t);
		goto out;
	}
	t.inferring = fmt != FERRY_MLT_CSV;
	if (t.inferring && !(t.buf = calloc(INFER_ROWS, sizeof(*t.buf)))) {
		oom(&t);
		goto out;
	}
	int rc = 0;
	if (first == m->nsteps) {
		rc = files_table(&t);
	} else {
		t.read = &m->steps[first];
		if (t.read->op == FERRY_MLT_READ_DELIMITED &&
		    !(t.csv = ferry_csv_new(t.read->delimiter, t.read->multi_line, csv_record, &t))) {
			rc = oom(&t);
		}
		if (t.read->op == FERRY_MLT_READ_DELTA_LAKE)
			rc = delta_columns(&t);
		for (size_t i = 0; rc == 0 && i < t.files.n && !t.stop; i++)
			rc = read_file(&t, i);
		if (rc == 0 && !t.ready) /* every file empty: no columns */
			rc = set_columns(&t, NULL, 0);
	}
	if (rc >= 0) {
		if (!t.header_written) {
			t.header_written = 1;
			write_header(&t);
		}
		if (t.inferring)
			flush_buffer(&t);
		if (t.pqw && !t.pqfail && ferry_pqw_finish(t.pqw, err) < 0)
			t.pqfail = 1;
		ob_flush(&t);
		if (out && (t.oerr || fflush(out) != 0 || ferror(out)))
			ferry_err_set(err, FERRY_E_IO, "cannot write the output: %s", strerror(t.oerr ? t.oerr : errno));
	}
out:
	if (rows)
		*rows = t.written;
	ferry_csv_free(t.csv);
	for (size_t j = 0; j < t.nbuf; j++)
		row_free(&t.buf[j]);
	free(t.buf);
	for (size_t k = 0; k < t.nst; k++) {
		free(t.st[k].map);
		free(t.st[k].conv);
		free_cols(t.st[k].pnames, t.st[k].np);
		free_cols(t.st[k].pfmts, t.st[k].np);
		free_cols(t.st[k].cols, t.st[k].ncols);
	}
	free(t.st);
	free_cols(t.cols0, t.ncols0);
	free(t.types);
	free(t.fmap);
	free(t.pqmap);
	free(t.pqwant);
	free(t.dpart);
	ferry_pqw_free(t.pqw);
	ferry_delta_clear(&t.delta, t.files.n);
	free(t.conv);
	free(t.jl);
	free(t.ob);
	free_cols(t.jkeys, t.njkeys);
	free(t.jkeylen);
	row_free(&t.r);
	row_free(&t.tmp);
	free(t.cells);
	ferry_mlt_files_clear(&t.files);
	return err->code == FERRY_OK ? 0 : -1;
}

int ferry_mltable_export(struct ferry_ctx *ctx, struct ferry_mltable *m, enum ferry_mlt_format fmt, FILE *out,
			 uint64_t max_rows, uint64_t *rows, ferry_err *err)
{
	if (fmt == FERRY_MLT_ROWS)
		return ferry_err_set(err, FERRY_E_INVALID, "ferry_mltable_export: FERRY_MLT_ROWS needs a sink");
	return evaluate(ctx, m, fmt, out, NULL, max_rows, rows, err);
}

int ferry_mltable_rows(struct ferry_ctx *ctx, struct ferry_mltable *m, const struct ferry_mlt_sink *sink,
		       uint64_t max_rows, uint64_t *rows, ferry_err *err)
{
	return evaluate(ctx, m, FERRY_MLT_ROWS, NULL, sink, max_rows, rows, err);
}
