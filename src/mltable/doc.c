/*
 * doc.c — the MLTable document: YAML to struct ferry_mltable (see mltable.h).
 *
 * Validation is complete at parse time, so that a malformed MLTable fails
 * before any data is read: every field of every transformation is known,
 * typed and range-checked, and errors say "<label>:<line>: field 'x': ...".
 * The fields are rows of tables rather than strcmp chains: ferry_yaml_fields
 * (core/yaml.h) for the document and the read steps' options, step_kinds for
 * the transformations.
 * read_delta_lake's version_as_of / timestamp_as_of are checked here;
 * delta.c finds the table's files when it is evaluated.
 */
#include "mltable/mltable.h"
#include "core/strbuf.h"
#include "mltable/delta.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int oom(struct ferry_yaml_doc *c)
{
	return ferry_err_set(c->err, FERRY_E_IO, "%s: out of memory", c->label);
}

static const char *found(const struct ferry_yaml_node *n)
{
	return n->kind == FERRY_YAML_SCALAR ? n->text : ferry_yaml_kind_name(n);
}

const char *ferry_mlt_type_name(enum ferry_mlt_type t)
{
	static const char *const names[] = { "string", "int", "float", "boolean", "datetime" };
	return names[t];
}

static int get_string(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field, char **out)
{
	if (n->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(n))
		return ferry_yaml_err(c, n->line, field, "expected a string, found %s",
			    n->kind == FERRY_YAML_SCALAR ? "nothing" : ferry_yaml_kind_name(n));
	if (!(*out = strdup(n->text)))
		return oom(c);
	return 0;
}

static int get_u64(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = 0;
	if (n->kind == FERRY_YAML_SCALAR && n->plain && n->text[0] >= '0' && n->text[0] <= '9')
		v = strtoull(n->text, &end, 10);
	if (!end || *end || errno)
		return ferry_yaml_err(c, n->line, field, "expected a non-negative integer, found '%s'", found(n));
	*out = v;
	return 0;
}

/* A string or a list of strings. */
static int get_strings(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field, char ***out,
		       size_t *count)
{
	size_t k = n->kind == FERRY_YAML_SEQ ? n->n : 1;
	if (n->kind == FERRY_YAML_MAP || k == 0)
		return ferry_yaml_err(c, n->line, field, "expected a column name or a list of them, found %s",
			    k == 0 ? "an empty list" : "a map");
	char **v = calloc(k, sizeof(*v));
	if (!v)
		return oom(c);
	*out = v;
	*count = k;
	for (size_t i = 0; i < k; i++)
		if (get_string(c, n->kind == FERRY_YAML_SEQ ? n->vals[i] : n, field, &v[i]) < 0)
			return -1;
	return 0;
}

static int pick(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field, const char *const *names,
		size_t count, int *out)
{
	if (n->kind == FERRY_YAML_SCALAR)
		for (size_t i = 0; i < count; i++)
			if (!strcmp(n->text, names[i])) {
				*out = (int)i;
				return 0;
			}
	char list[400] = "";
	for (size_t i = 0; i < count; i++) {
		if (!names[i][0])
			continue;
		if (list[0])
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return ferry_yaml_err(c, n->line, field, "unknown value '%s' (expected one of: %s)", found(n), list);
}

/* A transformation's options: a map whose keys must all be in `known`. */
static int check_keys(struct ferry_yaml_doc *c, const struct ferry_yaml_node *m, const char *what, const char *known)
{
	if (m->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, m->line, what, "expected a map of options, found %s", ferry_yaml_kind_name(m));
	for (size_t i = 0; i < m->n; i++) {
		/* `known` is "a,b,c": the key must be one of its names, whole */
		size_t kl = strlen(m->keys[i]);
		int found = 0;
		for (const char *k = known; *k && !found;) {
			const char *e = strchr(k, ',');
			size_t n = e ? (size_t)(e - k) : strlen(k);
			found = n == kl && !strncmp(k, m->keys[i], n);
			k = e ? e + 1 : k + n;
		}
		if (!found)
			return ferry_yaml_err(c, m->key_lines[i], m->keys[i], "unknown option of %s (known: %s)", what, known);
	}
	return 0;
}

/* check_keys with the keys of a field table, in its order, as the list. */
static int check_rows(struct ferry_yaml_doc *c, const struct ferry_yaml_node *m, const char *what,
		      const struct ferry_yaml_field *rows, size_t n)
{
	struct ferry_strbuf known = FERRY_STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			ferry_strbuf_addch(&known, ',');
		ferry_strbuf_adds(&known, rows[i].key);
	}
	int rc = known.failed ? oom(c) : check_keys(c, m, what, known.buf);
	ferry_strbuf_release(&known);
	return rc;
}

