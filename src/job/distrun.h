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
#include "workspace/workspace.h"

#include <jansson.h>

/* As ferry_job_run (runner.h): 0 when the ranks ran (*exit_code: the failed
 * rank's exit code, 1 when outputs failed, 0), -1 with err when the job could
 * not start. */
int ferry_dist_run(struct ferry_jobspec *spec, const char *home, int *exit_code, ferry_err *err);

/* Write <jobdir>/plan.json: what a node agent needs to run its part of
 * `spec` (node.h documents the format). 0, or -1 with err. */
int ferry_dist_write_plan(const struct ferry_jobspec *spec, const char *home, const char *jobdir,
			  ferry_err *err);

/* Load the job of <jobdir>/plan.json: the spec (as `ferry run` parsed it,
 * with its name and --set values) and the workspace home (malloc'd). */
int ferry_dist_read_plan(const char *jobdir, struct ferry_jobspec **spec, char **home, ferry_err *err);

/* ---- the end of a distributed job, from its nodes' reports (<jobdir>/nodes/<K>.json,
 * parsed; NULL for a node that sent none): shared with the Slurm launcher (follow.h) ---- */

/* The record's inputs or outputs ("inputs"/"outputs"): node 0's list, each
 * entry's bytes and files summed over the nodes, and a per_node list of each
 * node's figures. malloc'd JSON text, or NULL (out of memory). */
char *ferry_dist_merged_io(json_t *const *reports, int nodes, const char *which);

/* One line on stderr for node k: its status and figures, or why it sent no
 * report (`died`, may be NULL). */
void ferry_dist_print_node(json_t *report, int k, const char *died);

/* Register the outputs with `name` as data assets, once every node completed
 * (runner.c's rule); a line on stderr for each. 0, or -1 with err. */
int ferry_dist_register_outputs(struct ferry_ws *ws, struct ferry_jobspec *s, ferry_err *err);

/* A TCP port on 127.0.0.1 such that port .. port+count-1 are free now. */
int ferry_dist_free_port(int count);

#endif
