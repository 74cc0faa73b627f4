/*
 * jobspec.c — loading a command job YAML into struct ferry_jobspec.
 *
 * Validation walks the YAML tree once, field by field, in document order:
 * each map (the job, an input, an output, distribution, resources, limits,
 * identity) is a table of rows for ferry_yaml_fields (core/yaml.h), and a key
 * with no row is an error naming its line.
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
	{ M(UPLOAD) | M(RW_MOUNT), M(UPLOAD) | M(RW_MOUNT), M(UPLOAD) | M(RW_MOUNT) },
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

/* The rows of an input's and an output's map: what differs between them is
 * where the values go; the line of `mode` goes to the int at `arg`. */
static int read_io_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *field,
			enum ferry_io_type *type, char **type_name)
{
	int e;
	if (parse_enum(c, v, field, type_names, 6, "type", &e) < 0)
		return -1;
	if (e >= 3 && !(*type_name = strdup(type_names[e])))
		return oom(c);
	*type = e >= 3 ? FERRY_IO_URI_FOLDER : e;
	return 0;
}

static int read_io_mode(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *field,
			enum ferry_io_mode *mode, int *mode_line)
{
	int e;
	if (parse_enum(c, v, field, mode_names, FERRY_MODE__COUNT, "mode", &e) < 0)
		return -1;
	*mode = e;
	*mode_line = v->line;
	return 0;
}

static int in_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_job_input *in = t;
	return read_io_type(c, v, k, &in->type, &in->type_name);
}

static int in_mode(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return read_io_mode(c, v, k, &((struct ferry_job_input *)t)->mode, arg);
}

static const struct ferry_yaml_field input_fields[] = {
	{ "type", FERRY_YF_CUSTOM, 0, in_type },
	{ "mode", FERRY_YF_CUSTOM, 0, in_mode },
	{ "path", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_input, path), NULL },
	{ "description", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_input, description), NULL },
	{ "optional", FERRY_YF_BOOL, offsetof(struct ferry_job_input, optional), NULL },
};

static int parse_input(struct ferry_yaml_doc *c, const char *name, int key_line,
		       const struct ferry_yaml_node *n, void *item)
{
	struct ferry_job_input *in = item;
	char prefix[300];
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
	snprintf(prefix, sizeof(prefix), "inputs.%s", name);
	if (ferry_yaml_fields_in(c, n, prefix, input_fields, sizeof(input_fields) / sizeof(input_fields[0]), in,
				 &mode_line,
				 "unknown field of an input (known: type, path, mode, optional, description)") < 0)
		return -1;
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

static int out_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_job_output *o = t;
	return read_io_type(c, v, k, &o->type, &o->type_name);
}

static int out_mode(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return read_io_mode(c, v, k, &((struct ferry_job_output *)t)->mode, arg);
}

static int out_asset_name(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			  void *arg)
{
	(void)arg;
	const char *name = ((struct ferry_job_output *)t)->asset_name;
	if (!ferry_ws_asset_name_ok(name))
		return ferry_yaml_err(c, v->line, k,
				      "'%s' is not a valid data asset name (letters, digits, '_', "
				      "'-', '.', starting with a letter or digit)",
				      name);
	return 0;
}

static int out_asset_version(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			     void *arg)
{
	(void)arg;
	const char *version = ((struct ferry_job_output *)t)->asset_version;
	if (!ferry_ws_asset_version_ok(version))
		return ferry_yaml_err(c, v->line, k,
				      "'%s' is not a valid data asset version (letters, digits, "
				      "'_', '-', '.', not 'latest')",
				      version);
	return 0;
}

static const struct ferry_yaml_field output_fields[] = {
	{ "type", FERRY_YF_CUSTOM, 0, out_type },
	{ "mode", FERRY_YF_CUSTOM, 0, out_mode },
	{ "path", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_output, path_tmpl), NULL },
	{ "name", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_output, asset_name), out_asset_name },
	{ "version", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_output, asset_version), out_asset_version },
	{ "description", FERRY_YF_OPT_STRING, offsetof(struct ferry_job_output, description), NULL },
};

