/*
 * datastore.c — `ferry datastore create --file DS.yml | list | show NAME`.
 *
 * The YAML is Azure ML's datastore form (azure_blob, azure_data_lake_gen2,
 * with account_key, sas_token or service-principal credentials), plus
 * `type: s3` in the same style (bucket, endpoint, region, keys);
 * every field is checked against the type's list, and errors name the file,
 * the line and the field. Secrets go to the workspace's 0600 secret files
 * (workspace.c) and are never printed: list shows the credential type only,
 * show prints `***`.
 */
#include "cli/cli.h"
#include "core/uri.h"
#include "core/redact.h"
#include "core/yaml.h"
#include "workspace/workspace.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry datastore create --file DS.yml | list | show NAME";

static int valid_chars(const char *s, size_t min, size_t max, int dash)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || (dash && *s == '-')))
			return 0;
	return 1;
}

static int parse_credentials(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n,
			     struct ferry_datastore *ds, json_t **opts)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (n->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, n->line, "credentials", "expected a map, found %s",
			     ferry_yaml_kind_name(n));
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		char field[128];
		snprintf(field, sizeof(field), "credentials.%s", k);
		if (!strcmp(k, "account_key") || !strcmp(k, "sas_token")) {
			if (ds->secret)
				return ferry_yaml_err(c, n->key_lines[i], field,
					     "give either account_key or sas_token, not both");
			if (ferry_yaml_string(c, n->vals[i], field, &ds->secret) < 0)
				return -1;
			if (!strcmp(k, "sas_token") && ds->secret[0] == '?')
				memmove(ds->secret, ds->secret + 1, strlen(ds->secret));
			if (!ds->secret[0])
				return ferry_yaml_err(c, n->vals[i]->line, field, "is empty");
			ds->cred_type = strdup(k);
		} else if (!strcmp(k, "tenant_id") || !strcmp(k, "client_id") ||
			   !strcmp(k, "client_secret") || !strcmp(k, "resource_url") ||
			   !strcmp(k, "authority_url")) {
			if (ds->cred_type && strcmp(ds->cred_type, "service_principal"))
				return ferry_yaml_err(c, n->key_lines[i], field,
					     "give a key, a SAS token or a service principal, not several");
			char *val = NULL;
			if (ferry_yaml_string(c, n->vals[i], field, &val) < 0)
				return -1;
			if (!val[0]) {
				free(val);
				return ferry_yaml_err(c, n->vals[i]->line, field, "is empty");
			}
			if ((!strcmp(k, "authority_url") || !strcmp(k, "resource_url")) &&
			    !ferry_uri_is_http(val)) {
				free(val);
				return ferry_yaml_err(c, n->vals[i]->line, field, "expected an https:// URL");
			}
			if (!strcmp(k, "client_secret")) {
				ds->secret = val;
				ferry_redact_register(val);
			} else {
				if (!*opts)
					*opts = json_object();
				json_object_set_new(*opts, k, json_string(val));
				free(val);
			}
			if (!ds->cred_type)
				ds->cred_type = strdup("service_principal");
		} else
			return ferry_yaml_err(c, n->key_lines[i], field,
				     "unknown credential (known: account_key, sas_token; or tenant_id, "
				     "client_id, client_secret, authority_url, resource_url)");
	}
	if (ds->cred_type && !strcmp(ds->cred_type, "service_principal")) {
		const char *need[] = { "tenant_id", "client_id" };
		for (int i = 0; i < 2; i++)
			if (!json_object_get(*opts, need[i]))
				return ferry_yaml_err(c, n->line, "credentials", "a service principal needs %s", need[i]);
		if (!ds->secret)
			return ferry_yaml_err(c, n->line, "credentials", "a service principal needs client_secret");
	}
	return 0;
}

