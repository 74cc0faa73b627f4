/*
 * setargs.c — owns `--set PATH=VALUE` on a parsed job document (setargs.h).
 */
#include "job/setargs.h"
#include "job/typedinput.h"

#include <stdlib.h>
#include <string.h>

static void mark_set(struct ferry_yaml_node *n)
{
	n->line = 0;
	for (size_t i = 0; i < n->n; i++) {
		if (n->key_lines)
			n->key_lines[i] = 0;
		mark_set(n->vals[i]);
	}
}

static struct ferry_yaml_node *new_node(enum ferry_yaml_kind kind, const char *text, int plain)
{
	struct ferry_yaml_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->plain = plain;
	if (text && !(n->text = strdup(text))) {
		free(n);
		return NULL;
	}
	return n;
}

/* VALUE as YAML: a scalar, or a flow map/list when written as one; other
 * text that YAML would read as a map ("echo a: b") is a plain string. */
static struct ferry_yaml_node *parse_yaml(const char *v, ferry_err *err)
{
	struct ferry_yaml_node *n;
	ferry_err e;
	ferry_err_clear(&e);
	if (ferry_yaml_parse(v, strlen(v), "--set value", &n, &e) == 0) {
		if (n->kind == FERRY_YAML_SCALAR || v[0] == '{' || v[0] == '[') {
			mark_set(n);
			return n;
		}
		ferry_yaml_free(n);
	} else if (v[0] == '{' || v[0] == '[' || v[0] == '"' || v[0] == '\'') {
		*err = e;
		return NULL;
	}
	return new_node(FERRY_YAML_SCALAR, v, 0);
}

static struct ferry_yaml_node *parse_value(const char *v, ferry_err *err)
{
	struct ferry_yaml_node *n = *v ? parse_yaml(v, err) : new_node(FERRY_YAML_SCALAR, "", 1);
	if (!n && err->code == FERRY_OK)
		ferry_err_set(err, FERRY_E_IO, "out of memory");
	return n;
}

/* The index of `key` in map `m`, adding it (value NULL) when `add`; -1. */
static long map_slot(struct ferry_yaml_node *m, const char *key, size_t klen, int add)
{
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->keys[i]) == klen && !strncmp(m->keys[i], key, klen))
			return (long)i;
	if (!add)
		return -1;
	char **k = realloc(m->keys, (m->n + 1) * sizeof(*k));
	if (k)
		m->keys = k;
	int *kl = realloc(m->key_lines, (m->n + 1) * sizeof(*kl));
	if (kl)
		m->key_lines = kl;
	struct ferry_yaml_node **v = realloc(m->vals, (m->n + 1) * sizeof(*v));
	if (v)
		m->vals = v;
	if (!k || !kl || !v || !(m->keys[m->n] = strndup(key, klen)))
		return -1;
	m->key_lines[m->n] = 0;
	m->vals[m->n] = NULL;
	return (long)m->n++;
}

int ferry_job_set_apply(struct ferry_yaml_node *root, const char *assignment, ferry_err *err)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment)
		return ferry_err_set(err, FERRY_E_INVALID, "--set takes PATH=VALUE, got '%s'", assignment);
	size_t plen = (size_t)(eq - assignment);
	const char *path = assignment;
	if (root->kind != FERRY_YAML_MAP)
		return ferry_err_set(err, FERRY_E_INVALID, "--set %.*s: the job file is not a map",
				     (int)plen, path);
	struct ferry_yaml_node *m = root;
	const char *seg = path;
	int depth = 0;
	for (;;) {
		const char *dot = memchr(seg, '.', plen - (size_t)(seg - path));
		size_t slen = dot ? (size_t)(dot - seg) : plen - (size_t)(seg - path);
		if (slen == 0)
			return ferry_err_set(err, FERRY_E_INVALID, "--set %.*s: empty name in the path",
					     (int)plen, path);
		/* inputs.<name> and outputs.<name> name what the file defines. */
		int named = depth == 1 && (!strncmp(path, "inputs.", 7) || !strncmp(path, "outputs.", 8));
		long i = map_slot(m, seg, slen, !named);
		if (i < 0 && named)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "--set %.*s: the job defines no %s named '%.*s'", (int)plen,
					     path, path[0] == 'i' ? "input" : "output", (int)slen, seg);
		if (i < 0)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (!dot) {
			struct ferry_yaml_node *v = parse_value(eq + 1, err);
			if (!v)
				return -1;
			struct ferry_yaml_node *old = m->vals[i];
			if (named && v->kind == FERRY_YAML_SCALAR && ferry_typed_literal_type(old)) {
				/* inputs.epochs=3 on {type: integer, default: 10, min: ...}:
				 * the value, still checked against its type and limits */
				m = old;
				i = map_slot(m, ferry_yaml_get(m, "value") ? "value" : "default",
					     ferry_yaml_get(m, "value") ? 5 : 7, 1);
				if (i < 0) {
					ferry_yaml_free(v);
					return ferry_err_set(err, FERRY_E_IO, "out of memory");
				}
			}
			ferry_yaml_free(m->vals[i]);
			m->vals[i] = v;
			return 0;
		}
		struct ferry_yaml_node *next = m->vals[i];
		if (!next || ferry_yaml_is_null(next)) { /* absent or `name:` with nothing */
			ferry_yaml_free(next);
			if (!(next = m->vals[i] = new_node(FERRY_YAML_MAP, NULL, 0)))
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
		} else if (next->kind != FERRY_YAML_MAP)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "--set %.*s: '%.*s' is a %s in the job file, not a map of fields",
					     (int)plen, path, (int)(dot - path), path,
					     next->kind == FERRY_YAML_SEQ ? "list" : "literal value");
		m = next;
		seg = dot + 1;
		depth++;
	}
}
