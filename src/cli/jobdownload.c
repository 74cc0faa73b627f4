/*
 * jobdownload.c — `ferry job download NAME [--output NAME|--all]
 * [--download-path DIR]`, as `az ml job download`: the job's artifacts
 * (what its command left in ./outputs and ./logs; job/workdir.h) into
 * DIR/artifacts/, a named output into DIR/named-outputs/<name>/, or both
 * (--all). DIR defaults to the current folder.
 */
#include "cli/cli.h"
#include "core/files.h"
#include "job/workdir.h"
#include "transfer/transfer.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] = "ferry job download NAME [--output NAME|--all] [--download-path DIR]";

static int fetch(struct ferry_ctx *ctx, const char *what, const char *uri, const char *dest,
		 ferry_err *err)
{
	struct ferry_xfer_result res;
	if (ferry_mkdir_parents(dest) < 0) /* DIR, DIR/named-outputs */
		return ferry_err_set(err, FERRY_E_IO, "cannot create the folders of %s: %s", dest, strerror(errno));
	if (ferry_download(ctx, uri, dest, &res, NULL, err) < 0) {
		ferry_err_wrap(err, "%s", what);
		return -1;
	}
	char line[256];
	ferry_xfer_summary(&res, line, sizeof(line));
	fprintf(stderr, "downloaded %s %s -> %s: %s\n", what, uri, dest, line);
	return 0;
}

/* Download output `want` (NULL: every output that completed). */
static int named_outputs(struct ferry_ctx *ctx, const struct ferry_job_record *rec, const char *want,
			 const char *dir, ferry_err *err)
{
	json_t *a = rec->outputs_json ? json_loads(rec->outputs_json, 0, NULL) : NULL;
	size_t i;
	json_t *o;
	int found = 0, rc = 0;
	char names[512] = "";
	json_array_foreach(a, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *uri = json_string_value(json_object_get(o, "uri"));
		const char *status = json_string_value(json_object_get(o, "status"));
		if (!name)
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", name);
		if (want && strcmp(want, name))
			continue;
		found = 1;
		if (!uri || !status || strcmp(status, "Completed")) {
			if (want) {
				rc = ferry_err_set(err, FERRY_E_NOTFOUND,
						   "output '%s' of job '%s' was not stored (%s)", name,
						   rec->name, status ? status : "no location");
				break;
			}
			fprintf(stderr, "output '%s' of job '%s' was not stored (%s); skipped\n", name,
				rec->name, status ? status : "no location");
			continue;
		}
		char dest[4200], what[300];
		snprintf(dest, sizeof(dest), "%s/named-outputs/%s", dir, name);
		snprintf(what, sizeof(what), "output '%s'", name);
		if ((rc = fetch(ctx, what, uri, dest, err)) < 0 && err->code == FERRY_E_NOTFOUND) {
			/* completed, but nothing was written: an empty folder */
			rc = mkdir(dest, 0755) < 0 && errno != EEXIST
				     ? ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", dest, strerror(errno))
				     : 0;
			if (rc == 0)
				fprintf(stderr, "output '%s' is empty (the command wrote nothing to it) -> %s\n", name, dest);
		}
		if (rc < 0)
			break;
	}
	json_decref(a);
	if (rc == 0 && want && !found)
		rc = ferry_err_set(err, FERRY_E_NOTFOUND, "job '%s' has no output named '%s' (outputs: %s)",
				   rec->name, want, names[0] ? names : "none");
	return rc;
}

int cli_job_download(int argc, char **argv)
{
	const char *name = NULL, *output = NULL, *dir = ".";
	int all = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--all"))
			all = 1;
		else if (!strcmp(a, "--output") || !strcmp(a, "--output-name") || !strcmp(a, "--download-path")) {
			if (i + 1 >= argc)
				return cli_usage(usage, "%s needs a value", a);
			if (a[2] == 'o')
				output = argv[++i];
			else
				dir = argv[++i];
		} else if (a[0] == '-' && a[1])
			return cli_usage(usage, "unknown option '%s'", a);
		else if (!name)
			name = a;
		else
			return cli_usage(usage, "one job at a time ('%s' is extra)", a);
	}
	if (!name)
		return cli_usage(usage, "job download needs a job name");
	if (all && output)
		return cli_usage(usage, "--output and --all exclude each other");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0) {
		cli_ctx_close(&ctx);
		return cli_fail(&err);
	}
	struct ferry_job_record rec;
	int rc = ferry_ws_job_get(ctx.ws, name, &rec, &err);
	if (rc == 0) {
		if (!output) { /* the artifacts: default, and part of --all */
			char uri[1024], dest[4200];
			ferry_workdir_artifacts_uri(name, uri, sizeof(uri));
			snprintf(dest, sizeof(dest), "%s/artifacts", dir);
			rc = fetch(&ctx, "artifacts", uri, dest, &err);
			if (rc < 0 && err.code == FERRY_E_NOTFOUND) {
				if (all) {
					fprintf(stderr, "job '%s' left no artifacts (./outputs and ./logs were empty)\n", name);
					rc = 0;
				} else
					ferry_err_set(&err, FERRY_E_NOTFOUND,
						      "job '%s' left no artifacts (./outputs and ./logs were empty); "
						      "its named outputs come with --output NAME or --all", name);
			}
		}
		if (rc == 0 && (output || all))
			rc = named_outputs(&ctx, &rec, output, dir, &err);
		ferry_job_record_free(&rec);
	}
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
