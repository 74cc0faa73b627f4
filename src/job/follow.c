/*
 * follow.c — a job submitted to Slurm, after submission: follow (stream),
 * reconcile, cancel. The rules are in follow.h; the Slurm commands in slurm.h.
 */
#include "job/follow.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/sys.h"
#include "job/distrun.h"
#include "job/slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_MS 200
#define UNREACHABLE_GIVE_UP_S 300
#define CANCEL_WAIT_S 120
/* After Slurm says a job ended, how long a node without a report (and without a
 * word from its task shell, nodes/<K>.died) may still be writing one: agents
 * stop within the cluster's KillWait (30 s by default) after a cancel. */
#define REPORT_GRACE_S 40

/* What slurm/submit.json says. */
struct sub {
	char id[32];
	char compute[256];
	int nodes;
};

/* One node agent's report, nodes/<K>.json. */
struct report {
	int present;
	int died;        /* no report, but nodes/<K>.died: its agent is gone for sure */
	char status[16];
	int exit_code;
	int failed_rank; /* -1: none */
	char error[512];
};

struct outcome {
	const char *status; /* Queued, Running, Completed, Failed, Canceled */
	int final;
	int exit_code;
	char error[1024];
};

/* The outcome's message, cut at its buffer's size (a long path shortens it). */
static void __attribute__((format(printf, 2, 3))) set_error(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->error, sizeof(o->error), fmt, ap);
	va_end(ap);
}

int ferry_follow_save(const char *jobdir, const char *id, const char *compute, int nodes,
		      ferry_err *err)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/slurm/submit.json", jobdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	json_t *j = json_pack("{s:s, s:s, s:i}", "slurm_job_id", id, "compute", compute, "nodes", nodes);
	int rc = j ? json_dump_file(j, tmp, JSON_COMPACT) : -1;
	json_decref(j);
	if (rc < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s", path);
	}
	return 0;
}

static int load_sub(const char *jobdir, struct sub *s)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/slurm/submit.json", jobdir);
	memset(s, 0, sizeof(*s));
	json_t *j = json_load_file(path, 0, NULL);
	const char *id = json_string_value(json_object_get(j, "slurm_job_id"));
	const char *c = json_string_value(json_object_get(j, "compute"));
	s->nodes = (int)json_integer_value(json_object_get(j, "nodes"));
	if (id)
		snprintf(s->id, sizeof(s->id), "%s", id);
	if (c)
		snprintf(s->compute, sizeof(s->compute), "%s", c);
	json_decref(j);
	return s->id[0] && s->nodes > 0 ? 0 : -1;
}

int ferry_follow_is_slurm(const char *jobdir, char *id, size_t idcap, char *compute, size_t ccap)
{
	struct sub s;
	if (!jobdir || load_sub(jobdir, &s) < 0)
		return 0;
	if (id)
		snprintf(id, idcap, "%s", s.id);
	if (compute)
		snprintf(compute, ccap, "%s", s.compute);
	return 1;
}

static void read_report(const char *jobdir, int k, struct report *r)
{
	char path[4200];
	memset(r, 0, sizeof(*r));
	r->failed_rank = -1;
	snprintf(path, sizeof(path), "%s/nodes/%d.died", jobdir, k);
	r->died = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/nodes/%d.json", jobdir, k);
	json_t *j = json_load_file(path, 0, NULL);
	const char *st = json_string_value(json_object_get(j, "status"));
	if (!st) {
		json_decref(j);
		return;
	}
	r->present = 1;
	snprintf(r->status, sizeof(r->status), "%s", st);
	r->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
	json_t *fr = json_object_get(j, "failed_rank");
	if (json_is_integer(fr))
		r->failed_rank = (int)json_integer_value(fr);
	const char *e = json_string_value(json_object_get(j, "error"));
	if (e)
		snprintf(r->error, sizeof(r->error), "%s", e);
	json_decref(j);
}

