/*
 * mltable.h — MLTable files: the document, the file set it names, the table
 * it evaluates to.
 *
 * An MLTable (REFERENCE-azure.md; docs/architecture.md, "MLTable") is a YAML file named `MLTable`
 * with `paths` (file / folder / pattern) and an ordered list of
 * `transformations`. ferry evaluates it in two ways:
 *
 *  - as a file set (eval_mount / eval_download, `ferry mltable show`): the
 *    paths are listed and the transformations that come *before* any read_*
 *    (take, skip, take_random_sample, filter on col("Path")) pick files;
 *  - as a table (`ferry mltable head / export`): the file set is read by the
 *    read_* transformation and every later transformation acts on rows, one
 *    row at a time (memory bounded whatever the table's size).
 *
 * Each file of a set has a tree name `<account>/<container>/<path>` (Blob and
 * datastores over Blob), `s3/<bucket>/<path>`, `http/<host>/<path>`, or
 * `local/<absolute path>` (local files and local datastores) — the layout of
 * the seed's INPUT_DATA tree. The table's `Path` column holds that name.
 *
 * Errors name the MLTable and the line: "<uri>/MLTable:7: transformation
 * 'read_delta_lake' is not supported ...". Ownership: each *_free frees what its
 * constructor returned. Threads: one evaluation per object at a time.
 *
 * Layer mltable may include: core, store, resolve. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_MLTABLE_H
#define FERRY_MLTABLE_H

#include "core/err.h"
#include "core/yaml.h"
#include "resolve/resolve.h"

#include <stdint.h>
#include <stdio.h>

enum ferry_mlt_path_kind { FERRY_MLT_FILE, FERRY_MLT_FOLDER, FERRY_MLT_PATTERN };

struct ferry_mlt_path {
	enum ferry_mlt_path_kind kind;
	char *value;
	int line;
};

enum ferry_mlt_op {
	FERRY_MLT_READ_DELIMITED,
	FERRY_MLT_READ_JSON_LINES,
	FERRY_MLT_READ_PARQUET,
	FERRY_MLT_READ_UNSUPPORTED, /* no longer produced (read_delta_lake has a reader) */
	FERRY_MLT_TAKE,
	FERRY_MLT_SKIP,
	FERRY_MLT_SAMPLE,
	FERRY_MLT_FILTER,
	FERRY_MLT_KEEP_COLUMNS,
	FERRY_MLT_DROP_COLUMNS,
	FERRY_MLT_CONVERT,
	FERRY_MLT_PARTITION,
	FERRY_MLT_READ_DELTA_LAKE, /* read_delta_lake (delta.c) */
	FERRY_MLT_SELECT_PARTITIONS, /* ferry's own (Python's select_partitions): see below */
};

/* read_delimited, read_json_lines, read_parquet, read_delta_lake. */
static inline int ferry_mlt_is_read(enum ferry_mlt_op op)
{
	return op == FERRY_MLT_READ_DELIMITED || op == FERRY_MLT_READ_JSON_LINES || op == FERRY_MLT_READ_PARQUET ||
	       op == FERRY_MLT_READ_UNSUPPORTED || op == FERRY_MLT_READ_DELTA_LAKE;
}

enum ferry_mlt_header { FERRY_MLT_NO_HEADER, FERRY_MLT_FROM_FIRST_FILE, FERRY_MLT_ALL_DIFFERENT, FERRY_MLT_ALL_SAME };
enum ferry_mlt_encoding { FERRY_MLT_UTF8, FERRY_MLT_UTF8BOM, FERRY_MLT_ASCII, FERRY_MLT_LATIN1, FERRY_MLT_WIN1252 };

/* Column types (convert_column_types, inference, schema). */
enum ferry_mlt_type { FERRY_MLT_T_STRING, FERRY_MLT_T_INT, FERRY_MLT_T_FLOAT, FERRY_MLT_T_BOOL, FERRY_MLT_T_DATETIME };
const char *ferry_mlt_type_name(enum ferry_mlt_type t);

struct ferry_mlt_convert {
	char **columns;
	size_t ncolumns;
	enum ferry_mlt_type type;
	char **formats;           /* datetime: strptime formats; NULL = ISO 8601 forms */
	size_t nformats;
	char **true_values, **false_values; /* boolean; NULL = true/false, 1/0, yes/no */
	size_t ntrue, nfalse;
	int mismatch;             /* boolean: 0 error, 1 true, 2 false */
	int line;
};

