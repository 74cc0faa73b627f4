/*
 * jobspec.c — loading a command job YAML into struct ferry_jobspec.
 *
 * Validation walks the YAML tree once, field by field, from a list of the
 * known top-level fields; anything not listed is an error naming its line.
 * The mode table (docs/jobs.md) is data (allowed[][]), and a second, smaller
 * table says which of the allowed modes this version implements, so that an
 * allowed-but-unimplemented mode gets "not supported yet" instead of the
 * "not allowed" error. References in the command are checked by expanding it
 * once with placeholder values.
 */
#include "job/jobspec.h"
#include "job/setargs.h"
#include "job/typedinput.h"
#include "core/sys.h"
#include "core/uri.h"
#include "job/expand.h"
#include "core/yaml.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The last three are folders (uri_folder semantics) that keep their type
 * name for the data asset an output is registered as. */
static const char *const type_names[] = { "uri_folder",   "uri_file",     "mltable",
					  "custom_model", "mlflow_model", "triton_model" };
static const char *const mode_names[] = { "ro_mount", "rw_mount",   "download",     "upload",
					  "direct",   "eval_mount", "eval_download" };

const char *ferry_io_type_name(enum ferry_io_type t)
{
	return type_names[t];
}

const char *ferry_io_mode_name(enum ferry_io_mode m)
{
	return mode_names[m];
}

/* docs/jobs.md's table: allowed[is_output][type] is a bit set of modes. */
#define M(x) (1u << FERRY_MODE_##x)
static const unsigned allowed[2][3] = {
	{ M(DOWNLOAD) | M(RO_MOUNT) | M(DIRECT), M(DOWNLOAD) | M(RO_MOUNT) | M(DIRECT),
	  M(DOWNLOAD) | M(RO_MOUNT) | M(DIRECT) | M(EVAL_DOWNLOAD) | M(EVAL_MOUNT) },
	{ M(UPLOAD) | M(RW_MOUNT), M(UPLOAD) | M(RW_MOUNT), M(UPLOAD) | M(RW_MOUNT) | M(DIRECT) },
};
/* What this version implements (a subset of allowed). */
static const unsigned implemented[2][3] = {
	{ M(RO_MOUNT) | M(DOWNLOAD) | M(DIRECT), M(RO_MOUNT) | M(DOWNLOAD) | M(DIRECT),
	  M(RO_MOUNT) | M(DOWNLOAD) | M(DIRECT) | M(EVAL_MOUNT) | M(EVAL_DOWNLOAD) },
	{ M(UPLOAD) | M(RW_MOUNT), M(UPLOAD) | M(RW_MOUNT), 0 },
};
#undef M

static int oom(struct ferry_yaml_doc *c)
{
	return ferry_err_set(c->err, FERRY_E_IO, "out of memory");
}

/* A scalar (not a map/list) as a string, copied into *out; null -> NULL. */
static int get_str(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field,
		   char **out)
{
	*out = NULL;
	if (n->kind != FERRY_YAML_SCALAR)
		return ferry_yaml_err(c, n->line, field, "expected a string, found %s",
			    ferry_yaml_kind_name(n));
	if (ferry_yaml_is_null(n))
		return 0;
	if (!(*out = strdup(n->text)))
		return oom(c);
	return 0;
}

static int expect_map(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field)
{
	if (n->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, n->line, field, "expected a map, found %s", ferry_yaml_kind_name(n));
	return 0;
}

/* YAML -> JSON, scalars typed the way YAML 1.2's core schema types them. */
static json_t *to_json(const struct ferry_yaml_node *n)
{
	if (n->kind == FERRY_YAML_MAP) {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n->n; i++)
			json_object_set_new(o, n->keys[i], to_json(n->vals[i]));
		return o;
	}
	if (n->kind == FERRY_YAML_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->n; i++)
			json_array_append_new(a, to_json(n->vals[i]));
		return a;
	}
	if (ferry_yaml_is_null(n))
		return json_null();
	int b;
	if (ferry_yaml_bool(n, &b))
		return json_boolean(b);
	if (n->plain && *n->text) {
		char *end;
		errno = 0;
		long long v = strtoll(n->text, &end, 10);
		if (!*end && !errno)
			return json_integer(v);
		double d = strtod(n->text, &end);
		if (!*end)
			return json_real(d);
	}
	return json_string(n->text);
}

static int parse_enum(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field,
		      const char *const *names, int count, const char *what, int *out)
{
	if (n->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(n))
		return ferry_yaml_err(c, n->line, field, "expected a %s, found %s", what,
			    ferry_yaml_kind_name(n));
	for (int i = 0; i < count; i++)
		if (!strcmp(n->text, names[i])) {
			*out = i;
			return 0;
		}
	char list[300] = "";
	for (int i = 0; i < count; i++) {
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
		if (i + 1 < count)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
	}
	return ferry_yaml_err(c, n->line, field, "unknown %s '%s' (expected one of: %s)", what, n->text,
		    list);
}

static void mode_list(unsigned bits, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (int m = 0; m < FERRY_MODE__COUNT; m++)
		if (bits & (1u << m)) {
			if (buf[0])
				strncat(buf, ", ", cap - strlen(buf) - 1);
			strncat(buf, mode_names[m], cap - strlen(buf) - 1);
		}
}

