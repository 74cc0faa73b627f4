/*
 * slurmrun.h — `ferry run` of a job whose compute is a Slurm target of the
 * workspace (workspace/compute.h): which compute a job runs on, and the run
 * itself as ONE Slurm job of resources.instance_count nodes, one ferry node
 * agent per node (job/node.h), submitted with sbatch (job/slurm.h) and then
 * followed (job/follow.h) or left running (--detach).
 *
 * Threads: main thread only.
 */
#ifndef FERRY_JOB_SLURMRUN_H
#define FERRY_JOB_SLURMRUN_H

#include "core/err.h"
#include "job/jobspec.h"
#include "workspace/compute.h"

/* The compute target job `spec` runs on. `override` (--compute NAME, or NULL)
 * wins over the job's `compute:` (azureml:NAME, or NAME). "local" or none:
 * returns 0 with *out zeroed (run here). A name that is a compute of the
 * workspace in `home` (NULL: the default workspace): 0 with *out filled (free
 * with ferry_compute_free). A `compute:` of the job naming no compute of the
 * workspace (most public examples say azureml:cpu-cluster): one line on stderr
 * saying it runs locally and how to create the target, then 0 with *out
 * zeroed. An --compute naming no compute: FERRY_E_NOTFOUND. */
int ferry_job_compute(const struct ferry_jobspec *spec, const char *override, const char *home,
		      struct ferry_compute *out, ferry_err *err);

/* Run `spec` on Slurm compute `c` in the workspace `home` (NULL: default):
 * the checks ferry_job_run makes, a check that the partition has enough nodes
 * (a clear error, never an endless wait), the job folder and the plan the
 * node agents read, the record (Queued), sbatch; then, unless `detach`, follow
 * it to its end (rank 0's output live, Ctrl-C cancels it, the summary).
 * Returns as ferry_job_run (runner.h): 0 with *exit_code the job's exit code
 * (0 when detached), -1 with err when it could not be submitted. */
int ferry_slurm_job_run(struct ferry_jobspec *spec, const char *home, const struct ferry_compute *c,
			int detach, int *exit_code, ferry_err *err);

#endif
