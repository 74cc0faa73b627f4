/*
 * delta.c — read_delta_lake: which files make a Delta Lake table at a
 * version or a timestamp (see delta.h).
 *
 * The table's root is listed once (ferry_mltable_files did it): the listing
 * gives the log's files — `_delta_log/<version>.json` commits,
 * `<version>.checkpoint.parquet` checkpoints, `_last_checkpoint` — and the
 * data files with their sizes, so no data file is looked up one by one. The
 * state at version V is the newest checkpoint at or before V (its `add` rows
 * are the live files then; its `metaData` and `protocol` rows the schema and
 * the reader's requirements) and then every commit after it up to V, in
 * order: `add` puts a file in the live set, `remove` takes it out. Commits
 * before a checkpoint are never read, so a log whose old commits were
 * cleaned up still opens at any version it can rebuild; a version it cannot
 * rebuild (a missing commit) is an error naming the missing file.
 *
 * The checkpoint is read with ferry's own Parquet reader through a narrow
 * path: parquet.c's nested mode gives the leaves this file needs (add.path,
 * add.size, the add.partitionValues map, add.deletionVector, metaData's
 * schemaString, partitionColumns and configuration map, protocol's
 * minReaderVersion and readerFeatures list) with their Dremel levels, and
 * records are assembled here from the levels; every other column of the
 * checkpoint is never fetched. Multi-part and v2 (UUID-named) checkpoints
 * are not read: the JSON commits are used instead where they exist.
 *
 * timestamp_as_of picks the newest version committed at or before the
 * time; a commit's time is its commitInfo.inCommitTimestamp, else its
 * commitInfo.timestamp, else the commit file's modification time (Delta's
 * own rule uses the file time, which a copy of the table between stores
 * does not keep; the commitInfo times travel with the log). A time after the
 * last commit gives the last version; one before the first is an error.
 *
 * Every number, string and structure of the log is checked: a hostile log
 * is an error naming the log file (and the JSON line), never a crash.
 */
#include "mltable/delta.h"
#include "core/log.h"
#include "mltable/parquet.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COMMIT_BYTES (256u << 20)
#define VERSION_DIGITS 20

/* ---- timestamps ---- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int ferry_delta_parse_time(const char *text, int64_t *ms)
{
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				return -1;
			if (*p == '.') {
				int n = 0;
				for (p++; *p >= '0' && *p <= '9'; p++, n++)
					if (n < 3)
						frac = frac * 10 + (*p - '0');
				if (n == 0)
					return -1;
				for (; n < 3; n++)
					frac *= 10;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 60 + om);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (tm.tm_mday != d) /* 31 February */
		return -1;
	*ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
	return 0;
}

/* ---- the live set: a hash of paths ---- */

struct live {
	char *path;           /* as in the log (percent-encoded) */
	char **pv;            /* partition values by name: pairs key, value (value NULL: null) */
	size_t npv;
};

struct state {
	struct live *v;       /* entries; v[i].path NULL: removed */
	size_t n, cap;
	size_t *slot;         /* hash slots: index + 1, 0 empty, SIZE_MAX removed */
	size_t nslot, used;
	char *schema;         /* metaData.schemaString */
	char **pcols;         /* metaData.partitionColumns */
	size_t npcols;
	char *mapping;        /* metaData.configuration["delta.columnMapping.mode"] */
	int have_meta, have_protocol;
	const char *label;    /* the log file being read, for errors */
	ferry_err *err;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void live_free(struct live *l)
{
	free(l->path);
	for (size_t i = 0; i < l->npv * 2; i++)
		free(l->pv[i]);
	free(l->pv);
	memset(l, 0, sizeof(*l));
}

static int oom(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "out of memory");
}

static int bad(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct state *st, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ferry_err_set(st->err, FERRY_E_INVALID, "%s: %s", st->label, msg);
}

/* The slot of `path`: where it is, or the free slot where it would go. */
static size_t *find_slot(struct state *st, const char *path)
{
	size_t mask = st->nslot - 1, i = (size_t)hash(path) & mask, *tomb = NULL;
	for (;; i = (i + 1) & mask) {
		size_t *s = &st->slot[i];
		if (*s == 0)
			return tomb ? tomb : s;
		if (*s == SIZE_MAX) {
			if (!tomb)
				tomb = s;
		} else if (!strcmp(st->v[*s - 1].path, path)) {
			return s;
		}
	}
}

static int grow(struct state *st)
{
	size_t n = st->nslot ? st->nslot * 2 : 1024;
	size_t *old = st->slot, oldn = st->nslot;
	if (!(st->slot = calloc(n, sizeof(*st->slot)))) {
		st->slot = old;
		return -1;
	}
	st->nslot = n;
	st->used = 0;
	for (size_t i = 0; i < oldn; i++)
		if (old[i] && old[i] != SIZE_MAX) {
			*find_slot(st, st->v[old[i] - 1].path) = old[i];
			st->used++;
		}
	free(old);
	return 0;
}