/* The options of a read step: every key is checked against the table first
 * (check_rows), so an unknown option is reported before a bad value. */
static int read_options(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s,
			const struct ferry_yaml_field *rows, size_t n)
{
	if (check_rows(c, v, s->name, rows, n) < 0)
		return -1;
	return ferry_yaml_fields(c, v, rows, n, s, NULL, "unknown option");
}

static int read_delimiter(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t, void *arg)
{
	struct ferry_mlt_step *s = t;
	if (x->kind != FERRY_YAML_SCALAR || strlen(x->text) != 1)
		return ferry_yaml_err(c, x->line, k, "expected one character, found '%s'", found(x));
	s->delimiter = x->text[0];
	if (s->delimiter == '"' || s->delimiter == '\n' || s->delimiter == '\r')
		return ferry_yaml_err(c, x->line, k, "a quote or a line break cannot be the delimiter");
	return 0;
}

static int read_header(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t, void *arg)
{
	static const char *const h[] = { "no_header", "from_first_file", "all_files_different_headers",
					 "all_files_same_headers" };
	int e = 0;
	if (pick(c, x, k, h, 4, &e) < 0)
		return -1;
	((struct ferry_mlt_step *)t)->header = e;
	return 0;
}

static int read_encoding(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t, void *arg)
{
	static const char *const en[] = { "utf8", "utf8bom", "ascii", "latin1", "windows1252", "iso88591" };
	int e = 0;
	if (pick(c, x, k, en, 6, &e) < 0)
		return -1;
	((struct ferry_mlt_step *)t)->encoding = e == 5 ? FERRY_MLT_LATIN1 : (enum ferry_mlt_encoding)e;
	return 0;
}

/* read_delimited's encoding: UTF-16 and UTF-32 are named as unsupported. */
static int read_csv_encoding(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
			     void *arg)
{
	if (x->kind == FERRY_YAML_SCALAR && (!strcmp(x->text, "utf16") || !strcmp(x->text, "utf32")))
		return ferry_yaml_err(c, x->line, k, "encoding '%s' is not supported by ferry (supported: utf8, "
			    "utf8bom, ascii, latin1, iso88591, windows1252)", x->text);
	return read_encoding(c, x, k, t, arg);
}

static int unsupported(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t, void *arg)
{
	return ferry_yaml_err(c, x->line, k, "is not supported by ferry");
}

static int read_invalid_lines(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
			      void *arg)
{
	static const char *const il[] = { "error", "drop" };
	return pick(c, x, k, il, 2, &((struct ferry_mlt_step *)t)->drop_invalid);
}

#define STEP_BOOL(key, field) { key, FERRY_YF_BOOL, offsetof(struct ferry_mlt_step, field), NULL }
static const struct ferry_yaml_field delimited_options[] = {
	{ "delimiter", FERRY_YF_CUSTOM, 0, read_delimiter },
	{ "header", FERRY_YF_CUSTOM, 0, read_header },
	{ "encoding", FERRY_YF_CUSTOM, 0, read_csv_encoding },
	STEP_BOOL("empty_as_string", empty_as_string),
	STEP_BOOL("include_path_column", include_path),
	STEP_BOOL("infer_column_types", infer_types),
	STEP_BOOL("support_multi_line", multi_line),
	{ "path_column", FERRY_YF_CUSTOM, 0, unsupported },
};

static const struct ferry_yaml_field json_lines_options[] = {
	STEP_BOOL("include_path_column", include_path),
	{ "invalid_lines", FERRY_YF_CUSTOM, 0, read_invalid_lines },
	{ "encoding", FERRY_YF_CUSTOM, 0, read_encoding },
};
static const struct ferry_yaml_field parquet_options[] = {
	STEP_BOOL("include_path_column", include_path),
};

static int read_version_as_of(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
			      void *arg);
static int read_timestamp_as_of(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
				void *arg);
static const struct ferry_yaml_field delta_options[] = {
	{ "timestamp_as_of", FERRY_YF_CUSTOM, 0, read_timestamp_as_of },
	{ "version_as_of", FERRY_YF_CUSTOM, 0, read_version_as_of },
	STEP_BOOL("include_path_column", include_path),
};
#undef STEP_BOOL