static int parse_output(struct ferry_yaml_doc *c, const char *name, int key_line,
			const struct ferry_yaml_node *n, void *item)
{
	struct ferry_job_output *o = item;
	char prefix[300];
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
	snprintf(prefix, sizeof(prefix), "outputs.%s", name);
	if (ferry_yaml_fields_in(c, n, prefix, output_fields, sizeof(output_fields) / sizeof(output_fields[0]), o,
				 &mode_line,
				 "unknown field of an output (known: type, path, mode, name, version, description)") < 0)
		return -1;
	if (o->asset_version && !o->asset_name)
		return ferry_yaml_err(c, key_line, NULL,
			    "output '%s': 'version' without 'name' (name the data asset to register)",
			    name);
	return check_mode(c, mode_line, 1, name, o->type, o->mode);
}


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

/* The lines where distribution's fields were read (0: absent). */
struct dist_lines {
	int type, pc, wc, ps;
};

static int dist_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	struct ferry_jobspec *s = t;
	((struct dist_lines *)arg)->type = v->line;
	const char *name = v->kind == FERRY_YAML_SCALAR ? v->text : "";
	if (!strcasecmp(name, "pytorch"))
		s->dist.type = FERRY_DIST_PYTORCH;
	else if (!strcasecmp(name, "mpi"))
		s->dist.type = FERRY_DIST_MPI;
	else if (!strcasecmp(name, "tensorflow"))
		s->dist.type = FERRY_DIST_TENSORFLOW;
	else
		return ferry_yaml_err(c, v->line, k, "'%s' is not a distribution type (pytorch, mpi, tensorflow)",
				      v->kind == FERRY_YAML_SCALAR ? name : ferry_yaml_kind_name(v));
	return 0;
}

static int dist_per_node(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			 void *arg)
{
	((struct dist_lines *)arg)->pc = v->line;
	return get_count(c, v, k, 0, FERRY_MAX_PER_NODE, &((struct ferry_jobspec *)t)->dist.per_node);
}

static int dist_workers(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			void *arg)
{
	((struct dist_lines *)arg)->wc = v->line;
	return get_count(c, v, k, 0, (long)FERRY_MAX_NODES * FERRY_MAX_PER_NODE, &((struct ferry_jobspec *)t)->dist.workers);
}

static int dist_ps(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	((struct dist_lines *)arg)->ps = v->line;
	return get_count(c, v, k, 1, (long)FERRY_MAX_NODES * FERRY_MAX_PER_NODE, &((struct ferry_jobspec *)t)->dist.ps);
}

static const struct ferry_yaml_field dist_fields[] = {
	{ "type", FERRY_YF_CUSTOM, 0, dist_type },
	{ "process_count_per_instance", FERRY_YF_CUSTOM, 0, dist_per_node },
	{ "worker_count", FERRY_YF_CUSTOM, 0, dist_workers },
	{ "parameter_server_count", FERRY_YF_CUSTOM, 0, dist_ps },
};

/* distribution: {type: pytorch|mpi|tensorflow, process_count_per_instance,
 * worker_count, parameter_server_count} as Azure ML writes it. Which counts a
 * type takes is checked here; how they fit the node count, in check_dist. */
