/* job.c — `ferry job list | show NAME [--json] | stream NAME | cancel NAME | report
 * [NAME]`: the jobs of the workspace (report: job/report.h). show and list bring the records of jobs on Slurm up to date
 * first (job/follow.h); stream and cancel work on jobs on Slurm.
 * (`ferry job download`: jobdownload.c; `ferry job top`: jobtop.c.) */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "job/follow.h"
#include "job/report.h"
#include "workspace/workspace.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "ferry job list | show NAME [--json] | stream NAME | cancel NAME | report [NAME] [--out FILE] [--open] | top [NAME] [--once] [--interval SECONDS] | download NAME [--output NAME|--all] [--download-path DIR]";

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int job_list(struct ferry_ws *ws)
{
	struct ferry_job_record *v;
	size_t n;
	ferry_err err;
	if (ferry_ws_job_list(ws, &v, &n, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < n; i++)
		if (ferry_follow_reconcile(ws, &v[i], &err) < 0)
			fprintf(stderr, "ferry: warning: job %s: %s\n", v[i].name, err.msg);
	printf("%-40s %-10s %-5s %-28s %s\n", "NAME", "STATUS", "EXIT", "STARTED", "DISPLAY NAME");
	for (size_t i = 0; i < n; i++) {
		char code[16] = "-";
		if (v[i].has_exit_code)
			snprintf(code, sizeof(code), "%d", v[i].exit_code);
		printf("%-40s %-10s %-5s %-28s %s\n", v[i].name, or_dash(v[i].status), code,
		       or_dash(v[i].start_time), or_dash(v[i].display_name));
	}
	ferry_job_record_list_free(v, n);
	return 0;
}

static void show_io(const char *title, const char *json)
{
	json_t *a = json ? json_loads(json, 0, NULL) : NULL;
	if (!json_is_array(a) || json_array_size(a) == 0) {
		json_decref(a);
		return;
	}
	printf("%s:\n", title);
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *lit = json_object_get(o, "literal");
		if (lit) {
			printf("  %s: %s\n", name, json_string_value(lit));
			continue;
		}
		const char *where = json_string_value(json_object_get(o, "uri"));
		if (!where)
			where = json_string_value(json_object_get(o, "path"));
		printf("  %s: %s (%s, %s) %s, %lld bytes, %lld files, %.2f s\n", name, or_dash(where),
		       or_dash(json_string_value(json_object_get(o, "type"))),
		       or_dash(json_string_value(json_object_get(o, "mode"))),
		       or_dash(json_string_value(json_object_get(o, "status"))),
		       (long long)json_integer_value(json_object_get(o, "bytes")),
		       (long long)json_integer_value(json_object_get(o, "files")),
		       json_number_value(json_object_get(o, "seconds")));
		json_t *m = json_object_get(o, "mount");
		if (json_is_object(m))
			printf("    mount: %lld bytes read, cache hit rate %.1f%% (%lld hits, %lld misses), "
			       "waited %.2f s for storage, %lld bytes from storage in %lld requests "
			       "(%lld retries), %lld opens, %lld read errors\n",
			       (long long)json_integer_value(json_object_get(m, "bytes_read")),
			       100.0 * json_number_value(json_object_get(m, "cache_hit_rate")),
			       (long long)json_integer_value(json_object_get(m, "cache_hits")),
			       (long long)json_integer_value(json_object_get(m, "cache_misses")),
			       json_number_value(json_object_get(m, "storage_wait_seconds")),
			       (long long)json_integer_value(json_object_get(m, "storage_bytes")),
			       (long long)json_integer_value(json_object_get(m, "requests")),
			       (long long)json_integer_value(json_object_get(m, "retries")),
			       (long long)json_integer_value(json_object_get(m, "opens")),
			       (long long)json_integer_value(json_object_get(m, "read_errors")));
		const char *asset = json_string_value(json_object_get(o, "asset"));
		if (asset)
			printf("    data asset: azureml:%s\n", asset);
		const char *e = json_string_value(json_object_get(o, "error"));
		if (e)
			printf("    error: %s\n", e);
	}
	json_decref(a);
}

/* `job show NAME --json`: the record as one JSON object, for programs (the
 * Python package's ferry.run reads it): the fields of the text form, with
 * inputs, outputs and tags as JSON, exit_code null while there is none. */
