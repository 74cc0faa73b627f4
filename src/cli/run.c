/* run.c — `ferry run JOB.yml [--name NAME] [--set K=V]...`: run a command job. */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "job/jobspec.h"
#include "job/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry run JOB.yml [--name NAME] [--set PATH=VALUE]...";

int cmd_run(int argc, char **argv)
{
	const char *file = NULL, *name = NULL;
	ferry_interrupt_install(); /* Ctrl-C while inputs download stops cleanly */
	/* --set PATH=VALUE: applied to the job document before the model is built. */
	int nset = 0;
	const char **sets = calloc((size_t)argc, sizeof(char *));
	if (!sets)
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--name") || !strcmp(a, "--set")) {
			if (i + 1 >= argc) {
				free(sets);
				return cli_usage(usage, "%s needs a value", a);
			}
			if (a[2] == 'n')
				name = argv[++i];
			else
				sets[nset++] = argv[++i];
		} else if (!strncmp(a, "--name=", 7))
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
	int exit_code = 1;
	if (rc == 0)
		rc = ferry_job_run(spec, NULL, &exit_code, &err);
	ferry_jobspec_free(spec);
	if (rc < 0)
		return cli_fail(&err);
	if (err.code != FERRY_OK && err.msg[0])
		fprintf(stderr, "ferry: error: %s\n", err.msg);
	return exit_code;
}
