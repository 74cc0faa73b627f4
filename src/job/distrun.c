/*
 * distrun.c — a distributed job on this machine (distrun.h): the plan file,
 * N node agents as child processes, following them, the job record.
 */
#include "job/distrun.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "fs/registry.h"
#include "job/runner.h"
#include "workspace/workspace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the plan ---- */

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = (n + 4096 + 1) * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int ferry_dist_write_plan(const struct ferry_jobspec *s, const char *home, const char *jobdir, ferry_err *err)
{
	size_t len = 0;
	char *yaml = read_text(s->file, &len);
	if (!yaml)
		return ferry_err_set(err, FERRY_E_IO, "cannot read job file %s: %s", s->file, strerror(errno));
	json_t *env = json_object();
	for (size_t i = 0; env && i < s->n_env; i++)
		json_object_set_new(env, s->env[i].key, json_string(s->env[i].value));
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s%, s:o, s:i, s:i, s:s}", "version", 1, "name", s->name,
			      "home", home, "file", s->file, "dir", s->dir, "yaml", yaml, len, "env",
			      env ? env : json_object(), "nodes", s->dist.nodes, "per_node", s->dist.per_node,
			      "type", ferry_dist_type_name(s->dist.type));
	free(yaml);
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/plan.json", jobdir);
	snprintf(tmp, sizeof(tmp), "%s/.plan.json.tmp", jobdir);
	if (!o || json_dump_file(o, tmp, JSON_INDENT(1)) < 0 || rename(tmp, path) < 0) {
		json_decref(o);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", path, strerror(errno));
	}
	json_decref(o);
	return 0;
}

int ferry_dist_read_plan(const char *jobdir, struct ferry_jobspec **spec, char **home, ferry_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/plan.json", jobdir);
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	*spec = NULL;
	*home = NULL;
	if (!o)
		return ferry_err_set(err, FERRY_E_IO, "cannot read the job's plan %s: %s", path, je.text);
	const char *name = NULL, *h = NULL, *file = NULL, *dir = NULL, *yaml = NULL;
	size_t len = 0;
	json_t *env = NULL;
	int rc = -1;
	if (json_unpack_ex(o, &je, 0, "{s:s, s:s, s:s, s:s, s:s%, s:o}", "name", &name, "home", &h, "file", &file,
			   "dir", &dir, "yaml", &yaml, &len, "env", &env) < 0) {
		ferry_err_set(err, FERRY_E_INVALID, "%s: %s", path, je.text);
		goto out;
	}
	if (ferry_jobspec_parse(yaml, len, file, dir, spec, err) < 0 ||
	    ferry_jobspec_set_name(*spec, name, err) < 0)
		goto out;
	const char *k;
	json_t *v;
	json_object_foreach(env, k, v) if (json_is_string(v) &&
					   ferry_jobspec_set_env(*spec, k, json_string_value(v), err) < 0) goto out;
	if (!(*home = strdup(h))) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		ferry_jobspec_free(*spec);
		*spec = NULL;
	}
	json_decref(o);
	return rc;
}

static int port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

int ferry_dist_free_port(int count)
{
	for (int tries = 0; tries < 64; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		struct sockaddr_in a = { .sin_family = AF_INET };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t al = sizeof(a);
		int port = -1;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
			port = ntohs(a.sin_port);
		close(fd);
		if (port < 0)
			return -1;
		int ok = port + count - 1 <= 65535;
		for (int i = 1; ok && i < count; i++)
			ok = port_free(port + i);
		if (ok)
			return port;
	}
	return -1;
}

/* ---- following the agents ---- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct agent {
	pid_t pid;
	int done;
	json_t *report; /* nodes/<K>.json, or NULL: the agent died without one */
	char died[256]; /* how, when it did */
};

/* Signal the ranks an agent started (its nodes/<K>.pids). */
static void signal_node_ranks(const char *jobdir, int node, int sig)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/nodes/%d.pids", jobdir, node);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	int pid;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			kill(-pid, sig);
	fclose(f);
}