/* The mode table check shared by inputs and outputs. */
static int check_mode(struct ferry_yaml_doc *c, int line, int is_output, const char *name,
		      enum ferry_io_type t, enum ferry_io_mode m)
{
	const char *io = is_output ? "output" : "input";
	char list[200];
	if (!(allowed[is_output][t] & (1u << m))) {
		mode_list(allowed[is_output][t], list, sizeof(list));
		return ferry_yaml_err(c, line, NULL,
			    "%s '%s' of type %s cannot use mode %s; allowed modes for a %s %s: %s",
			    io, name, type_names[t], mode_names[m], type_names[t], io, list);
	}
	if (t == FERRY_IO_MLTABLE && is_output)
		return ferry_yaml_err(c, line, NULL, "type mltable is not supported yet (%s '%s')", io,
			    name);
	if (!(implemented[is_output][t] & (1u << m))) {
		mode_list(implemented[is_output][t], list, sizeof(list));
		return ferry_yaml_err(c, line, NULL, "mode %s is not supported yet (%s '%s'); use %s", mode_names[m],
			    io, name, list);
	}
	return 0;
}

/* Input/output names become folder names (INPUT_<n>): letters, digits, '_'
 * and '-', not starting with a digit or '-'. */
static int io_name_ok(const char *n)
{
	if (!*n || strlen(n) > 200 || (*n >= '0' && *n <= '9') || *n == '-')
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == '-'))
			return 0;
	return 1;
}

static int parse_input(struct ferry_yaml_doc *c, const char *name, int key_line,
		       const struct ferry_yaml_node *n, struct ferry_job_input *in)
{
	char field[300];
	in->line = key_line;
	if (!(in->name = strdup(name)))
		return oom(c);
	if (!io_name_ok(name))
		return ferry_yaml_err(c, key_line, NULL,
			    "input name '%s' is not valid (letters, digits, '_' and '-')", name);
	if (n->kind == FERRY_YAML_SEQ)
		return ferry_yaml_err(c, n->line, NULL,
			    "input '%s': expected a literal value or a map {type, path, mode}, "
			    "found a list",
			    name);
	if (n->kind == FERRY_YAML_SCALAR) {
		if (ferry_yaml_is_null(n))
			return ferry_yaml_err(c, n->line, NULL, "input '%s' has no value", name);
		in->literal = 1;
		if (!(in->value = strdup(n->text)))
			return oom(c);
		return 0;
	}
	int typed = ferry_typed_input(c, name, n, in); /* integer, number, boolean, string */
	if (typed)
		return typed < 0 ? -1 : 0;
	in->type = FERRY_IO_URI_FOLDER;
	in->mode = FERRY_MODE_RO_MOUNT;
	int mode_line = n->line;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		const struct ferry_yaml_node *v = n->vals[i];
		snprintf(field, sizeof(field), "inputs.%s.%s", name, k);
		int e;
		if (!strcmp(k, "type")) {
			if (parse_enum(c, v, field, type_names, 6, "type", &e) < 0)
				return -1;
			if (e >= 3 && !(in->type_name = strdup(type_names[e])))
				return oom(c);
			in->type = e >= 3 ? FERRY_IO_URI_FOLDER : e;
		} else if (!strcmp(k, "mode")) {
			if (parse_enum(c, v, field, mode_names, FERRY_MODE__COUNT, "mode", &e) < 0)
				return -1;
			in->mode = e;
			mode_line = v->line;
		} else if (!strcmp(k, "path")) {
			if (get_str(c, v, field, &in->path) < 0)
				return -1;
		} else if (!strcmp(k, "description")) {
			if (get_str(c, v, field, &in->description) < 0)
				return -1;
		} else if (!strcmp(k, "optional")) {
			if (!ferry_yaml_bool(v, &in->optional))
				return ferry_yaml_err(c, v->line, field, "expected true or false, found '%s'",
					    v->kind == FERRY_YAML_SCALAR ? v->text : ferry_yaml_kind_name(v));
		} else {
			return ferry_yaml_err(c, n->key_lines[i], field,
				    "unknown field of an input (known: type, path, mode, optional, "
				    "description)");
		}
	}
	if (!in->path && !in->optional)
		return ferry_yaml_err(c, key_line, NULL,
				      "input '%s': field 'path' is required (in the file, or --set inputs.%s.path=...)",
				      name, name);
	if (check_mode(c, mode_line, 0, name, in->type, in->mode) < 0)
		return -1;
	if (in->path) {
		struct ferry_uri u;
		ferry_err ue;
		if (ferry_uri_parse(in->path, &u, &ue) < 0) {
			const struct ferry_yaml_node *p = ferry_yaml_get(n, "path");
			return ferry_yaml_err(c, p->line, NULL, "input '%s': %s", name, ue.msg);
		}
		ferry_uri_free(&u);
	}
	return 0;
}