static int job_show_json(struct ferry_ws *ws, struct ferry_job_record *r)
{
	json_t *o = json_object();
	json_t *io[3] = { json_loads(r->inputs_json ? r->inputs_json : "[]", 0, NULL),
			  json_loads(r->outputs_json ? r->outputs_json : "[]", 0, NULL),
			  json_loads(r->tags_json ? r->tags_json : "{}", 0, NULL) };
	const char *keys[] = { "name", "display_name", "experiment_name", "description", "status", "start_time",
			       "end_time", "job_file", "folder" };
	const char *vals[] = { r->name, r->display_name, r->experiment_name, r->description, r->status, r->start_time,
			       r->end_time, r->job_file, r->folder };
	for (size_t i = 0; o && i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set_new(o, keys[i], vals[i] ? json_string(vals[i]) : json_null());
	json_object_set_new(o, "exit_code", r->has_exit_code ? json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "bytes_moved", json_integer((json_int_t)r->bytes_moved));
	json_object_set_new(o, "inputs", io[0] ? io[0] : json_array());
	json_object_set_new(o, "outputs", io[1] ? io[1] : json_array());
	json_object_set_new(o, "tags", io[2] ? io[2] : json_object());
	json_t *produced = json_array();
	struct ferry_data_asset *assets;
	size_t n_assets;
	ferry_err aerr;
	if (ferry_ws_asset_list_by_job(ws, r->name, &assets, &n_assets, &aerr) == 0) {
		for (size_t i = 0; i < n_assets; i++) {
			cli_mask(&assets[i].path);
			json_array_append_new(produced, json_pack("{s:s+++,s:s,s:s}", "asset", "azureml:", assets[i].name,
								  ":", assets[i].version, "type", assets[i].type,
								  "path", assets[i].path));
		}
		ferry_data_asset_list_free(assets, n_assets);
	} else
		fprintf(stderr, "ferry: warning: %s\n", aerr.msg);
	json_object_set_new(o, "data_assets", produced);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text) {
		fprintf(stderr, "ferry: error: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static int job_show(struct ferry_ws *ws, const char *name, int as_json)
{
	struct ferry_job_record r;
	ferry_err err;
	if (ferry_ws_job_get(ws, name, &r, &err) < 0)
		return cli_fail(&err);
	if (ferry_follow_reconcile(ws, &r, &err) < 0)
		fprintf(stderr, "ferry: warning: the status may be stale: %s\n", err.msg);
	if (as_json) {
		int rc = job_show_json(ws, &r);
		ferry_job_record_free(&r);
		return rc;
	}
	printf("name:            %s\n", r.name);
	printf("display_name:    %s\n", or_dash(r.display_name));
	printf("experiment_name: %s\n", or_dash(r.experiment_name));
	printf("description:     %s\n", or_dash(r.description));
	printf("status:          %s\n", or_dash(r.status));
	if (r.has_exit_code)
		printf("exit_code:       %d\n", r.exit_code);
	else
		printf("exit_code:       -\n");
	printf("start_time:      %s\n", or_dash(r.start_time));
	printf("end_time:        %s\n", or_dash(r.end_time));
	printf("job_file:        %s\n", or_dash(r.job_file));
	printf("bytes_moved:     %llu\n", (unsigned long long)r.bytes_moved);
	if (r.tags_json && strcmp(r.tags_json, "{}") != 0)
		printf("tags:            %s\n", r.tags_json);
	if (r.azure_json && strcmp(r.azure_json, "{}") != 0)
		printf("azure fields:    %s\n", r.azure_json); /* as written; compute, resources, distribution are acted on */
	show_io("inputs", r.inputs_json);
	show_io("outputs", r.outputs_json);
	struct ferry_data_asset *assets;
	size_t n_assets;
	ferry_err aerr;
	if (ferry_ws_asset_list_by_job(ws, r.name, &assets, &n_assets, &aerr) == 0) {
		if (n_assets)
			printf("data assets produced:\n");
		for (size_t i = 0; i < n_assets; i++) {
			cli_mask(&assets[i].path);
			printf("  azureml:%s:%s (%s) %s\n", assets[i].name, assets[i].version,
			       assets[i].type, assets[i].path);
		}
		ferry_data_asset_list_free(assets, n_assets);
	} else
		fprintf(stderr, "ferry: warning: %s\n", aerr.msg);
	printf("folder:          %s\n", or_dash(r.folder));
	char plan[4200];
	snprintf(plan, sizeof(plan), "%s/plan.json", r.folder ? r.folder : "");
	if (r.folder && access(plan, F_OK) == 0) { /* distributed: per rank, per node (job/node.h) */
		printf("std_log:         %s/user_logs/std_log_process_<rank>.txt\n", r.folder);
		printf("data_capability: %s/logs/system_logs/data_capability/node_<K>/data-capability.log\n", r.folder);
		printf("runtime_log:     %s/logs/system_logs/data_capability/node_<K>/rslex.log\n", r.folder);
		printf("node reports:    %s/nodes/<K>.json\n", r.folder);
		char sid[32], comp[256];
		if (ferry_follow_is_slurm(r.folder, sid, sizeof(sid), comp, sizeof(comp))) {
			printf("compute:         %s (Slurm job %s)\n", comp, sid);
			printf("slurm:           %s/slurm/ (job.sh, submit.json, slurm-%s.out)\n", r.folder, sid);
		}
	} else if (r.folder) {
		printf("std_log:         %s/user_logs/std_log.txt\n", r.folder);
		printf("data_capability: %s/logs/system_logs/data_capability/data-capability.log\n",
		       r.folder);
		printf("runtime_log:     %s/logs/system_logs/data_capability/rslex.log\n", r.folder);
	}
	ferry_job_record_free(&r);
	return 0;
}

/* ferry job report [NAME] [--out FILE] [--open]: NAME defaults to the last
 * job started; FILE to <job folder>/report.html. Prints the file's path
 * (--open: as a file:// URL to open in a browser). */
static int job_report(int argc, char **argv)
{
	const char *name = NULL, *out = NULL;
	int open_it = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strncmp(argv[i], "--out=", 6))
			out = argv[i] + 6;
		else if (!strcmp(argv[i], "--open"))
			open_it = 1;
		else if (argv[i][0] == '-')
			return cli_usage(usage, "job report: unknown option '%s'", argv[i]);
		else if (name)
			return cli_usage(usage, "job report takes one job name");
		else
			name = argv[i];
	}
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	struct ferry_job_record r = { 0 };
	int rc = 0;
	ferry_err_clear(&err);
	if (name)
		rc = ferry_ws_job_get(ws, name, &r, &err);
	else { /* the last job: the list is oldest first */
		struct ferry_job_record *v = NULL;
		size_t n = 0;
		rc = ferry_ws_job_list(ws, &v, &n, &err);
		if (rc == 0 && n == 0)
			rc = ferry_err_set(&err, FERRY_E_NOTFOUND, "no job in %s yet (ferry run JOB.yml)", ferry_ws_home(ws));
		else if (rc == 0)
			rc = ferry_ws_job_get(ws, v[n - 1].name, &r, &err);
		ferry_job_record_list_free(v, n);
	}
	if (rc == 0 && ferry_follow_reconcile(ws, &r, &err) < 0)
		fprintf(stderr, "ferry: warning: the status may be stale: %s\n", err.msg);
	char path[4200];
	if (rc == 0 && !out)
		snprintf(path, sizeof(path), "%s/report.html", r.folder ? r.folder : ".");
	if (rc == 0)
		rc = ferry_job_report(&r, out ? out : path, &err);
	if (rc == 0) {
		char abs[4200];
		const char *p = realpath(out ? out : path, abs) ? abs : out ? out : path;
		printf(open_it ? "file://%s\n" : "%s\n", p);
	}
	ferry_job_record_free(&r);
	ferry_ws_close(ws);
	return rc < 0 ? cli_fail(&err) : 0;
}

int cmd_job(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage, "job needs a subcommand");
	if (!strcmp(argv[1], "download"))
		return cli_job_download(argc, argv);
	if (!strcmp(argv[1], "report"))
		return job_report(argc, argv);
	if (!strcmp(argv[1], "top"))
		return cli_job_top(argc, argv);
	const char *sub = argv[1];
	int list = !strcmp(sub, "list");
	if (!list && strcmp(sub, "show") && strcmp(sub, "stream") && strcmp(sub, "cancel"))
		return cli_usage(usage, "unknown job subcommand '%s'", sub);
	int as_json = 0;
	if (!strcmp(sub, "show") && argc == 4 && !strcmp(argv[3], "--json"))
		as_json = 1, argc = 3;
	else if (!strcmp(sub, "show") && argc == 4 && !strcmp(argv[2], "--json"))
		as_json = 1, argv[2] = argv[3], argc = 3;
	if (!strcmp(sub, "show") && argc == 3 && !strcmp(argv[2], "--json"))
		return cli_usage(usage, "job show --json takes one job name");
	if (list && argc != 2)
		return cli_usage(usage, "job list takes no arguments");
	if (!list && argc != 3)
		return cli_usage(usage, "job %s takes one job name", sub);
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	int rc;
	if (list)
		rc = job_list(ws);
	else if (!strcmp(sub, "show"))
		rc = job_show(ws, argv[2], as_json);
	else if (!strcmp(sub, "stream")) {
		ferry_interrupt_install(); /* Ctrl-C stops following, not the job */
		int code = 1;
		ferry_err_clear(&err);
		rc = ferry_follow(ws, NULL, argv[2], 1, 0, &code, &err) < 0 ? cli_fail(&err) : code;
		if (rc == code && err.code != FERRY_OK && err.msg[0])
			fprintf(stderr, "ferry: error: %s\n", err.msg);
	} else {
		char status[32];
		rc = ferry_follow_cancel(ws, argv[2], status, sizeof(status), &err) < 0 ? cli_fail(&err) : 0;
		if (rc == 0)
			printf("job %s %s\n", argv[2], status);
	}
	ferry_ws_close(ws);
	return rc;
}
