/*
 * node.h — the node agent: `ferry _node`, one per node of a distributed job.
 *
 *   ferry _node --job-dir DIR --nodes N --node-rank K --master-addr ADDR --master-port PORT
 *               [--node-addrs ADDR0,ADDR1,...]
 *
 * The contract with the launchers (local: distrun.h; Slurm: sbatch + srun):
 * - --node-rank may be omitted under srun: SLURM_NODEID is taken.
 *   --master-addr / --master-port may come from FERRY_MASTER_ADDR /
 *   FERRY_MASTER_PORT. --node-addrs (an addition, optional) lists every node's
 *   address for tensorflow's TF_CONFIG; without it every node is at ADDR
 *   (right when all nodes share one host, as locally).
 * - DIR is the job folder ($FERRY_HOME/jobs/<name>/) on a filesystem every
 *   node sees. The submitter writes DIR/plan.json before starting agents:
 *     {"version":1, "name":"<job name>", "home":"<workspace folder>",
 *      "file":"<job file as named>", "dir":"<job file's folder, absolute>",
 *      "yaml":"<the job file's text>", "env":{"K":"V",...}  (--set values),
 *      "nodes":N, "per_node":P, "type":"pytorch|mpi|tensorflow|none"}
 *   The agent parses "yaml" exactly as `ferry run` did (same checks), so it
 *   sees the job the submitter saw; N must equal the plan's "nodes".
 * - The agent stages its node's inputs once (one mount / download per input,
 *   shared by its ranks), starts ranks K*P .. K*P+P-1 with their framework's
 *   variables (ranks.h), logs each rank to DIR/user_logs/std_log_process_<rank>.txt,
 *   appends each rank's pid (= process group) to DIR/nodes/<K>.pids, waits; a
 *   rank exiting non-zero makes it SIGTERM the other ranks (SIGKILL after
 *   FERRY_KILL_GRACE_SECONDS, default 10); SIGTERM/SIGINT to the agent stop
 *   the ranks the same way. Then it unmounts and finishes outputs.
 * - At the end it writes DIR/nodes/<K>.json atomically (tmp + rename):
 *     {"node_rank":K, "status":"Completed|Failed|Canceled", "exit_code":N,
 *      "failed_rank":R|null, "error":"...", "figures":{"inputs":[...],
 *      "outputs":[...], "bytes_moved":N}}
 *   and exits 0 iff every rank exited 0 and outputs landed (else the failed
 *   rank's exit code, or 1).
 * - The agent never writes the workspace registry (ferry.db): it opens it
 *   read-only (ferry_ws_open_readonly; a clear error when the node does not
 *   see the workspace) for datastores and data assets, and does not reap
 *   other mounts at start.
 * - The submitter's side — checks, job folder, plan, the Running record, and
 *   at the end the summary, output assets and final record from the
 *   nodes/<K>.json reports — is ferry_dist_begin / ferry_dist_finish
 *   (distrun.h), for any launcher; ferry_dist_run is the local one.
 *
 * Threads: main thread only.
 */
#ifndef FERRY_JOB_NODE_H
#define FERRY_JOB_NODE_H

/* `ferry _node ...` (argv[0] = "_node"). Returns the process exit status. */
int cmd_node(int argc, char **argv);

#endif
