/*
 * main.c — ferry's entry point: dispatch to one subcommand (src/cli/).
 *
 * Layer main may include: core, workspace, fs, job, cli. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#include "cli/cli.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/version.h"
#include "fs/fs.h"
#include "job/jobclaim.h"
#include "job/node.h"
#include "workspace/workspace.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "run a command job: ferry run JOB.yml [--name NAME] [--set PATH=VALUE]..." },
	{ "download", cmd_download, "download a file or folder: ferry download URI DEST [--stats FILE]" },
	{ "upload", cmd_upload, "upload a file or folder: ferry upload [--follow-links] SRC URI" },
	{ "mount", cmd_mount, "mount a folder (read-only, or --rw): ferry mount URI DIR [--rw] [-f] [--set NAME=VALUE]..." },
	{ "unmount", cmd_unmount, "unmount: ferry unmount DIR" },
	{ "ls", cmd_ls, "list a folder: ferry ls URI [-R]" },
	{ "datastore", cmd_datastore, "datastores: ferry datastore create --file DS.yml | list | show NAME" },
	{ "data", cmd_data, "data assets: ferry data create --file ASSET.yml | list [--include-archived] | show NAME[:VERSION|@latest] | archive|restore NAME[:VERSION]" },
	{ "compute", cmd_compute, "compute targets (Slurm): ferry compute create --file CLUSTER.yml | list | show NAME | delete NAME" },
	{ "job", cmd_job, "jobs: ferry job list | show NAME | stream NAME | cancel NAME | report [NAME] [--out FILE] [--open] | download NAME [--output NAME|--all] [--download-path DIR]" },
	{ "mltable", cmd_mltable, "MLTable files: ferry mltable show PATH | head PATH [-n N] | export PATH --to csv|jsonl OUT" },
	{ "settings", cmd_settings, "print the settings table: ferry settings [--markdown]" },
	{ "_node", cmd_node, NULL }, /* a distributed job's node agent (job/node.h) */
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: ferry [-v|-q] <command> [args]\n       ferry --version\n       "
		     "ferry help [COMMAND]   (or ferry COMMAND --help)\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].help) /* NULL: internal */
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

/* The command called `name`, or NULL. */
static int find_command(const char *name)
{
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (!strcmp(name, commands[c].name))
			return (int)c;
	return -1;
}

/* "unknown command" with the nearest name when one is close. */
static int unknown_command(const char *name)
{
	const char *names[NCOMMANDS + 1];
	for (size_t c = 0; c < NCOMMANDS; c++)
		names[c] = commands[c].name;
	names[NCOMMANDS] = "help";
	const char *near = cli_nearest(name, names, NCOMMANDS + 1);
	if (near)
		fprintf(stderr, "ferry: unknown command '%s'; did you mean '%s'?\n", name, near);
	else
		fprintf(stderr, "ferry: unknown command '%s'\n", name);
	fprintf(stderr, "run 'ferry help' for the list of commands\n");
	return 2;
}

/* `ferry help [COMMAND]`. */
static int help(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	int c = find_command(argv[1]);
	if (c < 0 || !commands[c].help)
		return unknown_command(argv[1]);
	cli_help_command(stdout, commands[c].name, commands[c].help);
	return 0;
}

int main(int argc, char **argv)
{
	ferry_proc_harden(); /* before anything reads a credential */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			ferry_log_set_stderr_level(FERRY_LOG_INFO);
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			cli_set_quiet();
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("ferry %s\n", FERRY_VERSION);
			return 0;
		} else {
			fprintf(stderr, "ferry: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help"))
		return help(argc - i, argv + i);
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (!strcmp(argv[i], commands[c].name)) {
			if (commands[c].help && cli_wants_help(argc - i, argv + i)) {
				cli_help_command(stdout, commands[c].name, commands[c].help);
				return 0;
			}
			/* Mounts whose server was killed are cleaned up by the next
			 * ferry start (one opendir when there are none). `unmount`
			 * reaps after unmounting its folder, so that it can report
			 * on that folder itself. A node agent leaves it to the
			 * ferry run that started it: the workspace may be shared
			 * by several hosts. */
			struct ferry_strbuf sb = FERRY_STRBUF_INIT;
			const char *home = ferry_ws_home_path(NULL, &sb);
			if (home && strcmp(argv[i], "unmount") != 0 && strcmp(argv[i], "_node") != 0) {
				ferry_mount_reap(home);
				ferry_job_reap(home); /* jobs whose ferry was killed */
			}
			ferry_strbuf_release(&sb);
			return commands[c].fn(argc - i, argv + i);
		}
	return unknown_command(argv[i]);
}