static int parse_output(struct ferry_yaml_doc *c, const char *name, int key_line,
			const struct ferry_yaml_node *n, struct ferry_job_output *o)
{
	char field[300];
	o->line = key_line;
	o->type = FERRY_IO_URI_FOLDER;
	o->mode = FERRY_MODE_RW_MOUNT;
	if (!(o->name = strdup(name)))
		return oom(c);
	if (!io_name_ok(name))
		return ferry_yaml_err(c, key_line, NULL,
			    "output name '%s' is not valid (letters, digits, '_' and '-')", name);
	int mode_line = key_line;
	if (n->kind == FERRY_YAML_SCALAR && !ferry_yaml_is_null(n))
		return ferry_yaml_err(c, n->line, NULL,
			    "output '%s': expected nothing or a map {type, path, mode}, found "
			    "'%s'",
			    name, n->text);
	if (n->kind == FERRY_YAML_SEQ)
		return ferry_yaml_err(c, n->line, NULL,
			    "output '%s': expected nothing or a map {type, path, mode}, found a "
			    "list",
			    name);
	for (size_t i = 0; n->kind == FERRY_YAML_MAP && i < n->n; i++) {
		const char *k = n->keys[i];
		const struct ferry_yaml_node *v = n->vals[i];
		snprintf(field, sizeof(field), "outputs.%s.%s", name, k);
		int e;
		if (!strcmp(k, "type")) {
			if (parse_enum(c, v, field, type_names, 6, "type", &e) < 0)
				return -1;
			if (e >= 3 && !(o->type_name = strdup(type_names[e])))
				return oom(c);
			o->type = e >= 3 ? FERRY_IO_URI_FOLDER : e;
		} else if (!strcmp(k, "mode")) {
			if (parse_enum(c, v, field, mode_names, FERRY_MODE__COUNT, "mode", &e) < 0)
				return -1;
			o->mode = e;
			mode_line = v->line;
		} else if (!strcmp(k, "path")) {
			if (get_str(c, v, field, &o->path_tmpl) < 0)
				return -1;
		} else if (!strcmp(k, "name")) {
			if (get_str(c, v, field, &o->asset_name) < 0)
				return -1;
			if (o->asset_name && !ferry_ws_asset_name_ok(o->asset_name))
				return ferry_yaml_err(c, v->line, field,
					    "'%s' is not a valid data asset name (letters, digits, '_', "
					    "'-', '.', starting with a letter or digit)",
					    o->asset_name);
		} else if (!strcmp(k, "version")) {
			if (get_str(c, v, field, &o->asset_version) < 0)
				return -1;
			if (o->asset_version && !ferry_ws_asset_version_ok(o->asset_version))
				return ferry_yaml_err(c, v->line, field,
					    "'%s' is not a valid data asset version (letters, digits, "
					    "'_', '-', '.', not 'latest')",
					    o->asset_version);
		} else if (!strcmp(k, "description")) {
			if (get_str(c, v, field, &o->description) < 0)
				return -1;
		} else {
			return ferry_yaml_err(c, n->key_lines[i], field,
				    "unknown field of an output (known: type, path, mode, name, "
				    "version, description)");
		}
	}
	if (o->asset_version && !o->asset_name)
		return ferry_yaml_err(c, key_line, NULL,
			    "output '%s': 'version' without 'name' (name the data asset to register)",
			    name);
	return check_mode(c, mode_line, 1, name, o->type, o->mode);
}

/* The fields Azure ML defines for a command job that ferry records only. */
static const char *const azure_only[] = { "environment", "compute", "identity", "queue_settings",
					  "services" };

const char *ferry_dist_type_name(enum ferry_dist_type t)
{
	static const char *const names[] = { "none", "pytorch", "mpi", "tensorflow" };
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int ferry_jobspec_distributed(const struct ferry_jobspec *s)
{
	return s->dist.type != FERRY_DIST_NONE || s->dist.nodes > 1;
}

/* A count from 1 (0 when zero_ok) to `max`, as a plain scalar. */
static int get_count(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *field, int zero_ok,
		     long max, int *out)
{
	char *end = NULL;
	errno = 0;
	long n = v->kind == FERRY_YAML_SCALAR && v->plain ? strtol(v->text, &end, 10) : -1;
	if (v->kind != FERRY_YAML_SCALAR || !v->plain || !*v->text || *end || errno || n < (zero_ok ? 0 : 1) ||
	    n > max)
		return ferry_yaml_err(c, v->line, field, "expected a whole number from %d to %ld, found %s%s%s",
				      zero_ok ? 0 : 1, max, v->kind == FERRY_YAML_SCALAR ? "'" : "",
				      v->kind == FERRY_YAML_SCALAR ? v->text : ferry_yaml_kind_name(v),
				      v->kind == FERRY_YAML_SCALAR ? "'" : "");
	*out = (int)n;
	return 0;
}

#define FERRY_MAX_NODES 1024
#define FERRY_MAX_PER_NODE 512

/* distribution: {type: pytorch|mpi|tensorflow, process_count_per_instance,
 * worker_count, parameter_server_count} as Azure ML writes it. Which counts a
 * type takes is checked here; how they fit the node count, in check_dist. */
static int parse_distribution(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s,
			      int *lines)
{
	if (expect_map(c, n, "distribution") < 0)
		return -1;
	int type_line = 0, pc_line = 0, wc_line = 0, ps_line = 0;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		const struct ferry_yaml_node *v = n->vals[i];
		char field[300];
		snprintf(field, sizeof(field), "distribution.%s", k);
		if (!strcmp(k, "type")) {
			type_line = v->line;
			const char *t = v->kind == FERRY_YAML_SCALAR ? v->text : "";
			if (!strcasecmp(t, "pytorch"))
				s->dist.type = FERRY_DIST_PYTORCH;
			else if (!strcasecmp(t, "mpi"))
				s->dist.type = FERRY_DIST_MPI;
			else if (!strcasecmp(t, "tensorflow"))
				s->dist.type = FERRY_DIST_TENSORFLOW;
			else
				return ferry_yaml_err(c, v->line, field,
						      "'%s' is not a distribution type (pytorch, mpi, tensorflow)",
						      v->kind == FERRY_YAML_SCALAR ? t : ferry_yaml_kind_name(v));
		} else if (!strcmp(k, "process_count_per_instance")) {
			if (get_count(c, v, field, 0, FERRY_MAX_PER_NODE, &s->dist.per_node) < 0)
				return -1;
			pc_line = v->line;
		} else if (!strcmp(k, "worker_count")) {
			if (get_count(c, v, field, 0, (long)FERRY_MAX_NODES * FERRY_MAX_PER_NODE, &s->dist.workers) < 0)
				return -1;
			wc_line = v->line;
		} else if (!strcmp(k, "parameter_server_count")) {
			if (get_count(c, v, field, 1, (long)FERRY_MAX_NODES * FERRY_MAX_PER_NODE, &s->dist.ps) < 0)
				return -1;
			ps_line = v->line;
		} else
			return ferry_yaml_err(c, n->key_lines[i], field,
					      "unknown field of distribution (known: type, process_count_per_instance, "
					      "worker_count, parameter_server_count)");
	}
	if (!type_line)
		return ferry_yaml_err(c, n->line, "distribution.type", "required: pytorch, mpi or tensorflow");
	if (s->dist.type == FERRY_DIST_TENSORFLOW && pc_line)
		return ferry_yaml_err(c, pc_line, "distribution.process_count_per_instance",
				      "tensorflow takes worker_count and parameter_server_count, not "
				      "process_count_per_instance");
	if (s->dist.type != FERRY_DIST_TENSORFLOW && (wc_line || ps_line))
		return ferry_yaml_err(c, wc_line ? wc_line : ps_line,
				      wc_line ? "distribution.worker_count" : "distribution.parameter_server_count",
				      "only tensorflow takes this; %s takes process_count_per_instance",
				      ferry_dist_type_name(s->dist.type));
	lines[0] = wc_line ? wc_line : ps_line ? ps_line : type_line;
	return 0;
}

