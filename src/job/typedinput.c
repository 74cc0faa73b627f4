/*
 * typedinput.c — owns typed literal inputs and their checks (typedinput.h).
 */
#include "job/typedinput.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const literal_types[] = { "integer", "number", "boolean", "string" };

static int literal_kind(const struct ferry_yaml_node *n)
{
	const struct ferry_yaml_node *t = ferry_yaml_get(n, "type");
	if (!t || t->kind != FERRY_YAML_SCALAR)
		return -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(t->text, literal_types[i]))
			return i;
	return -1;
}

int ferry_typed_literal_type(const struct ferry_yaml_node *n)
{
	return n && n->kind == FERRY_YAML_MAP && literal_kind(n) >= 0;
}

/* `text` as a number of kind (0 integer, 1 number); 0 or -1. */
static int to_number(int kind, const char *text, double *out)
{
	char *end = NULL;
	errno = 0;
	if (kind == 0) {
		long long v = strtoll(text, &end, 10);
		*out = (double)v;
	} else
		*out = strtod(text, &end);
	return *text && end && !*end && errno == 0 && isfinite(*out) ? 0 : -1;
}

int ferry_typed_input(struct ferry_yaml_doc *c, const char *name, const struct ferry_yaml_node *n,
		      struct ferry_job_input *in)
{
	if (!ferry_typed_literal_type(n))
		return 0;
	int kind = literal_kind(n);
	const char *tname = literal_types[kind];
	const struct ferry_yaml_node *val = NULL, *min = NULL, *max = NULL, *en = NULL;
	char field[300];
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		const struct ferry_yaml_node *v = n->vals[i];
		snprintf(field, sizeof(field), "inputs.%s.%s", name, k);
		if (!strcmp(k, "type"))
			continue;
		if (!strcmp(k, "value") || !strcmp(k, "default")) {
			if (v->kind != FERRY_YAML_SCALAR)
				return ferry_yaml_err(c, v->line, field, "expected a %s, found %s", tname,
						      ferry_yaml_kind_name(v));
			if (!strcmp(k, "value") || !val) /* value: wins over default: */
				val = ferry_yaml_is_null(v) ? NULL : v;
		} else if (!strcmp(k, "optional")) {
			if (!ferry_yaml_bool(v, &in->optional))
				return ferry_yaml_err(c, v->line, field, "expected true or false");
		} else if (!strcmp(k, "description")) {
			free(in->description);
			in->description = v->kind == FERRY_YAML_SCALAR ? strdup(v->text) : NULL;
		} else if (!strcmp(k, "min") || !strcmp(k, "max")) {
			double d;
			if (kind > 1)
				return ferry_yaml_err(c, v->line, field, "only integer and number inputs take %s", k);
			if (v->kind != FERRY_YAML_SCALAR || to_number(kind, v->text, &d) < 0)
				return ferry_yaml_err(c, v->line, field, "expected a%s %s", kind ? "" : "n", tname);
			if (k[1] == 'i')
				min = v;
			else
				max = v;
		} else if (!strcmp(k, "enum")) {
			if (v->kind != FERRY_YAML_SEQ || v->n == 0)
				return ferry_yaml_err(c, v->line, field, "expected a list of allowed values");
			en = v;
		} else
			return ferry_yaml_err(c, n->key_lines[i], field,
					      "unknown field of a %s input (known: type, value, default, optional, "
					      "min, max, enum, description)",
					      tname);
	}
	in->literal = 0;
	if (!val) {
		if (in->optional)
			return 1; /* absent: no path, no value */
		return ferry_yaml_err(c, n->line, NULL,
				      "input '%s' (type %s) has no value: give it `default:` or "
				      "`--set inputs.%s=...`",
				      name, tname, name);
	}
	const char *t = val->text;
	snprintf(field, sizeof(field), "inputs.%s", name);
	double d = 0;
	int b;
	if (kind <= 1 && to_number(kind, t, &d) < 0)
		return ferry_yaml_err(c, val->line, field, "'%s' is not a%s %s", t, kind ? "" : "n", tname);
	if (kind == 2 && !ferry_yaml_bool(val, &b))
		return ferry_yaml_err(c, val->line, field, "'%s' is not a boolean (true or false)", t);
	double lim;
	if (min && to_number(kind, min->text, &lim) == 0 && d < lim)
		return ferry_yaml_err(c, val->line, field, "%s is below the minimum %s", t, min->text);
	if (max && to_number(kind, max->text, &lim) == 0 && d > lim)
		return ferry_yaml_err(c, val->line, field, "%s is above the maximum %s", t, max->text);
	if (en) {
		size_t i = 0;
		for (; i < en->n; i++)
			if (en->vals[i]->kind == FERRY_YAML_SCALAR && !strcmp(en->vals[i]->text, t))
				break;
		if (i == en->n) {
			char allowed[400] = "";
			for (size_t j = 0; j < en->n; j++)
				if (en->vals[j]->kind == FERRY_YAML_SCALAR)
					snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s",
						 j ? ", " : "", en->vals[j]->text);
			return ferry_yaml_err(c, val->line, field, "'%s' is not one of the allowed values (%s)", t,
					      allowed);
		}
	}
	in->literal = 1;
	if (!(in->value = strdup(t)))
		return ferry_yaml_err(c, val->line, field, "out of memory");
	return 1;
}
