/* test_yaml_fields.c — ferry_yaml_fields, the table-driven reader of a YAML map:
 * strings land at their offsets, null is allowed only where the row says so,
 * booleans land in their ints, checks and custom readers run in document
 * order, ignored keys pass, and an unknown key or a wrong type is an error
 * naming file, line and field. */
#include "check.h"
#include "core/yaml.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct thing {
	char *name, *note;
	int count;
	int flag;
};

static int positive(struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	struct thing *x = t;
	if (v->kind != FERRY_YAML_SCALAR || atoi(v->text) <= 0)
		return ferry_yaml_err(d, v->line, k, "expected a positive number");
	x->count = atoi(v->text);
	(*(int *)arg)++;
	return 0;
}

static int no_dots(struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return strchr(((struct thing *)t)->name, '.') ? ferry_yaml_err(d, v->line, k, "no dots") : 0;
}

static const struct ferry_yaml_field fields[] = {
	{ "kind", FERRY_YF_IGNORE, 0, NULL },
	{ "name", FERRY_YF_STRING, offsetof(struct thing, name), no_dots },
	{ "note", FERRY_YF_OPT_STRING, offsetof(struct thing, note), NULL },
	{ "count", FERRY_YF_CUSTOM, 0, positive },
	{ "flag", FERRY_YF_BOOL, offsetof(struct thing, flag), NULL },
};

/* Nested at a prefix, with a catch-all last row that checks any other key's
 * value before calling it unknown (1). */
static int string_first(struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	(void)arg;
	if (v->kind != FERRY_YAML_SCALAR)
		return ferry_yaml_err(d, v->line, k, "expected a string");
	return 1;
}

static const struct ferry_yaml_field nested[] = {
	{ "name", FERRY_YF_STRING, offsetof(struct thing, name), no_dots },
	{ "count", FERRY_YF_CUSTOM, 0, positive },
	{ NULL, FERRY_YF_CUSTOM, 0, string_first },
};

/* Read `text` into *t with `rows` (n of them) at `prefix` (NULL: top level). */
static int read_map(const char *text, const char *prefix, const struct ferry_yaml_field *rows, size_t n,
		const char *unknown, struct thing *t, ferry_err *err)
{
	struct ferry_yaml_node *root = NULL;
	memset(t, 0, sizeof(*t));
	if (ferry_yaml_parse(text, strlen(text), "t.yml", &root, err) < 0)
		return -2;
	struct ferry_yaml_doc d = { "t.yml", err };
	int calls = 0;
	int rc = prefix ? ferry_yaml_fields_in(&d, root, prefix, rows, n, t, &calls, unknown)
			: ferry_yaml_fields(&d, root, rows, n, t, &calls, unknown);
	ferry_yaml_free(root);
	return rc;
}

static int run(const char *text, struct thing *t, ferry_err *err)
{
	return read_map(text, NULL, fields, sizeof(fields) / sizeof(fields[0]),
		    "unknown field (known: kind, name, note, count, flag)", t, err);
}

static int run_in(const char *text, struct thing *t, ferry_err *err)
{
	return read_map(text, "outer.x", nested, sizeof(nested) / sizeof(nested[0]), "unknown field (known: name, count)",
		    t, err);
}

static void clear(struct thing *t)
{
	free(t->name);
	free(t->note);
}

int main(void)
{
	struct thing t;
	ferry_err err;
	CHECK(run("kind: x\nname: a\nnote: hi\ncount: 3\n", &t, &err) == 0);
	CHECK_STR(t.name, "a");
	CHECK_STR(t.note, "hi");
	CHECK(t.count == 3);
	clear(&t);

	CHECK(run("name: a\nnote: ~\n", &t, &err) == 0 && t.note == NULL); /* optional null */
	clear(&t);

	CHECK(run("name: a\ncolour: red\n", &t, &err) == -1);
	CHECK(strstr(err.msg, "t.yml:2") && strstr(err.msg, "'colour'") && strstr(err.msg, "known: kind, name"));
	clear(&t);

	CHECK(run("name: [a, b]\n", &t, &err) == -1 && strstr(err.msg, "expected a string, found a list"));
	clear(&t);
	CHECK(run("name: null\n", &t, &err) == -1 && strstr(err.msg, "found null"));
	clear(&t);
	CHECK(run("name: a.b\n", &t, &err) == -1 && strstr(err.msg, "t.yml:1") && strstr(err.msg, "no dots"));
	clear(&t);
	CHECK(run("name: a\nflag: yes\n", &t, &err) == 0 && t.flag == 1);
	clear(&t);
	CHECK(run("name: a\nflag: maybe\n", &t, &err) == -1 && strstr(err.msg, "t.yml:2") &&
	      strstr(err.msg, "field 'flag': expected true or false, found 'maybe'"));
	clear(&t);
	CHECK(run("flag: [1]\n", &t, &err) == -1 && strstr(err.msg, "expected true or false, found 'a list'"));
	clear(&t);
	CHECK(run("flag: 'true'\n", &t, &err) == -1); /* quoted: a string, not a boolean */
	clear(&t);
	/* document order: the first bad field is the one reported */
	CHECK(run("count: 0\nname: a.b\n", &t, &err) == -1 && strstr(err.msg, "positive"));
	clear(&t);

	/* a prefix names the field in every error, and is the key a row's fn sees */
	CHECK(run_in("name: a\ncount: 2\n", &t, &err) == 0 && t.count == 2);
	clear(&t);
	CHECK(run_in("name: a.b\n", &t, &err) == -1 && strstr(err.msg, "field 'outer.x.name': no dots"));
	clear(&t);
	CHECK(run_in("count: 0\n", &t, &err) == -1 && strstr(err.msg, "field 'outer.x.count': expected a positive"));
	clear(&t);
	CHECK(run_in("name: [a]\n", &t, &err) == -1 && strstr(err.msg, "field 'outer.x.name': expected a string, found a list"));
	clear(&t);
	/* the catch-all row: its check first, then unknown at the key's line */
	CHECK(run_in("name: a\ncolour:\n  - red\n", &t, &err) == -1 && strstr(err.msg, "t.yml:3") &&
	      strstr(err.msg, "field 'outer.x.colour': expected a string"));
	clear(&t);
	CHECK(run_in("name: a\ncolour: red\n", &t, &err) == -1 && strstr(err.msg, "t.yml:2") &&
	      strstr(err.msg, "field 'outer.x.colour': unknown field (known: name, count)"));
	clear(&t);
	return CHECK_DONE();
}