static pid_t start_agent(const char *self, const char *jobdir, int nodes, int k, int port)
{
	char n[16], kr[16], p[16];
	snprintf(n, sizeof(n), "%d", nodes);
	snprintf(kr, sizeof(kr), "%d", k);
	snprintf(p, sizeof(p), "%d", port);
	char *argv[] = { "ferry",	  "_node",	 "--job-dir",	  (char *)jobdir, "--nodes", n,
			 "--node-rank",	  kr,		 "--master-addr", "127.0.0.1",	  "--master-port", p,
			 NULL };
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* Ctrl-C reaches ferry run; it stops the agents itself */
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		execv(self, argv);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

static void load_report(const char *jobdir, int k, struct agent *a, int wstatus)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/nodes/%d.json", jobdir, k);
	json_error_t je;
	a->report = json_load_file(path, 0, &je);
	if (a->report)
		return;
	if (WIFSIGNALED(wstatus))
		snprintf(a->died, sizeof(a->died), "the node agent of node %d (pid %d) was killed by signal %d before reporting",
			 k, (int)a->pid, WTERMSIG(wstatus));
	else
		snprintf(a->died, sizeof(a->died), "the node agent of node %d (pid %d) exited with %d without reporting",
			 k, (int)a->pid, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
}

static const char *report_status(const struct agent *a)
{
	const char *s = a->report ? json_string_value(json_object_get(a->report, "status")) : NULL;
	return s ? s : "Failed";
}

/* Start the agents and wait for all of them; the first failure stops the
 * rest. *cause gets the first failed node's error. Returns how it ended:
 * "Completed", "Failed" or "Canceled" (static strings). */
static const char *follow(struct ferry_jobspec *s, const char *home, const char *jobdir, struct agent *ag,
			  int port, char *cause, size_t cap, int *exit_code)
{
	int nodes = s->dist.nodes;
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		snprintf(cause, cap, "cannot find ferry's own binary: %s", strerror(errno));
		return "Failed";
	}
	self[sl] = '\0';
	int left = 0, canceled = 0, failed = 0;
	for (int k = 0; k < nodes; k++) {
		ag[k].pid = start_agent(self, jobdir, nodes, k, port);
		if (ag[k].pid < 0) {
			snprintf(cause, cap, "cannot start the agent of node %d: %s", k, strerror(errno));
			ag[k].done = 1;
			failed = 1;
			break;
		}
		left++;
	}
	double stop_at = 0;
	int stopped = 0, killed = 0;
	if (failed) {
		for (int k = 0; k < nodes; k++)
			if (ag[k].pid > 0)
				kill(ag[k].pid, SIGTERM);
		stopped = 1;
		stop_at = now_ms();
	}
	while (left > 0) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		double t = now_ms();
		if (ferry_interrupted() && !stopped) {
			canceled = ferry_interrupted();
			ferry_info("signal %d: stopping every node", canceled);
			for (int k = 0; k < nodes; k++)
				if (!ag[k].done)
					kill(ag[k].pid, SIGTERM);
			stopped = 1;
			stop_at = t;
		}
		for (int k = 0; k < nodes; k++) {
			int ws;
			if (ag[k].done || waitpid(ag[k].pid, &ws, WNOHANG) != ag[k].pid)
				continue;
			ag[k].done = 1;
			left--;
			load_report(jobdir, k, &ag[k], ws);
			if (!ag[k].report) {
				/* Died without reporting: its ranks and mounts are ours to clean. */
				ferry_log(FERRY_LOG_ERROR, "%s", ag[k].died);
				signal_node_ranks(jobdir, k, SIGKILL);
				struct timespec w = { 0, 300 * 1000 * 1000 };
				nanosleep(&w, NULL); /* its mount servers die with it (SIGTERM) */
				ferry_mount_reap(home);
			}
			const char *st = report_status(&ag[k]);
			if (!strcmp(st, "Completed"))
				continue;
			if (strcmp(st, "Canceled") != 0 && !failed && !canceled) {
				failed = 1;
				const char *e = ag[k].report ? json_string_value(json_object_get(ag[k].report, "error")) : NULL;
				snprintf(cause, cap, "%s", ag[k].report ? (e && *e ? e : "node failed") : ag[k].died);
				json_t *c = ag[k].report ? json_object_get(ag[k].report, "exit_code") : NULL;
				*exit_code = json_is_integer(c) && json_integer_value(c) ? (int)json_integer_value(c) : 1;
			}
			if (!stopped) {
				ferry_info("node %d ended %s: stopping the other nodes", k, st);
				for (int j = 0; j < nodes; j++)
					if (!ag[j].done)
						kill(ag[j].pid, SIGTERM);
				stopped = 1;
				stop_at = t;
			}
		}
		/* Agents stop their ranks within the grace period and then
		 * unmount; one that does not is killed with its ranks. */
		if (stopped && !killed && t - stop_at > 120000) {
			killed = 1;
			for (int k = 0; k < nodes; k++)
				if (!ag[k].done) {
					ferry_warn("node %d did not stop within 120 s: killing it", k);
					kill(ag[k].pid, SIGKILL);
					signal_node_ranks(jobdir, k, SIGKILL);
				}
		}
	}
	if (failed)
		return "Failed";
	if (canceled) {
		*exit_code = 128 + canceled;
		snprintf(cause, cap, "canceled by signal %d", canceled);
		return "Canceled";
	}
	*exit_code = 0;
	return "Completed";
}