/* resources: instance_count is acted on; Azure ML's other fields are read and
 * named in s->dist.ignored (a note at run time); anything else is an error. */
static int parse_resources(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	static const char *const ignored[] = { "instance_type", "shm_size",  "docker_args",
					       "properties",    "locations", "max_instance_count" };
	if (ferry_yaml_is_null(n))
		return 0;
	if (expect_map(c, n, "resources") < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		char field[300];
		snprintf(field, sizeof(field), "resources.%s", k);
		if (!strcmp(k, "instance_count")) {
			if (get_count(c, n->vals[i], field, 0, FERRY_MAX_NODES, &s->dist.nodes) < 0)
				return -1;
			continue;
		}
		size_t a = 0;
		while (a < sizeof(ignored) / sizeof(ignored[0]) && strcmp(k, ignored[a]) != 0)
			a++;
		if (a == sizeof(ignored) / sizeof(ignored[0]))
			return ferry_yaml_err(c, n->key_lines[i], field,
					      "unknown field of resources (known: instance_count, instance_type, "
					      "shm_size, docker_args, properties, locations, max_instance_count)");
		size_t at = strlen(s->dist.ignored);
		snprintf(s->dist.ignored + at, sizeof(s->dist.ignored) - at, "%s%s", at ? ", " : "", k);
	}
	return 0;
}

/* The counts together: defaults, and tensorflow's tasks spread evenly. */
static int check_dist(struct ferry_yaml_doc *c, struct ferry_jobspec *s, int dist_line)
{
	struct ferry_distribution *d = &s->dist;
	if (d->nodes == 0)
		d->nodes = 1;
	if (d->type == FERRY_DIST_TENSORFLOW) {
		if (d->workers == 0)
			d->workers = d->nodes;
		int tasks = d->workers + d->ps;
		if (tasks % d->nodes != 0)
			return ferry_yaml_err(c, dist_line, "distribution",
					      "worker_count %d + parameter_server_count %d = %d tasks cannot be spread "
					      "evenly over instance_count %d nodes",
					      d->workers, d->ps, tasks, d->nodes);
		d->per_node = tasks / d->nodes;
		if (d->per_node > FERRY_MAX_PER_NODE)
			return ferry_yaml_err(c, dist_line, "distribution", "%d tasks per node is more than %d",
					      d->per_node, FERRY_MAX_PER_NODE);
	} else if (d->per_node == 0)
		d->per_node = 1;
	return 0;
}

/* identity: {type: user_identity | managed | managed_identity | aml_token,
 * client_id: <user-assigned identity>} (absent or null: no identity). */
static int parse_identity(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (expect_map(c, n, "identity") < 0)
		return -1;
	int have_type = 0;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i];
		const struct ferry_yaml_node *v = n->vals[i];
		char field[64];
		snprintf(field, sizeof(field), "identity.%s", k);
		if (v->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(v))
			return ferry_yaml_err(c, v->line, field, "expected a string, found %s", ferry_yaml_kind_name(v));
		if (!strcmp(k, "type")) {
			if (ferry_identity_parse(v->text, &s->identity.kind) < 0 || s->identity.kind == FERRY_ID_NONE)
				return ferry_yaml_err(c, v->line, field,
					    "'%s' is not an identity type (user_identity, managed, managed_identity, "
					    "aml_token)",
					    v->text);
			have_type = 1;
		} else if (!strcmp(k, "client_id")) {
			if (!*v->text || strlen(v->text) >= sizeof(s->identity.client_id))
				return ferry_yaml_err(c, v->line, field, "expected a client id (a GUID)");
			snprintf(s->identity.client_id, sizeof(s->identity.client_id), "%s", v->text);
		} else if (strcmp(k, "object_id") && strcmp(k, "msi_resource_id") && strcmp(k, "resource_id"))
			return ferry_yaml_err(c, n->key_lines[i], field,
				    "unknown field of identity (known: type, client_id, object_id, resource_id)");
	}
	if (!have_type)
		return ferry_yaml_err(c, n->line, "identity.type", "required: user_identity or managed");
	if (s->identity.client_id[0] && s->identity.kind != FERRY_ID_MANAGED)
		return ferry_yaml_err(c, n->line, "identity.client_id", "only a managed identity takes a client id");
	return 0;
}

static int parse_env(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (expect_map(c, n, "environment_variables") < 0)
		return -1;
	s->env = calloc(n->n ? n->n : 1, sizeof(*s->env));
	if (!s->env)
		return oom(c);
	for (size_t i = 0; i < n->n; i++) {
		const struct ferry_yaml_node *v = n->vals[i];
		char field[300];
		snprintf(field, sizeof(field), "environment_variables.%s", n->keys[i]);
		if (v->kind != FERRY_YAML_SCALAR)
			return ferry_yaml_err(c, v->line, field, "expected a string, number or boolean, found %s",
				    ferry_yaml_kind_name(v));
		if (!*n->keys[i] || strchr(n->keys[i], '='))
			return ferry_yaml_err(c, n->key_lines[i], field, "not a valid variable name");
		struct ferry_job_env *e = &s->env[s->n_env++];
		e->key = strdup(n->keys[i]);
		e->value = strdup(ferry_yaml_is_null(v) ? "" : v->text);
		e->line = v->line;
		if (!e->key || !e->value)
			return oom(c);
	}
	return 0;
}

