/* test_yaml.c — the YAML loader finds duplicate keys among many (hash set) and
 * caps keys per map, nodes per document and value size with file:line errors. */
#include "check.h"
#include "core/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "k0000000: v\n" ... for keys [0, n), then `tail`. malloc'd. */
static char *many_keys(size_t n, const char *tail)
{
	size_t cap = n * 16 + strlen(tail) + 1, w = 0;
	char *t = malloc(cap);
	for (size_t i = 0; i < n; i++)
		w += (size_t)snprintf(t + w, cap - w, "k%07zu: v\n", i);
	snprintf(t + w, cap - w, "%s", tail);
	return t;
}

static int parse(const char *text, ferry_err *err)
{
	struct ferry_yaml_node *root;
	int rc = ferry_yaml_parse(text, strlen(text), "f.yml", &root, err);
	if (rc == 0) {
		CHECK(root->kind == FERRY_YAML_MAP);
		ferry_yaml_free(root);
	}
	return rc;
}

int main(void)
{
	ferry_err err;
	char *t = many_keys(10000, "");
	CHECK(parse(t, &err) == 0); /* the cap itself is allowed */
	free(t);
	t = many_keys(9999, "k0001234: again\n");
	CHECK(parse(t, &err) == -1);
	CHECK_STR(err.msg, "f.yml:10000: field 'k0001234' appears twice");
	free(t);
	t = many_keys(10001, "");
	CHECK(parse(t, &err) == -1);
	CHECK_STR(err.msg, "f.yml:10001: a map with more than 10000 keys; ferry files need far fewer");
	free(t);

	size_t n = 1000001;
	char *list = malloc(n * 2 + 8);
	char *w = list + sprintf(list, "l: [1");
	for (size_t i = 1; i < n; i++, w += 2)
		memcpy(w, ",1", 2);
	strcpy(w, "]");
	CHECK(parse(list, &err) == -1);
	CHECK(strstr(err.msg, "f.yml:1: more than 1000000 keys, values and list items") == err.msg);
	free(list);

	size_t big = (1u << 20) + 1;
	char *v = malloc(big + 16);
	memcpy(v, "d: ", 3);
	memset(v + 3, 'y', big);
	strcpy(v + 3 + big, "\n");
	CHECK(parse(v, &err) == -1);
	CHECK_STR(err.msg, "f.yml:1: a value of 1048577 bytes (at most 1048576)");
	free(v);

	char deep[300] = "t: ";
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	for (int i = 0; i < 70; i++)
		strcat(deep, "]");
	CHECK(parse(deep, &err) == -1);
	CHECK(strstr(err.msg, "nesting deeper than 64") != NULL);
	return CHECK_DONE();
}
