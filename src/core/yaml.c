/*
 * yaml.c — folding libyaml's event stream into a line-numbered tree.
 *
 * A recursive descent over events: one function builds one node from the
 * event that starts it. A hostile file cannot exhaust the stack or the time:
 * nesting depth, keys per map, nodes per document and scalar size are
 * capped (each cap an error naming the file and line), and duplicate keys
 * are found with a hash set per map, so loading is linear in the file.
 */
#include "core/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_MAP_KEYS 10000         /* keys in one map */
#define MAX_NODES 1000000          /* scalars, maps and lists in one document */
#define MAX_SCALAR_BYTES (1u << 20) /* one scalar (a command, a value) */

struct pctx {
	yaml_parser_t parser;
	const char *label;
	ferry_err *err;
	size_t nodes; /* built so far */
};

/* The keys of one map being built: open addressing over their indexes + 1
 * in the map's keys[] (0 = empty), at most half full. */
struct keyset {
	size_t *slot;
	size_t cap; /* a power of two */
};

static size_t key_hash(const char *k)
{
	size_t h = 1469598103934665603u; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)k; *c; c++)
		h = (h ^ *c) * 1099511628211u;
	return h;
}

/* Add `key`, about to be pushed as map->keys[map->n], unless map has it.
 * 1: a duplicate, 0: added, -1: out of memory. */
static int keyset_add(struct keyset *ks, const struct ferry_yaml_node *map, const char *key)
{
	if ((map->n + 1) * 2 > ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		size_t *slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return -1;
		for (size_t i = 0; i < map->n; i++) {
			size_t h = key_hash(map->keys[i]) & (cap - 1);
			while (slot[h])
				h = (h + 1) & (cap - 1);
			slot[h] = i + 1;
		}
		free(ks->slot);
		ks->slot = slot;
		ks->cap = cap;
	}
	size_t h = key_hash(key) & (ks->cap - 1);
	for (; ks->slot[h]; h = (h + 1) & (ks->cap - 1))
		if (!strcmp(map->keys[ks->slot[h] - 1], key))
			return 1;
	ks->slot[h] = map->n + 1;
	return 0;
}

void ferry_yaml_free(struct ferry_yaml_node *n)
{
	if (!n)
		return;
	free(n->text);
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			free(n->keys[i]);
		ferry_yaml_free(n->vals[i]);
	}
	free(n->keys);
	free(n->key_lines);
	free(n->vals);
	free(n);
}

static int parse_fail(struct pctx *p)
{
	yaml_parser_t *y = &p->parser;
	char ctx[300] = "";
	if (y->context)
		snprintf(ctx, sizeof(ctx), " %s (from line %lu)", y->context,
			 (unsigned long)y->context_mark.line + 1);
	return ferry_err_set(p->err, FERRY_E_INVALID, "%s:%lu: malformed YAML: %s%s", p->label,
			     (unsigned long)y->problem_mark.line + 1,
			     y->problem ? y->problem : "syntax error", ctx);
}

static int next_event(struct pctx *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev))
		return parse_fail(p);
	return 0;
}

static int oom(struct pctx *p)
{
	return ferry_err_set(p->err, FERRY_E_IO, "%s: out of memory", p->label);
}

static int push(struct pctx *p, struct ferry_yaml_node *parent, char *key, int key_line,
		struct ferry_yaml_node *val)
{
	size_t n = parent->n + 1;
	/* capacity: the next power of two, grown when n - 1 reaches one */
	size_t cap = parent->n < 4 ? 4 : parent->n * 2;
	int grow = parent->n == 0 || (parent->n >= 4 && (parent->n & (parent->n - 1)) == 0);
	struct ferry_yaml_node **vals = grow ? realloc(parent->vals, cap * sizeof(*vals)) : parent->vals;
	if (!vals)
		return oom(p);
	parent->vals = vals;
	if (parent->kind == FERRY_YAML_MAP) {
		char **keys = grow ? realloc(parent->keys, cap * sizeof(*keys)) : parent->keys;
		if (!keys)
			return oom(p);
		parent->keys = keys;
		int *kl = grow ? realloc(parent->key_lines, cap * sizeof(*kl)) : parent->key_lines;
		if (!kl)
			return oom(p);
		parent->key_lines = kl;
		keys[parent->n] = key;
		kl[parent->n] = key_line;
	}
	vals[parent->n] = val;
	parent->n = n;
	return 0;
}