/* type: s3 — bucket, endpoint (URL of another S3 service; absent: AWS),
 * region, credentials {access_key_id, secret_access_key} or none (the keys
 * of the environment, as for s3:// URIs). The keys go to the secret file as
 * one JSON object. */
static int parse_s3_credentials(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_datastore *ds)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (n->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, n->line, "credentials", "expected a map, found %s", ferry_yaml_kind_name(n));
	char *id = NULL, *secret = NULL;
	int rc = 0;
	for (size_t i = 0; i < n->n && rc == 0; i++) {
		const char *k = n->keys[i];
		char field[128];
		snprintf(field, sizeof(field), "credentials.%s", k);
		if (!strcmp(k, "access_key_id"))
			rc = ferry_yaml_string(c, n->vals[i], field, &id);
		else if (!strcmp(k, "secret_access_key")) {
			rc = ferry_yaml_string(c, n->vals[i], field, &secret);
			if (rc == 0)
				ferry_redact_register(secret);
		} else
			rc = ferry_yaml_err(c, n->key_lines[i], field,
				   "unknown credential for type s3 (known: access_key_id, secret_access_key)");
	}
	if (rc == 0 && (!id || !*id || !secret || !*secret))
		rc = ferry_yaml_err(c, n->line, "credentials", "give both access_key_id and secret_access_key");
	if (rc == 0) {
		json_t *j = json_pack("{s:s, s:s}", "access_key_id", id, "secret_access_key", secret);
		ds->secret = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		ds->cred_type = strdup("access_key");
		if (!ds->secret || !ds->cred_type)
			rc = ferry_err_set(c->err, FERRY_E_IO, "out of memory");
		else
			ferry_redact_register(ds->secret);
	}
	free(id);
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return rc;
}

