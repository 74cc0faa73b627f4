/*
 * runner.h — running a loaded command job end to end.
 *
 * In order: settings (the job's environment_variables first, then ferry's
 * environment), datastore checks, the job folder
 *   <home>/jobs/<name>/logs/system_logs/data_capability/{data-capability,rslex}.log
 *   <home>/jobs/<name>/user_logs/std_log.txt
 *   <home>/jobs/<name>/cap/data-capability/wd/{INPUT_<n>,OUTPUT_<n>}
 * inputs (download / ro_mount / direct; a data asset input is looked up and
 * type-checked before anything runs and read at its storage path), the command (`/bin/sh -c` in the code folder,
 * output to the terminal and std_log.txt, SIGINT/SIGTERM forwarded), outputs
 * (upload, only when the command succeeded; then outputs with `name` are
 * registered as data assets), cleanup of downloaded inputs
 * (kept when FERRY_KEEP_INPUTS=1), the job record, and a summary on stderr.
 *
 * A distributed job (jobspec.h: ferry_jobspec_distributed) goes to
 * ferry_dist_run (distrun.h) instead, which runs nodes through
 * ferry_job_run_node below.
 *
 * Threads: call from the main thread; it installs signal handlers for the
 * command's lifetime and restores them afterwards. Opens and closes the
 * process-wide runtime log (core/log.h).
 *
 * Layer job may include: core, store, workspace, resolve, transfer, fs, mltable. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_JOB_RUNNER_H
#define FERRY_JOB_RUNNER_H

#include "core/err.h"
#include "job/jobspec.h"

/* Run `spec` in the workspace `home` (NULL: $FERRY_HOME, else ~/.ferry).
 * Returns 0 when the command ran to completion, whatever its exit status;
 * *exit_code then holds what ferry should exit with: the command's status
 * (128+N when killed by signal N), or 1 when the command succeeded but
 * finishing its outputs failed (err filled then too, code != FERRY_OK).
 * Returns -1 with err when ferry failed before the command could run
 * (*exit_code = 1). The job is recorded in the workspace in every case past
 * the creation of its folder. */
int ferry_job_run(struct ferry_jobspec *spec, const char *home, int *exit_code, ferry_err *err);

/* Fill a fresh record of job `s` (all fields malloc'd, status and end left
 * NULL): its names, description, tags, Azure fields, the job file's absolute
 * path, `jobdir`, and now as start time. Free with ferry_job_record_free. */
struct ferry_job_record;
void ferry_job_record_start(struct ferry_job_record *rec, const struct ferry_jobspec *s, const char *jobdir);

/* 1 when the variable named by the first keylen bytes of kv ("NAME=value" or
 * "NAME") carries storage credentials: never passed to a job's command (nor
 * to Slurm, which keeps a job's environment). */
int ferry_job_secret_var(const char *kv, size_t keylen);

/* The checks ferry_job_run makes before anything exists (settings, a free job
 * name, datastores, data assets). 0, or -1 with err. */
int ferry_job_check(struct ferry_jobspec *spec, const char *home, ferry_err *err);

/* One node of a distributed job (the node agent, job/node.h). */
struct ferry_node_opts {
	const char *jobdir;            /* the job folder, made by the submitter */
	int node_rank;                 /* 0 .. spec->dist.nodes-1 */
	const char *master_addr;       /* the first node's address */
	int master_port;
	const char *const *node_addrs; /* every node's address, or NULL: all master_addr */
	const char *pids_file;         /* each rank's pid (= its process group) is appended, or NULL */
};

struct ferry_node_result {
	int exit_code;   /* the failed rank's exit code, 1 when outputs failed, else 0 */
	int failed_rank; /* the first rank that exited non-zero, or -1 */
	int canceled;    /* the signal that stopped this node, or 0 */
	int timed_out;   /* limits.timeout stopped the ranks */
	char *figures;   /* malloc'd JSON {"inputs":[..],"outputs":[..],"bytes_moved":N}, or NULL */
};

/* Run node `opts->node_rank` of `spec`: what ferry_job_run does for one
 * process, for this node's spec->dist.per_node ranks (ranks.h): inputs staged
 * once for them all under <jobdir>/cap/node_<K>/, logs in
 * <jobdir>/logs/system_logs/data_capability/node_<K>/ and
 * <jobdir>/user_logs/std_log_process_<rank>.txt; outputs finished when every
 * rank exited 0. Never writes the workspace's job records or data assets.
 * Returns 0 when the ranks ran and outputs landed (res->exit_code then says
 * how the ranks ended), -1 with err otherwise; res is filled in both cases
 * (free res->figures). */
int ferry_job_run_node(struct ferry_jobspec *spec, const char *home, const struct ferry_node_opts *opts,
		       struct ferry_node_result *res, ferry_err *err);

#endif