/* Build the node started by `ev` (consumed). */
static int build(struct pctx *p, yaml_event_t *ev, int depth, struct ferry_yaml_node **out)
{
	*out = NULL;
	int line = (int)ev->start_mark.line + 1;
	if (depth > MAX_DEPTH) {
		yaml_event_delete(ev);
		return ferry_err_set(p->err, FERRY_E_INVALID, "%s:%d: nesting deeper than %d",
				     p->label, line, MAX_DEPTH);
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		yaml_event_delete(ev);
		return ferry_err_set(p->err, FERRY_E_INVALID,
				     "%s:%d: YAML aliases (*name) are not supported in ferry files",
				     p->label, line);
	}
	if (++p->nodes > MAX_NODES) {
		yaml_event_delete(ev);
		return ferry_err_set(p->err, FERRY_E_INVALID,
				     "%s:%d: more than %d keys, values and list items in one document; "
				     "ferry files need far fewer",
				     p->label, line, MAX_NODES);
	}
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.length > MAX_SCALAR_BYTES) {
		size_t len = ev->data.scalar.length;
		yaml_event_delete(ev);
		return ferry_err_set(p->err, FERRY_E_INVALID, "%s:%d: a value of %zu bytes (at most %u)",
				     p->label, line, len, MAX_SCALAR_BYTES);
	}
	struct ferry_yaml_node *n = calloc(1, sizeof(*n));
	if (!n) {
		yaml_event_delete(ev);
		return oom(p);
	}
	n->line = line;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = FERRY_YAML_SCALAR;
		n->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		yaml_event_delete(ev);
		if (!n->text) {
			free(n);
			return oom(p);
		}
		*out = n;
		return 0;
	}
	int is_map = ev->type == YAML_MAPPING_START_EVENT;
	if (!is_map && ev->type != YAML_SEQUENCE_START_EVENT) {
		yaml_event_delete(ev);
		free(n);
		return ferry_err_set(p->err, FERRY_E_INVALID, "%s:%d: unexpected YAML event",
				     p->label, line);
	}
	n->kind = is_map ? FERRY_YAML_MAP : FERRY_YAML_SEQ;
	yaml_event_delete(ev);
	struct keyset ks = { 0 };
	for (;;) {
		yaml_event_t e;
		if (next_event(p, &e) < 0)
			goto fail;
		if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		char *key = NULL;
		int key_line = (int)e.start_mark.line + 1;
		if (is_map) {
			if (e.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&e);
				ferry_err_set(p->err, FERRY_E_INVALID,
					      "%s:%d: map keys must be plain strings", p->label,
					      key_line);
				goto fail;
			}
			if (e.data.scalar.length > MAX_SCALAR_BYTES) {
				ferry_err_set(p->err, FERRY_E_INVALID, "%s:%d: a key of %zu bytes (at most %u)",
					      p->label, key_line, e.data.scalar.length, MAX_SCALAR_BYTES);
				yaml_event_delete(&e);
				goto fail;
			}
			key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
			yaml_event_delete(&e);
			if (!key) {
				oom(p);
				goto fail;
			}
			if (n->n >= MAX_MAP_KEYS) {
				ferry_err_set(p->err, FERRY_E_INVALID,
					      "%s:%d: a map with more than %d keys; ferry files need far fewer",
					      p->label, key_line, MAX_MAP_KEYS);
				free(key);
				goto fail;
			}
			int dup = keyset_add(&ks, n, key);
			if (dup != 0) {
				if (dup < 0)
					oom(p);
				else
					ferry_err_set(p->err, FERRY_E_INVALID,
						      "%s:%d: field '%s' appears twice", p->label, key_line,
						      key);
				free(key);
				goto fail;
			}
			if (next_event(p, &e) < 0) {
				free(key);
				goto fail;
			}
		}
		struct ferry_yaml_node *child;
		if (build(p, &e, depth + 1, &child) < 0) {
			free(key);
			goto fail;
		}
		if (push(p, n, key, key_line, child) < 0) {
			free(key);
			ferry_yaml_free(child);
			goto fail;
		}
	}
	free(ks.slot);
	*out = n;
	return 0;