/* ---- figures, record, summary ---- */

static json_int_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

char *ferry_dist_merged_io(json_t *const *reports, int nodes, const char *which)
{
	json_t *base = NULL;
	for (int k = 0; k < nodes && !base; k++)
		if (reports[k])
			base = json_object_get(json_object_get(reports[k], "figures"), which);
	json_t *out = base ? json_deep_copy(base) : json_array();
	size_t i;
	json_t *e;
	json_array_foreach(out, i, e)
	{
		json_int_t bytes = 0, files = 0;
		json_t *per = json_array();
		for (int k = 0; k < nodes; k++) {
			json_t *x = reports[k]
					    ? json_array_get(json_object_get(json_object_get(reports[k], "figures"), which), i)
					    : NULL;
			if (!x)
				continue;
			bytes += jint(x, "bytes");
			files += jint(x, "files");
			json_t *m = json_object_get(x, "mount");
			json_array_append_new(per, json_pack("{s:i, s:I, s:I, s:I, s:I, s:s?}", "node", k, "bytes",
							     jint(x, "bytes"), "files", jint(x, "files"), "requests",
							     jint(m, "requests"), "cache_hits", jint(m, "cache_hits"),
							     "status", json_string_value(json_object_get(x, "status"))));
		}
		json_object_set_new(e, "bytes", json_integer(bytes));
		json_object_set_new(e, "files", json_integer(files));
		json_object_set_new(e, "per_node", per);
		json_object_del(e, "mount");
	}
	char *s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

void ferry_dist_print_node(json_t *report, int k, const char *died)
{
	const char *st = report ? json_string_value(json_object_get(report, "status")) : NULL;
	fprintf(stderr, "  node %d %-9s", k, st ? st : "Failed");
	if (!report) {
		fprintf(stderr, " %s\n", died ? died : "sent no report");
		return;
	}
	json_t *fig = json_object_get(report, "figures");
	static const char *const which[] = { "inputs", "outputs" };
	for (int w = 0; w < 2; w++) {
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(fig, which[w]), i, x)
		{
			if (json_object_get(x, "literal"))
				continue;
			json_t *m = json_object_get(x, "mount");
			fprintf(stderr, " %s %s: %lld bytes", w ? "output" : "input",
				json_string_value(json_object_get(x, "name")), (long long)jint(x, "bytes"));
			if (m)
				fprintf(stderr, " (%lld requests, %lld cache hits)", (long long)jint(m, "requests"),
					(long long)jint(m, "cache_hits"));
			else if (jint(x, "files"))
				fprintf(stderr, " (%lld files)", (long long)jint(x, "files"));
			fprintf(stderr, ";");
		}
	}
	fprintf(stderr, " %lld bytes moved\n", (long long)jint(fig, "bytes_moved"));
}

int ferry_dist_register_outputs(struct ferry_ws *ws, struct ferry_jobspec *s, ferry_err *err)
{
	for (size_t i = 0; i < s->n_outputs; i++) {
		const struct ferry_job_output *o = &s->outputs[i];
		if (!o->asset_name)
			continue;
		char *uri = NULL, *version = NULL;
		if (ferry_jobspec_output_uri(s, i, &uri, err) < 0)
			return -1;
		struct ferry_data_asset a = { .name = o->asset_name, .version = o->asset_version,
					      .type = (char *)ferry_io_type_name(o->type), .path = uri,
					      .description = o->description, .job = s->name };
		int rc = ferry_ws_asset_create(ws, &a, &version, err);
		if (rc == 0)
			fprintf(stderr, "  output %-12s registered as data asset azureml:%s:%s\n", o->name,
				o->asset_name, version);
		free(uri);
		free(version);
		if (rc < 0)
			return ferry_err_wrap(err, "output '%s' landed but was not registered", o->name);
	}
	return 0;
}