static int read_delimited(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	s->delimiter = ',';
	s->header = FERRY_MLT_ALL_SAME;
	s->infer_types = 1;
	if (ferry_yaml_is_null(v))
		return 0;
	return read_options(c, v, s, delimited_options, sizeof(delimited_options) / sizeof(delimited_options[0]));
}

static int read_json_lines(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (ferry_yaml_is_null(v))
		return 0;
	return read_options(c, v, s, json_lines_options, sizeof(json_lines_options) / sizeof(json_lines_options[0]));
}

static int read_parquet(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (ferry_yaml_is_null(v))
		return 0;
	return read_options(c, v, s, parquet_options, sizeof(parquet_options) / sizeof(parquet_options[0]));
}

static int read_version_as_of(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
			      void *arg)
{
	struct ferry_mlt_step *s = t;
	uint64_t v;
	if (get_u64(c, x, k, &v) < 0)
		return -1;
	if (v > INT64_MAX)
		return ferry_yaml_err(c, x->line, k, "version %s is beyond 2^63-1", x->text);
	if (s->has_timestamp)
		return ferry_yaml_err(c, x->line, k, "give version_as_of or timestamp_as_of, not both");
	s->has_version = 1;
	s->version_as_of = (int64_t)v;
	return 0;
}

static int read_timestamp_as_of(struct ferry_yaml_doc *c, const struct ferry_yaml_node *x, const char *k, void *t,
				void *arg)
{
	struct ferry_mlt_step *s = t;
	if (get_string(c, x, k, &s->text) < 0)
		return -1;
	if (ferry_delta_parse_time(s->text, &s->timestamp_ms) < 0)
		return ferry_yaml_err(c, x->line, k, "expected a timestamp like 2024-01-31T12:00:00Z, found '%s'", s->text);
	if (s->has_version)
		return ferry_yaml_err(c, x->line, k, "give version_as_of or timestamp_as_of, not both");
	s->has_timestamp = 1;
	return 0;
}

static int read_delta_lake(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (ferry_yaml_is_null(v))
		return 0;
	return read_options(c, v, s, delta_options, sizeof(delta_options) / sizeof(delta_options[0]));
}

static int convert_types(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (v->kind != FERRY_YAML_SEQ || v->n == 0)
		return ferry_yaml_err(c, v->line, "convert_column_types",
			    "expected a list of {columns, column_type}, found %s", ferry_yaml_kind_name(v));
	if (!(s->convs = calloc(v->n, sizeof(*s->convs))))
		return oom(c);
	s->nconvs = v->n;
	for (size_t i = 0; i < v->n; i++) {
		const struct ferry_yaml_node *x = v->vals[i];
		struct ferry_mlt_convert *cv = &s->convs[i];
		cv->line = x->line;
		if (check_keys(c, x, "convert_column_types", "columns,column_type") < 0)
			return -1;
		const struct ferry_yaml_node *cols = ferry_yaml_get(x, "columns"), *t = ferry_yaml_get(x, "column_type");
		if (!cols || !t)
			return ferry_yaml_err(c, x->line, cols ? "column_type" : "columns", "is required");
		if (get_strings(c, cols, "columns", &cv->columns, &cv->ncolumns) < 0)
			return -1;
		static const char *const tn[] = { "string", "int", "float", "boolean", "datetime" };
		int e = 0;
		if (t->kind == FERRY_YAML_SCALAR) {
			if (pick(c, t, "column_type", tn, 5, &e) < 0)
				return -1;
			cv->type = e;
			continue;
		}
		if (t->kind != FERRY_YAML_MAP || t->n != 1)
			return ferry_yaml_err(c, t->line, "column_type", "expected a type name or {datetime: ...} / {boolean: ...}");
		const struct ferry_yaml_node *o = t->vals[0];
		if (!strcmp(t->keys[0], "datetime")) {
			cv->type = FERRY_MLT_T_DATETIME;
			if (ferry_yaml_is_null(o))
				continue;
			if (check_keys(c, o, "datetime", "formats,date_time_format") < 0)
				return -1;
			const struct ferry_yaml_node *f = ferry_yaml_get(o, "formats");
			if (!f)
				f = ferry_yaml_get(o, "date_time_format");
			if (f && get_strings(c, f, "formats", &cv->formats, &cv->nformats) < 0)
				return -1;
		} else if (!strcmp(t->keys[0], "boolean")) {
			cv->type = FERRY_MLT_T_BOOL;
			if (ferry_yaml_is_null(o))
				continue;
			if (check_keys(c, o, "boolean", "true_values,false_values,mismatch_as") < 0)
				return -1;
			const struct ferry_yaml_node *tv = ferry_yaml_get(o, "true_values"),
						     *fv = ferry_yaml_get(o, "false_values"),
						     *mm = ferry_yaml_get(o, "mismatch_as");
			if (tv && get_strings(c, tv, "true_values", &cv->true_values, &cv->ntrue) < 0)
				return -1;
			if (fv && get_strings(c, fv, "false_values", &cv->false_values, &cv->nfalse) < 0)
				return -1;
			static const char *const mn[] = { "error", "true", "false" };
			if (mm && pick(c, mm, "mismatch_as", mn, 3, &cv->mismatch) < 0)
				return -1;
		} else {
			if (pick(c, t, "column_type", tn, 5, &e) < 0)
				return -1;
			cv->type = e;
		}
	}
	return 0;
}