/* add: the file is live (a second add of a path replaces the first). Takes l. */
static int live_add(struct state *st, struct live *l)
{
	if ((st->used + 1) * 2 > st->nslot && grow(st) < 0) {
		live_free(l);
		return oom(st->err);
	}
	size_t *s = find_slot(st, l->path);
	if (*s && *s != SIZE_MAX) {
		live_free(&st->v[*s - 1]);
		st->v[*s - 1] = *l;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct live *v = realloc(st->v, cap * sizeof(*v));
		if (!v) {
			live_free(l);
			return oom(st->err);
		}
		st->v = v;
		st->cap = cap;
	}
	if (*s == 0)
		st->used++;
	st->v[st->n++] = *l;
	*s = st->n;
	return 0;
}

static int live_remove(struct state *st, const char *path, const char *where)
{
	size_t *s = st->nslot ? find_slot(st, path) : NULL;
	if (!s || *s == 0 || *s == SIZE_MAX)
		return bad(st, "%sremoves '%s', which is not a live file of the table", where, path);
	live_free(&st->v[*s - 1]);
	*s = SIZE_MAX;
	return 0;
}

static void state_free(struct state *st)
{
	for (size_t i = 0; i < st->n; i++)
		live_free(&st->v[i]);
	free(st->v);
	free(st->slot);
	free(st->schema);
	for (size_t i = 0; i < st->npcols; i++)
		free(st->pcols[i]);
	free(st->pcols);
	free(st->mapping);
	memset(st, 0, sizeof(*st));
}

static int set_pcols(struct state *st, char **v, size_t n)
{
	for (size_t i = 0; i < st->npcols; i++)
		free(st->pcols[i]);
	free(st->pcols);
	st->pcols = v;
	st->npcols = n;
	return 0;
}

/* Reader requirements: protocol version and features ferry can honour. */
static int check_protocol(struct state *st, int64_t reader, char *const *features, size_t nf, const char *where)
{
	static const char *const known[] = { "timestampNtz", "vacuumProtocolCheck", "v2Checkpoint", "deletionVectors",
					      "columnMapping", "checkpointProtection" };
	if (reader < 1 || reader > 3)
		return bad(st, "%sminReaderVersion %" PRId64 ": ferry reads Delta reader versions 1 to 3", where, reader);
	for (size_t i = 0; i < nf; i++) {
		int ok = 0;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= !strcmp(features[i], known[k]);
		if (!ok)
			return bad(st, "%sthe table needs reader feature '%s', which ferry does not support", where,
				   features[i]);
	}
	st->have_protocol = 1;
	return 0;
}

/* ---- JSON commits ---- */

struct membuf {
	char *p;
	size_t n, cap;
};

static int mem_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct membuf *b = arg;
	(void)off;
	if (b->n + len > MAX_COMMIT_BYTES)
		return -1;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + len + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
	return 0;
}

static int fetch_text(struct ferry_mltable *m, const struct ferry_mlt_file *f, struct membuf *b, ferry_err *err)
{
	memset(b, 0, sizeof(*b));
	if (f->size > MAX_COMMIT_BYTES)
		return ferry_err_set(err, FERRY_E_INVALID, "%s: %" PRIu64 " bytes; ferry reads Delta log files of at most "
				     "%u MiB", f->name, f->size, MAX_COMMIT_BYTES >> 20);
	if (mem_sink(b, 0, "", 0) < 0 || ferry_store_read(m->sources[f->src].store, f->path, 0, UINT64_MAX, mem_sink, b,
							   err) < 0) {
		free(b->p);
		b->p = NULL;
		if (err->code == FERRY_OK)
			oom(err);
		return ferry_err_wrap(err, "%s", f->name);
	}
	return 0;
}

static int json_int(json_t *o, const char *key, int64_t *out)
{
	json_t *x = json_object_get(o, key);
	if (!x || json_is_null(x))
		return 0;
	if (!json_is_integer(x))
		return -1;
	*out = (int64_t)json_integer_value(x);
	return 1;
}

/* A JSON array of strings as a malloc'd vector. */
static int json_strings(json_t *a, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(a))
		return -1;
	size_t k = json_array_size(a);
	char **v = calloc(k ? k : 1, sizeof(*v));
	if (!v)
		return -2;
	for (size_t i = 0; i < k; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s) || !(v[i] = strdup(json_string_value(s)))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return json_is_string(s) ? -2 : -1;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static int add_action(struct state *st, json_t *a, const char *where)
{
	json_t *path = json_object_get(a, "path"), *pv = json_object_get(a, "partitionValues"),
	       *dv = json_object_get(a, "deletionVector");
	if (!json_is_string(path) || !json_string_length(path))
		return bad(st, "%san add without a path", where);
	if (dv && !json_is_null(dv))
		return bad(st, "%sfile '%s' has a deletion vector: ferry does not read Delta deletion vectors", where,
			   json_string_value(path));
	if (pv && !json_is_null(pv) && !json_is_object(pv))
		return bad(st, "%sadd '%s': partitionValues is not an object", where, json_string_value(path));
	struct live l = { 0 };
	size_t k = pv && json_is_object(pv) ? json_object_size(pv) : 0;
	if (!(l.path = strdup(json_string_value(path))) || !(l.pv = calloc(k ? 2 * k : 1, sizeof(char *)))) {
		live_free(&l);
		return oom(st->err);
	}
	const char *key;
	json_t *val;
	if (k)
		json_object_foreach(pv, key, val) {
			if (!json_is_string(val) && !json_is_null(val)) {
				int rc = bad(st, "%sadd '%s': partition value '%s' is not a string", where, l.path, key);
				live_free(&l);
				return rc;
			}
			size_t i = l.npv++;
			if (!(l.pv[2 * i] = strdup(key)) ||
			    (json_is_string(val) && !(l.pv[2 * i + 1] = strdup(json_string_value(val))))) {
				live_free(&l);
				return oom(st->err);
			}
		}
	return live_add(st, &l);
}

