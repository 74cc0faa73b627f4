/*
 * follow.h — a job submitted to Slurm, after submission: following it like
 * `az ml job stream` (rank 0's output live, the status at the end), bringing
 * its record up to date from Slurm and the node agents' reports, cancelling it.
 *
 * What ferry keeps in the job folder <jobdir> (every node sees it):
 *   slurm/submit.json   {"slurm_job_id":"123","compute":"cpu-cluster","nodes":N}
 *                       written by the submitting `ferry run` right after sbatch
 *   slurm/job.sh, slurm/slurm-<id>.out, slurm/srun.exit   (slurm.h)
 *   nodes/<K>.json      each node agent's report (job/node.h)
 *   user_logs/std_log_process_<rank>.txt
 * Node agents never write the registry: the record (status Queued, Running,
 * Completed, Failed, Canceled) is written by the submitting `ferry run` while
 * it follows, and by `ferry job show|stream|cancel`, which reconcile it from
 * squeue/scontrol and the reports.
 *
 * The outcome once the Slurm job ended: a report saying a rank failed ->
 * Failed (that rank, node and exit code); the Slurm job cancelled (scancel,
 * Ctrl-C, `ferry job cancel`) -> Canceled; a node with no report (its agent
 * was killed, its node failed, the job folder was not visible there) ->
 * Failed naming the node; every node Completed -> Completed.
 *
 * Threads: main thread only (it forks the Slurm commands and reads the
 * process-wide interrupt flag, core/interrupt.h).
 */
#ifndef FERRY_JOB_FOLLOW_H
#define FERRY_JOB_FOLLOW_H

#include "core/err.h"
#include "job/distrun.h"
#include "workspace/workspace.h"

#include <stddef.h>

/* Record in <jobdir>/slurm/submit.json that the job is Slurm job `id` on
 * compute `compute` with `nodes` nodes (atomic write). */
int ferry_follow_save(const char *jobdir, const char *id, const char *compute, int nodes,
		      ferry_err *err);

/* 1 when <jobdir> holds a job submitted to Slurm (slurm/submit.json), else 0;
 * then its Slurm job id and compute name go to id and compute (may be NULL;
 * cut at cap). */
int ferry_follow_is_slurm(const char *jobdir, char *id, size_t idcap, char *compute, size_t ccap);

/* Follow job `name` until it ends (`j`: the job as `ferry run` began it,
 * ferry_dist_begin; NULL: reopened from its folder at the end): rank 0's output to stdout as it comes
 * (stream_log; from its start), status changes and the final summary (each
 * node's report, the logs) to stderr, the record kept up to date. A first
 * SIGINT/SIGTERM (core/interrupt.h) cancels the Slurm job when
 * cancel_on_interrupt (`ferry run`), else only stops following (`ferry job
 * stream`: the job goes on). Returns 0 with *exit_code = the job's exit code
 * (0 Completed; the failed rank's code; 130/143 Canceled), or -1 with err
 * (no such job, not a Slurm job, the cluster unreachable for 5 minutes).
 * The end is recorded once, by ferry_dist_finish (distrun.h): each node's
 * figures, the summary, named outputs registered when Completed; a job whose
 * record already ended is only shown (its log and status). When the job did
 * not complete, err holds its error (code set) while 0 is returned. */
int ferry_follow(struct ferry_ws *ws, struct ferry_dist_job *j, const char *name, int stream_log,
		 int cancel_on_interrupt, int *exit_code, ferry_err *err);

/* Bring rec (a job of ws) up to date once, without waiting, and write it back
 * when it changed. A job not on Slurm, or already ended, is left as it is.
 * Returns 0, or -1 with err when Slurm could not be asked (rec unchanged). */
int ferry_follow_reconcile(struct ferry_ws *ws, struct ferry_job_record *rec, ferry_err *err);

/* Cancel job `name` (scancel) and wait up to 120 s for its nodes to stop and
 * report; the record ends Canceled (or what the job reached before). Returns
 * 0 with the final status in status (cap >= 16), or -1 with err (not a Slurm
 * job, already ended: FERRY_E_INVALID). */
int ferry_follow_cancel(struct ferry_ws *ws, const char *name, char *status, size_t cap,
			ferry_err *err);

#endif