struct ferry_mlt_expr; /* filter expressions, see expr.c */

struct ferry_mlt_step {
	enum ferry_mlt_op op;
	int line;
	char *name;               /* the transformation as written ("read_parquet") */
	/* read_delimited / read_json_lines (read_parquet: include_path only) */
	char delimiter;
	enum ferry_mlt_header header;
	enum ferry_mlt_encoding encoding;
	int empty_as_string, include_path, multi_line, infer_types, drop_invalid;
	/* take / skip */
	uint64_t n;
	/* take_random_sample */
	double probability;
	uint64_t seed;
	int complement;           /* ferry's own: keep the rows the sample leaves out
				     (the second table of Python's random_split) */
	/* filter */
	struct ferry_mlt_expr *expr;
	char *text;               /* filter expression / partition format as written */
	/* select_partitions: the partition (file) indexes to keep, as written */
	uint64_t *parts;
	size_t nparts;
	/* keep_columns / drop_columns */
	char **columns;
	size_t ncolumns;
	/* convert_column_types */
	struct ferry_mlt_convert *convs;
	size_t nconvs;
	/* NULL: a step of the MLTable file (errors name m->label and `line`);
	 * else where the step came from (the C API's added transformations,
	 * "<uri> (added transformations)", owned by m->added_label) */
	const char *label;
	/* read_delta_lake (text: the timestamp as written) */
	int has_version, has_timestamp;
	int64_t version_as_of, timestamp_ms;
};

/* Where the steps that pick files end: at the first read_*; in an MLTable
 * without one (a file set), at the first step that acts on columns
 * (extract_columns_from_partition_format, keep/drop_columns,
 * convert_column_types): it and the steps after it act on the rows of the
 * set's table (its Path column and the columns they add), as Azure's
 * `{account}/{container}/images/{label}/{file}.jpg` over a file set does. */
static inline size_t ferry_mlt_file_steps_end(const struct ferry_mlt_step *steps, size_t n)
{
	size_t k;
	for (k = 0; k < n; k++)
		if (ferry_mlt_is_read(steps[k].op))
			return k;
	for (k = 0; k < n; k++)
		if (steps[k].op == FERRY_MLT_PARTITION || steps[k].op == FERRY_MLT_KEEP_COLUMNS ||
		    steps[k].op == FERRY_MLT_DROP_COLUMNS || steps[k].op == FERRY_MLT_CONVERT)
			return k;
	return n;
}

/* Where a file comes from: a store and the prefix of its tree names. */
struct ferry_mlt_source {
	struct ferry_store *store; /* owned */
	char *tree;                /* "devstoreaccount1/c1", "local", ... */
	int on_disk;               /* 1: the local file system (a local path or a
				      local datastore); only an MLTable there may
				      name local files */
};

struct ferry_mltable {
	char *label;              /* "<uri>/MLTable", for errors */
	char *uri;                /* the folder holding the MLTable, as given */
	struct ferry_mlt_path *paths;
	size_t npaths;
	struct ferry_mlt_step *steps;
	size_t nsteps;
	/* sources[0] is the MLTable's own store; `folder` its folder in it */
	struct ferry_mlt_source *sources;
	size_t nsources;
	char *folder;
	char *added_label;        /* the label of steps added after parsing, or NULL */
	char *text;               /* the MLTable file as read (ferry_mltable_open), NUL-terminated */
	size_t text_len;
	int named_file;           /* 1: uri named the MLTable file, 0: its folder */
};

/* Who a step's errors name: the MLTable file, or what added the step. */
static inline const char *ferry_mlt_step_label(const struct ferry_mltable *m, const struct ferry_mlt_step *s)
{
	return s->label ? s->label : m->label;
}

/* Parse an MLTable document (no storage access). `label` names it in errors.
 * Checks field names, types and values of every transformation; unknown
 * transformations and fields are errors naming them and their line. On
 * success *out is owned by the caller (ferry_mltable_free). */
int ferry_mltable_parse(const char *text, size_t len, const char *label, struct ferry_mltable **out,
			ferry_err *err);

