/*
 * slurm.h — talking to a Slurm cluster: the batch script of a distributed job,
 * submitting it (sbatch), its state (squeue, then scontrol), cancelling it
 * (scancel), and how many nodes a partition has (sinfo).
 *
 * A distributed job is ONE Slurm job of N nodes. Its batch script (written to
 * <jobdir>/slurm/job.sh) runs once, on the first node of the allocation: it
 * checks that the job folder is visible there, takes the first node's NodeAddr
 * as MASTER_ADDR and a port derived from the Slurm job id as MASTER_PORT, and
 * runs
 *     srun -N N --ntasks-per-node=1 --kill-on-bad-exit=1 \
 *          <ferry> _node --job-dir DIR --nodes N --master-addr A --master-port P
 * (one node agent per node, job/node.h), then writes srun's exit status to
 * <jobdir>/slurm/srun.exit. Slurm's own output (srun's messages, an agent's
 * words before its log exists) goes to <jobdir>/slurm/slurm-<id>.out.
 *
 * The Slurm commands come from PATH and find their cluster the usual way
 * (SLURM_CONF or /etc/slurm). Every command runs in its own process group
 * (a Ctrl-C meant for ferry does not kill the scancel ferry runs because of
 * it) and is bounded in time.
 *
 * Threads: call from one thread; these functions fork.
 */
#ifndef FERRY_JOB_SLURM_H
#define FERRY_JOB_SLURM_H

#include "core/err.h"
#include "workspace/compute.h"

#include <stddef.h>

/* What to submit. All strings borrowed. */
struct ferry_slurm_request {
	const struct ferry_compute *compute;
	const char *job_name;  /* ferry's job name: also Slurm's --job-name */
	const char *jobdir;    /* absolute; must be visible on every node */
	const char *ferry_exe; /* absolute path of the ferry binary the nodes run */
	int nodes;             /* resources.instance_count, >= 1 */
	long timeout_s;        /* limits.timeout (0: none): --time when the compute sets none */
};

/* Check that the cluster can ever run `nodes` nodes in the compute's partition
 * (its default partition when none is set): FERRY_E_INVALID names the partition
 * and its node count when it has fewer (Slurm would keep such a job pending
 * forever). A partition with fewer nodes up than asked is only a warning on
 * stderr (they may come back). FERRY_E_NOTFOUND for an unknown partition,
 * FERRY_E_IO when sinfo cannot reach the cluster. */
int ferry_slurm_check_nodes(const struct ferry_compute *c, int nodes, ferry_err *err);

/* Write <jobdir>/slurm/job.sh and submit it with `sbatch --parsable`; the Slurm
 * job id goes to id (cap >= 32). sbatch's own error text is in err. */
int ferry_slurm_submit(const struct ferry_slurm_request *rq, char *id, size_t cap,
		       ferry_err *err);

/* Remove <jobdir>/slurm/secrets.env: the credentials ferry's environment
 * held at submission (they are kept out of sbatch's environment, which Slurm
 * stores and shows, and read from there by each node's task shell). Called
 * once the job ended, or could not be submitted. */
void ferry_slurm_forget_secrets(const char *jobdir);

/* The state of Slurm job `id`. */
struct ferry_slurm_state {
	char state[32];    /* PENDING, RUNNING, COMPLETING, COMPLETED, FAILED,
	                      CANCELLED, TIMEOUT, NODE_FAIL, ... ; "" when Slurm no
	                      longer knows the job */
	char reason[128];  /* why it is pending (squeue %r), or "" */
	char nodes[256];   /* its node list once running (n[1-2]), or "" */
	int exit_code;     /* the batch script's exit code, once ended (-1: unknown) */
	long ended_ago;    /* seconds since it ended (EndTime), or -1: unknown / not ended */
};

/* Ask squeue (then scontrol, which keeps ended jobs for MinJobAge) about `id`.
 * Returns 0 with *st filled (state "" when neither knows it), or -1 with err
 * when the cluster cannot be reached. */
int ferry_slurm_query(const char *id, struct ferry_slurm_state *st, ferry_err *err);

/* 1 while the job may still run (PENDING, RUNNING, CONFIGURING, COMPLETING,
 * SUSPENDED, REQUEUED, RESIZING, ...), 0 once it ended or is unknown. */
int ferry_slurm_active(const struct ferry_slurm_state *st);

/* A pending reason that can never clear by waiting (PartitionNodeLimit,
 * PartitionConfig, BadConstraints, ...): the text to show, or NULL. */
const char *ferry_slurm_hopeless(const struct ferry_slurm_state *st);

/* `scancel id`: SIGTERM to every step (the node agents stop their ranks and
 * unmount), SIGKILL after the cluster's KillWait. */
int ferry_slurm_cancel(const char *id, ferry_err *err);

#endif
