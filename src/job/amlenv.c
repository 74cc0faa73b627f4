/*
 * amlenv.c — owns the Azure ML variables of a command job (amlenv.h).
 */
#include "job/amlenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set `prefix``name`=`value` unless the job file already sets it. */
static int add_var(struct ferry_jobspec *s, const char *prefix, const char *name, const char *value,
		   ferry_err *err)
{
	char key[512];
	snprintf(key, sizeof(key), "%s%s", prefix, name);
	if (ferry_jobspec_env(s, key))
		return 0;
	return ferry_jobspec_set_env(s, key, value, err);
}

int ferry_job_aml_env(struct ferry_jobspec *s, const char *const *in_vals,
		      const char *const *out_vals, ferry_err *err)
{
	for (size_t j = 0; j < s->n_env; j++) {
		if (!strstr(s->env[j].value, "${{"))
			continue;
		char *v = NULL;
		if (ferry_jobspec_env_value(s, j, in_vals, out_vals, &v, err) < 0)
			return -1;
		free(s->env[j].value);
		s->env[j].value = v;
	}
	for (size_t i = 0; i < s->n_inputs; i++)
		if (in_vals[i] && add_var(s, "AZURE_ML_INPUT_", s->inputs[i].name, in_vals[i], err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_outputs; i++)
		if (out_vals[i] && add_var(s, "AZURE_ML_OUTPUT_", s->outputs[i].name, out_vals[i], err) < 0)
			return -1;
	if (s->experiment_name && add_var(s, "AZUREML_EXPERIMENT_NAME", "", s->experiment_name, err) < 0)
		return -1;
	return 0;
}
