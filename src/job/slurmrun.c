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

/* The record's status after submitting: Queued, or Failed (with an end time)
 * when the job could not be submitted. */
static void record_status(struct ferry_ws *ws, const char *name, const char *status)
{
	struct ferry_job_record rec;
	ferry_err e;
	if (ferry_ws_job_get(ws, name, &rec, &e) < 0)
		return;
	char ts[40];
	ferry_log_timestamp(ts, sizeof(ts));
	free(rec.status);
	rec.status = strdup(status);
	if (!strcmp(status, "Failed")) {
		free(rec.end_time);
		rec.end_time = strdup(ts);
	}
	if (ferry_ws_job_put(ws, &rec, &e) < 0)
		fprintf(stderr, "ferry: warning: could not record job %s: %s\n", name, e.msg);
	ferry_job_record_free(&rec);
}

int ferry_slurm_job_run(struct ferry_jobspec *spec, const char *home, const struct ferry_compute *c,
			int detach, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	int nodes = spec->dist.nodes, rc = -1;
	struct ferry_ws *ws = NULL;
	struct ferry_dist_job *j = NULL;
	char exe[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el <= 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot find ferry's own binary: %s", strerror(errno));
	exe[el] = '\0';
	/* The cluster first: nothing exists yet when it cannot run the job. */
	if (ferry_slurm_check_nodes(c, nodes, err) < 0 || ferry_dist_begin(spec, home, &j, err) < 0)
		return -1;
	const char *jobdir = ferry_dist_jobdir(j);
	if (ferry_ws_open(ferry_dist_home(j), &ws, err) < 0)
		goto out;
	struct ferry_slurm_request rq = { .compute = c,
					  .job_name = spec->name,
					  .jobdir = jobdir,
					  .ferry_exe = exe,
					  .nodes = nodes,
					  .timeout_s = spec->timeout_s };
	char id[32] = "";
	if (ferry_slurm_submit(&rq, id, sizeof(id), err) < 0 ||
	    ferry_follow_save(jobdir, id, c->name, nodes, err) < 0) {
		record_status(ws, spec->name, "Failed");
		ferry_slurm_forget_secrets(jobdir);
		ferry_err e;
		if (id[0])
			ferry_slurm_cancel(id, &e);
		goto out;
	}
	fprintf(stderr, "ferry: job %s submitted to compute %s as Slurm job %s: %d node%s x %d process%s (%s)\n",
		spec->name, c->name, id, nodes, nodes == 1 ? "" : "s", spec->dist.per_node,
		spec->dist.per_node == 1 ? "" : "es", ferry_dist_type_name(spec->dist.type));
	record_status(ws, spec->name, "Queued");
	if (detach) {
		fprintf(stderr,
			"ferry: detached; follow it with `ferry job stream %s`, stop it with `ferry "
			"job cancel %s`\n",
			spec->name, spec->name);
		*exit_code = 0;
		rc = 0;
		goto out;
	}
	rc = ferry_follow(ws, j, spec->name, 1, 1, exit_code, err);
out:
	ferry_dist_free(j);
	ferry_ws_close(ws);
	return rc;
}