static int valid_bucket(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* The checks and readers of the field tables (s3, and Azure's types). */
struct ds_parse {
	json_t **opts;
	int bucket_line, acct_line, cont_line;
};

static int check_name(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	const struct ferry_datastore *ds = t;
	if (!ferry_ws_datastore_name_ok(ds->name))
		return ferry_yaml_err(c, v->line, k, "'%s' is not a valid name (letters, digits, '_', '-')", ds->name);
	return 0;
}

static int note_bucket(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	((struct ds_parse *)arg)->bucket_line = v->line;
	return 0;
}

static int check_s3_endpoint(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			     void *arg)
{
	struct ferry_datastore *ds = t;
	if (!ferry_uri_is_http(ds->endpoint))
		return ferry_yaml_err(c, v->line, k, "expected the http(s):// URL of an S3 service");
	size_t n = strlen(ds->endpoint);
	while (n > 0 && ds->endpoint[n - 1] == '/')
		ds->endpoint[--n] = '\0';
	return 0;
}

static int read_region(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	json_t **opts = ((struct ds_parse *)arg)->opts;
	char *r = NULL;
	if (ferry_yaml_string(c, v, k, &r) < 0)
		return -1;
	if (!*opts)
		*opts = json_object();
	json_object_set_new(*opts, "region", json_string(r));
	free(r);
	return 0;
}

static int note_account(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	((struct ds_parse *)arg)->acct_line = v->line;
	return 0;
}

static int note_container(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	((struct ds_parse *)arg)->cont_line = v->line;
	return 0;
}

static int check_az_endpoint(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			     void *arg)
{
	struct ferry_datastore *ds = t;
	if (strstr(ds->endpoint, "://") && !ferry_uri_is_http(ds->endpoint))
		return ferry_yaml_err(c, v->line, k, "expected a suffix such as core.windows.net or an http(s):// URL");
	size_t n = strlen(ds->endpoint);
	while (n > 0 && ds->endpoint[n - 1] == '/')
		ds->endpoint[--n] = '\0';
	return 0;
}

static int check_protocol(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			  void *arg)
{
	const struct ferry_datastore *ds = t;
	const char *alt = !strcmp(ds->type, "azure_data_lake_gen2") ? "abfss" : "wasbs";
	if (strcmp(ds->protocol, "https") && strcmp(ds->protocol, alt))
		return ferry_yaml_err(c, v->line, k, "'%s' is not valid for %s (https or %s)", ds->protocol, ds->type,
				      alt);
	return 0;
}

static int read_credentials(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			    void *arg)
{
	return parse_credentials(c, v, t, ((struct ds_parse *)arg)->opts);
}

static int read_tags(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return cli_yaml_tags(c, v, k, &((struct ferry_datastore *)t)->tags_json);
}

static int read_s3_credentials(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			       void *arg)
{
	return parse_s3_credentials(c, v, t);
}

#define DS_STR(key, field, type, fn) { key, type, offsetof(struct ferry_datastore, field), fn }
static const struct ferry_yaml_field s3_fields[] = {
	{ "type", FERRY_YF_IGNORE, 0, NULL },
	{ "$schema", FERRY_YF_IGNORE, 0, NULL },
	{ "tags", FERRY_YF_IGNORE, 0, NULL }, /* read with the other types' fields */
	DS_STR("name", name, FERRY_YF_STRING, check_name),
	DS_STR("description", description, FERRY_YF_OPT_STRING, NULL),
	DS_STR("bucket", container, FERRY_YF_STRING, note_bucket),
	DS_STR("endpoint", endpoint, FERRY_YF_STRING, check_s3_endpoint),
	{ "region", FERRY_YF_CUSTOM, 0, read_region },
	{ "credentials", FERRY_YF_CUSTOM, 0, read_s3_credentials },
};

static int parse_s3(struct ferry_yaml_doc *c, const struct ferry_yaml_node *root, struct ferry_datastore *ds,
		    json_t **opts)
{
	struct ds_parse p = { .opts = opts };
	if (ferry_yaml_fields(c, root, s3_fields, sizeof(s3_fields) / sizeof(s3_fields[0]), ds, &p,
			      "unknown field for type s3 (known: name, type, description, tags, bucket, "
			      "endpoint, region, credentials)") < 0)
		return -1;
	int bucket_line = p.bucket_line;
	if (!ds->name)
		return ferry_yaml_err(c, root->line, "name", "required");
	if (!ds->container)
		return ferry_yaml_err(c, root->line, "bucket", "required");
	if (!valid_bucket(ds->container))
		return ferry_yaml_err(c, bucket_line, "bucket", "'%s': 3-63 lowercase letters, digits, '.' and '-'",
			     ds->container);
	if (!ds->cred_type)
		ds->cred_type = strdup("none");
	return ds->cred_type ? 0 : ferry_err_set(c->err, FERRY_E_IO, "out of memory");
}

/* DS.yml into *ds (cli.h). */
int cli_datastore_parse(const char *file, struct ferry_datastore *ds, ferry_err *err)
{
	struct ferry_yaml_doc c = { file, err };
	struct ferry_yaml_node *root;
	if (ferry_yaml_load(file, &root, err) < 0)
		return -1;
	int rc = -1;
	json_t *opts = NULL;
	memset(ds, 0, sizeof(*ds));
	if (root->kind != FERRY_YAML_MAP) {
		ferry_yaml_err(&c, root->line, NULL, "a datastore file is a map of fields, found %s",
		      ferry_yaml_kind_name(root));
		goto out;
	}
	const struct ferry_yaml_node *t = ferry_yaml_get(root, "type");
	if (!t) {
		ferry_yaml_err(&c, root->line, "type", "required (azure_blob or azure_data_lake_gen2)");
		goto out;
	}
	if (ferry_yaml_string(&c, t, "type", &ds->type) < 0)
		goto out;
	int adls = !strcmp(ds->type, "azure_data_lake_gen2");
	int s3 = !strcmp(ds->type, "s3");
	if (!adls && !s3 && strcmp(ds->type, "azure_blob") != 0) {
		ferry_yaml_err(&c, t->line, "type", "'%s' is not supported (use azure_blob, azure_data_lake_gen2 or s3)",
		      ds->type);
		goto out;
	}
	if (s3) {
		/* its table ignores tags; they are read once its checks passed */
		const struct ferry_yaml_node *tags = ferry_yaml_get(root, "tags");
		if (parse_s3(&c, root, ds, &opts) == 0 && (!tags || read_tags(&c, tags, "tags", ds, NULL) == 0))
			rc = 0;
		goto out;
	}
	/* azure_blob names its container container_name; azure_data_lake_gen2,
	 * filesystem: the one row that differs, so the table is built here */
	const char *cont_field = adls ? "filesystem" : "container_name";
	struct ds_parse p = { .opts = &opts };
	const struct ferry_yaml_field az_fields[] = {
		{ "type", FERRY_YF_IGNORE, 0, NULL },
		{ "$schema", FERRY_YF_IGNORE, 0, NULL },
		DS_STR("name", name, FERRY_YF_STRING, check_name),
		DS_STR("description", description, FERRY_YF_OPT_STRING, NULL),
		DS_STR("account_name", account, FERRY_YF_STRING, note_account),
		DS_STR(cont_field, container, FERRY_YF_STRING, note_container),
		DS_STR("endpoint", endpoint, FERRY_YF_STRING, check_az_endpoint),
		DS_STR("protocol", protocol, FERRY_YF_STRING, check_protocol),
		{ "credentials", FERRY_YF_CUSTOM, 0, read_credentials },
		{ "tags", FERRY_YF_CUSTOM, 0, read_tags },
	};
	char unknown[300];
	snprintf(unknown, sizeof(unknown),
		 "unknown field for type %s (known: name, type, description, tags, account_name, %s, endpoint, "
		 "protocol, credentials)",
		 ds->type, cont_field);
	if (ferry_yaml_fields(&c, root, az_fields, sizeof(az_fields) / sizeof(az_fields[0]), ds, &p, unknown) < 0)
		goto out;
	int acct_line = p.acct_line, cont_line = p.cont_line;
	if (!ds->name) {
		ferry_yaml_err(&c, root->line, "name", "required");
		goto out;
	}
	if (!ds->account) {
		ferry_yaml_err(&c, root->line, "account_name", "required");
		goto out;
	}
	if (!valid_chars(ds->account, 3, 24, 0)) {
		ferry_yaml_err(&c, acct_line, "account_name", "'%s': 3-24 lowercase letters and digits",
		      ds->account);
		goto out;
	}
	if (!ds->container) {
		ferry_yaml_err(&c, root->line, cont_field, "required");
		goto out;
	}
	if (!valid_chars(ds->container, 3, 63, 1)) {
		ferry_yaml_err(&c, cont_line, cont_field, "'%s': 3-63 lowercase letters, digits and '-'",
		      ds->container);
		goto out;
	}
	if (!ds->cred_type)
		ds->cred_type = strdup("none");
	if (!ds->protocol)
		ds->protocol = strdup("https");
	if (!ds->endpoint)
		ds->endpoint = strdup("core.windows.net");
	if (!ds->cred_type || !ds->protocol || !ds->endpoint) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc == 0 && opts && !(ds->options_json = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS)))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	json_decref(opts);
	ferry_yaml_free(root);
	if (rc < 0)
		ferry_datastore_free(ds);
	return rc;
}