/* select_partitions: [i, j, ...] (ferry's own step; Python's
 * MLTable.select_partitions, Azure's name). A partition is a file of the
 * table: the files ferry_mltable_files gives from the paths and the steps
 * that pick files, in that order, numbered from 0 (what Python's
 * get_partition_count counts). The step keeps the files at those indexes, in
 * table order; an index past the end is an error naming it. Before the
 * first read_* (or a file set's first column step) it is a file step in its
 * place; after it, it still picks files (rows of the other files are never
 * read), which equals selecting rows by their file because filter,
 * keep/drop_columns, convert_column_types and partition columns act on one
 * row at a time; a take, skip or take_random_sample on rows before it would
 * not commute, and is an error. In a file set (no read_*), where a row is a
 * file, after the first column step it selects rows by their index among the
 * rows that reach it (table.c), so it counts the files a row filter kept.
 * Not with read_delta_lake (its files are the snapshot's). */

/* Open the MLTable at `uri` (a folder holding a file named MLTable, or that
 * file; any path form of README.md's "Paths", data assets included), read and parse it. */
int ferry_mltable_open(struct ferry_ctx *ctx, const char *uri, struct ferry_mltable **out, ferry_err *err);

void ferry_mltable_free(struct ferry_mltable *m);

/* One file of an evaluated file set. */
struct ferry_mlt_file {
	char *name;               /* tree name (see above) */
	unsigned src;             /* index in m->sources */
	char *path;               /* path inside that source's store */
	char *rel;                /* path below the folder/pattern base that found it */
	uint64_t size;
	int64_t mtime;
	char md5[25];
	char etag[72];
};

struct ferry_mlt_files {
	struct ferry_mlt_file *v;
	size_t n, cap;
};

/* Evaluate `paths` and the file transformations before the first read_*.
 * Files appear in path order, each folder/pattern listed in name order; a
 * file named twice appears once. A `file:` that does not exist, or a folder
 * or pattern that names nothing, is an error naming the entry and its line. */
int ferry_mltable_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			ferry_err *err);
void ferry_mlt_files_clear(struct ferry_mlt_files *f);
/* Keep the files i for which keep[i] (in order); frees the others. */
void ferry_mlt_files_keep(struct ferry_mlt_files *f, const char *keep);

/* Open the MLTable at `uri`, evaluate its file set and return it as one
 * read-only store (store/fileset.h) whose root holds the tree names (the
 * files ferry_mltable_table_files gives; in a file set whose row steps drop
 * rows, only the files whose Path row survives them); the
 * store owns the MLTable and its sources (ferry_store_destroy frees all).
 * *nfiles (if not NULL) gets the number of files. */
int ferry_mltable_fileset(struct ferry_ctx *ctx, const char *uri, struct ferry_store **out, size_t *nfiles,
			  ferry_err *err);
/* The same for an MLTable already opened (and perhaps given more steps, as
 * the C API adds a binding's): takes ownership of m, freed on failure too. */
int ferry_mltable_fileset_of(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_store **out,
			     size_t *nfiles, ferry_err *err);

enum ferry_mlt_format {
	FERRY_MLT_CSV, FERRY_MLT_JSONL, FERRY_MLT_SCHEMA, FERRY_MLT_ROWS,
	/* Parquet (pqwrite.h): SNAPPY, ZSTD, GZIP or uncompressed; column types as
	 * for JSON lines (convert_column_types, else the first 200 rows) */
	FERRY_MLT_PARQUET, FERRY_MLT_PARQUET_ZSTD, FERRY_MLT_PARQUET_GZIP, FERRY_MLT_PARQUET_NONE,
};
static inline int ferry_mlt_is_parquet(enum ferry_mlt_format f)
{
	return f >= FERRY_MLT_PARQUET && f <= FERRY_MLT_PARQUET_NONE;
}

/* Evaluate the table and write it to `out`: CSV (header line, then rows) or
 * JSON lines, at most max_rows rows (UINT64_MAX: all). FERRY_MLT_SCHEMA
 * writes "<column>\t<type>" lines instead (types from convert_column_types,
 * else inferred from the first 200 rows). An MLTable without read_* is the
 * table of its files (one `Path` column). *rows (if not NULL) gets the
 * number of rows written. */
int ferry_mltable_export(struct ferry_ctx *ctx, struct ferry_mltable *m, enum ferry_mlt_format fmt,
			 FILE *out, uint64_t max_rows, uint64_t *rows, ferry_err *err);

/* One value of a row given to a sink: its type (enum ferry_mlt_type, or -1
 * for null: s is then NULL) and its text, NUL-terminated, borrowed for the
 * call: an int or float as written ("3", "-2.5e3"), a boolean as "true" /
 * "false", a datetime as "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fraction]"
 * (UTC), a string as is. A value is its column's type when it fits it; one
 * that does not (a text "n/a" in a column inferred int from its first 200
 * rows) keeps the type it has, so a caller can widen the column. */