fail:
	free(ks.slot);
	ferry_yaml_free(n);
	return -1;
}

int ferry_yaml_parse(const char *text, size_t len, const char *label,
		     struct ferry_yaml_node **root, ferry_err *err)
{
	*root = NULL;
	struct pctx p = { .label = label, .err = err };
	if (!yaml_parser_initialize(&p.parser))
		return ferry_err_set(err, FERRY_E_IO, "%s: cannot initialise the YAML parser",
				     label);
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
	struct ferry_yaml_node *doc = NULL;
	int rc = -1;
	yaml_event_t ev;
	/* STREAM-START, then DOCUMENT-START or STREAM-END (empty file). */
	if (next_event(&p, &ev) < 0)
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&p, &ev) < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		doc = calloc(1, sizeof(*doc));
		if (!doc) {
			oom(&p);
			goto out;
		}
		doc->kind = FERRY_YAML_MAP;
		doc->line = 1;
		rc = 0;
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(&p, &ev) < 0)
		goto out;
	if (build(&p, &ev, 0, &doc) < 0)
		goto out;
	/* DOCUMENT-END, then STREAM-END: a second document is an error. */
	if (next_event(&p, &ev) < 0)
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&p, &ev) < 0)
		goto out;
	if (ev.type != YAML_STREAM_END_EVENT) {
		ferry_err_set(err, FERRY_E_INVALID,
			      "%s:%lu: more than one YAML document; a job file holds one", label,
			      (unsigned long)ev.start_mark.line + 1);
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	rc = 0;
out:
	yaml_parser_delete(&p.parser);
	if (rc < 0) {
		ferry_yaml_free(doc);
		return -1;
	}
	/* A document that is a lone null scalar (only comments) is empty. */
	if (doc->kind == FERRY_YAML_SCALAR && ferry_yaml_is_null(doc)) {
		ferry_yaml_free(doc);
		doc = calloc(1, sizeof(*doc));
		if (!doc)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		doc->kind = FERRY_YAML_MAP;
		doc->line = 1;
	}
	*root = doc;
	return 0;
}

int ferry_yaml_load(const char *path, struct ferry_yaml_node **root, ferry_err *err)
{
	*root = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return ferry_err_set(err, errno == ENOENT ? FERRY_E_NOTFOUND : FERRY_E_IO,
				     "cannot read %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > (64u << 20)) {
				free(buf);
				fclose(f);
				return ferry_err_set(err, FERRY_E_INVALID,
						     "%s: larger than 64 MiB; not a job file", path);
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr) {
		free(buf);
		return ferry_err_set(err, FERRY_E_IO, "cannot read %s", path);
	}
	int rc = ferry_yaml_parse(buf ? buf : "", len, path, root, err);
	free(buf);
	return rc;
}

