/*
 * slurm.c — the Slurm commands ferry runs (sinfo, sbatch, scontrol, scancel)
 * and the batch script of a distributed job. See slurm.h for the contract.
 */
#include "job/slurm.h"
#include "job/runner.h"
#include "core/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD_TIMEOUT_MS 30000

extern char **environ;

/* Run argv (found on PATH) with stdin from /dev/null, its stdout into out and
 * its stderr into errout (each NUL-terminated, cut at cap), in its own process
 * group, killed after CMD_TIMEOUT_MS. Returns 0 with *status = its exit status
 * (128+N for signal N), or -1 with err when it could not run at all. */
static int run_env(char *const argv[], char *const envp[], char *out, size_t ocap, char *errout,
		   size_t ecap, int *status, ferry_err *err)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(errno));
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvpe(argv[0], argv, envp ? envp : environ);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	int fe = errno;
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return ferry_err_set(err, FERRY_E_IO, "fork: %s", strerror(fe));
	}
	setpgid(pid, pid);
	size_t on = 0, en = 0;
	int open_fds = 2;
	double deadline = ferry_now_ms() + CMD_TIMEOUT_MS;
	int killed = 0;
	struct pollfd pfd[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
	while (open_fds > 0) {
		int pr = poll(pfd, 2, 200);
		if (pr < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2 && pr > 0; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[4096];
			ssize_t n = read(pfd[i].fd, tmp, sizeof(tmp));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			char *dst = i == 0 ? out : errout;
			size_t cap = i == 0 ? ocap : ecap, *used = i == 0 ? &on : &en;
			size_t k = cap > *used + 1 ? cap - *used - 1 : 0;
			if ((size_t)n < k)
				k = (size_t)n;
			memcpy(dst + *used, tmp, k);
			*used += k;
		}
		if (!killed && ferry_now_ms() > deadline) {
			kill(-pid, SIGKILL);
			killed = 1;
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	out[on] = '\0';
	errout[en] = '\0';
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
	if (killed)
		return ferry_err_set(err, FERRY_E_NET, "%s did not answer within %d s", argv[0],
				     CMD_TIMEOUT_MS / 1000);
	return 0;
}

static int run(char *const argv[], char *out, size_t ocap, char *errout, size_t ecap, int *status,
	       ferry_err *err)
{
	return run_env(argv, NULL, out, ocap, errout, ecap, status, err);
}

/* The last non-empty line of s, trimmed, into buf. */
static void last_line(const char *s, char *buf, size_t cap)
{
	const char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	const char *start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(buf, cap, "%.*s", (int)(end - start), start);
}

/* A Slurm command that failed: its own words, or the fact it is missing. */
static int cmd_fail(ferry_err *err, int code, const char *what, int status, const char *errout)
{
	char line[600];
	last_line(errout, line, sizeof(line));
	if (status == 127)
		return ferry_err_set(err, FERRY_E_IO,
				     "%s: the Slurm commands are not on PATH (install Slurm's client "
				     "tools, e.g. Debian's slurm-client, on this machine)",
				     what);
	return ferry_err_set(err, code, "%s failed (exit %d): %s", what, status,
			     line[0] ? line : "no message");
}

int ferry_slurm_check_nodes(const struct ferry_compute *c, int nodes, ferry_err *err)
{
	char out[16384], eout[2048];
	int status;
	char *argv[] = { "sinfo", "-h", "-o", "%P|%D|%T", NULL };
	if (run(argv, out, sizeof(out), eout, sizeof(eout), &status, err) < 0)
		return -1;
	if (status != 0)
		return cmd_fail(err, FERRY_E_IO, "sinfo (asking the cluster for its nodes)", status, eout);
	long total = 0, up = 0;
	char part[128] = "", names[1024] = "";
	if (c->partition)
		snprintf(part, sizeof(part), "%s", c->partition);
	for (char *save = NULL, *ln = strtok_r(out, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char *p1 = strchr(ln, '|'), *p2 = p1 ? strchr(p1 + 1, '|') : NULL;
		if (!p2)
			continue;
		*p1 = *p2 = '\0';
		size_t pl = strlen(ln);
		int dflt = pl > 0 && ln[pl - 1] == '*';
		if (dflt)
			ln[--pl] = '\0';
		if (!strstr(names, ln) && strlen(names) + pl + 3 < sizeof(names))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", ln);
		if (c->partition ? strcmp(ln, c->partition) != 0 : !dflt)
			continue;
		if (!part[0])
			snprintf(part, sizeof(part), "%s", ln);
		long n = strtol(p1 + 1, NULL, 10);
		const char *s = p2 + 1;
		size_t sl = strlen(s);
		total += n;
		if (strncmp(s, "down", 4) && strncmp(s, "drain", 5) && strncmp(s, "fail", 4) &&
		    strncmp(s, "inval", 5) && strncmp(s, "unk", 3) && strncmp(s, "futur", 5) &&
		    !(sl && s[sl - 1] == '*'))
			up += n;
	}
	if (!part[0])
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "compute '%s': the cluster has no default partition; set "
				     "`partition:` (partitions: %s)",
				     c->name, names[0] ? names : "none");
	if (total == 0)
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "compute '%s': the cluster has no partition '%s' (partitions: %s)",
				     c->name, part, names[0] ? names : "none");
	if (nodes > total)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "the job asks for %d nodes (resources.instance_count) but partition "
				     "'%s' of compute '%s' has %ld; Slurm would keep it pending forever",
				     nodes, part, c->name, total);
	if (nodes > up)
		fprintf(stderr,
			"ferry: warning: partition '%s' has %ld of its %ld nodes up; the job (%d "
			"nodes) waits until enough are back\n",
			part, up, total, nodes);
	return 0;
}

