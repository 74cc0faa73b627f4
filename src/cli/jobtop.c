/*
 * jobtop.c — `ferry job top [NAME] [--once] [--interval SECONDS]`: a
 * terminal view of a job's time series (job/seriesread.h), redrawn each
 * interval like top(1): per input/output the read and storage rates, the
 * requests, the cache hit rate and the share of time readers waited on
 * storage over the last interval; the command's CPU, memory and disk. It
 * ends when the job is no longer running (after a last frame), on q or
 * Ctrl-C. Without NAME: the newest running job, else the newest job.
 */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "core/sys.h"
#include "job/seriesread.h"
#include "workspace/workspace.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char usage[] = "ferry job top [NAME] [--once] [--interval SECONDS]";

static void human(double b, char *buf, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* What `prev` → `last` changed of key k of io i (or of the sample when i < 0). */
static double delta(json_t *prev, json_t *last, int i, const char *k)
{
	json_t *a = i < 0 ? prev : json_array_get(json_object_get(prev, "io"), (size_t)i);
	json_t *b = i < 0 ? last : json_array_get(json_object_get(last, "io"), (size_t)i);
	return a && b ? num(b, k) - num(a, k) : 0;
}

/* One frame into `out`. */
static void frame(FILE *out, const char *name, const char *status, json_t *head, json_t *prev, json_t *last)
{
	char a[32], b[32], c[32], d[32];
	double t = num(last, "t"), dt = prev ? t - num(prev, "t") : 0;
	fprintf(out, "ferry job top — %s  %s  phase %s  %02d:%02d:%02d elapsed\n", name, status,
		json_string_value(json_object_get(last, "phase")) ?: "-", (int)t / 3600, (int)t / 60 % 60,
		(int)t % 60);
	human(num(last, "rss"), a, sizeof(a));
	if (dt > 0) {
		human(delta(prev, last, -1, "disk_read") / dt, b, sizeof(b));
		human(delta(prev, last, -1, "disk_write") / dt, c, sizeof(c));
		fprintf(out, "command: cpu %.0f%%  rss %s  disk read %s/s write %s/s  %d processes\n",
			100 * delta(prev, last, -1, "cpu_s") / dt, a, b, c, (int)num(last, "procs"));
	} else
		fprintf(out, "command: rss %s  %d processes\n", a, (int)num(last, "procs"));
	human(num(last, "cache_disk"), a, sizeof(a));
	human(num(last, "disk_free"), b, sizeof(b));
	fprintf(out, "cache: %s on disk, %s free\n\n", a, b);
	fprintf(out, "%-16s %-9s %12s %12s %8s %6s %6s %12s %12s\n", "INPUT/OUTPUT", "MODE", "READ/s",
		"STORAGE/s", "REQ/s", "HIT%", "WAIT%", "READ", "STORAGE");
	json_t *ios = json_object_get(head, "io"), *vals = json_object_get(last, "io");
	for (size_t i = 0; i < json_array_size(ios) && i < json_array_size(vals); i++) {
		json_t *io = json_array_get(ios, i), *v = json_array_get(vals, i);
		char rr[32] = "-", sr[32] = "-", req[16] = "-", hit[16] = "-", wait[16] = "-";
		if (dt > 0) {
			human(delta(prev, last, (int)i, "read") / dt, rr, sizeof(rr));
			strcat(rr, "/s");
			human(delta(prev, last, (int)i, "storage") / dt, sr, sizeof(sr));
			strcat(sr, "/s");
			snprintf(req, sizeof(req), "%.0f", delta(prev, last, (int)i, "requests") / dt);
			double h = delta(prev, last, (int)i, "hits"), m = delta(prev, last, (int)i, "misses");
			if (h + m > 0)
				snprintf(hit, sizeof(hit), "%.1f", 100 * h / (h + m));
			snprintf(wait, sizeof(wait), "%.1f", 100 * delta(prev, last, (int)i, "wait_s") / dt);
		}
		human(num(v, "read"), c, sizeof(c));
		human(num(v, "storage"), d, sizeof(d));
		fprintf(out, "%-16.16s %-9.9s %12s %12s %8s %6s %6s %12s %12s\n",
			json_string_value(json_object_get(io, "name")) ?: "?",
			json_string_value(json_object_get(io, "mode")) ?: "?", rr, sr, req, hit, wait, c, d);
	}
	fflush(out);
}

/* The job to watch: `name`, or the newest running job, or the newest. */
static int pick(struct ferry_ws *ws, const char *name, struct ferry_job_record *rec, ferry_err *err)
{
	if (name)
		return ferry_ws_job_get(ws, name, rec, err);
	struct ferry_job_record *v;
	size_t n;
	if (ferry_ws_job_list(ws, &v, &n, err) < 0)
		return -1;
	if (n == 0) {
		ferry_job_record_list_free(v, n);
		return ferry_err_set(err, FERRY_E_NOTFOUND, "no job in this workspace yet");
	}
	size_t k = n - 1;
	for (size_t i = n; i-- > 0;)
		if (v[i].status && !strcmp(v[i].status, "Running")) {
			k = i;
			break;
		}
	int rc = ferry_ws_job_get(ws, v[k].name, rec, err);
	ferry_job_record_list_free(v, n);
	return rc;
}

static int running(const char *status)
{
	return status && (!strcmp(status, "Running") || !strcmp(status, "Queued"));
}

int cli_job_top(int argc, char **argv)
{
	const char *name = NULL;
	int once = 0;
	double interval = 1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			once = 1;
		else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			char *end;
			interval = strtod(argv[++i], &end);
			if (*end || !(interval >= 0.1 && interval <= 3600))
				return cli_usage(usage, "--interval wants seconds between 0.1 and 3600, not '%s'", argv[i]);
		} else if (argv[i][0] == '-')
			return cli_usage(usage, "unknown option '%s'", argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cli_usage(usage, "job top takes one job name");
	}
	struct ferry_ws *ws;
	ferry_err err;
	struct ferry_job_record rec = { 0 };
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	if (pick(ws, name, &rec, &err) < 0) {
		ferry_ws_close(ws);
		return cli_fail(&err);
	}
	char path[4400];
	snprintf(path, sizeof(path), "%s/series.jsonl", rec.folder ? rec.folder : ".");
	int tty = isatty(STDOUT_FILENO) && !once, keys = tty && isatty(STDIN_FILENO);
	struct termios saved;
	if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else
		keys = 0;
	ferry_interrupt_install();
	int rc = 0;
	for (;;) {
		struct ferry_series_tail t;
		if (ferry_series_tail_read(path, &t) < 0) {
			ferry_err_set(&err, FERRY_E_NOTFOUND,
				      "job %s has no time series at %s (FERRY_SAMPLE was off, or it has not started)",
				      rec.name, path);
			rc = cli_fail(&err);
			break;
		}
		json_t *head = json_loads(t.head, 0, NULL);
		json_t *last = t.last ? json_loads(t.last, 0, NULL) : NULL;
		json_t *prev = t.prev ? json_loads(t.prev, 0, NULL) : NULL;
		ferry_series_tail_free(&t);
		if (tty)
			fputs("\033[H\033[2J", stdout);
		if (head && last)
			frame(stdout, rec.name, rec.status ? rec.status : "?", head, prev, last);
		else
			printf("ferry job top — %s  %s  (no sample yet)\n", rec.name, rec.status ? rec.status : "?");
		json_decref(head);
		json_decref(last);
		json_decref(prev);
		if (once || !running(rec.status))
			break;
		if (tty)
			printf("\n(q or Ctrl-C to leave)\n");
		else
			putchar('\n');
		fflush(stdout);
		int quit = 0;
		for (double until = ferry_now() + interval; !quit && !ferry_interrupted() && ferry_now() < until;) {
			struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
			char ch;
			if (keys && poll(&p, 1, 100) == 1 && read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				quit = 1;
			else if (!keys)
				ferry_sleep_ms(100);
		}
		if (quit || ferry_interrupted())
			break;
		struct ferry_job_record now = { 0 };
		if (ferry_ws_job_get(ws, rec.name, &now, &err) == 0) {
			free(rec.status);
			rec.status = now.status;
			now.status = NULL;
			ferry_job_record_free(&now);
		}
	}
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	ferry_job_record_free(&rec);
	ferry_ws_close(ws);
	return rc;
}
