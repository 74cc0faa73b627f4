/*
 * jobspec.h — the command job model: a job YAML file loaded and validated.
 *
 * Everything that can be checked without touching storage is checked here,
 * before anything runs: field names and types, which modes each input and
 * output type allows (the table in docs/jobs.md) and which of them this version implements, the path syntax of inputs and
 * outputs, and every `${{...}}` reference in the command and output paths.
 * Errors read "job.yml:12: field 'inputs.data.mode': ..." (file, line, field).
 * Azure-only fields (environment, compute, queue_settings, services) are
 * accepted and kept as JSON, not acted on; `identity` is kept too and also
 * parsed: it chooses how storage is reached; `distribution` and `resources`
 * are kept and parsed: they choose how many nodes and processes run.
 *
 * Threads: a spec is built by one thread; read-only afterwards.
 */
#ifndef FERRY_JOB_JOBSPEC_H
#define FERRY_JOB_JOBSPEC_H

#include "core/err.h"
#include "store/aztoken.h"

#include <stddef.h>

/* The longest limits.timeout accepted: 366 days, in seconds. */
#define FERRY_JOB_MAX_TIMEOUT_S (366 * 24 * 3600)

enum ferry_io_type { FERRY_IO_URI_FOLDER, FERRY_IO_URI_FILE, FERRY_IO_MLTABLE };

enum ferry_io_mode {
	FERRY_MODE_RO_MOUNT,
	FERRY_MODE_RW_MOUNT,
	FERRY_MODE_DOWNLOAD,
	FERRY_MODE_UPLOAD,
	FERRY_MODE_DIRECT,
	FERRY_MODE_EVAL_MOUNT,
	FERRY_MODE_EVAL_DOWNLOAD,
	FERRY_MODE__COUNT
};

const char *ferry_io_type_name(enum ferry_io_type t);
const char *ferry_io_mode_name(enum ferry_io_mode m);

struct ferry_job_input {
	char *name;
	int line;
	int literal;            /* 1: a literal; `value` is its text */
	char *value;
	enum ferry_io_type type;
	enum ferry_io_mode mode;
	char *path;             /* as written; NULL for an absent optional input */
	char *type_name;        /* custom_model|mlflow_model|triton_model (type is
	                           FERRY_IO_URI_FOLDER then), else NULL */
	int optional;
	char *description;
};

struct ferry_job_output {
	char *name;
	int line;
	enum ferry_io_type type;
	enum ferry_io_mode mode;
	char *path_tmpl;        /* as written, or NULL: the default location */
	char *type_name;        /* custom_model|mlflow_model|triton_model, else NULL */
	char *asset_name;       /* `name`: registered as a data asset when the job succeeds */
	char *asset_version;    /* `version`, or NULL: the next free version */
	char *description;
};

struct ferry_job_env {
	char *key, *value;      /* value as written: may hold ${{inputs.x}} etc. */
	int line;               /* 0: not from the file */
};

/* distribution.type; NONE when the job has no `distribution:`. */
enum ferry_dist_type { FERRY_DIST_NONE, FERRY_DIST_PYTORCH, FERRY_DIST_MPI, FERRY_DIST_TENSORFLOW };

const char *ferry_dist_type_name(enum ferry_dist_type t);

/* A job's shape: `distribution:` and `resources: {instance_count}` as Azure
 * ML defines them. Always consistent after parsing: nodes * per_node ranks,
 * and for tensorflow workers + ps == nodes * per_node. */
struct ferry_distribution {
	enum ferry_dist_type type;
	int nodes;      /* resources.instance_count; 1 when absent */
	int per_node;   /* ranks per node: process_count_per_instance (pytorch,
	                   mpi; default 1), (worker_count + parameter_server_count)
	                   / nodes for tensorflow, 1 without distribution */
	int workers;    /* tensorflow: worker_count (default: nodes) */
	int ps;         /* tensorflow: parameter_server_count (default 0) */
	char ignored[256]; /* resources fields ferry reads but does not act on
	                      ("instance_type, shm_size"), or "" */
};

