/*
 * runner.h — running a loaded command job end to end.
 *
 * In order: settings (the job's environment_variables first, then ferry's
 * environment), datastore checks, the job folder
 *   <home>/jobs/<name>/logs/system_logs/data_capability/{data-capability,rslex}.log
 *   <home>/jobs/<name>/user_logs/std_log.txt
 *   <home>/jobs/<name>/cap/data-capability/wd/{INPUT_<n>,OUTPUT_<n>}
 * inputs (download / ro_mount / direct; a data asset input is looked up and
 * type-checked before anything runs and read at its storage path), the command (`/bin/bash -c`, sh without bash, in a snapshot of the code folder with ./outputs and ./logs, job/workdir.h,
 * output to the terminal and std_log.txt, SIGINT/SIGTERM forwarded), outputs
 * (upload, only when the command succeeded; then outputs with `name` are
 * registered as data assets), cleanup of downloaded inputs
 * (kept when FERRY_KEEP_INPUTS=1), the job record, and a summary on stderr.
 *
 * Threads: call from the main thread; it installs signal handlers for the
 * command's lifetime and restores them afterwards. Opens and closes the
 * process-wide runtime log (core/log.h).
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

#endif
