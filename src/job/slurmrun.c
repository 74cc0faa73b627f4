/*
 * slurmrun.c — `ferry run` on a Slurm compute target: choosing the compute,
 * preparing the job folder, submitting, then following or detaching.
 * See slurmrun.h.
 */
#include "job/slurmrun.h"
#include "core/log.h"
#include "job/distrun.h"
#include "job/follow.h"
#include "job/runner.h"
#include "job/slurm.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The job's `compute:` as written (borrowed from a parsed copy), or NULL. */
static char *spec_compute(const struct ferry_jobspec *spec)
{
	json_t *a = spec->azure_json ? json_loads(spec->azure_json, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(a, "compute"));
	char *r = v ? strdup(v) : NULL;
	json_decref(a);
	return r;
}

int ferry_job_compute(const struct ferry_jobspec *spec, const char *override, const char *home,
		      struct ferry_compute *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	char *written = override ? NULL : spec_compute(spec);
	const char *name = override ? override : written;
	if (name && !strncmp(name, "azureml:", 8))
		name += 8;
	if (!name || !*name || !strcmp(name, "local")) {
		free(written);
		return 0;
	}
	struct ferry_ws *ws;
	if (ferry_ws_open(home, &ws, err) < 0) {
		free(written);
		return -1;
	}
	ferry_err e;
	int rc = ferry_ws_compute_get(ws, name, out, &e);
	ferry_ws_close(ws);
	if (rc == 0) {
		free(written);
		return 0;
	}
	if (e.code != FERRY_E_NOTFOUND || override) {
		*err = e;
		free(written);
		return -1;
	}
	fprintf(stderr,
		"ferry: compute '%s' is not a compute target of this workspace: running locally "
		"(to run on Slurm: `ferry compute create --file cluster.yml` with name: %s, "
		"type: slurm)\n",
		written, name);
	free(written);
	return 0;
}

static int mkdir_in(const char *parent, const char *sub, ferry_err *err)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/%s", parent, sub);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", p, strerror(errno));
	return 0;
}

/* <home>/jobs/<name>/ and the folders the node agents and ferry write to. */
static int make_jobdir(const char *home, const char *name, char **jobdir, ferry_err *err)
{
	char jobs[4200];
	snprintf(jobs, sizeof(jobs), "%s/jobs", home);
	if (mkdir(jobs, 0755) < 0 && errno != EEXIST)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", jobs, strerror(errno));
	if (asprintf(jobdir, "%s/%s", jobs, name) < 0) {
		*jobdir = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (mkdir(*jobdir, 0755) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", *jobdir,
				     strerror(errno));
	const char *subs[] = { "user_logs", "nodes", "slurm", "logs", "logs/system_logs",
			       "logs/system_logs/data_capability" };
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (mkdir_in(*jobdir, subs[i], err) < 0)
			return -1;
	return 0;
}

int ferry_slurm_job_run(struct ferry_jobspec *spec, const char *home, const struct ferry_compute *c,
			int detach, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	int nodes = spec->dist.nodes;
	struct ferry_ws *ws = NULL;
	struct ferry_job_record rec = { 0 };
	char *jobdir = NULL;
	int rc = -1;
	char exe[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el <= 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot find ferry's own binary: %s", strerror(errno));
	exe[el] = '\0';
	if (ferry_job_check(spec, home, err) < 0 || ferry_ws_open(home, &ws, err) < 0)
		return -1;
	if (ferry_slurm_check_nodes(c, nodes, err) < 0)
		goto out;
	if (make_jobdir(ferry_ws_home(ws), spec->name, &jobdir, err) < 0 ||
	    ferry_dist_write_plan(spec, ferry_ws_home(ws), jobdir, err) < 0)
		goto out;
	if (spec->dist.ignored[0])
		fprintf(stderr, "ferry: note: resources: %s %s read but not used by ferry\n",
			spec->dist.ignored, strchr(spec->dist.ignored, ',') ? "are" : "is");
	ferry_job_record_start(&rec, spec, jobdir);
	rec.status = strdup("Queued");
	if (ferry_ws_job_put(ws, &rec, err) < 0)
		goto out;
	struct ferry_slurm_request rq = { .compute = c,
					  .job_name = spec->name,
					  .jobdir = jobdir,
					  .ferry_exe = exe,
					  .nodes = nodes,
					  .timeout_s = spec->timeout_s };
	char id[32];
	if (ferry_slurm_submit(&rq, id, sizeof(id), err) < 0 ||
	    ferry_follow_save(jobdir, id, c->name, nodes, err) < 0) {
		char ts[40];
		ferry_log_timestamp(ts, sizeof(ts));
		free(rec.status);
		rec.status = strdup("Failed");
		rec.end_time = strdup(ts);
		ferry_err e;
		if (ferry_ws_job_put(ws, &rec, &e) < 0)
			fprintf(stderr, "ferry: warning: could not record job %s: %s\n", spec->name, e.msg);
		if (id[0])
			ferry_slurm_cancel(id, &e);
		goto out;
	}
	fprintf(stderr, "ferry: job %s submitted to compute %s as Slurm job %s: %d node%s x %d process%s (%s)\n",
		spec->name, c->name, id, nodes, nodes == 1 ? "" : "s", spec->dist.per_node,
		spec->dist.per_node == 1 ? "" : "es", ferry_dist_type_name(spec->dist.type));
	if (detach) {
		fprintf(stderr,
			"ferry: detached; follow it with `ferry job stream %s`, stop it with `ferry "
			"job cancel %s`\n",
			spec->name, spec->name);
		*exit_code = 0;
		rc = 0;
		goto out;
	}
	rc = ferry_follow(ws, spec->name, 1, 1, exit_code, err);
out:
	ferry_job_record_free(&rec);
	free(jobdir);
	ferry_ws_close(ws);
	return rc;
}