static int read_count(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	return get_u64(c, v, s->name, &s->n);
}

static int read_sample(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (check_keys(c, v, s->name, "probability,seed,complement") < 0)
		return -1;
	const struct ferry_yaml_node *p = ferry_yaml_get(v, "probability"), *sd = ferry_yaml_get(v, "seed");
	/* complement (ferry's own): the rows the same probability and seed leave
	 * out, so two samples split a table into disjoint parts that cover it */
	const struct ferry_yaml_node *cm = ferry_yaml_get(v, "complement");
	static const char *const no_yes[] = { "false", "true" };
	if (cm && pick(c, cm, "complement", no_yes, 2, &s->complement) < 0)
		return -1;
	if (!p)
		return ferry_yaml_err(c, v->line, "probability", "is required");
	char *end = NULL;
	if (p->kind == FERRY_YAML_SCALAR && p->plain)
		s->probability = strtod(p->text, &end);
	if (!end || *end || end == p->text || !(s->probability >= 0 && s->probability <= 1))
		return ferry_yaml_err(c, p->line, "probability", "expected a number from 0 to 1, found '%s'", found(p));
	if (sd)
		return get_u64(c, sd, "seed", &s->seed);
	/* no seed: a fresh sample each time, as Azure does */
	s->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return 0;
}

static int read_filter(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (get_string(c, v, s->name, &s->text) < 0)
		return -1;
	char msg[300];
	if (ferry_mlt_expr_parse(s->text, &s->expr, msg, sizeof(msg)) < 0)
		return ferry_yaml_err(c, v->line, s->name, "%s", msg);
	return 0;
}

static int read_columns(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	return get_strings(c, v, s->name, &s->columns, &s->ncolumns);
}

/* select_partitions: a non-empty list of distinct non-negative integers. */
static int read_parts(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	if (v->kind != FERRY_YAML_SEQ || v->n == 0)
		return ferry_yaml_err(c, v->line, s->name, "expected a list of partition indexes (0, 1, ...), found %s",
				      v->kind == FERRY_YAML_SEQ ? "an empty list" : found(v));
	if (!(s->parts = calloc(v->n, sizeof(*s->parts))))
		return oom(c);
	for (size_t i = 0; i < v->n; i++) {
		if (get_u64(c, v->vals[i], s->name, &s->parts[i]) < 0)
			return -1;
		s->nparts++;
		for (size_t j = 0; j < i; j++)
			if (s->parts[j] == s->parts[i])
				return ferry_yaml_err(c, v->vals[i]->line, s->name, "partition %llu is named twice",
						      (unsigned long long)s->parts[i]);
	}
	return 0;
}

static int read_partition(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s)
{
	const char *name = s->name;
	/* `{col:yyyy/MM/dd}` unquoted is YAML's flow map {"col:yyyy/MM/dd": null} */
	if (v->kind == FERRY_YAML_MAP && v->n == 1 && ferry_yaml_is_null(v->vals[0])) {
		if (asprintf(&s->text, "{%s}", v->keys[0]) < 0)
			return oom(c);
	} else if (get_string(c, v, name, &s->text) < 0) {
		return -1;
	}
	if (!strchr(s->text, '{'))
		return ferry_yaml_err(c, v->line, name, "expected a format with {column} parts, found '%s'", s->text);
	for (const char *p = s->text; (p = strchr(p, '{')); p++) {
		const char *close = strchr(p, '}'), *next = strchr(p + 1, '{');
		if (!close || (next && next < close) || close == p + 1 || close[-1] == ':' || p[1] == ':')
			return ferry_yaml_err(c, v->line, name, "'%s': each {column} or {column:format} needs a name and a "
				    "closing '}'", s->text);
	}
	return 0;
}

