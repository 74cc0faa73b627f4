/*
 * yaml.h — a YAML document as a small tree that remembers line numbers.
 *
 * libyaml's event stream is folded into maps, sequences and scalars; every
 * node keeps the line (1-based) where it starts so that validation errors can
 * say "job.yml:12: field 'mode': ...". Scalars keep their text exactly as
 * written (block forms `|` and `>-` already folded by libyaml) and whether
 * they were plain (unquoted), which is what decides null / bool / number.
 * Anchors and aliases are refused (job files have no need for them);
 * duplicate keys in one map are an error.
 *
 * Threads: a tree is immutable after loading; any thread may read it.
 */
#ifndef FERRY_CORE_YAML_H
#define FERRY_CORE_YAML_H

#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>

enum ferry_yaml_kind { FERRY_YAML_SCALAR, FERRY_YAML_MAP, FERRY_YAML_SEQ };

struct ferry_yaml_node {
	enum ferry_yaml_kind kind;
	int line;
	/* SCALAR */
	char *text;
	int plain;            /* unquoted, not a block scalar */
	/* MAP: n pairs keys[i] -> vals[i]; SEQ: n items in vals */
	size_t n;
	char **keys;
	int *key_lines;
	struct ferry_yaml_node **vals;
};

/* Parse `len` bytes of YAML text. `label` (borrowed) names the source in
 * errors ("job.yml:3: ..."). An empty document gives an empty map.
 * On success *root is owned by the caller (ferry_yaml_free). */
int ferry_yaml_parse(const char *text, size_t len, const char *label,
		     struct ferry_yaml_node **root, ferry_err *err);

/* Read and parse the file `path` (labelled by its path). */
int ferry_yaml_load(const char *path, struct ferry_yaml_node **root, ferry_err *err);

void ferry_yaml_free(struct ferry_yaml_node *n);

/* Fill err (FERRY_E_INVALID) with "<label>:<line>: field '<field>': <message>",
 * or "<label>:<line>: <message>" when field is NULL; line 0 (a node made by
 * `--set`) reads "<label>: --set: ..." — the form every error
 * about a YAML file takes (job, datastore and data asset files). Returns -1. */
int ferry_yaml_field_errv(ferry_err *err, const char *label, int line, const char *field,
			  const char *fmt, va_list ap);

/* A YAML document being checked: what its errors are labelled with (a file
 * name or URI) and where they go. */
struct ferry_yaml_doc {
	const char *label;
	ferry_err *err;
};

/* ferry_yaml_field_errv for document `d`, printf-style. Returns -1. */
int ferry_yaml_err(const struct ferry_yaml_doc *d, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The value of key `key` in map `map`, or NULL (also when map is not a map). */
const struct ferry_yaml_node *ferry_yaml_get(const struct ferry_yaml_node *map,
					     const char *key);

/* Plain scalar spelled as YAML null ("", "~", "null", "Null", "NULL"). */
int ferry_yaml_is_null(const struct ferry_yaml_node *n);

/* Plain scalar spelled as a YAML 1.1/1.2 boolean: returns 1 and sets *v, or 0. */
int ferry_yaml_bool(const struct ferry_yaml_node *n, int *v);

/* "scalar", "map" or "list", for error messages. */
const char *ferry_yaml_kind_name(const struct ferry_yaml_node *n);

/* A scalar that is not null, strdup'd into *out (what *out held is freed).
 * 0, or -1 with d's error: "expected a string, found <kind>" at v's line,
 * naming `field`, or out of memory (*out is then left as it was). */
int ferry_yaml_string(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *field,
		      char **out);

/* ---- table-driven fields ----
 * A parser declares the fields of a map once, as rows (key, type, where the
 * value goes, an optional check), instead of a chain of strcmp; then
 * ferry_yaml_fields walks the map in document order, so the first bad field
 * in the file is the one reported, and a key with no row is an error. */
enum ferry_yaml_ftype {
	FERRY_YF_IGNORE,     /* accepted and not read ($schema, a type already read) */
	FERRY_YF_STRING,     /* a scalar that is not null, strdup'd into the char * at offset */
	FERRY_YF_OPT_STRING, /* the same, or null (the char * is left as it is) */
	FERRY_YF_BOOL,       /* a YAML boolean (ferry_yaml_bool) into the int at offset */
	FERRY_YF_CUSTOM,     /* fn reads the value itself */
};

struct ferry_yaml_field {
	const char *key;
	enum ferry_yaml_ftype type;
	size_t offset; /* STRING kinds: offsetof() the char * in the target; BOOL: the int */
	/* STRING kinds and BOOL: checks the value just stored (may be NULL);
	 * CUSTOM: parses the value. 0, or -1 with d's error set (ferry_yaml_err);
	 * CUSTOM may also return 1 (see ferry_yaml_fields_in). */
	int (*fn)(struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *key, void *target,
		  void *arg);
};

/* Apply `fields` (n rows) to every key of `map`, writing into `target`; `arg`
 * goes to the rows' fn. A key with no row fails with `unknown` as the
 * message (which should list the known fields). A STRING that is not a
 * scalar fails as ferry_yaml_string does; a BOOL that is not a boolean
 * fails "expected true or false, found '<text or kind>'". 0, or -1 with d's
 * error. */
int ferry_yaml_fields(struct ferry_yaml_doc *d, const struct ferry_yaml_node *map,
		      const struct ferry_yaml_field *fields, size_t n, void *target, void *arg, const char *unknown);

/* ferry_yaml_fields for a map nested at `prefix` ("inputs.x"): the key a row's
 * fn is given, and every error, name the field "<prefix>.<key>" (cut at 299
 * bytes). NULL prefix: ferry_yaml_fields.
 * In both, a CUSTOM fn may return 1: the key is unknown after all (the
 * `unknown` error at the key's line; a field known only in some documents),
 * and a last row whose key is NULL takes every key the rows above do not
 * name (it must be CUSTOM: for maps whose values are checked before their
 * keys, the fn checks the value, then returns 1). */
int ferry_yaml_fields_in(struct ferry_yaml_doc *d, const struct ferry_yaml_node *map, const char *prefix,
			 const struct ferry_yaml_field *fields, size_t n, void *target, void *arg, const char *unknown);

#endif
