/*
 * joboutput.c — owns where an earlier job's outputs are (workspace.h):
 * `azureml://jobs/<job>/outputs/<output>/paths/<p>` resolved through the
 * job's record, and the location of a job's artifacts.
 */
#include "workspace/workspace.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ferry_ws_artifacts_uri(const char *job, char *buf, size_t cap)
{
	snprintf(buf, cap, "azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.%s/", job);
}

/* `base` + `path` (+ '/' when `folder`), malloc'd. */
static int join(const char *base, const char *path, int folder, char **out, ferry_err *err)
{
	size_t bl = strlen(base);
	int slash = bl > 0 && base[bl - 1] == '/';
	if (!*path)
		*out = strdup(base);
	else if (asprintf(out, "%s%s%s%s", base, slash ? "" : "/", path, folder ? "/" : "") < 0)
		*out = NULL;
	return *out ? 0 : ferry_err_set(err, FERRY_E_IO, "out of memory");
}

int ferry_ws_job_output_uri(struct ferry_ws *ws, const char *job, const char *output, const char *path,
			    int folder, char **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_job_record rec;
	if (ferry_ws_job_get(ws, job, &rec, err) < 0) {
		if (err->code == FERRY_E_NOTFOUND)
			ferry_err_set(err, FERRY_E_NOTFOUND,
				      "azureml://jobs/%s/...: no job named '%s' in this workspace (see `ferry job list`)",
				      job, job);
		return -1;
	}
	int rc = -1;
	if (!rec.status || strcmp(rec.status, "Completed") != 0) {
		ferry_err_set(err, FERRY_E_INVALID,
			      "azureml://jobs/%s/outputs/%s: job '%s' is %s, not Completed: its outputs are not "
			      "there to read",
			      job, output, job, rec.status ? rec.status : "of unknown status");
		goto done;
	}
	if (!strcmp(output, "artifacts")) { /* Azure's name for ./outputs and ./logs */
		char base[1024];
		ferry_ws_artifacts_uri(job, base, sizeof(base));
		rc = join(base, path, folder, out, err);
		goto done;
	}
	json_t *a = rec.outputs_json ? json_loads(rec.outputs_json, 0, NULL) : NULL;
	size_t i;
	json_t *o;
	char names[512] = "";
	const char *uri = NULL, *status = NULL;
	json_array_foreach(a, i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));
		if (!n)
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", n);
		if (!strcmp(n, output)) {
			uri = json_string_value(json_object_get(o, "uri"));
			status = json_string_value(json_object_get(o, "status"));
		}
	}
	if (!uri && !status)
		ferry_err_set(err, FERRY_E_NOTFOUND, "azureml://jobs/%s/outputs/%s: job '%s' has no output '%s' "
			      "(outputs: %s; and artifacts)", job, output, job, output, names[0] ? names : "none");
	else if (!uri || !status || strcmp(status, "Completed"))
		ferry_err_set(err, FERRY_E_INVALID, "azureml://jobs/%s/outputs/%s: the output was not stored (%s)",
			      job, output, status ? status : "no location");
	else
		rc = join(uri, path, folder, out, err);
	json_decref(a);
done:
	ferry_job_record_free(&rec);
	return rc;
}