static int parse_distribution(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s,
			      int *lines)
{
	if (expect_map(c, n, "distribution") < 0)
		return -1;
	struct dist_lines at = { 0, 0, 0, 0 };
	if (ferry_yaml_fields_in(c, n, "distribution", dist_fields, sizeof(dist_fields) / sizeof(dist_fields[0]), s,
				 &at,
				 "unknown field of distribution (known: type, process_count_per_instance, "
				 "worker_count, parameter_server_count)") < 0)
		return -1;
	if (!at.type)
		return ferry_yaml_err(c, n->line, "distribution.type", "required: pytorch, mpi or tensorflow");
	if (s->dist.type == FERRY_DIST_TENSORFLOW && at.pc)
		return ferry_yaml_err(c, at.pc, "distribution.process_count_per_instance",
				      "tensorflow takes worker_count and parameter_server_count, not "
				      "process_count_per_instance");
	if (s->dist.type != FERRY_DIST_TENSORFLOW && (at.wc || at.ps))
		return ferry_yaml_err(c, at.wc ? at.wc : at.ps,
				      at.wc ? "distribution.worker_count" : "distribution.parameter_server_count",
				      "only tensorflow takes this; %s takes process_count_per_instance",
				      ferry_dist_type_name(s->dist.type));
	lines[0] = at.wc ? at.wc : at.ps ? at.ps : at.type;
	return 0;
}

static int res_count(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	return get_count(c, v, k, 0, FERRY_MAX_NODES, &((struct ferry_jobspec *)t)->dist.nodes);
}

/* A field ferry reads but does not act on: named in s->dist.ignored. */
static int res_ignored(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)c;
	(void)v;
	(void)arg;
	struct ferry_distribution *d = &((struct ferry_jobspec *)t)->dist;
	size_t at = strlen(d->ignored);
	snprintf(d->ignored + at, sizeof(d->ignored) - at, "%s%s", at ? ", " : "", k + strlen("resources."));
	return 0;
}

static const struct ferry_yaml_field resource_fields[] = {
	{ "instance_count", FERRY_YF_CUSTOM, 0, res_count },
	{ "instance_type", FERRY_YF_CUSTOM, 0, res_ignored },
	{ "shm_size", FERRY_YF_CUSTOM, 0, res_ignored },
	{ "docker_args", FERRY_YF_CUSTOM, 0, res_ignored },
	{ "properties", FERRY_YF_CUSTOM, 0, res_ignored },
	{ "locations", FERRY_YF_CUSTOM, 0, res_ignored },
	{ "max_instance_count", FERRY_YF_CUSTOM, 0, res_ignored },
};

/* resources: instance_count is acted on; Azure ML's other fields are read and
 * named in s->dist.ignored (a note at run time); anything else is an error. */
static int parse_resources(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (expect_map(c, n, "resources") < 0)
		return -1;
	return ferry_yaml_fields_in(c, n, "resources", resource_fields,
				    sizeof(resource_fields) / sizeof(resource_fields[0]), s, NULL,
				    "unknown field of resources (known: instance_count, instance_type, "
				    "shm_size, docker_args, properties, locations, max_instance_count)");
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

/* Every value under identity: is a string, known field or not. */
static int id_string(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k)
{
	if (v->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(v))
		return ferry_yaml_err(c, v->line, k, "expected a string, found %s", ferry_yaml_kind_name(v));
	return 0;
}

static int id_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	struct ferry_jobspec *s = t;
	if (id_string(c, v, k) < 0)
		return -1;
	if (ferry_identity_parse(v->text, &s->identity.kind) < 0 || s->identity.kind == FERRY_ID_NONE)
		return ferry_yaml_err(c, v->line, k,
				      "'%s' is not an identity type (user_identity, managed, managed_identity, "
				      "aml_token)",
				      v->text);
	*(int *)arg = 1;
	return 0;
}

static int id_client(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_jobspec *s = t;
	if (id_string(c, v, k) < 0)
		return -1;
	if (!*v->text || strlen(v->text) >= sizeof(s->identity.client_id))
		return ferry_yaml_err(c, v->line, k, "expected a client id (a GUID)");
	snprintf(s->identity.client_id, sizeof(s->identity.client_id), "%s", v->text);
	return 0;
}

/* object_id, msi_resource_id, resource_id: Azure's, read and not used. */
static int id_other(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	(void)arg;
	return id_string(c, v, k);
}

/* Any other key: its value is checked first, then it is unknown. */
static int id_unknown(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	(void)arg;
	return id_string(c, v, k) < 0 ? -1 : 1;
}