struct ferry_jobspec {
	char *file;             /* the job file as named (labels errors) */
	char *dir;              /* its folder, absolute */
	char *name;
	int name_generated;     /* 1: `name` was absent and generated */
	char *display_name, *experiment_name, *description;
	char *tags_json;        /* JSON object text, or NULL */
	char *command;          /* as written, before expansion */
	char *code;             /* absolute folder the command runs in */
	size_t n_inputs, n_outputs, n_env;
	struct ferry_job_input *inputs;
	struct ferry_job_output *outputs;
	struct ferry_job_env *env;
	long timeout_s;         /* limits.timeout; 0 = none; at most
				   FERRY_JOB_MAX_TIMEOUT_S */
	char *azure_json;       /* JSON object of the Azure-only fields present, or "{}" */
	struct ferry_identity identity; /* identity: (kind NONE when absent) */
	struct ferry_distribution dist; /* distribution: + resources: */
};

/* 1 when the job runs as more than one process or with a framework's
 * environment (a `distribution:` or instance_count > 1). */
int ferry_jobspec_distributed(const struct ferry_jobspec *s);

/* Parse and validate `len` bytes of job YAML. `label` names the file in
 * errors; `dir` is the folder relative paths (code, ./data) start from
 * (borrowed; made absolute). *out owned by the caller (ferry_jobspec_free). */
int ferry_jobspec_parse(const char *text, size_t len, const char *label, const char *dir,
			struct ferry_jobspec **out, ferry_err *err);

/* Read `path` and parse it, relative paths starting at its folder. */
int ferry_jobspec_load(const char *path, struct ferry_jobspec **out, ferry_err *err);

/* ferry_jobspec_load with `--set PATH=VALUE` assignments applied, in order,
 * to the document before the model is built (job/setargs.h). */
int ferry_jobspec_load_set(const char *path, const char *const *sets, size_t nsets,
			   struct ferry_jobspec **out, ferry_err *err);

void ferry_jobspec_free(struct ferry_jobspec *s);

/* Job names: 1-255 of [A-Za-z0-9_-], starting with a letter or digit. */
int ferry_job_name_ok(const char *name);

/* A fresh Azure-style name: <adjective>_<noun>_<8 lowercase alnum>. `buf` >= 64. */
void ferry_job_name_generate(char *buf, size_t cap);

/* Replace the job's name (from --name); validates it. */
int ferry_jobspec_set_name(struct ferry_jobspec *s, const char *name, ferry_err *err);

/* Add or replace an environment variable (from --set K=V). */
int ferry_jobspec_set_env(struct ferry_jobspec *s, const char *key, const char *value,
			  ferry_err *err);

/* The value of the job's environment variable `key`, or NULL (borrowed). */
const char *ferry_jobspec_env(const struct ferry_jobspec *s, const char *key);

/* The URI of output i with `${{name}}`, `${{default_datastore}}` and
 * `${{output_name}}` expanded; the default location
 * azureml://datastores/workspaceblobstore/paths/azureml/<job>/<output>/ when
 * it has no path. malloc'd into *out. */
int ferry_jobspec_output_uri(const struct ferry_jobspec *s, size_t i, char **out,
			     ferry_err *err);

/* The command with `${{inputs.X}}`, `${{outputs.Y}}`, `${{name}}` expanded and
 * optional blocks resolved. in_vals[i] is input i's value (NULL: an absent
 * optional input); out_vals[j] output j's. malloc'd into *out. */
int ferry_jobspec_command(const struct ferry_jobspec *s, const char *const *in_vals,
			  const char *const *out_vals, char **out, ferry_err *err);

/* Environment variable j's value with `${{inputs.X}}`, `${{outputs.Y}}`,
 * `${{name}}` expanded as in the command (an absent optional input is empty
 * text; `$[[` is literal). malloc'd into *out. */
int ferry_jobspec_env_value(const struct ferry_jobspec *s, size_t j, const char *const *in_vals,
			    const char *const *out_vals, char **out, ferry_err *err);

/* Make an input path usable from anywhere: a relative local path is joined
 * to the job file's folder; other forms are returned as they are. malloc'd. */
char *ferry_jobspec_input_path(const struct ferry_jobspec *s, const struct ferry_job_input *in);

#endif
