/* test_jobidentity.c — a job's `identity:` (jobspec.c): each Azure ML spelling
 * parses to the identity ferry acts on, a managed identity takes a client id,
 * and mistakes are refused with file, line and field. */
#include "check.h"
#include "job/jobspec.h"

#include <stdlib.h>

static struct ferry_jobspec *load(const char *yaml, ferry_err *err)
{
	struct ferry_jobspec *s = NULL;
	if (ferry_jobspec_parse(yaml, strlen(yaml), "job.yml", "/tmp", &s, err) < 0)
		return NULL;
	return s;
}

static void kind_is(const char *yaml, enum ferry_identity_kind want, const char *client_id)
{
	ferry_err err = { 0 };
	struct ferry_jobspec *s = load(yaml, &err);
	CHECK(s && s->identity.kind == want && !strcmp(s->identity.client_id, client_id));
	if (!s)
		fprintf(stderr, "  %s\n", err.msg);
	else
		CHECK(want == FERRY_ID_NONE || strstr(s->azure_json, "identity")); /* still recorded */
	ferry_jobspec_free(s);
}

static void refused(const char *yaml, const char *needle)
{
	ferry_err err = { 0 };
	struct ferry_jobspec *s = load(yaml, &err);
	CHECK(!s && strstr(err.msg, needle));
	if (s || !strstr(err.msg, needle))
		fprintf(stderr, "  wanted '%s', got '%s'\n", needle, s ? "(loaded)" : err.msg);
	ferry_jobspec_free(s);
}

int main(void)
{
	kind_is("command: x\n", FERRY_ID_NONE, "");
	kind_is("command: x\nidentity:\n", FERRY_ID_NONE, "");
	kind_is("command: x\nidentity: {type: user_identity}\n", FERRY_ID_USER, "");
	kind_is("command: x\nidentity: {type: managed}\n", FERRY_ID_MANAGED, "");
	kind_is("command: x\nidentity:\n  type: managed_identity\n", FERRY_ID_MANAGED, "");
	kind_is("command: x\nidentity: {type: aml_token}\n", FERRY_ID_MANAGED, "");
	kind_is("command: x\nidentity: {type: managed, client_id: 0b5ad6f2-1111-4c44-9a6e-7d1f4c3a9e10}\n",
		FERRY_ID_MANAGED, "0b5ad6f2-1111-4c44-9a6e-7d1f4c3a9e10");
	refused("command: x\nidentity: {type: robot}\n", "job.yml:2: field 'identity.type': 'robot' is not an identity type");
	refused("command: x\nidentity: {client_id: abc}\n", "field 'identity.type': required");
	refused("command: x\nidentity: user_identity\n", "field 'identity'");
	refused("command: x\nidentity: {type: user_identity, client_id: abc}\n",
		"only a managed identity takes a client id");
	refused("command: x\nidentity: {type: managed, colour: blue}\n", "unknown field of identity");
	return CHECK_DONE();
}
