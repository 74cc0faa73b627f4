/*
 * compute.c — `ferry compute create --file CLUSTER.yml | list | show NAME |
 * delete NAME`: the workspace's compute targets (workspace/compute.h).
 *
 * The file has Azure ML's shape (name, type, description) with type `slurm`
 * and its fields: partition, account, qos, time_limit, sbatch_args (a list of
 * extra sbatch arguments). Every field is checked; errors name the file, the
 * line and the field. A job with `compute: azureml:NAME` or `ferry run
 * --compute NAME` then runs as one Slurm job (job/slurm.h).
 */
#include "cli/cli.h"
#include "core/yaml.h"
#include "workspace/compute.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry compute create --file CLUSTER.yml | list | show NAME | delete NAME";

static const char known_fields[] =
	"name, type, description, partition, account, qos, time_limit, sbatch_args";

/* The options ferry sets itself on every job: given here they would fight it. */
static const char *const own_args[] = { "-N", "--nodes", "-n", "--ntasks", "--ntasks-per-node",
					"-o", "--output", "-e", "--error", "--parsable", "-W",
					"--wait", "-J", "--job-name", "-a", "--array", "-D",
					"--chdir", "-i", "--input" };

/* A Slurm name (partition, account, qos): 1-64 of [A-Za-z0-9_.-]. */
static int slurm_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* Slurm's time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or UNLIMITED. */
static int time_limit_ok(const char *s)
{
	if (!strcmp(s, "UNLIMITED") || !strcmp(s, "INFINITE"))
		return 1;
	int colons = 0, dash = 0, digits = 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			digits++;
			continue;
		}
		if (!digits || (p[1] < '0' || p[1] > '9'))
			return 0;
		if (*p == ':')
			colons++;
		else if (*p == '-' && !dash && !colons)
			dash = 1;
		else
			return 0;
	}
	return digits > 0 && digits <= 12 && colons <= 2;
}

static int parse_args(struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, char **out)
{
	if (ferry_yaml_is_null(v))
		return 0;
	if (v->kind != FERRY_YAML_SEQ)
		return ferry_yaml_err(d, v->line, "sbatch_args", "expected a list of strings, found %s",
				      ferry_yaml_kind_name(v));
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++) {
		const struct ferry_yaml_node *it = v->vals[i];
		char field[64];
		snprintf(field, sizeof(field), "sbatch_args[%zu]", i);
		if (it->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(it)) {
			json_decref(a);
			return ferry_yaml_err(d, it->line, field, "expected a string, found %s",
					      ferry_yaml_kind_name(it));
		}
		const char *t = it->text;
		if (t[0] != '-') {
			json_decref(a);
			return ferry_yaml_err(d, it->line, field,
					      "'%s' is not an option (write --name=value as one item)", t);
		}
		for (size_t k = 0; k < sizeof(own_args) / sizeof(own_args[0]); k++) {
			size_t n = strlen(own_args[k]);
			if (!strncmp(t, own_args[k], n) &&
			    (t[n] == '\0' || t[n] == '=' || (own_args[k][1] != '-' && own_args[k][2] == '\0'))) {
				json_decref(a);
				return ferry_yaml_err(d, it->line, field,
						      "'%s' is set by ferry for every job (nodes from "
						      "resources.instance_count, logs in the job folder)",
						      t);
			}
		}
		json_array_append_new(a, json_string(t));
	}
	*out = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return *out ? 0 : ferry_err_set(d->err, FERRY_E_IO, "out of memory");
}

