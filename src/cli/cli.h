/*
 * cli.h — the subcommands, one file each (src/cli/<name>.c, git-style), and
 * the few helpers they share. Only src/cli/ turns errors into exit statuses:
 * 0 success, 1 a failed operation (message on stderr), 2 a usage error; for
 * `ferry run`, the command's own exit status.
 *
 * Layer cli may include: core, store, workspace, resolve, transfer, fs, mltable, job. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include "core/err.h"
#include "core/yaml.h"
#include "resolve/resolve.h"

#include <stdio.h>

int cmd_run(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_datastore(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_settings(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_unmount(int argc, char **argv);
int cmd_mltable(int argc, char **argv);
int cmd_compute(int argc, char **argv);

/* `ferry job download ...` (argv[0] "job", argv[1] "download"). */
int cli_job_download(int argc, char **argv);
/* `ferry job top ...` (argv[0] "job", argv[1] "top"; jobtop.c). */
int cli_job_top(int argc, char **argv);

/* Help in the one format every command shares: "usage: <usage>", a blank
 * line, then "  <what it does>". `help` is the command table's text,
 * "<what it does>: ferry <name> ...". */
void cli_help_command(FILE *out, const char *name, const char *help);

/* 1 when argv[1..] holds --help or -h before any `--`: the command prints its
 * help instead of reading the word as a path or value. */
int cli_wants_help(int argc, char **argv);

/* The name among names[0..n) nearest to a misspelt `word` (at most two
 * edits), or NULL. Names starting with '_' (internal) are never offered. */
const char *cli_nearest(const char *word, const char *const *names, size_t n);

/* `ferry -q|--quiet`: no progress line or progress log lines. */
void cli_set_quiet(void);

/* Print "ferry: error: <msg>" on stderr and return 1. */
int cli_fail(const ferry_err *err);

/* Print "ferry: <fmt>" plus the usage hint on stderr and return 2. */
int cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the workspace and load settings from the environment into ctx.
 * Returns 0 or -1 with err. Release with cli_ctx_close. */
int cli_ctx_open(struct ferry_ctx *ctx, ferry_err *err);
void cli_ctx_close(struct ferry_ctx *ctx);

struct ferry_datastore;
struct ferry_data_asset;

/* Read and validate the datastore file `file` (Azure ML's datastore YAML, or
 * type: s3) into *ds, which it zeroes first. 0 with the fields malloc'd (free
 * with ferry_datastore_free); -1 with "<file>:<line>: field 'x': ..." in err,
 * *ds already freed. Touches nothing but `file`. */
int cli_datastore_parse(const char *file, struct ferry_datastore *ds, ferry_err *err);

/* Read and validate the data asset file `file` into *a (zeroed by the
 * caller). Fields are malloc'd and freed by the caller with
 * ferry_data_asset_free, also on failure (-1 with the error in err). */
int cli_data_asset_parse(const char *file, struct ferry_data_asset *a, ferry_err *err);

/* Replace the malloc'd string *s (may be NULL) by a copy with its secrets
 * masked (ferry_redact_dup), before printing what a registry row holds. */
void cli_mask(char **s);

/* The `tags:` map `v` of a datastore or data asset file (field `k`): every
 * value a string. On success *json (malloc'd, replacing and freeing the old
 * value) is the tags as compact JSON with sorted keys; returns 0, or -1 with
 * "<file>:<line>: field 'tags.x': ..." in d->err. A null `v` leaves *json. */
int cli_yaml_tags(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *k, char **json);

/* The string value `n` of field `field` into *out (malloc'd, replacing and
 * freeing the old value); a null, a map or a list is "<file>:<line>: field
 * '<field>': expected a string" in d->err. Returns 0 or -1. The same as
 * ferry_yaml_string (core/yaml.h), which new code calls directly. */
int cli_yaml_string(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *n, const char *field,
		    char **out);

/* `ferry <object> create --file F` (or -f F, --file=F): argv[2..] parsed into
 * *file (borrowed). Returns 0, or cli_usage's 2 (an unexpected argument, or no
 * file: the message `need`). */
int cli_create_file(int argc, char **argv, const char *usage, const char *need, const char **file);

/* s, or "-" when it is NULL or empty (for tables and `show`). */
const char *cli_or_dash(const char *s);

#endif