static int ds_create(struct ferry_ws *ws, const char *file)
{
	struct ferry_datastore ds;
	ferry_err err;
	if (cli_datastore_parse(file, &ds, &err) < 0)
		return cli_fail(&err);
	/* From here on, no message may carry the secret. */
	if (ds.secret)
		ferry_redact_register(ds.secret);
	int rc = ferry_ws_datastore_put(ws, &ds, &err);
	if (rc == 0 && !strcmp(ds.type, "s3"))
		printf("datastore %s created (s3, bucket %s, endpoint %s, credentials: %s)\n", ds.name,
		       ds.container, cli_or_dash(ds.endpoint), ds.cred_type);
	else if (rc == 0)
		printf("datastore %s created (%s, account %s, %s %s, credentials: %s)\n", ds.name,
		       ds.type, ds.account, !strcmp(ds.type, "azure_blob") ? "container" : "filesystem",
		       ds.container, ds.cred_type);
	ferry_datastore_free(&ds);
	return rc < 0 ? cli_fail(&err) : 0;
}

static int ds_list(struct ferry_ws *ws)
{
	struct ferry_datastore *v;
	size_t n;
	ferry_err err;
	if (ferry_ws_datastore_list(ws, &v, &n, &err) < 0)
		return cli_fail(&err);
	printf("%-24s %-22s %-20s %-24s %s\n", "NAME", "TYPE", "ACCOUNT", "CONTAINER", "CREDENTIALS");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-22s %-20s %-24s %s\n", v[i].name, v[i].type, cli_or_dash(v[i].account),
		       cli_or_dash(v[i].container), cli_or_dash(v[i].cred_type));
	ferry_datastore_list_free(v, n);
	return 0;
}