/* Parse and validate CLUSTER.yml into *c (fields malloc'd). */
static int parse_compute(const char *file, struct ferry_compute *c, ferry_err *err)
{
	struct ferry_yaml_doc d = { file, err };
	struct ferry_yaml_node *root;
	memset(c, 0, sizeof(*c));
	if (ferry_yaml_load(file, &root, err) < 0)
		return -1;
	int rc = -1;
	if (root->kind != FERRY_YAML_MAP) {
		ferry_yaml_err(&d, root->line, NULL, "a compute file is a map of fields, found %s",
			       ferry_yaml_kind_name(root));
		goto out;
	}
	const struct ferry_yaml_node *t = ferry_yaml_get(root, "type");
	if (!t) {
		ferry_yaml_err(&d, root->line, "type", "required (slurm)");
		goto out;
	}
	if (cli_yaml_string(&d, t, "type", &c->type) < 0)
		goto out;
	if (strcmp(c->type, "slurm") != 0) {
		ferry_yaml_err(&d, t->line, "type",
			       "'%s' is not supported: ferry runs jobs on Slurm clusters (type: slurm)",
			       c->type);
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i];
		const struct ferry_yaml_node *v = root->vals[i];
		char **dst = NULL;
		if (!strcmp(k, "type") || !strcmp(k, "$schema"))
			continue;
		if (!strcmp(k, "sbatch_args")) {
			if (parse_args(&d, v, &c->sbatch_args) < 0)
				goto out;
			continue;
		}
		if (!strcmp(k, "name"))
			dst = &c->name;
		else if (!strcmp(k, "description"))
			dst = &c->description;
		else if (!strcmp(k, "partition"))
			dst = &c->partition;
		else if (!strcmp(k, "account"))
			dst = &c->account;
		else if (!strcmp(k, "qos"))
			dst = &c->qos;
		else if (!strcmp(k, "time_limit"))
			dst = &c->time_limit;
		else {
			ferry_yaml_err(&d, root->key_lines[i], k,
				       "unknown field for type slurm (known: %s)", known_fields);
			goto out;
		}
		if (dst == &c->description && ferry_yaml_is_null(v))
			continue;
		if (cli_yaml_string(&d, v, k, dst) < 0)
			goto out;
		if (dst == &c->name && !ferry_ws_compute_name_ok(c->name)) {
			ferry_yaml_err(&d, v->line, k, "'%s' is not a valid name (letters, digits, '_', '-')",
				       c->name);
			goto out;
		}
		if ((dst == &c->partition || dst == &c->account || dst == &c->qos) &&
		    !slurm_name_ok(*dst)) {
			ferry_yaml_err(&d, v->line, k, "'%s': 1-64 letters, digits, '_', '.' or '-'", *dst);
			goto out;
		}
		if (dst == &c->time_limit && !time_limit_ok(*dst)) {
			ferry_yaml_err(&d, v->line, k,
				       "'%s' is not a Slurm time (minutes, HH:MM:SS, D-HH:MM:SS or "
				       "UNLIMITED; quote it in YAML)",
				       *dst);
			goto out;
		}
	}
	if (!c->name) {
		ferry_yaml_err(&d, root->line, "name", "required");
		goto out;
	}
	rc = 0;
out:
	ferry_yaml_free(root);
	if (rc < 0)
		ferry_compute_free(c);
	return rc;
}

static int c_create(struct ferry_ws *ws, const char *file)
{
	struct ferry_compute c;
	ferry_err err;
	if (parse_compute(file, &c, &err) < 0)
		return cli_fail(&err);
	int rc = ferry_ws_compute_put(ws, &c, &err);
	if (rc == 0)
		printf("compute %s created (slurm, partition %s)\n", c.name,
		       c.partition ? c.partition : "the cluster's default");
	ferry_compute_free(&c);
	return rc < 0 ? cli_fail(&err) : 0;
}

static int c_list(struct ferry_ws *ws)
{
	struct ferry_compute *v;
	size_t n;
	ferry_err err;
	if (ferry_ws_compute_list(ws, &v, &n, &err) < 0)
		return cli_fail(&err);
	printf("%-24s %-8s %-16s %-16s %-10s %s\n", "NAME", "TYPE", "PARTITION", "ACCOUNT", "QOS",
	       "TIME LIMIT");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-8s %-16s %-16s %-10s %s\n", v[i].name, v[i].type,
		       cli_or_dash(v[i].partition), cli_or_dash(v[i].account), cli_or_dash(v[i].qos),
		       cli_or_dash(v[i].time_limit));
	ferry_compute_list_free(v, n);
	return 0;
}

static int c_show(struct ferry_ws *ws, const char *name)
{
	struct ferry_compute c;
	ferry_err err;
	if (ferry_ws_compute_get(ws, name, &c, &err) < 0)
		return cli_fail(&err);
	printf("name:        %s\n", c.name);
	printf("type:        %s\n", c.type);
	printf("partition:   %s\n", c.partition ? c.partition : "- (the cluster's default)");
	printf("account:     %s\n", cli_or_dash(c.account));
	printf("qos:         %s\n", cli_or_dash(c.qos));
	printf("time_limit:  %s\n", cli_or_dash(c.time_limit));
	printf("sbatch_args: %s\n", cli_or_dash(c.sbatch_args));
	printf("description: %s\n", cli_or_dash(c.description));
	ferry_compute_free(&c);
	return 0;
}

int cmd_compute(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage, "compute needs a subcommand");
	const char *sub = argv[1], *file = NULL, *name = NULL;
	int del = 0;
	if (!strcmp(sub, "create")) {
		int u = cli_create_file(argc, argv, usage, "compute create needs --file CLUSTER.yml", &file);
		if (u)
			return u;
	} else if (!strcmp(sub, "list")) {
		if (argc != 2)
			return cli_usage(usage, "compute list takes no arguments");
	} else if (!strcmp(sub, "show") || !strcmp(sub, "delete")) {
		if (argc != 3)
			return cli_usage(usage, "compute %s takes one compute name", sub);
		name = argv[2];
		del = sub[0] == 'd';
	} else
		return cli_usage(usage, "unknown compute subcommand '%s'", sub);
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	int rc;
	if (file)
		rc = c_create(ws, file);
	else if (del) {
		rc = ferry_ws_compute_delete(ws, name, &err) < 0 ? cli_fail(&err) : 0;
		if (rc == 0)
			printf("compute %s deleted\n", name);
	} else
		rc = name ? c_show(ws, name) : c_list(ws);
	ferry_ws_close(ws);
	return rc;
}
