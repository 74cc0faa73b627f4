/*
 * datastore.c — `ferry datastore create --file DS.yml | list | show NAME`.
 *
 * The YAML is Azure ML's datastore form (azure_blob, azure_data_lake_gen2);
 * every field is checked against the type's list, and errors name the file,
 * the line and the field. Secrets go to the workspace's 0600 secret files
 * (workspace.c) and are never printed: list shows the credential type only,
 * show prints `***`.
 */
#include "cli/cli.h"
#include "core/redact.h"
#include "job/yaml.h"
#include "workspace/workspace.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry datastore create --file DS.yml | list | show NAME";

struct dsctx {
	const char *file;
	ferry_err *err;
};

static int dserr(struct dsctx *c, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int dserr(struct dsctx *c, int line, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ferry_yaml_field_errv(c->err, c->file, line, field, fmt, ap);
	va_end(ap);
	return rc;
}

static int scalar(struct dsctx *c, const struct ferry_yaml_node *n, const char *field,
		  char **out)
{
	if (n->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(n))
		return dserr(c, n->line, field, "expected a string, found %s",
			     ferry_yaml_kind_name(n));
	free(*out);
	*out = strdup(n->text);
	return *out ? 0 : ferry_err_set(c->err, FERRY_E_IO, "out of memory");
}

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

static int parse_credentials(struct dsctx *c, const struct ferry_yaml_node *n,
			     struct ferry_datastore *ds)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (n->kind != FERRY_YAML_MAP)
		return dserr(c, n->line, "credentials", "expected a map, found %s",
			     ferry_yaml_kind_name(n));
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		char field[128];
		snprintf(field, sizeof(field), "credentials.%s", k);
		if (!strcmp(k, "account_key") || !strcmp(k, "sas_token")) {
			if (ds->secret)
				return dserr(c, n->key_lines[i], field,
					     "give either account_key or sas_token, not both");
			if (scalar(c, n->vals[i], field, &ds->secret) < 0)
				return -1;
			if (!strcmp(k, "sas_token") && ds->secret[0] == '?')
				memmove(ds->secret, ds->secret + 1, strlen(ds->secret));
			if (!ds->secret[0])
				return dserr(c, n->vals[i]->line, field, "is empty");
			ds->cred_type = strdup(k);
		} else if (!strcmp(k, "tenant_id") || !strcmp(k, "client_id") ||
			   !strcmp(k, "client_secret") || !strcmp(k, "resource_url") ||
			   !strcmp(k, "authority_url")) {
			return dserr(c, n->key_lines[i], field,
				     "service principal credentials are not supported yet; use "
				     "account_key or sas_token");
		} else
			return dserr(c, n->key_lines[i], field,
				     "unknown credential (known: account_key, sas_token)");
	}
	return 0;
}

