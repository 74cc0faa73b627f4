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

static int run(const char *text, struct thing *t, ferry_err *err)
{
	struct ferry_yaml_node *root = NULL;
	memset(t, 0, sizeof(*t));
	if (ferry_yaml_parse(text, strlen(text), "t.yml", &root, err) < 0)
		return -2;
	struct ferry_yaml_doc d = { "t.yml", err };
	int calls = 0;
	int rc = ferry_yaml_fields(&d, root, fields, sizeof(fields) / sizeof(fields[0]), t, &calls,
				   "unknown field (known: kind, name, note, count, flag)");
	ferry_yaml_free(root);
	return rc;
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
	return CHECK_DONE();
}
