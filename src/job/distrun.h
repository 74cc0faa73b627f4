/*
 * distrun.h — a distributed job run on this machine: N node agents as child
 * processes (`ferry _node`, node.h), followed to their end.
 *
 * Only this process writes the job's record (ferry.db): Running at the start,
 * then Completed, Failed (the first failed rank, its node and exit code) or
 * Canceled (SIGINT/SIGTERM: every agent is told to stop its ranks and
 * unmount), from the agents' reports in <jobdir>/nodes/<K>.json. A node
 * agent that dies without reporting (kill -9) fails the job: its ranks are
 * killed (<jobdir>/nodes/<K>.pids), its mounts reaped, the other nodes
 * stopped. Outputs with `name` are registered once every node completed.
 *
 * Threads: main thread only (it waits for child processes).
 */
#ifndef FERRY_JOB_DISTRUN_H
#define FERRY_JOB_DISTRUN_H

#include "core/err.h"
#include "job/jobspec.h"

/* As ferry_job_run (runner.h): 0 when the ranks ran (*exit_code: the failed
 * rank's exit code, 1 when outputs failed, 0), -1 with err when the job could
 * not start. */
int ferry_dist_run(struct ferry_jobspec *spec, const char *home, int *exit_code, ferry_err *err);

/* A distributed job between its start and its record, whatever launches its
 * node agents (this machine: ferry_dist_run; Slurm: sbatch + srun). */
struct ferry_dist_job;

/* Everything before the agents start: the checks `ferry run` makes (nothing
 * exists when they fail), the job folder with nodes/ and user_logs/, the plan,
 * a note naming resources fields not used, and the record (Running). *out
 * owned by the caller (ferry_dist_free). 0, or -1 with err. */
int ferry_dist_begin(struct ferry_jobspec *spec, const char *home, struct ferry_dist_job **out, ferry_err *err);

/* The job folder (<home>/jobs/<name>) and the workspace folder; borrowed. */
const char *ferry_dist_jobdir(const struct ferry_dist_job *j);
const char *ferry_dist_home(const struct ferry_dist_job *j);

/* Once every agent ended: read nodes/<K>.json of each node, print the summary
 * (each node's figures, the total, files written by more than one node),
 * register outputs with `name` when the job completed, and write the final
 * record. `final` ("Completed", "Failed", "Canceled") and `cause` (the
 * error, e.g. the first failed rank) as the launcher saw them, with
 * *exit_code; or final NULL: derived from the reports (the first node not
 * Completed, in node order). err gets "job NAME Failed: <cause>" when the job
 * did not complete. Returns 0 (the record is written), -1 only when out of memory. */
int ferry_dist_finish(struct ferry_dist_job *j, const char *final, const char *cause, int *exit_code, ferry_err *err);

/* The job of <jobdir> again, in another process than the one that began it
 * (a detached Slurm job reconciled by `ferry job show|stream|cancel`): its
 * plan, its workspace, its record. *out owned by the caller (ferry_dist_free).
 * 0, or -1 with err. */
int ferry_dist_reopen(const char *jobdir, struct ferry_dist_job **out, ferry_err *err);

void ferry_dist_free(struct ferry_dist_job *j);

/* Write <jobdir>/plan.json: what a node agent needs to run its part of
 * `spec` (node.h documents the format). 0, or -1 with err. */
int ferry_dist_write_plan(const struct ferry_jobspec *spec, const char *home, const char *jobdir,
			  ferry_err *err);

/* Load the job of <jobdir>/plan.json: the spec (as `ferry run` parsed it,
 * with its name and --set values) and the workspace home (malloc'd). */
int ferry_dist_read_plan(const char *jobdir, struct ferry_jobspec **spec, char **home, ferry_err *err);

/* A TCP port on 127.0.0.1 such that port .. port+count-1 are free now. */
int ferry_dist_free_port(int count);

#endif