static const struct ferry_yaml_field identity_fields[] = {
	{ "type", FERRY_YF_CUSTOM, 0, id_type },
	{ "client_id", FERRY_YF_CUSTOM, 0, id_client },
	{ "object_id", FERRY_YF_CUSTOM, 0, id_other },
	{ "msi_resource_id", FERRY_YF_CUSTOM, 0, id_other },
	{ "resource_id", FERRY_YF_CUSTOM, 0, id_other },
	{ NULL, FERRY_YF_CUSTOM, 0, id_unknown },
};

/* identity: {type: user_identity | managed | managed_identity | aml_token,
 * client_id: <user-assigned identity>} (absent or null: no identity). */
static int parse_identity(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (ferry_yaml_is_null(n))
		return 0;
	if (expect_map(c, n, "identity") < 0)
		return -1;
	int have_type = 0;
	if (ferry_yaml_fields_in(c, n, "identity", identity_fields, sizeof(identity_fields) / sizeof(identity_fields[0]),
				 s, &have_type,
				 "unknown field of identity (known: type, client_id, object_id, resource_id)") < 0)
		return -1;
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

static int limit_timeout(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			 void *arg)
{
	(void)arg;
	char *end = NULL;
	errno = 0;
	long n = v->kind == FERRY_YAML_SCALAR ? strtol(v->text, &end, 10) : -1;
	if (v->kind != FERRY_YAML_SCALAR || !*v->text || *end || n <= 0)
		return ferry_yaml_err(c, v->line, k, "expected a positive number of seconds");
	if (errno == ERANGE || n > FERRY_JOB_MAX_TIMEOUT_S)
		return ferry_yaml_err(c, v->line, k, "%s seconds is too long (at most %d)", v->text,
				      FERRY_JOB_MAX_TIMEOUT_S);
	((struct ferry_jobspec *)t)->timeout_s = n;
	return 0;
}

static const struct ferry_yaml_field limit_fields[] = {
	{ "timeout", FERRY_YF_CUSTOM, 0, limit_timeout },
};

static int parse_limits(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, struct ferry_jobspec *s)
{
	if (expect_map(c, n, "limits") < 0)
		return -1;
	return ferry_yaml_fields_in(c, n, "limits", limit_fields, 1, s, NULL, "unknown field (known: timeout)");
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

/* What reading a job file's top-level fields gathers besides the spec. */
struct job_read {
	json_t *azure;  /* the Azure fields ferry records (and may use) */
	int component;  /* a command component: name and version are its own */
	char *code;     /* `code` as written */
	int code_line, cmd_line, dist_line;
};

static int top_schema(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	(void)arg;
	char *tmp = NULL;
	if (get_str(c, v, k, &tmp) < 0)
		return -1;
	free(tmp);
	return 0;
}

static int top_type(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	(void)arg;
	if (v->kind != FERRY_YAML_SCALAR || strcmp(v->text, "command") != 0)
		return ferry_yaml_err(c, v->line, k, "only 'command' jobs are supported, found '%s'",
				      v->kind == FERRY_YAML_SCALAR ? v->text : ferry_yaml_kind_name(v));
	return 0;
}

/* An Azure field recorded as it is (in a component, name and version too). */
static int top_azure(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)c;
	(void)t;
	json_object_set_new(((struct job_read *)arg)->azure, k, to_json(v));
	return 0;
}

static int top_name(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	struct ferry_jobspec *s = t;
	if (((struct job_read *)arg)->component) { /* a component's own name, not the job's */
		json_object_set_new(((struct job_read *)arg)->azure, "component_name", to_json(v));
		return 0;
	}
	if (get_str(c, v, k, &s->name) < 0)
		return -1;
	if (s->name && !ferry_job_name_ok(s->name))
		return ferry_yaml_err(c, v->line, k,
				      "'%s' is not a valid job name (letters, digits, '_' and '-', "
				      "starting with a letter or digit, at most 255)",
				      s->name);
	return 0;
}

/* version and is_deterministic: a component's, recorded; unknown in a job. */
static int top_component(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			 void *arg)
{
	return ((struct job_read *)arg)->component ? top_azure(c, v, k, t, arg) : 1;
}

static int top_tags(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_jobspec *s = t;
	if (ferry_yaml_is_null(v))
		return 0;
	if (expect_map(c, v, k) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (v->vals[i]->kind != FERRY_YAML_SCALAR) {
			char field[300];
			snprintf(field, sizeof(field), "tags.%s", v->keys[i]);
			return ferry_yaml_err(c, v->vals[i]->line, field, "expected a string, found %s",
					      ferry_yaml_kind_name(v->vals[i]));
		}
	json_t *j = to_json(v);
	s->tags_json = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return 0;
}

static int top_command(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	if (get_str(c, v, k, &((struct ferry_jobspec *)t)->command) < 0)
		return -1;
	((struct job_read *)arg)->cmd_line = v->line;
	return 0;
}

static int top_code(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)t;
	struct job_read *r = arg;
	if (get_str(c, v, k, &r->code) < 0)
		return -1;
	r->code_line = v->line;
	return 0;
}

/* inputs: and outputs:, a map of name -> what parse_input or parse_output
 * reads into one `size`-byte item of the array *items, which the caller owns
 * on failure too (*n counts the items begun: ferry_jobspec_free frees a
 * half-read one). */
static int read_io_map(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void **items,
		       size_t *n, size_t size,
		       int (*one)(struct ferry_yaml_doc *, const char *, int, const struct ferry_yaml_node *, void *))
{
	if (ferry_yaml_is_null(v))
		return 0;
	if (expect_map(c, v, k) < 0)
		return -1;
	if (!(*items = calloc(v->n ? v->n : 1, size)))
		return oom(c);
	for (size_t j = 0; j < v->n; j++) {
		(*n)++;
		if (one(c, v->keys[j], v->key_lines[j], v->vals[j], (char *)*items + j * size) < 0)
			return -1;
	}
	return 0;
}

static int top_inputs(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_jobspec *s = t;
	void *items = NULL;
	int rc = read_io_map(c, v, k, &items, &s->n_inputs, sizeof(*s->inputs), parse_input);
	s->inputs = items;
	return rc;
}

static int top_outputs(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)arg;
	struct ferry_jobspec *s = t;
	void *items = NULL;
	int rc = read_io_map(c, v, k, &items, &s->n_outputs, sizeof(*s->outputs), parse_output);
	s->outputs = items;
	return rc;
}