static int meta_action(struct state *st, json_t *a, const char *where)
{
	json_t *s = json_object_get(a, "schemaString"), *pc = json_object_get(a, "partitionColumns"),
	       *conf = json_object_get(a, "configuration");
	if (!json_is_string(s))
		return bad(st, "%smetaData without a schemaString", where);
	char **v = NULL;
	size_t n = 0;
	int rc = pc && !json_is_null(pc) ? json_strings(pc, &v, &n) : 0;
	if (rc == -2)
		return oom(st->err);
	if (rc < 0)
		return bad(st, "%smetaData's partitionColumns is not a list of strings", where);
	free(st->schema);
	set_pcols(st, v, n);
	free(st->mapping);
	st->mapping = NULL;
	json_t *mode = json_is_object(conf) ? json_object_get(conf, "delta.columnMapping.mode") : NULL;
	if ((json_is_string(mode) && !(st->mapping = strdup(json_string_value(mode)))) ||
	    !(st->schema = strdup(json_string_value(s))))
		return oom(st->err);
	st->have_meta = 1;
	return 0;
}

static int protocol_action(struct state *st, json_t *a, const char *where)
{
	int64_t reader = 0;
	if (json_int(a, "minReaderVersion", &reader) != 1)
		return bad(st, "%sprotocol without an integer minReaderVersion", where);
	json_t *f = json_object_get(a, "readerFeatures");
	char **v = NULL;
	size_t n = 0;
	if (f && !json_is_null(f)) {
		int rc = json_strings(f, &v, &n);
		if (rc == -2)
			return oom(st->err);
		if (rc < 0)
			return bad(st, "%sprotocol's readerFeatures is not a list of strings", where);
	}
	int rc = check_protocol(st, reader, v, n, where);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* Apply one commit's actions (or, with `ts`, only find its commit time). */
static int apply_commit(struct state *st, const struct membuf *b, int64_t *ts)
{
	char where[64];
	size_t line = 0;
	for (const char *p = b->p, *end = b->p + b->n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;
		p += len + 1;
		line++;
		if (len == 0 || (len == 1 && q[0] == '\r'))
			continue;
		snprintf(where, sizeof(where), "line %zu: ", line);
		json_error_t je;
		json_t *o = json_loadb(q, len, 0, &je);
		if (!o || !json_is_object(o)) {
			json_decref(o);
			return bad(st, "line %zu: not a JSON object%s%s", line, o ? "" : ": ", o ? "" : je.text);
		}
		int rc = 0;
		json_t *a;
		if (ts) {
			if ((a = json_object_get(o, "commitInfo")) && json_is_object(a)) {
				int64_t v = 0;
				int r = json_int(a, "inCommitTimestamp", &v);
				if (r == 0)
					r = json_int(a, "timestamp", &v);
				if (r < 0)
					rc = bad(st, "line %zu: commitInfo's timestamp is not an integer", line);
				else if (r > 0)
					*ts = v;
			}
		} else if ((a = json_object_get(o, "add"))) {
			rc = json_is_object(a) ? add_action(st, a, where) : bad(st, "line %zu: add is not an object", line);
		} else if ((a = json_object_get(o, "remove"))) {
			json_t *path = json_is_object(a) ? json_object_get(a, "path") : NULL;
			rc = json_is_string(path) ? live_remove(st, json_string_value(path), where)
						  : bad(st, "line %zu: a remove without a path", line);
		} else if ((a = json_object_get(o, "metaData"))) {
			rc = json_is_object(a) ? meta_action(st, a, where) : bad(st, "line %zu: metaData is not an object", line);
		} else if ((a = json_object_get(o, "protocol"))) {
			rc = json_is_object(a) ? protocol_action(st, a, where)
					       : bad(st, "line %zu: protocol is not an object", line);
		} else if (json_object_get(o, "sidecar")) {
			rc = bad(st, "line %zu: a sidecar action (v2 checkpoints): not supported by ferry", line);
		}
		json_decref(o);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---- the checkpoint, through parquet.c's nested leaves ---- */

struct leaf {
	long col;             /* -1: the checkpoint has no such column */
	int max_def, max_rep;
	struct ferry_pq_leaf l;
	size_t *row;          /* per entry, its record */
};

static long find_leaf(struct ferry_pq *q, const char *name, int prefix)
{
	size_t n = ferry_pq_ncols(q), nl = strlen(name);
	for (size_t i = 0; i < n; i++) {
		const char *c = ferry_pq_colname(q, i);
		if (prefix ? !strncmp(c, name, nl) : !strcmp(c, name))
			return (long)i;
	}
	return -1;
}

static int leaf_read(struct ferry_pq *q, struct leaf *x, size_t g, uint64_t nrows, ferry_err *err)
{
	memset(&x->l, 0, sizeof(x->l));
	x->row = NULL;
	if (x->col < 0)
		return 0;
	if (ferry_pq_read_leaf(q, (size_t)x->col, g, &x->l, err) < 0)
		return -1;
	if (!(x->row = malloc((x->l.n ? x->l.n : 1) * sizeof(*x->row))))
		return oom(err);
	size_t r = 0;
	for (size_t i = 0; i < x->l.n; i++) {
		if (x->max_rep && x->l.rep[i] == 0 && i)
			r++;
		x->row[i] = x->max_rep ? r : i;
	}
	if (nrows != UINT64_MAX && (x->max_rep ? (x->l.n ? r + 1 : 0) : x->l.n) != nrows)
		return ferry_err_set(err, FERRY_E_INVALID, "a checkpoint column '%s' has %zu records, its row group "
				     "%" PRIu64, ferry_pq_colname(q, (size_t)x->col), x->max_rep ? r + 1 : x->l.n, nrows);
	return 0;
}

static void leaf_free(struct leaf *x)
{
	ferry_pq_leaf_free(&x->l);
	free(x->row);
	x->row = NULL;
}

/* The value of a non-repeated leaf in record r (NULL: absent). */
static const char *leaf_at(const struct leaf *x, size_t r)
{
	if (x->col < 0 || x->l.def[r] != x->max_def)
		return NULL;
	return ferry_pq_leaf_val(&x->l, r).s;
}

/* The present values of a repeated leaf in record r: entries [*i, ...) */
static int leaf_list(const struct leaf *x, size_t r, size_t *i, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (x->col < 0)
		return 0;
	char **v = NULL;
	size_t k = 0;
	for (; *i < x->l.n && x->row[*i] == r; (*i)++) {
		if (x->l.def[*i] != x->max_def)
			continue;
		char **nv = realloc(v, (k + 1) * sizeof(*v));
		struct ferry_pq_val val = ferry_pq_leaf_val(&x->l, *i);
		if (!nv || !(nv[k] = strndup(val.s, val.len))) {
			v = nv ? nv : v;
			for (size_t j = 0; j < k; j++)
				free(v[j]);
			free(v);
			return -1;
		}
		v = nv;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

enum { L_PATH, L_PVKEY, L_PVVAL, L_DV, L_SCHEMA, L_PCOLS, L_CONFKEY, L_CONFVAL, L_READER, L_FEATURES, L_N };

static int checkpoint(struct ferry_mltable *m, struct state *st, const struct ferry_mlt_file *f, ferry_err *err)
{
	static const struct { const char *name; int prefix; } names[L_N] = {
		[L_PATH] = { "add.path", 0 },
		[L_PVKEY] = { "add.partitionValues.key_value.key", 0 },
		[L_PVVAL] = { "add.partitionValues.key_value.value", 0 },
		[L_DV] = { "add.deletionVector.", 1 },
		[L_SCHEMA] = { "metaData.schemaString", 0 },
		[L_PCOLS] = { "metaData.partitionColumns.", 1 },
		[L_CONFKEY] = { "metaData.configuration.key_value.key", 0 },
		[L_CONFVAL] = { "metaData.configuration.key_value.value", 0 },
		[L_READER] = { "protocol.minReaderVersion", 0 },
		[L_FEATURES] = { "protocol.readerFeatures.", 1 },
	};
	struct ferry_pq *q;
	if (ferry_pq_open_nested(m->sources[f->src].store, f->path, f->size, f->name, &q, err) < 0)
		return -1;
	struct leaf x[L_N];
	memset(x, 0, sizeof(x));
	int rc = 0;
	for (int i = 0; i < L_N; i++) {
		x[i].col = find_leaf(q, names[i].name, names[i].prefix);
		if (x[i].col >= 0)
			ferry_pq_levels(q, (size_t)x[i].col, &x[i].max_def, &x[i].max_rep);
		int want_rep = i == L_PVKEY || i == L_PVVAL || i == L_PCOLS || i == L_CONFKEY || i == L_CONFVAL ||
			       i == L_FEATURES;
		if (x[i].col >= 0 && i != L_DV && (x[i].max_rep != 0) != want_rep)
			rc = bad(st, "checkpoint column '%s' is %srepeated", names[i].name, want_rep ? "not " : "");
	}
	if (rc == 0 && (x[L_PATH].col < 0 || x[L_SCHEMA].col < 0 || x[L_READER].col < 0))
		rc = bad(st, "not a Delta checkpoint: no add.path, metaData.schemaString or protocol.minReaderVersion "
			 "column");
	for (size_t g = 0; rc == 0 && g < ferry_pq_ngroups(q); g++) {
		/* add.path is not repeated: its entries are the records */
		uint64_t nrows = 0;
		rc = leaf_read(q, &x[L_PATH], g, UINT64_MAX, err);
		nrows = x[L_PATH].l.n;
		for (int i = 1; rc == 0 && i < L_N; i++)
			rc = leaf_read(q, &x[i], g, nrows, err);
		size_t ik = 0, iv = 0, ipc = 0, ick = 0, icv = 0, ifeat = 0;
		for (size_t r = 0; rc == 0 && r < nrows; r++) {
			const char *path = leaf_at(&x[L_PATH], r);
			char **keys = NULL;
			size_t nk = 0;
			/* the map's keys and values: entries of one record, aligned */
			size_t k0 = ik;
			if (leaf_list(&x[L_PVKEY], r, &ik, &keys, &nk) < 0) {
				rc = oom(err);
				break;
			}
			size_t v0 = iv;
			for (; iv < x[L_PVVAL].l.n && x[L_PVVAL].row[iv] == r; iv++)
				;
			if (x[L_PVVAL].col >= 0 && iv - v0 != ik - k0) {
				rc = bad(st, "checkpoint record %zu: a partitionValues map with %zu keys and %zu values", r, ik - k0,
					 iv - v0);
			} else if (path) {
				if (x[L_DV].col >= 0 && x[L_DV].l.def[r] == x[L_DV].max_def) {
					rc = bad(st, "file '%s' has a deletion vector: ferry does not read Delta deletion "
						 "vectors", path);
				} else {
					struct live l = { 0 };
					if (!(l.path = strdup(path)) || !(l.pv = calloc(nk ? 2 * nk : 1, sizeof(char *))))
						rc = oom(err);
					for (size_t j = 0, e = k0; rc == 0 && e < ik; e++) {
						if (x[L_PVKEY].l.def[e] != x[L_PVKEY].max_def)
							continue;
						l.pv[2 * l.npv] = keys[j++];
						keys[j - 1] = NULL;
						struct ferry_pq_val val = x[L_PVVAL].col >= 0 ? ferry_pq_leaf_val(&x[L_PVVAL].l, v0 + (e - k0))
											   : (struct ferry_pq_val){ 0 };
						if (val.s && !(l.pv[2 * l.npv + 1] = strndup(val.s, val.len)))
							rc = oom(err);
						l.npv++;
					}
					if (rc == 0)
						rc = live_add(st, &l);
					else
						live_free(&l);
				}
			}
			for (size_t j = 0; j < nk; j++)
				free(keys[j]);
			free(keys);
			/* metaData */
			char **pcols = NULL, **ck = NULL, **cv = NULL;
			size_t npc = 0, nck = 0, ncv = 0;
			if (rc == 0 && (leaf_list(&x[L_PCOLS], r, &ipc, &pcols, &npc) < 0 ||
					leaf_list(&x[L_CONFKEY], r, &ick, &ck, &nck) < 0 ||
					leaf_list(&x[L_CONFVAL], r, &icv, &cv, &ncv) < 0))
				rc = oom(err);
			const char *schema = rc == 0 ? leaf_at(&x[L_SCHEMA], r) : NULL;
			if (schema) {
				free(st->schema);
				free(st->mapping);
				st->mapping = NULL;
				set_pcols(st, pcols, npc);
				pcols = NULL;
				npc = 0;
				for (size_t j = 0; j < nck && j < ncv; j++)
					if (!strcmp(ck[j], "delta.columnMapping.mode") && !st->mapping)
						st->mapping = strdup(cv[j]);
				if (!(st->schema = strdup(schema)))
					rc = oom(err);
				st->have_meta = 1;
			}
			for (size_t j = 0; j < npc; j++)
				free(pcols[j]);
			free(pcols);
			for (size_t j = 0; j < nck; j++)
				free(ck[j]);
			free(ck);
			for (size_t j = 0; j < ncv; j++)
				free(cv[j]);
			free(cv);
			/* protocol */
			char **feat = NULL;
			size_t nf = 0;
			if (rc == 0 && leaf_list(&x[L_FEATURES], r, &ifeat, &feat, &nf) < 0)
				rc = oom(err);
			const char *reader = rc == 0 ? leaf_at(&x[L_READER], r) : NULL;
			if (reader) {
				char where[64];
				snprintf(where, sizeof(where), "record %zu: ", r);
				rc = check_protocol(st, strtoll(reader, NULL, 10), feat, nf, where);
			}
			for (size_t j = 0; j < nf; j++)
				free(feat[j]);
			free(feat);
		}
		for (int i = 0; i < L_N; i++)
			leaf_free(&x[i]);
	}
	uint64_t bytes, reads;
	ferry_pq_fetched(q, &bytes, &reads);
	ferry_info("read_delta_lake %s: fetched %" PRIu64 " of %" PRIu64 " bytes in %" PRIu64 " reads", f->name, bytes,
		   f->size, reads);
	ferry_pq_close(q);
	return rc;
}

/* ---- the log ---- */

struct logfile {
	int64_t version;
	const struct ferry_mlt_file *f;
};

static int by_version(const void *a, const void *b)
{
	int64_t x = ((const struct logfile *)a)->version, y = ((const struct logfile *)b)->version;
	return (x > y) - (x < y);
}

/* "<digits><suffix>": the version, 0; -1 not that form; -2 beyond 2^63-1. */
static int log_version(const char *name, const char *suffix, int64_t *v)
{
	size_t n = strspn(name, "0123456789");
	if (n == 0 || strcmp(name + n, suffix))
		return -1;
	if (n > VERSION_DIGITS)
		return -2;
	errno = 0;
	unsigned long long x = strtoull(name, NULL, 10);
	if (errno || x > INT64_MAX)
		return -2;
	*v = (int64_t)x;
	return 0;
}

static const struct logfile *find_version(const struct logfile *v, size_t n, int64_t version)
{
	struct logfile key = { version, NULL };
	return bsearch(&key, v, n, sizeof(*v), by_version);
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct ferry_mlt_file *)a)->rel, ((const struct ferry_mlt_file *)b)->rel);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decoding of a path in the log (RFC 2396 as Delta writes it). */
static char *pct_decode(const char *s)
{
	char *o = malloc(strlen(s) + 1), *w = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		int hi, lo;
		if (*s == '%' && s[1] && s[2] && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return o;
}

/* The schema's columns and types (a struct of primitive fields). */
static int parse_schema(struct state *st, struct ferry_delta *d)
{
	json_error_t je;
	json_t *o = json_loads(st->schema, 0, &je), *fields = json_is_object(o) ? json_object_get(o, "fields") : NULL;
	int rc = 0;
	if (!json_is_array(fields)) {
		rc = bad(st, "metaData's schemaString is not a struct schema%s%s", o ? "" : ": ", o ? "" : je.text);
		goto out;
	}
	size_t n = json_array_size(fields);
	d->cols = calloc(n ? n : 1, sizeof(*d->cols));
	d->kind = calloc(n ? n : 1, sizeof(*d->kind));
	if (!d->cols || !d->kind) {
		rc = oom(st->err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *fl = json_array_get(fields, i), *name = json_object_get(fl, "name"), *type = json_object_get(fl, "type");
		if (!json_is_string(name)) {
			rc = bad(st, "schemaString field %zu has no name", i + 1);
			goto out;
		}
		if (!json_is_string(type)) {
			rc = bad(st, "column '%s' has a nested type (struct, array or map): ferry reads flat tables only",
				 json_string_value(name));
			goto out;
		}
		const char *t = json_string_value(type);
		static const char *const ints[] = { "long", "integer", "short", "byte" };
		d->kind[i] = 0;
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(t, ints[k]))
				d->kind[i] = 1;
		if (!strcmp(t, "float") || !strcmp(t, "double"))
			d->kind[i] = 2;
		else if (!strcmp(t, "boolean"))
			d->kind[i] = 3;
		else if (!strcmp(t, "date"))
			d->kind[i] = 4;
		if (!(d->cols[i] = strdup(json_string_value(name)))) {
			rc = oom(st->err);
			goto out;
		}
		d->ncols = i + 1;
	}
	if (!(d->part = calloc(st->npcols ? st->npcols : 1, sizeof(*d->part)))) {
		rc = oom(st->err);
		goto out;
	}
	for (size_t j = 0; j < st->npcols; j++) {
		size_t i = 0;
		while (i < d->ncols && strcmp(d->cols[i], st->pcols[j]))
			i++;
		if (i == d->ncols) {
			rc = bad(st, "partition column '%s' is not in the schema", st->pcols[j]);
			goto out;
		}
		d->part[d->npart++] = i;
	}
out:
	json_decref(o);
	return rc;
}

struct pair {
	struct ferry_mlt_file f;
	char **pv;
};

static int pair_by_rel(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->f.rel, ((const struct pair *)b)->f.rel);
}

static int version_err(ferry_err *err, const char *label, int64_t missing, int64_t want, int64_t cp)
{
	if (cp >= 0)
		return ferry_err_set(err, FERRY_E_INVALID, "%s: version %" PRId64 " of the Delta table cannot be rebuilt: "
				     "_delta_log/%020" PRId64 ".json is missing (after the checkpoint of version %" PRId64 ")",
				     label, want, missing, cp);
	return ferry_err_set(err, FERRY_E_INVALID, "%s: version %" PRId64 " of the Delta table cannot be rebuilt: "
			     "_delta_log/%020" PRId64 ".json is missing and no checkpoint precedes it",
			     label, want, missing);
}

int ferry_delta_snapshot(struct ferry_mltable *m, const struct ferry_mlt_step *s, struct ferry_mlt_files *files,
			 struct ferry_delta *d, ferry_err *err)
{
	memset(d, 0, sizeof(*d));
	if (m->npaths != 1 || m->paths[0].kind != FERRY_MLT_FOLDER)
		return ferry_err_set(err, FERRY_E_INVALID, "%s:%d: read_delta_lake needs one path, the table's folder "
				     "(paths: [{folder: <table>}])", m->label, s->line);
	const char *root = m->paths[0].value;
	struct logfile *commits = calloc(files->n ? files->n : 1, sizeof(*commits)),
		       *cps = calloc(files->n ? files->n : 1, sizeof(*cps));
	size_t nc = 0, ncp = 0;
	const struct ferry_mlt_file *last_cp = NULL;
	struct state st = { .err = err, .label = m->label };
	struct membuf b = { 0 };
	int rc = 0;
	if (!commits || !cps) {
		rc = oom(err);
		goto out;
	}
	for (size_t i = 0; i < files->n; i++) {
		const char *rel = files->v[i].rel;
		if (strncmp(rel, "_delta_log/", 11) || strchr(rel + 11, '/'))
			continue;
		int64_t v;
		int r;
		if ((r = log_version(rel + 11, ".json", &v)) == 0)
			commits[nc++] = (struct logfile){ v, &files->v[i] };
		else if (r == -1 && (r = log_version(rel + 11, ".checkpoint.parquet", &v)) == 0)
			cps[ncp++] = (struct logfile){ v, &files->v[i] };
		else if (!strcmp(rel + 11, "_last_checkpoint"))
			last_cp = &files->v[i];
		if (r == -2) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: a version number beyond 2^63-1 in the Delta log",
					   files->v[i].name);
			goto out;
		}
	}
	qsort(commits, nc, sizeof(*commits), by_version);
	qsort(cps, ncp, sizeof(*cps), by_version);
	if (!nc && !ncp) {
		rc = ferry_err_set(err, FERRY_E_INVALID, "%s:%d: '%s' is not a Delta table: no _delta_log/<version>.json",
				   m->label, m->paths[0].line, root);
		goto out;
	}
	for (size_t i = 1; i < nc; i++)
		if (commits[i].version == commits[i - 1].version) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: a second commit of version %" PRId64 " (%s)",
					   commits[i].f->name, commits[i].version, commits[i - 1].f->name);
			goto out;
		}
	int64_t latest = nc ? commits[nc - 1].version : -1;
	if (ncp && cps[ncp - 1].version > latest)
		latest = cps[ncp - 1].version;
	/* _last_checkpoint: checked, so that a log that contradicts itself is an error */
	if (last_cp) {
		st.label = last_cp->name;
		if (fetch_text(m, last_cp, &b, err) < 0) {
			rc = -1;
			goto out;
		}
		json_error_t je;
		json_t *o = json_loadb(b.p, b.n, 0, &je);
		int64_t v = -1;
		if (!json_is_object(o) || json_int(o, "version", &v) != 1 || v < 0)
			rc = bad(&st, "not a JSON object with a version%s%s", o ? "" : ": ", o ? "" : je.text);
		else if (!find_version(cps, ncp, v) && !json_object_get(o, "parts") && !json_object_get(o, "v2Checkpoint"))
			rc = bad(&st, "names the checkpoint of version %" PRId64 ", which is not in _delta_log/", v);
		json_decref(o);
		free(b.p);
		b.p = NULL;
		if (rc < 0)
			goto out;
	}
	/* the version wanted */
	int64_t want = latest;
	if (s->has_version) {
		if (s->version_as_of > latest) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s:%d: version_as_of %" PRId64 ": the Delta table's latest "
					   "version is %" PRId64, m->label, s->line, s->version_as_of, latest);
			goto out;
		}
		want = s->version_as_of;
	} else if (s->has_timestamp) {
		want = -1;
		for (size_t i = nc; i-- > 0 && want < 0;) {
			int64_t ts = commits[i].f->mtime * 1000;
			st.label = commits[i].f->name;
			if (fetch_text(m, commits[i].f, &b, err) < 0 || apply_commit(&st, &b, &ts) < 0) {
				rc = -1;
				goto out;
			}
			free(b.p);
			b.p = NULL;
			if (ts <= s->timestamp_ms)
				want = commits[i].version;
		}
		if (want < 0) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s:%d: timestamp_as_of '%s' is before the Delta table's "
					   "first commit in the log (version %" PRId64 ")",
					   m->label, s->line, s->text ? s->text : "", nc ? commits[0].version : latest);
			goto out;
		}
	}
	/* the checkpoint at or before it, then the commits after it */
	const struct logfile *cp = NULL;
	for (size_t i = ncp; i-- > 0 && !cp;)
		if (cps[i].version <= want)
			cp = &cps[i];
	int64_t from = cp ? cp->version + 1 : 0;
	for (int64_t v = from; v <= want; v++)
		if (!find_version(commits, nc, v)) {
			rc = version_err(err, m->label, v, want, cp ? cp->version : -1);
			goto out;
		}
	if (cp) {
		st.label = cp->f->name;
		if (checkpoint(m, &st, cp->f, err) < 0) {
			rc = -1;
			goto out;
		}
	}
	for (int64_t v = from; v <= want; v++) {
		const struct logfile *c = find_version(commits, nc, v);
		st.label = c->f->name;
		if (fetch_text(m, c->f, &b, err) < 0 || apply_commit(&st, &b, NULL) < 0) {
			rc = -1;
			goto out;
		}
		free(b.p);
		b.p = NULL;
	}
	st.label = m->label;
	if (!st.have_meta || !st.have_protocol) {
		rc = ferry_err_set(err, FERRY_E_INVALID, "%s: version %" PRId64 " of the Delta table at '%s' has no %s action",
				   m->label, want, root, st.have_meta ? "protocol" : "metaData");
		goto out;
	}
	if (st.mapping && strcmp(st.mapping, "none")) {
		rc = ferry_err_set(err, FERRY_E_INVALID, "%s: the Delta table uses column mapping ('%s'): not supported by "
				   "ferry", m->label, st.mapping);
		goto out;
	}
	if (parse_schema(&st, d) < 0) {
		rc = -1;
		goto out;
	}
	/* the live files, matched with the listing by their path below the root */
	qsort(files->v, files->n, sizeof(*files->v), by_rel);
	struct ferry_mlt_files live = { 0 };
	size_t nlive = 0;
	for (size_t i = 0; i < st.n; i++)
		nlive += st.v[i].path != NULL;
	live.v = calloc(nlive ? nlive : 1, sizeof(*live.v));
	d->values = calloc(nlive ? nlive : 1, sizeof(*d->values));
	if (!live.v || !d->values) {
		free(live.v);
		rc = oom(err);
		goto out;
	}
	char *taken = calloc(files->n ? files->n : 1, 1);
	if (!taken) {
		free(live.v);
		rc = oom(err);
		goto out;
	}
	for (size_t i = 0; i < st.n && rc == 0; i++) {
		const struct live *l = &st.v[i];
		if (!l->path)
			continue;
		char *rel = pct_decode(l->path);
		if (!rel) {
			rc = oom(err);
			break;
		}
		if (strstr(l->path, "://") || rel[0] == '/') {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: version %" PRId64 " names '%s', a file outside the table's "
					   "folder: not supported by ferry", m->label, want, l->path);
			free(rel);
			break;
		}
		struct ferry_mlt_file key = { .rel = rel };
		struct ferry_mlt_file *f = bsearch(&key, files->v, files->n, sizeof(*files->v), by_rel);
		free(rel);
		if (!f) {
			rc = ferry_err_set(err, FERRY_E_NOTFOUND, "%s: version %" PRId64 " of the Delta table has file '%s', "
					   "which is not in storage below '%s'", m->label, want, l->path, root);
			break;
		}
		size_t fi = (size_t)(f - files->v);
		if (taken[fi])
			continue;
		taken[fi] = 1;
		char **pv = calloc(d->npart ? d->npart : 1, sizeof(*pv));
		if (!pv) {
			rc = oom(err);
			break;
		}
		for (size_t j = 0; j < d->npart; j++)
			for (size_t k = 0; k < l->npv; k++)
				if (!strcmp(l->pv[2 * k], d->cols[d->part[j]]) && l->pv[2 * k + 1] &&
				    !(pv[j] = strdup(l->pv[2 * k + 1])))
					rc = oom(err);
		d->values[live.n] = pv;
		live.v[live.n++] = *f; /* moved: taken[fi] */
	}
	/* path order, values with them */
	struct pair *pairs = rc == 0 && live.n ? malloc(live.n * sizeof(*pairs)) : NULL;
	if (pairs) {
		for (size_t i = 0; i < live.n; i++)
			pairs[i] = (struct pair){ live.v[i], d->values[i] };
		qsort(pairs, live.n, sizeof(*pairs), pair_by_rel);
		for (size_t i = 0; i < live.n; i++) {
			live.v[i] = pairs[i].f;
			d->values[i] = pairs[i].pv;
		}
		free(pairs);
	} else if (rc == 0 && live.n) {
		rc = oom(err);
	}
	for (size_t i = 0; i < files->n; i++)
		if (!taken[i]) {
			free(files->v[i].name);
			free(files->v[i].path);
			free(files->v[i].rel);
		}
	free(taken);
	free(files->v);
	*files = live;
	files->cap = live.n;
	d->version = want;
	if (rc == 0)
		ferry_info("%s: Delta table '%s' at version %" PRId64 ": %zu live files", m->label, root, want, live.n);