/* Append s to the script in single quotes (safe for any byte but NUL). */
static void sq(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

static int write_script(const struct ferry_slurm_request *rq, const char *path, ferry_err *err)
{
	char tmp[4400];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ferry_err_set(err, FERRY_E_INVALID, "path too long: %s", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "#!/bin/bash\n"
		   "# Written by ferry for job %s on compute %s: one ferry node agent per node\n"
		   "# (ferry _node), started by srun. Runs once, on the first node.\n",
		rq->job_name, rq->compute->name);
	fputs("dir=", f);
	sq(f, rq->jobdir);
	fputs("\nferry=", f);
	sq(f, rq->ferry_exe);
	fprintf(f, "\nnodes=%d\n", rq->nodes);
	fputs(
		"if [ ! -d \"$dir\" ]; then\n"
		"  echo \"ferry: node ${SLURMD_NODENAME:-?} ($(hostname)) cannot see the job folder $dir:"
		" the workspace (FERRY_HOME) must be on a filesystem every node of the cluster sees\" >&2\n"
		"  exit 3\n"
		"fi\n"
		"# Every node's address in node order (NodeAddr: simulated node names need not\n"
		"# resolve); the first one is MASTER_ADDR.\n"
		"addrs=\n"
		"for h in $(scontrol show hostnames \"$SLURM_JOB_NODELIST\"); do\n"
		"  a=$(scontrol show node \"$h\" | sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p' | head -n 1)\n"
		"  addrs=$addrs${addrs:+,}${a:-$h}\n"
		"done\n"
		"addr=${addrs%%,*}\n"
		"# MASTER_PORT: derived from the job id (jobs sharing a host do not collide),\n"
		"# moved on while it is taken here (this script runs on that first node).\n"
		"port=$((29500 + SLURM_JOB_ID % 20000))\n"
		"if command -v ss >/dev/null; then\n"
		"  for _ in $(seq 50); do [ -z \"$(ss -ltnH \"sport = :$port\")\" ] && break; port=$((port + 7)); done\n"
		"fi\n"
		"echo \"ferry: Slurm job $SLURM_JOB_ID on $SLURM_JOB_NODELIST, master $addr:$port\"\n"
		"# One task per node: a small shell that checks the node sees the job folder and\n"
		"# the binary, starts the agent and waits for it. If the agent dies without its\n"
		"# report (kill -9), its ranks (own process groups, nodes/<K>.pids) would outlive\n"
		"# it: the shell kills them and unmounts what it had mounted on this node.\n"
		"srun -N \"$nodes\" --ntasks-per-node=1 --kill-on-bad-exit=1 /bin/sh -c '\n"
		"  d=$3 k=${SLURM_NODEID:-0}\n"
		"  if [ ! -d \"$d\" ]; then\n"
		"    echo \"ferry: node $SLURMD_NODENAME cannot see the job folder $d: the workspace (FERRY_HOME)"
		" must be on a filesystem every node sees\" >&2; exit 3\n"
		"  fi\n"
		"  if [ ! -x \"$0\" ]; then\n"
		"    echo \"ferry: node $SLURMD_NODENAME cannot run $0: ferry must be installed at the same"
		" path on every node\" >&2; exit 3\n"
		"  fi\n"
		"  if [ -f \"$d/slurm/secrets.env\" ]; then set -a; . \"$d/slurm/secrets.env\"; set +a; fi\n"
		"  \"$0\" \"$@\" & a=$!\n"
		"  trap \"\" TERM INT HUP  # the agent itself is told to stop; this shell outlives it\n"
		"  wait $a; rc=$?\n"
		"  if [ ! -e \"$d/nodes/$k.json\" ]; then\n"
		"    echo \"ferry: the node agent of node $k ($SLURMD_NODENAME) ended (exit $rc) without a"
		" report: killing its ranks\" >&2\n"
		"    echo \"$rc $SLURMD_NODENAME\" > \"$d/nodes/$k.died\"\n"
		"    if [ -f \"$d/nodes/$k.pids\" ]; then\n"
		"      while read -r p; do kill -KILL \"-$p\" 2>/dev/null; done < \"$d/nodes/$k.pids\"\n"
		"    fi\n"
		"    sleep 0.3  # its mount servers follow it; their mounts of this node stay: unmount them\n"
		"    awk -v p=\"$d/cap/node_$k/\" \"index(\\$2, p) == 1 { print \\$2 }\" /proc/mounts |\n"
		"      while read -r m; do fusermount3 -uz \"$m\" 2>/dev/null || umount -l \"$m\" 2>/dev/null; done\n"
		"    [ \"$rc\" -ne 0 ] || rc=1\n"
		"  fi\n"
		"  exit $rc' \"$ferry\" _node --job-dir \"$dir\" --nodes \"$nodes\" \\\n"
		"  --master-addr \"$addr\" --master-port \"$port\" --node-addrs \"$addrs\"\n"
		"rc=$?\n"
		"echo \"$rc\" > \"$dir/slurm/srun.exit.tmp\" && mv \"$dir/slurm/srun.exit.tmp\" \"$dir/slurm/srun.exit\"\n"
		"exit $rc\n",
		f);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s", tmp);
	}
	chmod(tmp, 0755);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

/* sbatch's environment: ferry's, minus the variables that carry credentials
 * (Slurm keeps a job's environment in its state files and shows it to
 * whoever may see the job). Those go to <dir>/secrets.env (0600, on the
 * shared filesystem like the workspace's own secrets), which each node's task
 * shell reads for its agent; ferry removes it when the job ended
 * (ferry_slurm_forget_secrets). *envp: malloc'd array of borrowed strings. */
static int split_env(const char *dir, char ***envp, ferry_err *err)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	char path[4300], tmp[4400];
	snprintf(path, sizeof(path), "%s/secrets.env", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		if (!eq || !ferry_job_secret_var(environ[i], (size_t)(eq - environ[i]))) {
			v[k++] = environ[i];
			continue;
		}
		if (!f) {
			int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd < 0 || !(f = fdopen(fd, "w"))) {
				if (fd >= 0)
					close(fd);
				free(v);
				return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", tmp, strerror(errno));
			}
		}
		fprintf(f, "%.*s=", (int)(eq - environ[i]), environ[i]);
		sq(f, eq + 1);
		fputc('\n', f);
	}
	if (f && (fflush(f) != 0 || ferror(f) || fclose(f) != 0 || rename(tmp, path) < 0)) {
		unlink(tmp);
		free(v);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s", path);
	}
	*envp = v;
	return 0;
}