static int top_env(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)k;
	(void)arg;
	return ferry_yaml_is_null(v) ? 0 : parse_env(c, v, t);
}

static int top_limits(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	(void)k;
	(void)arg;
	return ferry_yaml_is_null(v) ? 0 : parse_limits(c, v, t);
}

/* distribution, resources, identity: used (nodes and ranks, the storage
 * identity) and recorded with the Azure fields. */
static int top_distribution(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			    void *arg)
{
	if (!ferry_yaml_is_null(v) && parse_distribution(c, v, t, &((struct job_read *)arg)->dist_line) < 0)
		return -1;
	return top_azure(c, v, k, t, arg);
}

static int top_resources(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t,
			 void *arg)
{
	return parse_resources(c, v, t) < 0 ? -1 : top_azure(c, v, k, t, arg);
}

static int top_identity(struct ferry_yaml_doc *c, const struct ferry_yaml_node *v, const char *k, void *t, void *arg)
{
	return parse_identity(c, v, t) < 0 ? -1 : top_azure(c, v, k, t, arg);
}

/* A command job's fields. Azure ML's environment, compute, queue_settings and
 * services are recorded only. */
static const struct ferry_yaml_field job_fields[] = {
	{ "$schema", FERRY_YF_CUSTOM, 0, top_schema },
	{ "type", FERRY_YF_CUSTOM, 0, top_type },
	{ "name", FERRY_YF_CUSTOM, 0, top_name },
	{ "version", FERRY_YF_CUSTOM, 0, top_component },
	{ "is_deterministic", FERRY_YF_CUSTOM, 0, top_component },
	{ "display_name", FERRY_YF_OPT_STRING, offsetof(struct ferry_jobspec, display_name), NULL },
	{ "experiment_name", FERRY_YF_OPT_STRING, offsetof(struct ferry_jobspec, experiment_name), NULL },
	{ "description", FERRY_YF_OPT_STRING, offsetof(struct ferry_jobspec, description), NULL },
	{ "tags", FERRY_YF_CUSTOM, 0, top_tags },
	{ "command", FERRY_YF_CUSTOM, 0, top_command },
	{ "code", FERRY_YF_CUSTOM, 0, top_code },
	{ "inputs", FERRY_YF_CUSTOM, 0, top_inputs },
	{ "outputs", FERRY_YF_CUSTOM, 0, top_outputs },
	{ "environment_variables", FERRY_YF_CUSTOM, 0, top_env },
	{ "limits", FERRY_YF_CUSTOM, 0, top_limits },
	{ "distribution", FERRY_YF_CUSTOM, 0, top_distribution },
	{ "resources", FERRY_YF_CUSTOM, 0, top_resources },
	{ "identity", FERRY_YF_CUSTOM, 0, top_identity },
	{ "environment", FERRY_YF_CUSTOM, 0, top_azure },
	{ "compute", FERRY_YF_CUSTOM, 0, top_azure },
	{ "queue_settings", FERRY_YF_CUSTOM, 0, top_azure },
	{ "services", FERRY_YF_CUSTOM, 0, top_azure },
};