out:
	free(b.p);
	free(commits);
	free(cps);
	state_free(&st);
	if (rc < 0)
		ferry_delta_clear(d, files->n);
	return rc < 0 ? -1 : 0;
}

int ferry_mltable_table_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			      ferry_err *err)
{
	if (ferry_mltable_files(ctx, m, out, err) < 0)
		return -1;
	const struct ferry_mlt_step *read = NULL;
	for (size_t k = 0; k < m->nsteps && !read; k++)
		if (ferry_mlt_is_read(m->steps[k].op))
			read = &m->steps[k];
	if (!read || read->op != FERRY_MLT_READ_DELTA_LAKE)
		return 0;
	struct ferry_delta d;
	if (ferry_delta_snapshot(m, read, out, &d, err) < 0) {
		ferry_mlt_files_clear(out);
		return -1;
	}
	ferry_delta_clear(&d, out->n);
	return 0;
}

void ferry_delta_clear(struct ferry_delta *d, size_t nfiles)
{
	for (size_t i = 0; i < d->ncols; i++)
		free(d->cols[i]);
	free(d->cols);
	free(d->kind);
	free(d->part);
	for (size_t i = 0; d->values && i < nfiles; i++) {
		for (size_t j = 0; d->values[i] && j < d->npart; j++)
			free(d->values[i][j]);
		free(d->values[i]);
	}
	free(d->values);
	memset(d, 0, sizeof(*d));
}