static int ds_show(struct ferry_ws *ws, const char *name)
{
	struct ferry_datastore ds;
	ferry_err err;
	if (ferry_ws_datastore_get(ws, name, &ds, &err) < 0)
		return cli_fail(&err);
	printf("name:        %s\n", ds.name);
	printf("type:        %s\n", ds.type);
	if (!strcmp(ds.type, "local"))
		printf("local_path:  %s\n", cli_or_dash(ds.local_path));
	else if (!strcmp(ds.type, "s3")) {
		printf("bucket:      %s\n", cli_or_dash(ds.container));
		printf("endpoint:    %s\n", cli_or_dash(ds.endpoint));
	} else {
		printf("account:     %s\n", cli_or_dash(ds.account));
		printf("%s %s\n", !strcmp(ds.type, "azure_blob") ? "container:  " : "filesystem: ",
		       cli_or_dash(ds.container));
		printf("endpoint:    %s\n", cli_or_dash(ds.endpoint));
		printf("protocol:    %s\n", cli_or_dash(ds.protocol));
	}
	printf("credentials: %s\n", cli_or_dash(ds.cred_type));
	json_t *opts = ds.options_json ? json_loads(ds.options_json, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	json_object_foreach(opts, k, v) /* tenant_id, client_id, region...: not secrets */
		printf("%s:%*s%s\n", k, k && strlen(k) < 12 ? (int)(12 - strlen(k)) : 1, "",
		       json_string_value(v) ? json_string_value(v) : "-");
	json_decref(opts);
	if (ds.secret)
		printf("secret:      ***\n");
	printf("description: %s\n", cli_or_dash(ds.description));
	if (ds.tags_json)
		printf("tags:        %s\n", ds.tags_json);
	ferry_datastore_free(&ds);
	return 0;
}

int cmd_datastore(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage, "datastore needs a subcommand");
	const char *sub = argv[1];
	const char *file = NULL, *name = NULL;
	if (!strcmp(sub, "create")) {
		int u = cli_create_file(argc, argv, usage, "datastore create needs --file DS.yml", &file);
		if (u)
			return u;
	} else if (!strcmp(sub, "list")) {
		if (argc != 2)
			return cli_usage(usage, "datastore list takes no arguments");
	} else if (!strcmp(sub, "show")) {
		if (argc != 3)
			return cli_usage(usage, "datastore show takes one datastore name");
		name = argv[2];
	} else
		return cli_usage(usage, "unknown datastore subcommand '%s'", sub);
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	int rc = file ? ds_create(ws, file) : name ? ds_show(ws, name) : ds_list(ws);
	ferry_ws_close(ws);
	return rc;
}