static int parse_limits(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (expect_map(c, n, "limits") < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		const struct ferry_yaml_node *v = n->vals[i];
		if (strcmp(n->keys[i], "timeout") != 0) {
			char field[300];
			snprintf(field, sizeof(field), "limits.%s", n->keys[i]);
			return ferry_yaml_err(c, n->key_lines[i], field, "unknown field (known: timeout)");
		}
		char *end = NULL;
		errno = 0;
		long t = v->kind == FERRY_YAML_SCALAR ? strtol(v->text, &end, 10) : -1;
		if (v->kind != FERRY_YAML_SCALAR || !*v->text || *end || t <= 0)
			return ferry_yaml_err(c, v->line, "limits.timeout",
				    "expected a positive number of seconds");
		if (errno == ERANGE || t > FERRY_JOB_MAX_TIMEOUT_S)
			return ferry_yaml_err(c, v->line, "limits.timeout", "%s seconds is too long (at most %d)",
					      v->text, FERRY_JOB_MAX_TIMEOUT_S);
		s->timeout_s = t;
	}
	return 0;
}

static char *abs_dir(const char *dir)
{
	char buf[PATH_MAX];
	if (realpath(dir && *dir ? dir : ".", buf))
		return strdup(buf);
	return strdup(dir && *dir ? dir : ".");
}

