/*
 * main.c — ferry's entry point: dispatch to one subcommand (src/cli/).
 *
 * Layer main may include: core, workspace, fs, job, cli. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#include "cli/cli.h"
#include "core/log.h"
#include "core/proc.h"
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
	{ "run", cmd_run, "run a command job: ferry run JOB.yml" },
	{ "download", cmd_download, "download a file or folder: ferry download URI DEST" },
	{ "upload", cmd_upload, "upload a file or folder: ferry upload [--follow-links] SRC URI" },
	{ "mount", cmd_mount, "mount a folder (read-only, or --rw): ferry mount URI DIR [--rw] [-f] [--set NAME=VALUE]..." },
	{ "unmount", cmd_unmount, "unmount: ferry unmount DIR" },
	{ "ls", cmd_ls, "list a folder: ferry ls URI [-R]" },
	{ "datastore", cmd_datastore, "datastores: ferry datastore create --file DS.yml | list | show NAME" },
	{ "data", cmd_data, "data assets: ferry data create --file ASSET.yml | list [--include-archived] | show NAME[:VERSION|@latest] | archive|restore NAME[:VERSION]" },
	{ "compute", cmd_compute, "compute targets (Slurm): ferry compute create --file CLUSTER.yml | list | show NAME | delete NAME" },
	{ "job", cmd_job, "jobs: ferry job list | show NAME | stream NAME | cancel NAME" },
	{ "mltable", cmd_mltable, "MLTable files: ferry mltable show PATH | head PATH [-n N] | export PATH --to csv|jsonl OUT" },
	{ "settings", cmd_settings, "print the settings table: ferry settings [--markdown]" },
	{ "_node", cmd_node, NULL }, /* a distributed job's node agent (job/node.h) */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ferry [-v] <command> [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].help)
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	ferry_proc_harden(); /* before anything reads a credential */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			ferry_log_set_stderr_level(FERRY_LOG_INFO);
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
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
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name)) {
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
	fprintf(stderr, "ferry: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
