/*
 * amlenv.h — the variables Azure ML gives a command job, added to the job's
 * own environment_variables before the command starts:
 *
 *   AZURE_ML_INPUT_<name>    the path (or literal text) input <name> has in the job
 *   AZURE_ML_OUTPUT_<name>   the folder (or file path) output <name> writes to
 *   AZUREML_EXPERIMENT_NAME  experiment_name (default: the job file's folder name)
 *
 * (AZUREML_RUN_ID is the job's name, set where the environment is built.) A
 * variable the job file sets itself is left as written. The job's own values
 * are expanded: `${{inputs.x}}`, `${{outputs.y}}`, `${{name}}` as in the command.
 */
#ifndef FERRY_JOB_AMLENV_H
#define FERRY_JOB_AMLENV_H

#include "core/err.h"
#include "job/jobspec.h"

/* Expand s->env's values and add the variables above to s->env. in_vals[i]
 * is input i's value (NULL: an absent optional input, which gets no
 * variable), out_vals[j] output j's. Returns 0, or -1 with err (a value that
 * does not expand; out of memory). Call once per run, before the command. */
int ferry_job_aml_env(struct ferry_jobspec *s, const char *const *in_vals,
		      const char *const *out_vals, ferry_err *err);

#endif