struct ferry_mlt_cell {
	int type;
	const char *s;
	size_t len;
};

/* Where ferry_mltable_rows delivers the table. columns() is called once,
 * before the first row (also for a table with no rows), with the column
 * names and types (those `show` prints: convert_column_types, else inferred
 * from the first 200 rows); row() once per row, with one cell per column.
 * Each returns 0 to go on, 1 to stop reading (not an error), or -1 after
 * filling err (the evaluation then fails with that error). Both run on the
 * thread that called ferry_mltable_rows. */
struct ferry_mlt_sink {
	int (*columns)(void *arg, char *const *names, const int *types, size_t n, ferry_err *err);
	int (*row)(void *arg, const struct ferry_mlt_cell *cells, size_t n, ferry_err *err);
	void *arg;
};

/* Evaluate the table as ferry_mltable_export does, handing at most max_rows
 * rows to `sink` instead of writing text. *rows (if not NULL) gets the number
 * of rows delivered. */
int ferry_mltable_rows(struct ferry_ctx *ctx, struct ferry_mltable *m, const struct ferry_mlt_sink *sink,
		       uint64_t max_rows, uint64_t *rows, ferry_err *err);

/* ferry_mltable_files, then, for a read_delta_lake table, only the data
 * files live at its version / timestamp (delta.c): the files the table is
 * read from. `ferry mltable show`, eval_mount and eval_download use it. */
int ferry_mltable_table_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			      ferry_err *err);

/* The files eval_mount / eval_download give (ferry_mltable_fileset): those
 * of ferry_mltable_table_files, and in a file set whose row steps drop rows
 * (a filter on a partition column), only the files whose Path row survives.
 * `ferry mltable show` lists them; the C API's file list is this one. */
int ferry_mltable_set_files(struct ferry_ctx *ctx, struct ferry_mltable *m, struct ferry_mlt_files *out,
			    ferry_err *err);

/* A `type: mltable` job output (describe.c): write `<folder>/MLTable` naming
 * every regular file below `folder` (local; a read-write mount works too) as
 * `- file: ./<path>`, in name order. An MLTable the command wrote there is the
 * template: its paths are replaced, the rest kept; without one the MLTable has
 * no transformations (a file set). The result must parse (errors name the
 * template); no files is an error. *nfiles (if not NULL) gets the count. */
int ferry_mltable_describe(const char *folder, size_t *nfiles, ferry_err *err);

/* Filter expressions (expr.c). Grammar, a documented subset of Azure's:
 *   expr := term (("or" | "||" | "|") term)* ;  term := factor (("and" | "&&" | "&") factor)*
 *   factor := ("not" | "!") factor | "(" expr ")" | operand OP operand
 *           | column "." ("startswith"|"endswith"|"contains") "(" STRING ")"
 *   operand := column | NUMBER | STRING | true | false | datetime(Y, M, D[, h[, m[, s]]])
 *   column := col(STRING) | NAME   (NAME: [A-Za-z_][A-Za-z0-9_]*, not and/or/not;
 *             `col > 3` is the column named col: col( starts Azure's form)
 *   OP := == != < <= > >=
 * Strings are '...' or "..." with backslash escapes. A number compares
 * numerically with a column value that parses as a number; a datetime(...),
 * or a string that reads as ISO 8601 (2024-01-31[T12:00[:00[.fff]]][Z]),
 * compares as a point in time with a value that reads as one (the text the
 * evaluator writes for datetime columns); otherwise values compare as
 * strings; a null (empty) value satisfies only "!=". Parse errors name the
 * problem and its position: "expected ... at position 9 ('...')". */
int ferry_mlt_expr_parse(const char *text, struct ferry_mlt_expr **out, char *errbuf, size_t cap);
void ferry_mlt_expr_free(struct ferry_mlt_expr *e);
/* Evaluate: `lookup` gives a column's value (NULL + *is_null=1 for null).
 * Returns 1 (keep) or 0. Pure; any thread. */
typedef const char *(*ferry_mlt_lookup_fn)(void *arg, const char *column, int *is_null);
int ferry_mlt_expr_eval(const struct ferry_mlt_expr *e, ferry_mlt_lookup_fn lookup, void *arg);
/* Every column name the expression reads; calls fn(arg, name) for each. */
int ferry_mlt_expr_columns(const struct ferry_mlt_expr *e, int (*fn)(void *arg, const char *name), void *arg);

#endif