const struct ferry_yaml_node *ferry_yaml_get(const struct ferry_yaml_node *map,
					     const char *key)
{
	if (!map || map->kind != FERRY_YAML_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (!strcmp(map->keys[i], key))
			return map->vals[i];
	return NULL;
}

int ferry_yaml_is_null(const struct ferry_yaml_node *n)
{
	if (!n || n->kind != FERRY_YAML_SCALAR || !n->plain)
		return 0;
	const char *t = n->text;
	return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
	       !strcmp(t, "NULL");
}

int ferry_yaml_bool(const struct ferry_yaml_node *n, int *v)
{
	if (!n || n->kind != FERRY_YAML_SCALAR || !n->plain)
		return 0;
	static const char *const t[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const f[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(n->text, t[i])) {
			*v = 1;
			return 1;
		}
		if (!strcmp(n->text, f[i])) {
			*v = 0;
			return 1;
		}
	}
	return 0;
}

const char *ferry_yaml_kind_name(const struct ferry_yaml_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case FERRY_YAML_MAP:
		return "a map";
	case FERRY_YAML_SEQ:
		return "a list";
	default:
		return ferry_yaml_is_null(n) ? "null" : "a scalar";
	}
}

int ferry_yaml_field_errv(ferry_err *err, const char *label, int line, const char *field,
			  const char *fmt, va_list ap)
{
	char msg[800];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	char where[64] = ": --set"; /* line 0: a node `--set` made (job/setargs.h) */
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	if (field)
		return ferry_err_set(err, FERRY_E_INVALID, "%s%s: field '%s': %s", label, where, field, msg);
	return ferry_err_set(err, FERRY_E_INVALID, "%s%s: %s", label, where, msg);
}

int ferry_yaml_err(const struct ferry_yaml_doc *d, int line, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ferry_yaml_field_errv(d->err, d->label, line, field, fmt, ap);
	va_end(ap);
	return rc;
}

int ferry_yaml_string(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *field,
		      char **out)
{
	if (v->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(v))
		return ferry_yaml_err(d, v->line, field, "expected a string, found %s", ferry_yaml_kind_name(v));
	char *s = strdup(v->text);
	if (!s)
		return ferry_err_set(d->err, FERRY_E_IO, "out of memory");
	free(*out);
	*out = s;
	return 0;
}

int ferry_yaml_fields(struct ferry_yaml_doc *d, const struct ferry_yaml_node *map,
		      const struct ferry_yaml_field *fields, size_t n, void *target, void *arg, const char *unknown)
{
	return ferry_yaml_fields_in(d, map, NULL, fields, n, target, arg, unknown);
}

int ferry_yaml_fields_in(struct ferry_yaml_doc *d, const struct ferry_yaml_node *map, const char *prefix,
			 const struct ferry_yaml_field *fields, size_t n, void *target, void *arg, const char *unknown)
{
	char name[300];
	for (size_t i = 0; map->kind == FERRY_YAML_MAP && i < map->n; i++) {
		const char *k = map->keys[i];
		const struct ferry_yaml_node *v = map->vals[i];
		if (prefix) {
			snprintf(name, sizeof(name), "%s.%s", prefix, k);
			k = name;
		}
		const struct ferry_yaml_field *f = NULL;
		for (size_t j = 0; j < n && !f; j++)
			if (!fields[j].key || !strcmp(fields[j].key, map->keys[i]))
				f = &fields[j];
		if (!f)
			return ferry_yaml_err(d, map->key_lines[i], k, "%s", unknown);
		if (f->type == FERRY_YF_IGNORE)
			continue;
		if (f->type == FERRY_YF_CUSTOM) {
			int rc = f->fn(d, v, k, target, arg);
			if (rc > 0)
				return ferry_yaml_err(d, map->key_lines[i], k, "%s", unknown);
			if (rc < 0)
				return -1;
			continue;
		}
		if (f->type == FERRY_YF_OPT_STRING && ferry_yaml_is_null(v))
			continue;
		if (f->type == FERRY_YF_BOOL) {
			if (!ferry_yaml_bool(v, (int *)(void *)((char *)target + f->offset)))
				return ferry_yaml_err(d, v->line, k, "expected true or false, found '%s'",
						      v->kind == FERRY_YAML_SCALAR ? v->text : ferry_yaml_kind_name(v));
		} else if (ferry_yaml_string(d, v, k, (char **)(void *)((char *)target + f->offset)) < 0)
			return -1;
		if (f->fn && f->fn(d, v, k, target, arg) < 0)
			return -1;
	}
	return 0;
}