int ferry_dist_run(struct ferry_jobspec *s, const char *home, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	if (ferry_job_check(s, home, err) < 0)
		return -1;
	struct ferry_ws *ws = NULL;
	if (ferry_ws_open(home, &ws, err) < 0)
		return -1;
	int nodes = s->dist.nodes, rc = -1;
	struct agent *ag = calloc((size_t)nodes, sizeof(*ag));
	char *jobdir = NULL;
	struct ferry_job_record rec = { 0 };
	char path[4400];
	if (!ag || asprintf(&jobdir, "%s/jobs/%s", ferry_ws_home(ws), s->name) < 0) {
		jobdir = NULL;
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/jobs", ferry_ws_home(ws));
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/nodes", jobdir);
	if (mkdir(jobdir, 0755) < 0 && errno != EEXIST) {
		ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", jobdir, strerror(errno));
		goto out;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/user_logs", jobdir);
	mkdir(path, 0755);
	if (ferry_dist_write_plan(s, ferry_ws_home(ws), jobdir, err) < 0)
		goto out;
	int tasks = s->dist.type == FERRY_DIST_TENSORFLOW ? s->dist.workers + s->dist.ps : 1;
	int port = ferry_dist_free_port(tasks);
	if (port < 0) {
		ferry_err_set(err, FERRY_E_IO, "no free TCP port on 127.0.0.1 for MASTER_PORT");
		goto out;
	}
	if (s->dist.ignored[0])
		fprintf(stderr, "ferry: note: resources: %s %s read but not used by ferry\n", s->dist.ignored,
			strchr(s->dist.ignored, ',') ? "are" : "is");
	fprintf(stderr, "ferry: job %s: %d node%s x %d process%s (%s), on this machine, MASTER_PORT %d\n", s->name,
		nodes, nodes == 1 ? "" : "s", s->dist.per_node, s->dist.per_node == 1 ? "" : "es",
		ferry_dist_type_name(s->dist.type), port);

	char ts[40];
	ferry_job_record_start(&rec, s, jobdir);
	rec.status = strdup("Running");
	ferry_err e;
	if (ferry_ws_job_put(ws, &rec, &e) < 0)
		ferry_warn("could not record job %s: %s", s->name, e.msg);

	char cause[1400] = "";
	const char *final = follow(s, ferry_ws_home(ws), jobdir, ag, port, cause, sizeof(cause), exit_code);
	rc = 0;
	fprintf(stderr, "\nferry: job %s %s (exit code %d)\n", s->name, final, *exit_code);
	uint64_t total = 0;
	for (int k = 0; k < nodes; k++) {
		ferry_dist_print_node(ag[k].report, k, ag[k].died);
		if (ag[k].report)
			total += (uint64_t)jint(json_object_get(ag[k].report, "figures"), "bytes_moved");
	}
	fprintf(stderr, "  total: %llu bytes moved by %d node%s\n", (unsigned long long)total, nodes,
		nodes == 1 ? "" : "s");
	if (!strcmp(final, "Completed") && ferry_dist_register_outputs(ws, s, err) < 0) {
		final = "Failed";
		*exit_code = 1;
	} else if (strcmp(final, "Completed") != 0)
		ferry_err_set(err, strcmp(final, "Canceled") ? FERRY_E_CHILD : FERRY_E_INTERRUPTED, "job %s %s: %s",
			      s->name, final, cause);
	fprintf(stderr, "  logs: %s/user_logs/std_log_process_<rank>.txt, %s/logs/system_logs/data_capability/node_<K>/\n",
		jobdir, jobdir);
	free(rec.status);
	rec.status = strdup(final);
	ferry_log_timestamp(ts, sizeof(ts));
	rec.end_time = strdup(ts);
	rec.has_exit_code = 1;
	rec.exit_code = *exit_code;
	json_t **reps = calloc((size_t)nodes, sizeof(*reps));
	for (int k = 0; reps && k < nodes; k++)
		reps[k] = ag[k].report;
	rec.inputs_json = reps ? ferry_dist_merged_io(reps, nodes, "inputs") : NULL;
	rec.outputs_json = reps ? ferry_dist_merged_io(reps, nodes, "outputs") : NULL;
	free(reps);
	rec.bytes_moved = total;
	if (ferry_ws_job_put(ws, &rec, &e) < 0)
		ferry_warn("could not record job %s: %s", s->name, e.msg);
out:
	for (int k = 0; ag && k < nodes; k++)
		json_decref(ag[k].report);
	free(ag);
	free(jobdir);
	ferry_job_record_free(&rec);
	ferry_ws_close(ws);
	return rc;
}
