/* run.c — `ferry run JOB.yml [--name NAME] [--set K=V]... [--compute NAME]
 * [--detach]`: run a command job, here or on a Slurm compute (job/slurmrun.h). */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "job/jobspec.h"
#include "job/runner.h"
#include "job/slurmrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry run JOB.yml [--name NAME] [--set KEY=VALUE]... [--compute NAME] [--detach]";

int cmd_run(int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *compute = NULL;
	int detach = 0;
	ferry_interrupt_install(); /* Ctrl-C while inputs download stops cleanly */
	/* --set values are applied after loading; remember their positions. */
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
	ferry_err err;
	ferry_err_clear(&err);
	struct ferry_jobspec *spec;
	if (ferry_jobspec_load(file, &spec, &err) < 0) {
		free(sets);
		return cli_fail(&err);
	}
	int rc = 0;
	if (name && ferry_jobspec_set_name(spec, name, &err) < 0)
		rc = -1;
	for (int i = 0; rc == 0 && i < nset; i++) {
		const char *eq = strchr(sets[i], '=');
		if (!eq || eq == sets[i]) {
			int u = cli_usage(usage, "--set takes KEY=VALUE, got '%s'", sets[i]);
			ferry_jobspec_free(spec);
			free(sets);
			return u;
		}
		char *key = strndup(sets[i], (size_t)(eq - sets[i]));
		rc = key ? ferry_jobspec_set_env(spec, key, eq + 1, &err) : -1;
		free(key);
	}
	free(sets);
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