void ferry_slurm_forget_secrets(const char *jobdir)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/slurm/secrets.env", jobdir);
	unlink(path);
}

int ferry_slurm_submit(const struct ferry_slurm_request *rq, char *id, size_t cap, ferry_err *err)
{
	id[0] = '\0';
	char dir[4200], script[4300], output[4300];
	snprintf(dir, sizeof(dir), "%s/slurm", rq->jobdir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", dir, strerror(errno));
	snprintf(script, sizeof(script), "%s/job.sh", dir);
	snprintf(output, sizeof(output), "--output=%s/slurm-%%j.out", dir);
	if (write_script(rq, script, err) < 0)
		return -1;
	const struct ferry_compute *c = rq->compute;
	char nodes[32], jname[300], part[200], acct[200], qos[200], tl[200];
	snprintf(nodes, sizeof(nodes), "--nodes=%d", rq->nodes);
	snprintf(jname, sizeof(jname), "--job-name=%s", rq->job_name);
	char *argv[64];
	int n = 0;
	argv[n++] = "sbatch";
	argv[n++] = "--parsable";
	argv[n++] = nodes;
	argv[n++] = "--ntasks-per-node=1";
	argv[n++] = jname;
	argv[n++] = output;
	if (c->partition) {
		snprintf(part, sizeof(part), "--partition=%s", c->partition);
		argv[n++] = part;
	}
	if (c->account) {
		snprintf(acct, sizeof(acct), "--account=%s", c->account);
		argv[n++] = acct;
	}
	if (c->qos) {
		snprintf(qos, sizeof(qos), "--qos=%s", c->qos);
		argv[n++] = qos;
	}
	if (c->time_limit)
		snprintf(tl, sizeof(tl), "--time=%s", c->time_limit);
	else if (rq->timeout_s > 0) /* minutes, rounded up; the agents enforce the exact limit */
		snprintf(tl, sizeof(tl), "--time=%ld", (rq->timeout_s + 59) / 60 + 1);
	if (c->time_limit || rq->timeout_s > 0)
		argv[n++] = tl;
	/* Extra arguments: a JSON array of strings checked at `compute create`. */
	json_t *extra = c->sbatch_args ? json_loads(c->sbatch_args, 0, NULL) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(extra, i, v) {
		if (json_is_string(v) && n < 60)
			argv[n++] = (char *)json_string_value(v);
	}
	argv[n++] = script;
	argv[n] = NULL;
	char out[256], eout[2048];
	int status;
	char **envp = NULL;
	int rc = split_env(dir, &envp, err);
	if (rc == 0)
		rc = run_env(argv, envp, out, sizeof(out), eout, sizeof(eout), &status, err);
	free(envp);
	json_decref(extra);
	if (rc < 0)
		return -1;
	if (status != 0)
		return cmd_fail(err, FERRY_E_INVALID, "sbatch (submitting the job to Slurm)", status, eout);
	/* --parsable prints "<id>" or "<id>;<cluster>". */
	size_t k = strspn(out, "0123456789");
	if (k == 0 || k >= cap)
		return ferry_err_set(err, FERRY_E_IO, "sbatch printed no job id: '%.200s'", out);
	memcpy(id, out, k);
	id[k] = '\0';
	return 0;
}

/* The value of "Key=" in scontrol's one-line output (up to the next space). */
static void field(const char *line, const char *key, char *buf, size_t cap)
{
	buf[0] = '\0';
	size_t kl = strlen(key);
	for (const char *p = line; (p = strstr(p, key)); p += kl) {
		if (p != line && p[-1] != ' ')
			continue;
		p += kl;
		size_t n = strcspn(p, " \n");
		snprintf(buf, cap, "%.*s", (int)n, p);
		return;
	}
}

int ferry_slurm_query(const char *id, struct ferry_slurm_state *st, ferry_err *err)
{
	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	char out[16384], eout[2048];
	int status;
	char *argv[] = { "scontrol", "-o", "show", "job", (char *)id, NULL };
	if (run(argv, out, sizeof(out), eout, sizeof(eout), &status, err) < 0)
		return -1;
	if (status != 0) {
		if (strstr(eout, "Invalid job id"))
			return 0; /* ended long ago (past MinJobAge), or never existed */
		return cmd_fail(err, FERRY_E_NET, "scontrol show job", status, eout);
	}
	char ec[32];
	field(out, "JobState=", st->state, sizeof(st->state));
	field(out, "Reason=", st->reason, sizeof(st->reason));
	if (!strcmp(st->reason, "None"))
		st->reason[0] = '\0';
	field(out, "NodeList=", st->nodes, sizeof(st->nodes));
	if (!strcmp(st->nodes, "(null)"))
		st->nodes[0] = '\0';
	field(out, "ExitCode=", ec, sizeof(ec));
	st->ended_ago = -1;
	char end[64];
	field(out, "EndTime=", end, sizeof(end));
	struct tm tm = { 0 };
	if (!ferry_slurm_active(st) && st->state[0] && strptime(end, "%Y-%m-%dT%H:%M:%S", &tm)) {
		tm.tm_isdst = -1; /* Slurm prints the controller's local time */
		time_t t = mktime(&tm);
		if (t != (time_t)-1)
			st->ended_ago = time(NULL) >= t ? (long)(time(NULL) - t) : 0;
	}
	if (!ferry_slurm_active(st) && st->state[0] && ec[0]) {
		/* "code:signal" */
		int code = atoi(ec), sig = strchr(ec, ':') ? atoi(strchr(ec, ':') + 1) : 0;
		st->exit_code = sig ? 128 + sig : code;
	}
	return 0;
}

int ferry_slurm_active(const struct ferry_slurm_state *st)
{
	static const char *const ended[] = { "COMPLETED", "FAILED",      "CANCELLED", "TIMEOUT",
					     "NODE_FAIL", "PREEMPTED",   "BOOT_FAIL", "DEADLINE",
					     "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED" };
	if (!st->state[0])
		return 0;
	for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
		if (!strcmp(st->state, ended[i]))
			return 0;
	return 1;
}

const char *ferry_slurm_hopeless(const struct ferry_slurm_state *st)
{
	static const struct {
		const char *reason, *text;
	} r[] = {
		{ "PartitionNodeLimit", "the job asks for more nodes than its partition allows" },
		{ "PartitionConfig", "the partition's configuration can never run this job" },
		{ "PartitionTimeLimit", "the job's time limit is above its partition's" },
		{ "BadConstraints", "the job's constraints can never be met" },
		{ "PartitionDown", "the partition is down" },
		{ "PartitionInactive", "the partition is inactive" },
		{ "InvalidAccount", "the account is not valid" },
		{ "InvalidQOS", "the qos is not valid" },
		{ "QOSMaxNodePerJobLimit", "the job asks for more nodes than its qos allows" },
		{ "AssocMaxNodesPerJobLimit", "the job asks for more nodes than its account allows" },
	};
	if (strcmp(st->state, "PENDING") != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (!strcmp(st->reason, r[i].reason))
			return r[i].text;
	return NULL;
}

int ferry_slurm_cancel(const char *id, ferry_err *err)
{
	char out[1024], eout[2048];
	int status;
	char *argv[] = { "scancel", (char *)id, NULL };
	if (run(argv, out, sizeof(out), eout, sizeof(eout), &status, err) < 0)
		return -1;
	if (status != 0)
		return cmd_fail(err, FERRY_E_IO, "scancel", status, eout);
	return 0;
}