/* Placeholder values for validating references: "<inputs.x>". */
static int check_references(struct ferry_yaml_doc *c, struct ferry_jobspec *s, int cmd_line)
{
	char **iv = calloc(s->n_inputs + 1, sizeof(char *));
	char **ov = calloc(s->n_outputs + 1, sizeof(char *));
	int rc = -1;
	if (!iv || !ov) {
		oom(c);
		goto out;
	}
	for (size_t i = 0; i < s->n_inputs; i++) {
		const struct ferry_job_input *in = &s->inputs[i];
		if (in->literal || in->path) {
			if (asprintf(&iv[i], "<inputs.%s>", in->name) < 0) {
				iv[i] = NULL;
				oom(c);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < s->n_outputs; i++)
		if (asprintf(&ov[i], "<outputs.%s>", s->outputs[i].name) < 0) {
			ov[i] = NULL;
			oom(c);
			goto out;
		}
	char *cmd = NULL;
	if (ferry_jobspec_command(s, (const char *const *)iv, (const char *const *)ov, &cmd,
				  c->err) < 0) {
		ferry_err_wrap(c->err, "%s:%d", c->label, cmd_line);
		goto out;
	}
	free(cmd);
	for (size_t j = 0; j < s->n_env; j++) {
		char *v = NULL;
		if (ferry_jobspec_env_value(s, j, (const char *const *)iv, (const char *const *)ov, &v,
					    c->err) < 0) {
			ferry_err_wrap(c->err, "%s:%d", c->label, s->env[j].line);
			goto out;
		}
		free(v);
	}
	for (size_t i = 0; i < s->n_outputs; i++) {
		char *uri = NULL;
		if (ferry_jobspec_output_uri(s, i, &uri, c->err) < 0) {
			ferry_err_wrap(c->err, "%s:%d", c->label, s->outputs[i].line);
			goto out;
		}
		struct ferry_uri u;
		ferry_err ue;
		if (ferry_uri_parse(uri, &u, &ue) < 0) {
			ferry_yaml_err(c, s->outputs[i].line, NULL, "output '%s': %s", s->outputs[i].name,
			     ue.msg);
			free(uri);
			goto out;
		}
		int kind = u.kind;
		ferry_uri_free(&u);
		if (kind != FERRY_URI_DATASTORE && kind != FERRY_URI_BLOB && kind != FERRY_URI_S3) {
			ferry_yaml_err(c, s->outputs[i].line, NULL,
			     "output '%s': path '%s' is not a storage location; outputs go to a "
			     "datastore (azureml://datastores/<name>/paths/<path>), a Blob URI or s3://",
			     s->outputs[i].name, uri);
			free(uri);
			goto out;
		}
		free(uri);
	}
	rc = 0;
out:
	for (size_t i = 0; iv && i < s->n_inputs; i++)
		free(iv[i]);
	for (size_t i = 0; ov && i < s->n_outputs; i++)
		free(ov[i]);
	free(iv);
	free(ov);
	return rc;
}

static int build_spec(struct ferry_yaml_doc *c, const struct ferry_yaml_node *root, const char *dir,
		      struct ferry_jobspec *s)
{
	if (root->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, root->line, NULL, "a job file is a map of fields, found %s",
			    ferry_yaml_kind_name(root));
	if (!(s->dir = abs_dir(dir)))
		return oom(c);
	json_t *azure = json_object();
	if (!azure)
		return oom(c);
	int cmd_line = 1;
	char *code = NULL;
	/* A command component file runs as a job: its inputs' defaults are the values. */
	const struct ferry_yaml_node *schema = ferry_yaml_get(root, "$schema");
	int component = schema && schema->kind == FERRY_YAML_SCALAR &&
			strcasestr(schema->text, "commandComponent") != NULL;
	int code_line = 0, dist_line = 1;
	int rc = -1;
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i];
		const struct ferry_yaml_node *v = root->vals[i];
		int kl = root->key_lines[i];
		if (!strcmp(k, "$schema")) {
			char *tmp = NULL;
			if (get_str(c, v, k, &tmp) < 0)
				goto out;
			free(tmp);
		} else if (!strcmp(k, "type")) {
			if (v->kind != FERRY_YAML_SCALAR || strcmp(v->text, "command") != 0) {
				ferry_yaml_err(c, v->line, k, "only 'command' jobs are supported, found '%s'",
				     v->kind == FERRY_YAML_SCALAR ? v->text : ferry_yaml_kind_name(v));
				goto out;
			}
		} else if (component && (!strcmp(k, "name") || !strcmp(k, "version") ||
					 !strcmp(k, "is_deterministic"))) {
			/* a component's own name and version, not the job's */
			json_object_set_new(azure, !strcmp(k, "name") ? "component_name" : k, to_json(v));
		} else if (!strcmp(k, "name")) {
			if (get_str(c, v, k, &s->name) < 0)
				goto out;
			if (s->name && !ferry_job_name_ok(s->name)) {
				ferry_yaml_err(c, v->line, k,
				     "'%s' is not a valid job name (letters, digits, '_' and '-', "
				     "starting with a letter or digit, at most 255)",
				     s->name);
				goto out;
			}
		} else if (!strcmp(k, "display_name")) {
			if (get_str(c, v, k, &s->display_name) < 0)
				goto out;
		} else if (!strcmp(k, "experiment_name")) {
			if (get_str(c, v, k, &s->experiment_name) < 0)
				goto out;
		} else if (!strcmp(k, "description")) {
			if (get_str(c, v, k, &s->description) < 0)
				goto out;
		} else if (!strcmp(k, "tags")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (expect_map(c, v, k) < 0)
				goto out;
			for (size_t t = 0; t < v->n; t++)
				if (v->vals[t]->kind != FERRY_YAML_SCALAR) {
					char field[300];
					snprintf(field, sizeof(field), "tags.%s", v->keys[t]);
					ferry_yaml_err(c, v->vals[t]->line, field, "expected a string, found %s",
					     ferry_yaml_kind_name(v->vals[t]));
					goto out;
				}
			json_t *j = to_json(v);
			s->tags_json = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(j);
		} else if (!strcmp(k, "command")) {
			if (get_str(c, v, k, &s->command) < 0)
				goto out;
			cmd_line = v->line;
		} else if (!strcmp(k, "code")) {
			if (get_str(c, v, k, &code) < 0)
				goto out;
			code_line = v->line;
		} else if (!strcmp(k, "inputs")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (expect_map(c, v, k) < 0)
				goto out;
			s->inputs = calloc(v->n ? v->n : 1, sizeof(*s->inputs));
			if (!s->inputs) {
				oom(c);
				goto out;
			}
			for (size_t j = 0; j < v->n; j++) {
				s->n_inputs++;
				if (parse_input(c, v->keys[j], v->key_lines[j], v->vals[j],
						&s->inputs[j]) < 0)
					goto out;
			}
		} else if (!strcmp(k, "outputs")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (expect_map(c, v, k) < 0)
				goto out;
			s->outputs = calloc(v->n ? v->n : 1, sizeof(*s->outputs));
			if (!s->outputs) {
				oom(c);
				goto out;
			}
			for (size_t j = 0; j < v->n; j++) {
				s->n_outputs++;
				if (parse_output(c, v->keys[j], v->key_lines[j], v->vals[j],
						 &s->outputs[j]) < 0)
					goto out;
			}
		} else if (!strcmp(k, "environment_variables")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (parse_env(c, v, s) < 0)
				goto out;
		} else if (!strcmp(k, "limits")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (parse_limits(c, v, s) < 0)
				goto out;
		} else if (!strcmp(k, "distribution") || !strcmp(k, "resources")) {
			/* used (nodes and ranks) and recorded with the Azure fields */
			if (!strcmp(k, "resources") ? parse_resources(c, v, s) < 0
			    : !ferry_yaml_is_null(v) && parse_distribution(c, v, s, &dist_line) < 0)
				goto out;
			json_object_set_new(azure, k, to_json(v));
		} else if (!strcmp(k, "identity")) {
			/* used (the storage identity) and recorded with the Azure fields */
			if (parse_identity(c, v, s) < 0)
				goto out;
			json_object_set_new(azure, k, to_json(v));
		} else {
			size_t a = 0;
			for (; a < sizeof(azure_only) / sizeof(azure_only[0]); a++)
				if (!strcmp(k, azure_only[a]))
					break;
			if (a == sizeof(azure_only) / sizeof(azure_only[0])) {
				ferry_yaml_err(c, kl, k, "unknown field of a command job");
				goto out;
			}
			json_object_set_new(azure, k, to_json(v));
		}
	}
	if (!s->command || !*s->command) {
		ferry_yaml_err(c, cmd_line, "command", "required: the command to run");
		goto out;
	}
	if (check_dist(c, s, dist_line) < 0)
		goto out;
	/* code: relative to the job file's folder; must be a folder. */
	if (code && ferry_uri_is_remote(code)) {
		ferry_yaml_err(c, code_line, "code", "code assets and remote code ('%s') are not supported; use a local folder",
		     code);
		goto out;
	}
	if (code && code[0] == '/')
		s->code = strdup(code);
	else if (code) {
		char *j = NULL;
		if (asprintf(&j, "%s/%s", s->dir, code) < 0) {
			oom(c);
			goto out;
		}
		s->code = abs_dir(j);
		free(j);
	} else
		s->code = strdup(s->dir);
	if (!s->code) {
		oom(c);
		goto out;
	}
	if (code) {
		struct stat st;
		if (stat(s->code, &st) < 0 || !S_ISDIR(st.st_mode)) {
			ferry_yaml_err(c, code_line, "code", "'%s' is not a folder (resolved to %s)", code,
			     s->code);
			goto out;
		}
	}
	if (!s->name) {
		char buf[64];
		ferry_job_name_generate(buf, sizeof(buf));
		if (!(s->name = strdup(buf))) {
			oom(c);
			goto out;
		}
		s->name_generated = 1;
	}
	if (!s->env && !(s->env = calloc(1, sizeof(*s->env)))) {
		oom(c);
		goto out;
	}
	if (!s->experiment_name) { /* Azure ML's default: the job file's folder name */
		const char *b = strrchr(s->dir, '/');
		if (!(s->experiment_name = strdup(b && b[1] ? b + 1 : s->dir))) {
			oom(c);
			goto out;
		}
	}
	if (check_references(c, s, cmd_line) < 0)
		goto out;
	rc = 0;
out:
	free(code);
	s->azure_json = json_dumps(azure, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(azure);
	if (rc == 0 && !s->azure_json)
		return oom(c);
	return rc;
}

static int parse_set(const char *text, size_t len, const char *label, const char *dir,
		     const char *const *sets, size_t nsets, struct ferry_jobspec **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_yaml_node *root;
	if (ferry_yaml_parse(text, len, label, &root, err) < 0)
		return -1;
	for (size_t i = 0; i < nsets; i++)
		if (ferry_job_set_apply(root, sets[i], err) < 0) {
			ferry_yaml_free(root);
			return -1;
		}
	struct ferry_jobspec *s = calloc(1, sizeof(*s));
	if (!s || !(s->file = strdup(label))) {
		free(s);
		ferry_yaml_free(root);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	struct ferry_yaml_doc c = { .label = label, .err = err };
	int rc = build_spec(&c, root, dir, s);
	ferry_yaml_free(root);
	if (rc < 0) {
		ferry_jobspec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int ferry_jobspec_parse(const char *text, size_t len, const char *label, const char *dir,
			struct ferry_jobspec **out, ferry_err *err)
{
	return parse_set(text, len, label, dir, NULL, 0, out, err);
}

int ferry_jobspec_load(const char *path, struct ferry_jobspec **out, ferry_err *err)
{
	return ferry_jobspec_load_set(path, NULL, 0, out, err);
}

int ferry_jobspec_load_set(const char *path, const char *const *sets, size_t nsets,
			   struct ferry_jobspec **out, ferry_err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rbe");
	if (!f)
		return ferry_err_set(err, errno == ENOENT ? FERRY_E_NOTFOUND : FERRY_E_IO,
				     "cannot read job file %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem) {
		fclose(f);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	char chunk[65536];
	size_t r;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, r, mem);
	int bad = ferror(f);
	fclose(f);
	fclose(mem);
	if (bad) {
		free(buf);
		return ferry_err_set(err, FERRY_E_IO, "cannot read job file %s", path);
	}
	char *dir = strdup(path);
	if (!dir) {
		free(buf);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	int rc = parse_set(buf, len, path, dir, sets, nsets, out, err);
	free(dir);
	free(buf);
	return rc;
}

void ferry_jobspec_free(struct ferry_jobspec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_inputs; i++) {
		struct ferry_job_input *in = &s->inputs[i];
		free(in->name);
		free(in->value);
		free(in->path);
		free(in->type_name);
		free(in->description);
	}
	for (size_t i = 0; i < s->n_outputs; i++) {
		struct ferry_job_output *o = &s->outputs[i];
		free(o->name);
		free(o->path_tmpl);
		free(o->asset_name);
		free(o->asset_version);
		free(o->type_name);
		free(o->description);
	}
	for (size_t i = 0; i < s->n_env; i++) {
		free(s->env[i].key);
		free(s->env[i].value);
	}
	free(s->inputs);
	free(s->outputs);
	free(s->env);
	free(s->file);
	free(s->dir);
	free(s->name);
	free(s->display_name);
	free(s->experiment_name);
	free(s->description);
	free(s->tags_json);
	free(s->command);
	free(s->code);
	free(s->azure_json);
	free(s);
}

int ferry_job_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '-')))
			return 0;
	}
	return 1;
}

