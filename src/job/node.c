/*
 * node.c — the node agent `ferry _node` (contract in node.h): reads the
 * job's plan, runs this node's ranks through the job runner
 * (ferry_job_run_node), and reports in <jobdir>/nodes/<K>.json.
 */
#include "job/node.h"
#include "core/err.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "job/distrun.h"
#include "job/jobspec.h"
#include "job/runner.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] = "ferry _node --job-dir DIR --nodes N [--node-rank K] [--master-addr ADDR] "
			    "[--master-port PORT] [--node-addrs A0,A1,...]";

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "ferry _node: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: %s\n", usage);
	return 2;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
	char *end = NULL;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || !*v || *end || errno || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

/* <jobdir>/nodes/<K>.json, written to a temporary name and renamed. */
static int write_report(const char *jobdir, int node, const char *status, int exit_code, int failed_rank,
			const char *error, const char *figures)
{
	char dir[4200], tmp[4300], path[4300];
	snprintf(dir, sizeof(dir), "%s/nodes", jobdir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%d.json", dir, node);
	snprintf(tmp, sizeof(tmp), "%s/.%d.json.tmp", dir, node);
	json_error_t je;
	json_t *fig = figures ? json_loads(figures, 0, &je) : NULL;
	json_t *o = json_pack("{s:i, s:s, s:i, s:o, s:s, s:o}", "node_rank", node, "status", status, "exit_code",
			      exit_code, "failed_rank", failed_rank >= 0 ? json_integer(failed_rank) : json_null(),
			      "error", error ? error : "", "figures", fig ? fig : json_object());
	if (!o || json_dump_file(o, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "ferry _node: cannot write %s: %s\n", path, strerror(errno));
		json_decref(o);
		return -1;
	}
	json_decref(o);
	return 0;
}

int cmd_node(int argc, char **argv)
{
	const char *jobdir = NULL, *addr = getenv("FERRY_MASTER_ADDR"), *addrs = NULL;
	const char *v_nodes = NULL, *v_rank = getenv("SLURM_NODEID"), *v_port = getenv("FERRY_MASTER_PORT");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = !strcmp(a, "--job-dir")       ? &jobdir
				    : !strcmp(a, "--nodes")       ? &v_nodes
				    : !strcmp(a, "--node-rank")   ? &v_rank
				    : !strcmp(a, "--master-addr") ? &addr
				    : !strcmp(a, "--master-port") ? &v_port
				    : !strcmp(a, "--node-addrs")  ? &addrs
								  : NULL;
		if (!slot)
			return fail("unknown argument '%s'", a);
		if (i + 1 >= argc)
			return fail("%s needs a value", a);
		*slot = argv[++i];
	}
	int nodes = 0, rank = -1, port = 0;
	if (!jobdir)
		return fail("%s is required", "--job-dir");
	if (parse_int(v_nodes, 1, 1 << 20, &nodes) < 0)
		return fail("--nodes: expected a positive number, got '%s'", v_nodes ? v_nodes : "");
	if (parse_int(v_rank, 0, nodes - 1, &rank) < 0)
		return fail("--node-rank (or SLURM_NODEID): expected 0 .. nodes-1, got '%s'", v_rank ? v_rank : "");
	if (!addr || !*addr)
		return fail("%s is required (or FERRY_MASTER_ADDR)", "--master-addr");
	if (parse_int(v_port, 1, 65535, &port) < 0)
		return fail("--master-port (or FERRY_MASTER_PORT): expected 1-65535, got '%s'", v_port ? v_port : "");

	ferry_interrupt_install(); /* SIGTERM while staging stops cleanly: Canceled */
	ferry_err err;
	ferry_err_clear(&err);
	struct ferry_jobspec *spec = NULL;
	char *home = NULL;
	if (ferry_dist_read_plan(jobdir, &spec, &home, &err) < 0) {
		fprintf(stderr, "ferry _node: node %d: %s\n", rank, err.msg);
		write_report(jobdir, rank, "Failed", 1, -1, err.msg, NULL);
		return 1;
	}
	if (spec->dist.nodes != nodes) {
		ferry_err_set(&err, FERRY_E_INVALID, "--nodes %d, but the job has instance_count %d", nodes,
			      spec->dist.nodes);
		fprintf(stderr, "ferry _node: node %d: %s\n", rank, err.msg);
		write_report(jobdir, rank, "Failed", 1, -1, err.msg, NULL);
		ferry_jobspec_free(spec);
		free(home);
		return 1;
	}
	/* --node-addrs: a comma-separated list, one per node. */
	char *addr_buf = addrs ? strdup(addrs) : NULL;
	const char **addr_list = addr_buf ? calloc((size_t)nodes + 1, sizeof(char *)) : NULL;
	if (addr_list) {
		int n = 0;
		for (char *save = NULL, *t = strtok_r(addr_buf, ",", &save); t && n < nodes;
		     t = strtok_r(NULL, ",", &save))
			addr_list[n++] = t;
	}
	char pids[4300];
	snprintf(pids, sizeof(pids), "%s/nodes", jobdir);
	mkdir(pids, 0755);
	snprintf(pids, sizeof(pids), "%s/nodes/%d.pids", jobdir, rank);
	unlink(pids);
	struct ferry_node_opts opts = { .jobdir = jobdir, .node_rank = rank, .master_addr = addr,
					.master_port = port, .node_addrs = addr_list, .pids_file = pids };
	struct ferry_node_result res;
	int rc = ferry_job_run_node(spec, home, &opts, &res, &err);
	const char *status = res.canceled ? "Canceled" : rc == 0 && res.exit_code == 0 ? "Completed" : "Failed";
	char error[1400] = "";
	if (res.failed_rank >= 0)
		snprintf(error, sizeof(error), "rank %d on node %d exited with code %d (log: %s/user_logs/std_log_process_%d.txt)",
			 res.failed_rank, rank, res.exit_code, jobdir, res.failed_rank);
	else if (res.timed_out)
		snprintf(error, sizeof(error), "node %d: limits.timeout of %ld s reached; its ranks were stopped", rank,
			 spec->timeout_s);
	else if (res.canceled)
		snprintf(error, sizeof(error), "node %d stopped by signal %d", rank, res.canceled);
	else if (rc < 0)
		snprintf(error, sizeof(error), "node %d: %s", rank, err.msg);
	int exit_code = !strcmp(status, "Completed") ? 0 : res.exit_code ? res.exit_code : 1;
	if (write_report(jobdir, rank, status, res.exit_code, res.failed_rank, error, res.figures) < 0 &&
	    exit_code == 0)
		exit_code = 1;
	free(res.figures);
	free(addr_list);
	free(addr_buf);
	free(home);
	ferry_jobspec_free(spec);
	return exit_code;
}