/* srun's exit status as the batch script recorded it, or -1. */
static int srun_exit(const char *jobdir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/slurm/srun.exit", jobdir);
	FILE *f = fopen(path, "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The outcome from Slurm's state (st; state "" = Slurm no longer knows the
 * job), the reports r[0..nodes-1], and whether the job was cancelled on
 * purpose (canceled: the signal, 0 when not) or found hopeless (why). */
static void decide(const char *jobdir, const struct sub *s, const struct ferry_slurm_state *st,
		   const struct report *r, int canceled, const char *hopeless, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (ferry_slurm_active(st)) {
		o->status = !strcmp(st->state, "PENDING") ? "Queued" : "Running";
		return;
	}
	char out[4300];
	struct stat sb;
	snprintf(out, sizeof(out), "%s/slurm/slurm-%s.out", jobdir, s->id);
	int out_exists = stat(out, &sb) == 0; /* the batch script started where we can see it */
	int waiting = 0;
	for (int k = 0; k < s->nodes; k++)
		waiting += !r[k].present && !r[k].died;
	if (waiting && out_exists && st->state[0] &&
	    (st->ended_ago < 0 || st->ended_ago < REPORT_GRACE_S) && !hopeless) {
		o->status = "Running"; /* its agents may still be stopping and unmounting */
		return;
	}
	o->final = 1;
	int missing = 0, first_missing = -1, failed = -1, rank_failed = -1, cancel_rep = -1;
	for (int k = 0; k < s->nodes; k++) {
		if (!r[k].present) {
			if (first_missing < 0)
				first_missing = k;
			missing++;
		} else if (!strcmp(r[k].status, "Failed")) {
			if (failed < 0)
				failed = k;
			/* Slurm signals every process of a stopping step, so ranks of
			 * other nodes may "fail" with 143/137 before their agent is told
			 * to stop them: a rank's own failure is the one to report. */
			int cascade = r[k].exit_code == 128 + SIGTERM || r[k].exit_code == 128 + SIGKILL;
			if (r[k].failed_rank >= 0 &&
			    (rank_failed < 0 || (!cascade && (r[rank_failed].exit_code == 128 + SIGTERM ||
							      r[rank_failed].exit_code == 128 + SIGKILL))))
				rank_failed = k;
		} else if (!strcmp(r[k].status, "Canceled") && cancel_rep < 0)
			cancel_rep = k;
	}
	int cancelled = canceled || !strcmp(st->state, "CANCELLED");
	if (hopeless) {
		o->status = "Failed";
		o->exit_code = 1;
		set_error(o, "Slurm cannot run this job: %s; it was cancelled",
			 hopeless);
	} else if (rank_failed >= 0 && (!(r[rank_failed].exit_code == 128 + SIGTERM ||
					  r[rank_failed].exit_code == 128 + SIGKILL) ||
					(!cancelled && !missing))) {
		const struct report *f = &r[rank_failed];
		o->status = "Failed";
		o->exit_code = f->exit_code ? f->exit_code : 1;
		set_error(o, "%s",
			 f->error[0] ? f->error : "a rank failed (no message in its node's report)");
	} else if (cancelled) {
		o->status = "Canceled";
		o->exit_code = canceled ? 128 + canceled : 128 + SIGTERM;
		set_error(o, "Slurm job %s was cancelled", s->id);
	} else if (missing) {
		int code = srun_exit(jobdir), died = -1;
		char host[64] = "", how[160] = "ended without a report (killed, or its node failed)";
		char dpath[4300];
		snprintf(dpath, sizeof(dpath), "%s/nodes/%d.died", jobdir, first_missing);
		FILE *df = fopen(dpath, "re"); /* what the node's task shell saw (slurm.c) */
		if (df && fscanf(df, "%d %63s", &died, host) >= 1 && died >= 0) {
			if (died > 128)
				snprintf(how, sizeof(how), "on %s was killed by signal %d before reporting",
					 host, died - 128);
			else
				snprintf(how, sizeof(how), "on %s exited with %d without a report", host, died);
		}
		if (df)
			fclose(df);
		o->status = "Failed";
		o->exit_code = died > 0 ? died : code > 0 ? code : st->exit_code > 0 ? st->exit_code : 1;
		if (missing == s->nodes && !out_exists && st->state[0]) {
			o->exit_code = 1; /* Slurm's own code for a batch step that could not start */
			set_error(o,
				 "Slurm job %s ended %s before any node agent started, and wrote nothing to "
				 "%s: is the workspace (FERRY_HOME) on a filesystem every node of the "
				 "cluster sees?",
				 s->id, st->state, out);
		} else
			set_error(o,
				 "the node agent of node %d%s %s; Slurm job %s ended %s; see %s",
				 first_missing, missing > 1 ? " (and others)" : "", how, s->id,
				 st->state[0] ? st->state : "and is no longer known to Slurm", out);
	} else if (failed >= 0) {
		o->status = "Failed";
		o->exit_code = r[failed].exit_code ? r[failed].exit_code : 1;
		set_error(o, "node %d: %s", failed,
			 r[failed].error[0] ? r[failed].error : "failed (no message in its report)");
	} else if (cancel_rep >= 0 || (st->state[0] && strcmp(st->state, "COMPLETED") != 0)) {
		/* Stopped by Slurm itself: time limit, node failure, preemption. */
		o->status = "Failed";
		o->exit_code = st->exit_code > 0 ? st->exit_code : 1;
		set_error(o, "Slurm job %s ended %s; see %s", s->id,
			 st->state[0] ? st->state : "(unknown)", out);
	} else {
		o->status = "Completed";
		o->exit_code = 0;
	}
}

static void read_reports(const char *jobdir, const struct sub *s, struct report *r)
{
	for (int k = 0; k < s->nodes; k++)
		read_report(jobdir, k, &r[k]);
}

static int all_present(const struct sub *s, const struct report *r)
{
	for (int k = 0; k < s->nodes; k++)
		if (!r[k].present)
			return 0;
	return 1;
}

static int is_final(const char *status)
{
	return status && strcmp(status, "Queued") != 0 && strcmp(status, "Running") != 0;
}

/* A status on the way (Queued, Running) into the record, when it changed. */
static void note_status(struct ferry_ws *ws, struct ferry_job_record *rec, const char *status)
{
	if (rec->status && !strcmp(rec->status, status))
		return;
	free(rec->status);
	rec->status = strdup(status);
	ferry_err e;
	if (ferry_ws_job_put(ws, rec, &e) < 0)
		fprintf(stderr, "ferry: warning: could not record job %s: %s\n", rec->name, e.msg);
}

static void tail_file(const char *jobdir, const char *id);

/* The end, once: the Slurm side of it, then the distributed runner's summary
 * and final record (ferry_dist_finish: each node's figures, named outputs
 * registered when Completed). `j` is the job as `ferry run` began it, or NULL:
 * reopened from its folder. *rec is reloaded from the registry afterwards.
 * The job's error goes to err (code set) when it did not complete. */
static void finish_job(struct ferry_ws *ws, struct ferry_dist_job *j, struct ferry_job_record *rec,
		       const struct sub *s, const struct ferry_slurm_state *st, const struct report *r,
		       struct outcome *o, ferry_err *err)
{
	struct ferry_job_record now;
	ferry_err e;
	ferry_slurm_forget_secrets(rec->folder); /* no agent starts any more */
	if (ferry_ws_job_get(ws, rec->name, &now, &e) == 0) {
		int done = is_final(now.status); /* another ferry recorded the end meanwhile */
		if (done) {
			ferry_job_record_free(rec);
			*rec = now;
			o->status = rec->status;
			o->exit_code = rec->has_exit_code ? rec->exit_code : 1;
			fprintf(stderr, "\nferry: job %s %s (exit code %d)\n", rec->name, rec->status,
				o->exit_code);
			return;
		}
		ferry_job_record_free(&now);
	}
	fprintf(stderr, "\nferry: Slurm job %s%s%s ended %s\n", s->id, st->nodes[0] ? " on " : "",
		st->nodes, st->state[0] ? st->state : "(no longer known to Slurm)");
	if (!all_present(s, r))
		tail_file(rec->folder, s->id);
	struct ferry_dist_job *own = NULL;
	if (!j && ferry_dist_reopen(rec->folder, &own, &e) < 0) {
		fprintf(stderr, "ferry: warning: job %s: %s\n", rec->name, e.msg);
		return;
	}
	ferry_err_clear(err);
	ferry_dist_finish(j ? j : own, o->status, o->error, &o->exit_code, err);
	fprintf(stderr, "  slurm: %s/slurm/ (job.sh, slurm-%s.out)\n", rec->folder, s->id);
	ferry_dist_free(own);
	if (ferry_ws_job_get(ws, rec->name, &now, &e) == 0) {
		ferry_job_record_free(rec);
		*rec = now;
		o->status = rec->status;
	}
}

int ferry_follow_reconcile(struct ferry_ws *ws, struct ferry_job_record *rec, ferry_err *err)
{
	struct sub s;
	if (!rec->folder || load_sub(rec->folder, &s) < 0 || !rec->status)
		return 0;
	if (strcmp(rec->status, "Queued") != 0 && strcmp(rec->status, "Running") != 0)
		return 0;
	struct ferry_slurm_state st;
	if (ferry_slurm_query(s.id, &st, err) < 0)
		return -1;
	struct report *r = calloc((size_t)s.nodes, sizeof(*r));
	if (!r)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	read_reports(rec->folder, &s, r);
	struct outcome o;
	decide(rec->folder, &s, &st, r, 0, NULL, &o);
	if (o.final) {
		ferry_err je;
		finish_job(ws, NULL, rec, &s, &st, r, &o, &je);
		if (je.code != FERRY_OK && je.msg[0])
			fprintf(stderr, "  error: %s\n", je.msg);
	} else
		note_status(ws, rec, o.status);
	free(r);
	return 0;
}

/* Copy what is new in rank 0's log to stdout. *fd: -1 until the file exists. */
static void pump_log(const char *path, int *fd)
{
	if (*fd < 0 && (*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	char buf[65536];
	ssize_t n;
	while ((n = read(*fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
}

/* The last lines of slurm-<id>.out: what an agent said before it had a log. */
static void tail_file(const char *jobdir, const char *id)
{
	char path[4300], buf[2048];
	snprintf(path, sizeof(path), "%s/slurm/slurm-%s.out", jobdir, id);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long)sizeof(buf) - 1)
		fseek(f, -(long)sizeof(buf) + 1, SEEK_END);
	else
		rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = buf;
	int lines = 0;
	for (char *q = buf + n; q > buf; q--)
		if (q[-1] == '\n' && q != buf + n && ++lines == 6) {
			p = q;
			break;
		}
	fprintf(stderr, "  last lines of %s:\n", path);
	for (char *save = NULL, *ln = strtok_r(p, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "    %s\n", ln);
}

int ferry_follow(struct ferry_ws *ws, struct ferry_dist_job *j, const char *name, int stream_log,
		 int cancel_on_interrupt, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	struct ferry_job_record rec;
	if (ferry_ws_job_get(ws, name, &rec, err) < 0)
		return -1;
	struct sub s;
	if (!rec.folder || load_sub(rec.folder, &s) < 0) {
		ferry_err_set(err, FERRY_E_INVALID,
			      "job '%s' did not run on a Slurm compute (nothing to follow); its logs "
			      "are in %s/user_logs/",
			      name, rec.folder ? rec.folder : "its folder");
		ferry_job_record_free(&rec);
		return -1;
	}
	const char *jobdir = rec.folder;
	char logpath[4300];
	snprintf(logpath, sizeof(logpath), "%s/user_logs/std_log_process_0.txt", jobdir);
	int logfd = -1;
	if (is_final(rec.status)) { /* ended and recorded: its log and its end, as az ml job stream */
		if (stream_log)
			pump_log(logpath, &logfd);
		if (logfd >= 0)
			close(logfd);
		*exit_code = rec.has_exit_code ? rec.exit_code : 1;
		fprintf(stderr, "\nferry: job %s %s (exit code %d) — Slurm job %s\n", name, rec.status,
			*exit_code, s.id);
		ferry_job_record_free(&rec);
		return 0;
	}
	struct report *r = calloc((size_t)s.nodes, sizeof(*r));
	if (!r) {
		ferry_job_record_free(&rec);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	int canceled = 0, rc = 0;
	const char *hopeless = NULL;
	char last_state[32] = "";
	double unreachable_since = 0;
	struct ferry_slurm_state st = { .exit_code = -1 };
	struct outcome o;
	for (;;) {
		if (stream_log)
			pump_log(logpath, &logfd);
		int sig = ferry_interrupted();
		if (sig && !cancel_on_interrupt) {
			fprintf(stderr, "\nferry: stopped following job %s; it goes on as Slurm job %s "
					"(`ferry job stream %s`, `ferry job cancel %s`)\n",
				name, s.id, name, name);
			*exit_code = 128 + sig;
			goto out;
		}
		if (sig && !canceled) {
			canceled = sig;
			fprintf(stderr, "\nferry: cancelling job %s (Slurm job %s): every rank is stopped "
					"and every node unmounts\n",
				name, s.id);
			ferry_err ce;
			if (ferry_slurm_cancel(s.id, &ce) < 0)
				fprintf(stderr, "ferry: warning: %s\n", ce.msg);
		}
		ferry_err qe;
		if (ferry_slurm_query(s.id, &st, &qe) < 0) {
			double t = ferry_now();
			if (!unreachable_since) {
				unreachable_since = t;
				fprintf(stderr, "ferry: warning: cannot ask Slurm about job %s: %s (trying "
						"again)\n",
					s.id, qe.msg);
			} else if (t - unreachable_since > UNREACHABLE_GIVE_UP_S) {
				rc = ferry_err_set(err, FERRY_E_NET,
						   "Slurm did not answer about job %s for %d s: %s; the "
						   "record stays %s (`ferry job show %s` asks again)",
						   s.id, UNREACHABLE_GIVE_UP_S, qe.msg, rec.status, name);
				goto out;
			}
			ferry_sleep_ms(1000);
			continue;
		}
		unreachable_since = 0;
		if (strcmp(st.state, last_state) != 0) {
			if (!strcmp(st.state, "PENDING"))
				fprintf(stderr, "ferry: job %s queued as Slurm job %s on compute %s (%d "
						"node%s)%s%s\n",
					name, s.id, s.compute, s.nodes, s.nodes == 1 ? "" : "s",
					st.reason[0] ? ", waiting: " : "", st.reason);
			else if (!strcmp(st.state, "RUNNING"))
				fprintf(stderr, "ferry: job %s running on %s (Slurm job %s)\n", name,
					st.nodes, s.id);
			snprintf(last_state, sizeof(last_state), "%s", st.state);
		}
		const char *h = ferry_slurm_hopeless(&st);
		if (h && !hopeless) {
			hopeless = h;
			fprintf(stderr, "ferry: Slurm cannot run job %s (pending, reason %s: %s); "
					"cancelling it\n",
				name, st.reason, h);
			ferry_err ce;
			if (ferry_slurm_cancel(s.id, &ce) < 0)
				fprintf(stderr, "ferry: warning: %s\n", ce.msg);
		}
		read_reports(jobdir, &s, r);
		decide(jobdir, &s, &st, r, canceled, hopeless, &o);
		if (o.final)
			break;
		note_status(ws, &rec, o.status);
		ferry_sleep_ms(POLL_MS);
	}
	if (stream_log)
		pump_log(logpath, &logfd);
	finish_job(ws, j, &rec, &s, &st, r, &o, err);
	*exit_code = o.exit_code;
out:
	if (logfd >= 0)
		close(logfd);
	free(r);
	ferry_job_record_free(&rec);
	return rc;
}

int ferry_follow_cancel(struct ferry_ws *ws, const char *name, char *status, size_t cap,
			ferry_err *err)
{
	struct ferry_job_record rec;
	if (ferry_ws_job_get(ws, name, &rec, err) < 0)
		return -1;
	struct sub s;
	int rc = -1;
	if (!rec.folder || load_sub(rec.folder, &s) < 0) {
		ferry_err_set(err, FERRY_E_INVALID,
			      "job '%s' did not run on a Slurm compute; a local run stops with Ctrl-C "
			      "in its terminal",
			      name);
		goto out;
	}
	if (ferry_follow_reconcile(ws, &rec, err) < 0)
		goto out;
	if (strcmp(rec.status, "Queued") != 0 && strcmp(rec.status, "Running") != 0) {
		ferry_err_set(err, FERRY_E_INVALID, "job '%s' already ended: %s", name, rec.status);
		goto out;
	}
	if (ferry_slurm_cancel(s.id, err) < 0)
		goto out;
	struct report *r = calloc((size_t)s.nodes, sizeof(*r));
	if (!r) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto out;
	}
	struct ferry_slurm_state st = { .exit_code = -1 };
	struct outcome o = { 0 };
	double t0 = ferry_now();
	int qfail = 0;
	while (ferry_now() - t0 < CANCEL_WAIT_S) {
		if (ferry_slurm_query(s.id, &st, err) < 0) {
			qfail = 1;
			break;
		}
		read_reports(rec.folder, &s, r);
		decide(rec.folder, &s, &st, r, SIGTERM, NULL, &o);
		if (o.final)
			break;
		ferry_sleep_ms(POLL_MS);
	}
	if (o.final) {
		ferry_err je;
		finish_job(ws, NULL, &rec, &s, &st, r, &o, &je);
		snprintf(status, cap, "%s", rec.status);
		rc = 0;
	} else if (!qfail)
		ferry_err_set(err, FERRY_E_NET,
			      "Slurm job %s was asked to stop but had not ended after %d s; `ferry job "
			      "show %s` looks again",
			      s.id, CANCEL_WAIT_S, name);
	free(r);
out:
	ferry_job_record_free(&rec);
	return rc;
}