void ferry_job_name_generate(char *buf, size_t cap)
{
	static const char *const adj[] = { "brave",  "calm",   "eager",  "gentle", "happy",
					   "jolly",  "keen",   "lively", "mighty", "neat",
					   "polite", "quiet",  "silly",  "sunny",  "tender",
					   "witty",  "zealous", "bold",  "crisp",  "frosty" };
	static const char *const noun[] = { "apple",  "river",  "falcon", "garden", "lemon",
					    "kettle", "pillow", "rocket", "spoon",  "tiger",
					    "violin", "wagon",  "yacht",  "zebra",  "cloud",
					    "island", "lantern", "maple", "otter",  "pepper" };
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[10];
	ferry_random_bytes(r, sizeof(r));
	char tail[9];
	for (int i = 0; i < 8; i++)
		tail[i] = alnum[r[2 + i] % 36];
	tail[8] = '\0';
	snprintf(buf, cap, "%s_%s_%s", adj[r[0] % 20], noun[r[1] % 20], tail);
}

int ferry_jobspec_set_name(struct ferry_jobspec *s, const char *name, ferry_err *err)
{
	if (!ferry_job_name_ok(name))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "'%s' is not a valid job name (letters, digits, '_' and '-', "
				     "starting with a letter or digit, at most 255)",
				     name);
	char *n = strdup(name);
	if (!n)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	free(s->name);
	s->name = n;
	s->name_generated = 0;
	return 0;
}