static int build_spec(struct ferry_yaml_doc *c, const struct ferry_yaml_node *root, const char *dir,
		      struct ferry_jobspec *s)
{
	if (root->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(c, root->line, NULL, "a job file is a map of fields, found %s",
			    ferry_yaml_kind_name(root));
	if (!(s->dir = abs_dir(dir)))
		return oom(c);
	struct job_read r = { .azure = json_object(), .cmd_line = 1, .dist_line = 1 };
	if (!r.azure)
		return oom(c);
	/* A command component file runs as a job: its inputs' defaults are the values. */
	const struct ferry_yaml_node *schema = ferry_yaml_get(root, "$schema");
	r.component = schema && schema->kind == FERRY_YAML_SCALAR && strcasestr(schema->text, "commandComponent") != NULL;
	int rc = -1;
	if (ferry_yaml_fields(c, root, job_fields, sizeof(job_fields) / sizeof(job_fields[0]), s, &r,
			      "unknown field of a command job") < 0)
		goto out;
	if (!s->command || !*s->command) {
		ferry_yaml_err(c, r.cmd_line, "command", "required: the command to run");
		goto out;
	}
	if (check_dist(c, s, r.dist_line) < 0)
		goto out;
	/* code: relative to the job file's folder; must be a folder. */
	if (r.code && ferry_uri_is_remote(r.code)) {
		ferry_yaml_err(c, r.code_line, "code", "code assets and remote code ('%s') are not supported; use a local folder",
		     r.code);
		goto out;
	}
	if (r.code && r.code[0] == '/')
		s->code = strdup(r.code);
	else if (r.code) {
		char *j = NULL;
		if (asprintf(&j, "%s/%s", s->dir, r.code) < 0) {
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
	if (r.code) {
		struct stat st;
		if (stat(s->code, &st) < 0 || !S_ISDIR(st.st_mode)) {
			ferry_yaml_err(c, r.code_line, "code", "'%s' is not a folder (resolved to %s)", r.code,
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
	if (check_references(c, s, r.cmd_line) < 0)
		goto out;
	rc = 0;
out:
	free(r.code);
	s->azure_json = json_dumps(r.azure, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(r.azure);
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