/* Parse and validate DS.yml into *ds (fields malloc'd). */
static int parse_datastore(const char *file, struct ferry_datastore *ds, ferry_err *err)
{
	struct dsctx c = { file, err };
	struct ferry_yaml_node *root;
	if (ferry_yaml_load(file, &root, err) < 0)
		return -1;
	int rc = -1;
	memset(ds, 0, sizeof(*ds));
	if (root->kind != FERRY_YAML_MAP) {
		dserr(&c, root->line, NULL, "a datastore file is a map of fields, found %s",
		      ferry_yaml_kind_name(root));
		goto out;
	}
	const struct ferry_yaml_node *t = ferry_yaml_get(root, "type");
	if (!t) {
		dserr(&c, root->line, "type", "required (azure_blob or azure_data_lake_gen2)");
		goto out;
	}
	if (scalar(&c, t, "type", &ds->type) < 0)
		goto out;
	int adls = !strcmp(ds->type, "azure_data_lake_gen2");
	if (!adls && strcmp(ds->type, "azure_blob") != 0) {
		dserr(&c, t->line, "type", "'%s' is not supported (use azure_blob or azure_data_lake_gen2)",
		      ds->type);
		goto out;
	}
	const char *cont_field = adls ? "filesystem" : "container_name";
	int cont_line = 0, acct_line = 0;
	json_t *tags = NULL;
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i];
		const struct ferry_yaml_node *v = root->vals[i];
		if (!strcmp(k, "type") || !strcmp(k, "$schema"))
			continue;
		if (!strcmp(k, "name")) {
			if (scalar(&c, v, k, &ds->name) < 0)
				goto out;
			if (!ferry_ws_datastore_name_ok(ds->name)) {
				dserr(&c, v->line, k, "'%s' is not a valid name (letters, digits, '_', '-')",
				      ds->name);
				goto out;
			}
		} else if (!strcmp(k, "description")) {
			if (!ferry_yaml_is_null(v) && scalar(&c, v, k, &ds->description) < 0)
				goto out;
		} else if (!strcmp(k, "account_name")) {
			if (scalar(&c, v, k, &ds->account) < 0)
				goto out;
			acct_line = v->line;
		} else if (!strcmp(k, cont_field)) {
			if (scalar(&c, v, k, &ds->container) < 0)
				goto out;
			cont_line = v->line;
		} else if (!strcmp(k, "endpoint")) {
			if (scalar(&c, v, k, &ds->endpoint) < 0)
				goto out;
			if (strstr(ds->endpoint, "://") && strncmp(ds->endpoint, "http://", 7) &&
			    strncmp(ds->endpoint, "https://", 8)) {
				dserr(&c, v->line, k,
				      "expected a suffix such as core.windows.net or an http(s):// URL");
				goto out;
			}
			size_t n = strlen(ds->endpoint);
			while (n > 0 && ds->endpoint[n - 1] == '/')
				ds->endpoint[--n] = '\0';
		} else if (!strcmp(k, "protocol")) {
			if (scalar(&c, v, k, &ds->protocol) < 0)
				goto out;
			const char *alt = adls ? "abfss" : "wasbs";
			if (strcmp(ds->protocol, "https") && strcmp(ds->protocol, alt)) {
				dserr(&c, v->line, k, "'%s' is not valid for %s (https or %s)", ds->protocol,
				      ds->type, alt);
				goto out;
			}
		} else if (!strcmp(k, "credentials")) {
			if (parse_credentials(&c, v, ds) < 0)
				goto out;
		} else if (!strcmp(k, "tags")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (v->kind != FERRY_YAML_MAP) {
				dserr(&c, v->line, k, "expected a map, found %s", ferry_yaml_kind_name(v));
				goto out;
			}
			tags = json_object();
			for (size_t j = 0; tags && j < v->n; j++) {
				if (v->vals[j]->kind != FERRY_YAML_SCALAR) {
					char f[300];
					snprintf(f, sizeof(f), "tags.%s", v->keys[j]);
					dserr(&c, v->vals[j]->line, f, "expected a string, found %s",
					      ferry_yaml_kind_name(v->vals[j]));
					json_decref(tags);
					goto out;
				}
				json_object_set_new(tags, v->keys[j], json_string(v->vals[j]->text));
			}
			free(ds->tags_json);
			ds->tags_json = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(tags);
		} else {
			char known[300];
			snprintf(known, sizeof(known),
				 "name, type, description, tags, account_name, %s, endpoint, protocol, "
				 "credentials",
				 cont_field);
			dserr(&c, root->key_lines[i], k, "unknown field for type %s (known: %s)",
			      ds->type, known);
			goto out;
		}
	}
	if (!ds->name) {
		dserr(&c, root->line, "name", "required");
		goto out;
	}
	if (!ds->account) {
		dserr(&c, root->line, "account_name", "required");
		goto out;
	}
	if (!valid_chars(ds->account, 3, 24, 0)) {
		dserr(&c, acct_line, "account_name", "'%s': 3-24 lowercase letters and digits",
		      ds->account);
		goto out;
	}
	if (!ds->container) {
		dserr(&c, root->line, cont_field, "required");
		goto out;
	}
	if (!valid_chars(ds->container, 3, 63, 1)) {
		dserr(&c, cont_line, cont_field, "'%s': 3-63 lowercase letters, digits and '-'",
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
	ferry_yaml_free(root);
	if (rc < 0)
		ferry_datastore_free(ds);
	return rc;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int ds_create(struct ferry_ws *ws, const char *file)
{
	struct ferry_datastore ds;
	ferry_err err;
	if (parse_datastore(file, &ds, &err) < 0)
		return cli_fail(&err);
	/* From here on, no message may carry the secret. */
	if (ds.secret)
		ferry_redact_register(ds.secret);
	int rc = ferry_ws_datastore_put(ws, &ds, &err);
	if (rc == 0)
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
		printf("%-24s %-22s %-20s %-24s %s\n", v[i].name, v[i].type, or_dash(v[i].account),
		       or_dash(v[i].container), or_dash(v[i].cred_type));
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
		printf("local_path:  %s\n", or_dash(ds.local_path));
	else {
		printf("account:     %s\n", or_dash(ds.account));
		printf("%s %s\n", !strcmp(ds.type, "azure_blob") ? "container:  " : "filesystem: ",
		       or_dash(ds.container));
		printf("endpoint:    %s\n", or_dash(ds.endpoint));
		printf("protocol:    %s\n", or_dash(ds.protocol));
	}
	printf("credentials: %s\n", or_dash(ds.cred_type));
	if (ds.secret)
		printf("secret:      ***\n");
	printf("description: %s\n", or_dash(ds.description));
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
		for (int i = 2; i < argc; i++) {
			if ((!strcmp(argv[i], "--file") || !strcmp(argv[i], "-f")) && i + 1 < argc)
				file = argv[++i];
			else if (!strncmp(argv[i], "--file=", 7))
				file = argv[i] + 7;
			else
				return cli_usage(usage, "unexpected argument '%s'", argv[i]);
		}
		if (!file)
			return cli_usage(usage, "datastore create needs --file DS.yml");
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