/* The transformations ferry knows, in the order its error message lists them:
 * the name, what it does, and the reader of its value (NULL: none read). */
static const struct step_kind {
	const char *name;
	enum ferry_mlt_op op;
	int (*read)(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, struct ferry_mlt_step *s);
} step_kinds[] = {
	{ "read_delimited", FERRY_MLT_READ_DELIMITED, read_delimited },
	{ "read_json_lines", FERRY_MLT_READ_JSON_LINES, read_json_lines },
	{ "read_parquet", FERRY_MLT_READ_PARQUET, read_parquet },
	{ "read_delta_lake", FERRY_MLT_READ_DELTA_LAKE, read_delta_lake },
	{ "take", FERRY_MLT_TAKE, read_count },
	{ "skip", FERRY_MLT_SKIP, read_count },
	{ "take_random_sample", FERRY_MLT_SAMPLE, read_sample },
	{ "filter", FERRY_MLT_FILTER, read_filter },
	{ "keep_columns", FERRY_MLT_KEEP_COLUMNS, read_columns },
	{ "drop_columns", FERRY_MLT_DROP_COLUMNS, read_columns },
	{ "convert_column_types", FERRY_MLT_CONVERT, convert_types },
	{ "extract_columns_from_partition_format", FERRY_MLT_PARTITION, read_partition },
	{ "select_partitions", FERRY_MLT_SELECT_PARTITIONS, read_parts },
};

static int unknown_step(struct ferry_yaml_doc *c, const struct ferry_yaml_node *item, const char *name)
{
	struct ferry_strbuf known = FERRY_STRBUF_INIT;
	for (size_t i = 0; i < sizeof(step_kinds) / sizeof(step_kinds[0]); i++)
		ferry_strbuf_addf(&known, "%s%s", i ? ", " : "", step_kinds[i].name);
	int rc = known.failed ? oom(c)
			      : ferry_yaml_err(c, item->line, NULL, "unknown transformation '%s' (ferry knows: %s)", name,
					       known.buf);
	ferry_strbuf_release(&known);
	return rc;
}

static int parse_step(struct ferry_yaml_doc *c, const struct ferry_yaml_node *item, struct ferry_mlt_step *s)
{
	const char *name;
	const struct ferry_yaml_node *v;
	static const struct ferry_yaml_node null_node = { .kind = FERRY_YAML_SCALAR, .text = "", .plain = 1 };
	s->line = item->line;
	if (item->kind == FERRY_YAML_SCALAR) { /* "- read_delimited" without options */
		name = item->text;
		v = &null_node;
	} else if (item->kind == FERRY_YAML_MAP && item->n == 1) {
		name = item->keys[0];
		v = item->vals[0];
	} else {
		return ferry_yaml_err(c, item->line, NULL,
			    "a transformation is a map with one key (its name), found %s",
			    item->kind == FERRY_YAML_MAP ? "a map with several keys" : ferry_yaml_kind_name(item));
	}
	if (!(s->name = strdup(name)))
		return oom(c);
	for (size_t i = 0; i < sizeof(step_kinds) / sizeof(step_kinds[0]); i++)
		if (!strcmp(name, step_kinds[i].name)) {
			s->op = step_kinds[i].op;
			return step_kinds[i].read ? step_kinds[i].read(c, v, s) : 0;
		}
	return unknown_step(c, item, name);
}

static int parse_paths(struct ferry_yaml_doc *c, const struct ferry_yaml_node *p, struct ferry_mltable *m)
{
	if (p->kind != FERRY_YAML_SEQ || p->n == 0)
		return ferry_yaml_err(c, p->line, "paths", "expected a list of {file | folder | pattern}, found %s",
			    p->kind == FERRY_YAML_SEQ ? "an empty list" : ferry_yaml_kind_name(p));
	if (!(m->paths = calloc(p->n, sizeof(*m->paths))))
		return oom(c);
	for (size_t i = 0; i < p->n; i++) {
		const struct ferry_yaml_node *x = p->vals[i];
		struct ferry_mlt_path *mp = &m->paths[i];
		mp->line = x->line;
		if (x->kind != FERRY_YAML_MAP || x->n != 1)
			return ferry_yaml_err(c, x->line, "paths", "each entry is one of {file: ...}, {folder: ...}, "
				    "{pattern: ...}, found %s", ferry_yaml_kind_name(x));
		static const char *const kinds[] = { "file", "folder", "pattern" };
		int e = -1;
		for (int k = 0; k < 3; k++)
			if (!strcmp(x->keys[0], kinds[k]))
				e = k;
		if (e < 0)
			return ferry_yaml_err(c, x->key_lines[0], x->keys[0], "unknown kind of path (expected file, folder or pattern)");
		mp->kind = e;
		if (get_string(c, x->vals[0], x->keys[0], &mp->value) < 0)
			return -1;
		m->npaths++;
	}
	return 0;
}