int ferry_jobspec_set_env(struct ferry_jobspec *s, const char *key, const char *value,
			  ferry_err *err)
{
	if (!*key || strchr(key, '='))
		return ferry_err_set(err, FERRY_E_INVALID, "'%s' is not a valid variable name", key);
	for (size_t i = 0; i < s->n_env; i++)
		if (!strcmp(s->env[i].key, key)) {
			char *v = strdup(value);
			if (!v)
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
			free(s->env[i].value);
			s->env[i].value = v;
			return 0;
		}
	struct ferry_job_env *e = realloc(s->env, (s->n_env + 1) * sizeof(*e));
	if (!e)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	s->env = e;
	e[s->n_env].key = strdup(key);
	e[s->n_env].value = strdup(value);
	if (!e[s->n_env].key || !e[s->n_env].value) {
		free(e[s->n_env].key);
		free(e[s->n_env].value);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	s->n_env++;
	return 0;
}

const char *ferry_jobspec_env(const struct ferry_jobspec *s, const char *key)
{
	for (size_t i = 0; i < s->n_env; i++)
		if (!strcmp(s->env[i].key, key))
			return s->env[i].value;
	return NULL;
}

struct out_arg {
	const struct ferry_jobspec *s;
	const struct ferry_job_output *o;
};

static int output_resolver(void *arg, const char *expr, const char **value, ferry_err *err)
{
	struct out_arg *a = arg;
	if (!strcmp(expr, "name"))
		*value = a->s->name;
	else if (!strcmp(expr, "default_datastore"))
		*value = "workspaceblobstore";
	else if (!strcmp(expr, "output_name"))
		*value = a->o->name;
	else {
		ferry_err_set(err, FERRY_E_INVALID,
			      "unknown expression '${{%s}}' (output paths may use ${{name}}, "
			      "${{default_datastore}}, ${{output_name}})",
			      expr);
		return FERRY_EXPAND_ERROR;
	}
	return FERRY_EXPAND_VALUE;
}

int ferry_jobspec_output_uri(const struct ferry_jobspec *s, size_t i, char **out,
			     ferry_err *err)
{
	const struct ferry_job_output *o = &s->outputs[i];
	if (!o->path_tmpl) {
		if (asprintf(out, "azureml://datastores/workspaceblobstore/paths/azureml/%s/%s/",
			     s->name, o->name) < 0) {
			*out = NULL;
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		return 0;
	}
	struct out_arg a = { s, o };
	char what[300];
	snprintf(what, sizeof(what), "output '%s' path", o->name);
	return ferry_expand(o->path_tmpl, 0, output_resolver, &a, what, out, err);
}

struct cmd_arg {
	const struct ferry_jobspec *s;
	const char *const *in_vals, *const *out_vals;
};

static int command_resolver(void *arg, const char *expr, const char **value, ferry_err *err)
{
	struct cmd_arg *a = arg;
	if (!strcmp(expr, "name")) {
		*value = a->s->name;
		return FERRY_EXPAND_VALUE;
	}
	if (!strncmp(expr, "inputs.", 7)) {
		for (size_t i = 0; i < a->s->n_inputs; i++)
			if (!strcmp(a->s->inputs[i].name, expr + 7)) {
				*value = a->in_vals[i];
				return *value ? FERRY_EXPAND_VALUE : FERRY_EXPAND_ABSENT;
			}
		ferry_err_set(err, FERRY_E_INVALID, "'${{%s}}' refers to input '%s', which the job does not define",
			      expr, expr + 7);
		return FERRY_EXPAND_ERROR;
	}
	if (!strncmp(expr, "outputs.", 8)) {
		for (size_t i = 0; i < a->s->n_outputs; i++)
			if (!strcmp(a->s->outputs[i].name, expr + 8)) {
				*value = a->out_vals[i];
				return FERRY_EXPAND_VALUE;
			}
		ferry_err_set(err, FERRY_E_INVALID, "'${{%s}}' refers to output '%s', which the job does not define",
			      expr, expr + 8);
		return FERRY_EXPAND_ERROR;
	}
	ferry_err_set(err, FERRY_E_INVALID,
		      "unknown expression '${{%s}}' (the command may use ${{inputs.<name>}}, "
		      "${{outputs.<name>}}, ${{name}})",
		      expr);
	return FERRY_EXPAND_ERROR;
}

int ferry_jobspec_command(const struct ferry_jobspec *s, const char *const *in_vals,
			  const char *const *out_vals, char **out, ferry_err *err)
{
	struct cmd_arg a = { s, in_vals, out_vals };
	return ferry_expand(s->command, 1, command_resolver, &a, "command", out, err);
}

/* In a variable's value an absent optional input is empty text. */
static int env_resolver(void *arg, const char *expr, const char **value, ferry_err *err)
{
	int r = command_resolver(arg, expr, value, err);
	if (r == FERRY_EXPAND_ABSENT) {
		*value = "";
		r = FERRY_EXPAND_VALUE;
	}
	return r;
}

int ferry_jobspec_env_value(const struct ferry_jobspec *s, size_t j, const char *const *in_vals,
			    const char *const *out_vals, char **out, ferry_err *err)
{
	struct cmd_arg a = { s, in_vals, out_vals };
	char what[300];
	snprintf(what, sizeof(what), "environment_variables.%s", s->env[j].key);
	return ferry_expand(s->env[j].value, 0, env_resolver, &a, what, out, err);
}

char *ferry_jobspec_input_path(const struct ferry_jobspec *s, const struct ferry_job_input *in)
{
	if (!in->path)
		return NULL;
	struct ferry_uri u;
	ferry_err e;
	if (ferry_uri_parse(in->path, &u, &e) < 0)
		return strdup(in->path);
	int local = u.kind == FERRY_URI_LOCAL;
	char *lp = local && u.path ? strdup(u.path) : NULL;
	ferry_uri_free(&u);
	if (!local || !lp)
		return strdup(in->path);
	if (lp[0] == '/')
		return lp;
	const char *rel = lp;
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	char *out = NULL;
	if (asprintf(&out, "%s/%s", s->dir, rel) < 0)
		out = NULL;
	free(lp);
	return out;
}
