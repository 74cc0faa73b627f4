/*
 * distrun.c — a distributed job on this machine (distrun.h): the plan file,
 * N node agents as child processes, following them, the job record.
 */
#include "job/distrun.h"
#include "job/jobclaim.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/sys.h"
#include "fs/fs.h"
#include "job/runner.h"
#include "workspace/workspace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	/* 0600: the job's variables (--set values too) may carry secrets. */
	int fd = o ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int bad = !f || json_dumpf(o, f, JSON_INDENT(1)) < 0;
	if (f ? fclose(f) != 0 : (fd >= 0 && close(fd) < 0))
		bad = 1;
	if (bad || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		json_decref(o);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", path, strerror(e));
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
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* Ctrl-C reaches ferry run; it stops the agents itself */
		/* ferry run killed: the agent stops its ranks and unmounts (SIGTERM). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
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

static const char *rep_status(json_t *rep)
{
	const char *s = rep ? json_string_value(json_object_get(rep, "status")) : NULL;
	return s ? s : "Failed";
}

/* Start the agents and wait for all of them; the first failure stops the
 * rest. *cause gets the first failed node's error. Returns how it ended:
 * "Completed", "Failed" or "Canceled" (static strings). */
static const char *follow(struct ferry_jobspec *s, const char *home, const char *jobdir, struct agent *ag,
			  int port, char *cause, size_t cap, int *exit_code)
{
	int nodes = s->dist.nodes;
	/* This very binary, even if a rebuild replaced the file since. */
	const char *self = "/proc/self/exe";
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
		stop_at = ferry_now_ms();
	}
	while (left > 0) {
		ferry_sleep_ms(100);
		double t = ferry_now_ms();
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
				ferry_sleep_ms(300); /* its mount servers die with it (SIGTERM) */
				ferry_mount_reap(home);
			}
			const char *st = rep_status(ag[k].report);
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

struct ferry_dist_job {
	struct ferry_jobspec *s; /* borrowed, or owned (ferry_dist_reopen) */
	struct ferry_jobspec *owned;
	struct ferry_ws *ws;
	char *jobdir;
	int claim; /* jobclaim.h: the name and the liveness lock */
	struct ferry_job_record rec;
};

const char *ferry_dist_jobdir(const struct ferry_dist_job *j)
{
	return j->jobdir;
}

const char *ferry_dist_home(const struct ferry_dist_job *j)
{
	return ferry_ws_home(j->ws);
}

static json_int_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The record's inputs or outputs: the first report's list, each entry's bytes
 * and files summed over the nodes, and a per_node list of each node's figures. */
static char *merged_io(json_t **reps, int nodes, const char *which)
{
	json_t *base = NULL;
	for (int k = 0; k < nodes && !base; k++)
		if (reps[k])
			base = json_object_get(json_object_get(reps[k], "figures"), which);
	json_t *out = base ? json_deep_copy(base) : json_array();
	size_t i;
	json_t *e;
	json_array_foreach(out, i, e)
	{
		json_int_t bytes = 0, files = 0;
		json_t *per = json_array();
		for (int k = 0; k < nodes; k++) {
			json_t *x = reps[k] ? json_array_get(json_object_get(json_object_get(reps[k], "figures"), which), i)
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

static void print_node(json_t *rep, int k)
{
	fprintf(stderr, "  node %d %-9s", k, rep ? rep_status(rep) : "no report (its agent died)");
	if (!rep) {
		fprintf(stderr, "\n");
		return;
	}
	json_t *fig = json_object_get(rep, "figures");
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

/* Files of an upload output that more than one node wrote (each node lists
 * them in nodes/<K>.outputs before uploading): every node uploads its copy,
 * the last upload wins. Said on stderr and in nodes/overlaps.txt. */
static void report_overlaps(const char *jobdir, int nodes)
{
	json_t *seen = json_object(); /* "<output>\t<path>" -> [nodes] */
	char path[4400], line[8192];
	for (int k = 0; seen && k < nodes; k++) {
		snprintf(path, sizeof(path), "%s/nodes/%d.outputs", jobdir, k);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			json_t *a = json_object_get(seen, line);
			if (!a)
				json_object_set_new(seen, line, a = json_array());
			json_array_append_new(a, json_integer(k));
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/nodes/overlaps.txt", jobdir);
	FILE *out = NULL;
	const char *key;
	json_t *a;
	size_t shown = 0;
	json_object_foreach(seen, key, a)
	{
		if (json_array_size(a) < 2)
			continue;
		char nl[256] = "";
		size_t i, at = 0;
		json_t *x;
		json_array_foreach(a, i, x) if (at < sizeof(nl)) at += (size_t)snprintf(
			nl + at, sizeof(nl) - at, "%s%lld", i ? ", " : "", (long long)json_integer_value(x));
		const char *tab = strchr(key, '\t');
		if (!tab)
			continue;
		if (!out && !(out = fopen(path, "we")))
			break;
		fprintf(out, "output '%.*s': '%s' written by nodes %s; the last upload wins\n", (int)(tab - key), key,
			tab + 1, nl);
		if (shown++ < 5)
			fprintf(stderr, "ferry: note: output '%.*s': '%s' was written by nodes %s; the last upload wins\n",
				(int)(tab - key), key, tab + 1, nl);
	}
	if (shown > 5)
		fprintf(stderr, "ferry: note: %zu files were written by more than one node (all in %s)\n", shown, path);
	if (out)
		fclose(out);
	json_decref(seen);
}

/* Outputs with `name`, once every node completed (runner.c's rule). */
static int register_outputs(struct ferry_ws *ws, struct ferry_jobspec *s, ferry_err *err)
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

int ferry_dist_begin(struct ferry_jobspec *s, const char *home, struct ferry_dist_job **out, ferry_err *err)
{
	*out = NULL;
	if (ferry_job_check(s, home, err) < 0)
		return -1;
	struct ferry_dist_job *j = calloc(1, sizeof(*j));
	if (!j)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	j->s = s;
	j->claim = -1;
	char path[4400];
	if (ferry_ws_open(home, &j->ws, err) < 0)
		goto fail;
	if (asprintf(&j->jobdir, "%s/jobs/%s", ferry_ws_home(j->ws), s->name) < 0) {
		j->jobdir = NULL;
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto fail;
	}
	if ((j->claim = ferry_job_claim(ferry_ws_home(j->ws), s->name, err)) < 0)
		goto fail;
	static const char *const sub[] = { "nodes", "user_logs" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", j->jobdir, sub[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (ferry_dist_write_plan(s, ferry_ws_home(j->ws), j->jobdir, err) < 0)
		goto fail;
	if (s->dist.ignored[0])
		fprintf(stderr, "ferry: note: resources: %s %s read but not used by ferry\n", s->dist.ignored,
			strchr(s->dist.ignored, ',') ? "are" : "is");
	struct ferry_job_record *rec = &j->rec;
	ferry_job_record_start(rec, s, j->jobdir);
	rec->status = strdup("Running");
	ferry_err e;
	if (ferry_ws_job_put(j->ws, rec, &e) < 0)
		ferry_warn("could not record job %s: %s", s->name, e.msg);
	*out = j;
	return 0;
fail:
	ferry_dist_free(j);
	return -1;
}

int ferry_dist_reopen(const char *jobdir, struct ferry_dist_job **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_dist_job *j = calloc(1, sizeof(*j));
	char *home = NULL;
	if (j)
		j->claim = -1;
	if (!j || !(j->jobdir = strdup(jobdir))) {
		free(j);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (ferry_dist_read_plan(jobdir, &j->owned, &home, err) < 0 || ferry_ws_open(home, &j->ws, err) < 0 ||
	    ferry_ws_job_get(j->ws, j->owned->name, &j->rec, err) < 0) {
		free(home);
		ferry_dist_free(j);
		return -1;
	}
	free(home);
	j->s = j->owned;
	j->claim = -1; /* no claim here: 0 would be stdin, and releasing it deleted stdin's file */
	*out = j;
	return 0;
}

void ferry_dist_free(struct ferry_dist_job *j)
{
	if (!j)
		return;
	ferry_job_release(j->claim); /* after the last record: see jobclaim.h */
	free(j->jobdir);
	ferry_jobspec_free(j->owned);
	ferry_job_record_free(&j->rec);
	if (j->ws)
		ferry_ws_close(j->ws);
	free(j);
}

int ferry_dist_finish(struct ferry_dist_job *j, const char *final, const char *cause, int *exit_code, ferry_err *err)
{
	struct ferry_jobspec *s = j->s;
	int nodes = s->dist.nodes;
	json_t **reps = calloc((size_t)nodes, sizeof(*reps));
	if (!reps)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	char path[4400], derived[1400] = "";
	int failed_code = 0, any_failed = 0, any_canceled = 0;
	for (int k = 0; k < nodes; k++) {
		snprintf(path, sizeof(path), "%s/nodes/%d.json", j->jobdir, k);
		json_error_t je;
		reps[k] = json_load_file(path, 0, &je);
		const char *st = rep_status(reps[k]);
		if (!strcmp(st, "Canceled"))
			any_canceled = 1;
		else if (strcmp(st, "Completed") != 0 && !any_failed) {
			any_failed = 1;
			const char *e = reps[k] ? json_string_value(json_object_get(reps[k], "error")) : NULL;
			if (reps[k])
				snprintf(derived, sizeof(derived), "%s", e && *e ? e : "node failed");
			else
				snprintf(derived, sizeof(derived), "node %d did not report (its agent died)", k);
			failed_code = reps[k] ? (int)jint(reps[k], "exit_code") : 0;
		}
	}
	if (!final) {
		final = any_failed ? "Failed" : any_canceled ? "Canceled" : "Completed";
		*exit_code = any_failed ? (failed_code ? failed_code : 1) : any_canceled ? 143 : 0;
		cause = derived;
	}
	fprintf(stderr, "\nferry: job %s %s (exit code %d)\n", s->name, final, *exit_code);
	uint64_t total = 0;
	for (int k = 0; k < nodes; k++) {
		print_node(reps[k], k);
		if (reps[k])
			total += (uint64_t)jint(json_object_get(reps[k], "figures"), "bytes_moved");
	}
	fprintf(stderr, "  total: %llu bytes moved by %d node%s\n", (unsigned long long)total, nodes,
		nodes == 1 ? "" : "s");
	report_overlaps(j->jobdir, nodes);
	if (!strcmp(final, "Completed") && register_outputs(j->ws, s, err) < 0) {
		final = "Failed";
		*exit_code = 1;
	} else if (strcmp(final, "Completed") != 0)
		ferry_err_set(err, strcmp(final, "Canceled") ? FERRY_E_CHILD : FERRY_E_INTERRUPTED, "job %s %s: %s",
			      s->name, final, cause && *cause ? cause : "-");
	fprintf(stderr, "  logs: %s/user_logs/std_log_process_<rank>.txt, %s/logs/system_logs/data_capability/node_<K>/\n",
		j->jobdir, j->jobdir);
	struct ferry_job_record *rec = &j->rec;
	char ts[40];
	free(rec->status);
	rec->status = strdup(final);
	ferry_log_timestamp(ts, sizeof(ts));
	free(rec->end_time);
	rec->end_time = strdup(ts);
	rec->has_exit_code = 1;
	rec->exit_code = *exit_code;
	free(rec->inputs_json);
	free(rec->outputs_json);
	rec->inputs_json = merged_io(reps, nodes, "inputs");
	rec->outputs_json = merged_io(reps, nodes, "outputs");
	rec->bytes_moved = total;
	ferry_err e;
	if (ferry_ws_job_put(j->ws, rec, &e) < 0)
		ferry_warn("could not record job %s: %s", s->name, e.msg);
	for (int k = 0; k < nodes; k++)
		json_decref(reps[k]);
	free(reps);
	return 0;
}

int ferry_dist_run(struct ferry_jobspec *s, const char *home, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	struct ferry_dist_job *j;
	if (ferry_dist_begin(s, home, &j, err) < 0)
		return -1;
	int nodes = s->dist.nodes;
	struct agent *ag = calloc((size_t)nodes, sizeof(*ag));
	int tasks = s->dist.type == FERRY_DIST_TENSORFLOW ? s->dist.workers + s->dist.ps : 1;
	int port = ferry_dist_free_port(tasks);
	char cause[1400] = "";
	const char *final = "Failed";
	if (!ag)
		snprintf(cause, sizeof(cause), "out of memory");
	else if (port < 0)
		snprintf(cause, sizeof(cause), "no free TCP port on 127.0.0.1 for MASTER_PORT");
	else {
		fprintf(stderr, "ferry: job %s: %d node%s x %d process%s (%s), on this machine, MASTER_PORT %d\n",
			s->name, nodes, nodes == 1 ? "" : "s", s->dist.per_node, s->dist.per_node == 1 ? "" : "es",
			ferry_dist_type_name(s->dist.type), port);
		final = follow(s, ferry_ws_home(j->ws), j->jobdir, ag, port, cause, sizeof(cause), exit_code);
	}
	int rc = ferry_dist_finish(j, final, cause, exit_code, err);
	for (int k = 0; ag && k < nodes; k++)
		json_decref(ag[k].report);
	free(ag);
	ferry_dist_free(j);
	return rc;
}