static int read_paths(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return parse_paths(c, v, t);
}

static int read_steps(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	struct ferry_mltable *m = t;
	if (ferry_yaml_is_null(v))
		return 0;
	if (v->kind != FERRY_YAML_SEQ)
		return ferry_yaml_err(c, v->line, k, "expected a list, found %s", ferry_yaml_kind_name(v));
	if (!(m->steps = calloc(v->n ? v->n : 1, sizeof(*m->steps))))
		return oom(c);
	for (size_t j = 0; j < v->n; j++) {
		m->nsteps++;
		if (parse_step(c, v->vals[j], &m->steps[j]) < 0)
			return -1;
	}
	return 0;
}

static int check_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	if (v->kind != FERRY_YAML_SCALAR || strcmp(v->text, "mltable"))
		return ferry_yaml_err(c, v->line, k, "expected 'mltable', found '%s'", found(v));
	return 0;
}

static const struct ferry_yaml_field mltable_fields[] = {
	{ "paths", FERRY_YF_CUSTOM, 0, read_paths },
	{ "transformations", FERRY_YF_CUSTOM, 0, read_steps },
	{ "type", FERRY_YF_CUSTOM, 0, check_type },
	/* descriptive; nothing to evaluate */
	{ "$schema", FERRY_YF_IGNORE, 0, NULL },
	{ "traits", FERRY_YF_IGNORE, 0, NULL },
	{ "metadata", FERRY_YF_IGNORE, 0, NULL },
	{ "query_source", FERRY_YF_IGNORE, 0, NULL },
};

int ferry_mltable_parse(const char *text, size_t len, const char *label, struct ferry_mltable **out,
			ferry_err *err)
{
	struct ferry_yaml_doc c = { .label = label, .err = err };
	*out = NULL;
	struct ferry_yaml_node *root = NULL;
	if (ferry_yaml_parse(text, len, label, &root, err) < 0)
		return -1;
	struct ferry_mltable *m = calloc(1, sizeof(*m));
	int rc = 0;
	if (!m || !(m->label = strdup(label))) {
		rc = oom(&c);
		goto done;
	}
	if (root->kind != FERRY_YAML_MAP) {
		rc = ferry_yaml_err(&c, root->line, NULL, "an MLTable is a map with 'paths' and 'transformations', found %s",
			  ferry_yaml_kind_name(root));
		goto done;
	}
	if (ferry_yaml_fields(&c, root, mltable_fields, sizeof(mltable_fields) / sizeof(mltable_fields[0]), m, NULL,
			      "unknown field of an MLTable (known: type, paths, transformations, traits, metadata, "
			      "$schema)") < 0)
		rc = -1;
	if (rc == 0 && !m->npaths)
		rc = ferry_yaml_err(&c, root->line, NULL, "field 'paths' is required");
done:
	ferry_yaml_free(root);
	if (rc < 0) {
		ferry_mltable_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void ferry_mltable_free(struct ferry_mltable *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->npaths; i++)
		free(m->paths[i].value);
	free(m->paths);
	for (size_t i = 0; i < m->nsteps; i++) {
		struct ferry_mlt_step *s = &m->steps[i];
		free(s->name);
		free(s->text);
		ferry_mlt_expr_free(s->expr);
		free_strings(s->columns, s->ncolumns);
		free(s->parts);
		for (size_t j = 0; j < s->nconvs; j++) {
			free_strings(s->convs[j].columns, s->convs[j].ncolumns);
			free_strings(s->convs[j].formats, s->convs[j].nformats);
			free_strings(s->convs[j].true_values, s->convs[j].ntrue);
			free_strings(s->convs[j].false_values, s->convs[j].nfalse);
		}
		free(s->convs);
	}
	free(m->steps);
	for (size_t i = 0; i < m->nsources; i++) {
		ferry_store_destroy(m->sources[i].store);
		free(m->sources[i].tree);
	}
	free(m->sources);
	free(m->folder);
	free(m->label);
	free(m->added_label);
	free(m->text);
	free(m->uri);
	free(m);
}
