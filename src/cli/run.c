/* run.c — `ferry run JOB.yml [--name NAME] [--set PATH=VALUE]... [--compute NAME]
 * [--detach]`: run a command job, here or on a Slurm compute (job/slurmrun.h). */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "job/jobspec.h"
#include "job/runner.h"
#include "job/slurmrun.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry run JOB.yml [--name NAME] [--set PATH=VALUE]... [--compute NAME] [--detach]";

/* One line naming the Azure-only fields of the job that ferry does not act
 * on (the rest of the file runs as on Azure ML; a `compute:` that names no
 * compute target gets its own line, job/slurmrun.h). */
static void note_ignored(const struct ferry_jobspec *spec)
{
	static const char *const ignored[] = { "environment", "queue_settings", "services" };
	json_t *a = json_loads(spec->azure_json ? spec->azure_json : "{}", 0, NULL);
	char list[256] = "";
	for (size_t i = 0; a && i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		json_t *v = json_object_get(a, ignored[i]);
		if (!v || json_is_null(v))
			continue;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "",
			 ignored[i]);
	}
	json_decref(a);
	if (list[0])
		fprintf(stderr, "ferry: note: not used when running here (Azure ML only): %s; the command "
			"runs in this machine's environment\n", list);
}

int cmd_run(int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *compute = NULL;
	int detach = 0;
	ferry_interrupt_install(); /* Ctrl-C while inputs download stops cleanly */
	/* --set PATH=VALUE: applied to the job document before the model is built. */
	int nset = 0;
	const char **sets = calloc((size_t)argc, sizeof(char *));
	if (!sets)
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--name") || !strcmp(a, "--set") || !strcmp(a, "--compute")) {
			if (i + 1 >= argc) {
				free(sets);
				return cli_usage(usage, "%s needs a value", a);
			}
			if (a[2] == 'n')
				name = argv[++i];
			else if (a[2] == 'c')
				compute = argv[++i];
			else
				sets[nset++] = argv[++i];
		} else if (!strncmp(a, "--compute=", 10))
			compute = a + 10;
		else if (!strcmp(a, "--detach") || !strcmp(a, "-d"))
			detach = 1;
		else if (!strncmp(a, "--name=", 7))
			name = a + 7;
		else if (!strncmp(a, "--set=", 6))
			sets[nset++] = a + 6;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n", usage);
			free(sets);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			free(sets);
			return cli_usage(usage, "unknown option '%s'", a);
		} else if (!file)
			file = a;
		else {
			free(sets);
			return cli_usage(usage, "one job file at a time ('%s' is extra)", a);
		}
	}
	if (!file) {
		free(sets);
		return cli_usage(usage, "run needs a job file");
	}
	for (int i = 0; i < nset; i++)
		if (!strchr(sets[i], '=') || sets[i][0] == '=') {
			int u = cli_usage(usage, "--set takes PATH=VALUE, got '%s'", sets[i]);
			free(sets);
			return u;
		}
	ferry_err err;
	ferry_err_clear(&err);
	struct ferry_jobspec *spec;
	int rc = ferry_jobspec_load_set(file, sets, (size_t)nset, &spec, &err);
	free(sets);
	if (rc < 0)
		return cli_fail(&err);
	if (name && ferry_jobspec_set_name(spec, name, &err) < 0)
		rc = -1;
	if (rc == 0)
		note_ignored(spec);
	int exit_code = 1;
	struct ferry_compute target = { 0 };
	if (rc == 0)
		rc = ferry_job_compute(spec, compute, NULL, &target, &err);
	if (rc == 0 && target.name)
		rc = ferry_slurm_job_run(spec, NULL, &target, detach, &exit_code, &err);
	else if (rc == 0 && detach)
		rc = ferry_err_set(&err, FERRY_E_INVALID,
				   "--detach needs a Slurm compute (--compute NAME or compute: "
				   "azureml:NAME); a local run stays in the foreground");
	else if (rc == 0)
		rc = ferry_job_run(spec, NULL, &exit_code, &err);
	ferry_compute_free(&target);
	ferry_jobspec_free(spec);
	if (rc < 0)
		return cli_fail(&err);
	if (err.code != FERRY_OK && err.msg[0])
		fprintf(stderr, "ferry: error: %s\n", err.msg);
	return exit_code;
}
