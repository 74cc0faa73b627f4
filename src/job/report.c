/*
 * report.c — `ferry job report`: the job's page (report.h).
 *
 * The page is built in one string buffer: a small inline style sheet, the
 * header, the verdict, the plots and the tables. Plots are SVG polylines
 * drawn here: one point per interval between two samples (a rate needs two
 * samples; a gauge takes the interval's end), so every line of a series of
 * N samples has N-1 points — the count the tests check in Chromium. The
 * page holds no script at all, which is also why escaping is enough to keep
 * whatever a job's name or command holds from running in a browser.
 *
 * The verdict is the figures read back: the share of the command's run its
 * reads spent waiting in ferry for storage (sum over the inputs, over the
 * command phase only), and for the input that waited most the advice the
 * seed's tuning recipes give for what its figures show (block vs
 * whole-file mode, DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT and
 * DATASET_MOUNT_READ_THREADS, the caches, small files, mode: download).
 */
#include "job/report.h"
#include "core/files.h"
#include "core/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the series, read back ---- */

static const char *const io_keys[] = { "read", "storage", "files", "requests", "retries", "errors", "hits",
				       "misses", "prefetched", "prefetch_hits", "wait_s", "opens", "cache_disk" };
enum { K_READ, K_STORAGE, K_FILES, K_REQUESTS, K_RETRIES, K_ERRORS, K_HITS, K_MISSES, K_PREFETCHED,
       K_PREFETCH_HITS, K_WAIT, K_OPENS, K_CACHE_DISK, NK };
static const char *const g_keys[] = { "cache_disk", "disk_free", "cpu_s", "rss", "disk_read", "disk_write" };
enum { G_CACHE_DISK, G_DISK_FREE, G_CPU, G_RSS, G_DREAD, G_DWRITE, NG };

struct series {
	json_t *head;   /* the header line */
	size_t nio, n;  /* inputs and outputs; samples */
	double *t;      /* n */
	int *phase;     /* n: 0 inputs, 1 command, 2 outputs */
	double *io;     /* n × nio × NK */
	double *g;      /* n × NG */
};

static double IO(const struct series *s, size_t k, size_t i, int key)
{
	return s->io[(k * s->nio + i) * NK + (size_t)key];
}

static void series_free(struct series *s)
{
	json_decref(s->head);
	free(s->t);
	free(s->phase);
	free(s->io);
	free(s->g);
	memset(s, 0, sizeof(*s));
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* 0, or -1 when there is no readable series at `path`. */
static int series_load(const char *path, struct series *s)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0, room = 0;
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (!json_is_object(j)) {
			json_decref(j);
			continue;
		}
		if (!s->head) {
			if (!json_object_get(j, "ferry_series")) {
				json_decref(j);
				break;
			}
			s->head = j;
			s->nio = json_array_size(json_object_get(j, "io"));
			continue;
		}
		json_t *io = json_object_get(j, "io");
		if (json_array_size(io) != s->nio) {
			json_decref(j);
			continue;
		}
		if (s->n == room) {
			size_t nr = room ? room * 2 : 64;
			double *t = realloc(s->t, nr * sizeof(double));
			if (t)
				s->t = t;
			int *ph = realloc(s->phase, nr * sizeof(int));
			if (ph)
				s->phase = ph;
			double *v = realloc(s->io, nr * (s->nio ? s->nio : 1) * NK * sizeof(double));
			if (v)
				s->io = v;
			double *g = realloc(s->g, nr * NG * sizeof(double));
			if (g)
				s->g = g;
			if (!t || !ph || !v || !g) {
				json_decref(j);
				break;
			}
			room = nr;
		}
		s->t[s->n] = num(j, "t");
		const char *ph = json_string_value(json_object_get(j, "phase"));
		s->phase[s->n] = ph && !strcmp(ph, "command") ? 1 : ph && !strcmp(ph, "outputs") ? 2 : 0;
		for (size_t i = 0; i < s->nio; i++)
			for (int k = 0; k < NK; k++)
				s->io[(s->n * s->nio + i) * NK + (size_t)k] = num(json_array_get(io, i), io_keys[k]);
		for (int k = 0; k < NG; k++)
			s->g[s->n * NG + (size_t)k] = num(j, g_keys[k]);
		s->n++;
		json_decref(j);
	}
	free(line);
	fclose(f);
	if (!s->head) {
		series_free(s);
		return -1;
	}
	return 0;
}

static const char *io_field(const struct series *s, size_t i, const char *key)
{
	const char *v = json_string_value(json_object_get(json_array_get(json_object_get(s->head, "io"), i), key));
	return v ? v : "";
}

static const char *setting(const struct series *s, const char *name)
{
	const char *v = json_string_value(json_object_get(json_object_get(s->head, "settings"), name));
	return v ? v : "?";
}

/* The command's run: from sample *a (the first of phase "command", taken
 * when it started) to *b (the first after it, taken when it ended); 0 when
 * the series has none. */
static int command_span(const struct series *s, size_t *a, size_t *b)
{
	size_t first = s->n, last = 0;
	for (size_t k = 0; k < s->n; k++)
		if (s->phase[k] == 1) {
			if (first == s->n)
				first = k;
			last = k;
		}
	if (first == s->n)
		return 0;
	*a = first;
	*b = last + 1 < s->n ? last + 1 : last;
	return *b > *a;
}

/* ---- HTML pieces ---- */

void ferry_html_escape(struct ferry_strbuf *sb, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': ferry_strbuf_adds(sb, "&amp;"); break;
		case '<': ferry_strbuf_adds(sb, "&lt;"); break;
		case '>': ferry_strbuf_adds(sb, "&gt;"); break;
		case '"': ferry_strbuf_adds(sb, "&quot;"); break;
		case '\'': ferry_strbuf_adds(sb, "&#39;"); break;
		default: ferry_strbuf_addch(sb, *s);
		}
}

static void esc(struct ferry_strbuf *sb, const char *s)
{
	ferry_html_escape(sb, s && *s ? s : "-");
}

static void bytes_text(char *buf, size_t cap, double b)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void row(struct ferry_strbuf *sb, const char *key, const char *value)
{
	ferry_strbuf_adds(sb, "<tr><th>");
	esc(sb, key);
	ferry_strbuf_adds(sb, "</th><td>");
	esc(sb, value);
	ferry_strbuf_adds(sb, "</td></tr>\n");
}

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}"
	"h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:24px 0 8px}"
	"table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top;"
	"border-bottom:1px solid #ddd}th{font-weight:600}table.meta th{width:140px}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}code,.cmd{font-family:monospace;"
	"white-space:pre-wrap;word-break:break-all}.verdict{font-size:16px;padding:8px 12px;"
	"background:#f4f6fa;border-left:4px solid #3b6fd8}.plots{display:flex;flex-wrap:wrap;gap:12px}"
	"svg.plot{background:#fff;border:1px solid #ddd}svg text{font:11px sans-serif;fill:#444}"
	".cmdband{fill:#eef3ff}.axis{stroke:#999;stroke-width:1}.line{fill:none;stroke-width:1.6}"
	".note{color:#666}table.io td:nth-child(4){min-width:240px}";

static const char *const colors[] = { "#3b6fd8", "#d8733b", "#2e9e5b", "#9b3bd8" };

/* One plot: `nl` lines of s->n - 1 values each (v[l][k], interval k ends at
 * t[k + 1]). ymax <= 0: scaled to the data. */
static void plot(struct ferry_strbuf *sb, const struct series *s, const char *id, const char *title,
		 const char *unit, size_t nl, const char *const *names, double **v, double ymax)
{
	const double W = 520, H = 200, L = 52, R = 10, T = 36, B = 28;
	size_t np = s->n - 1;
	double t0 = s->t[0], t1 = s->t[s->n - 1] > t0 ? s->t[s->n - 1] : t0 + 1;
	if (ymax <= 0) {
		for (size_t l = 0; l < nl; l++)
			for (size_t k = 0; k < np; k++)
				if (v[l][k] > ymax)
					ymax = v[l][k];
		if (ymax <= 0)
			ymax = 1;
		double p = pow(10, floor(log10(ymax))), m = ymax / p;
		ymax = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
	}
	ferry_strbuf_addf(sb, "<svg class=\"plot\" id=\"plot-%s\" data-plot=\"%s\" width=\"%.0f\" height=\"%.0f\" "
			      "viewBox=\"0 0 %.0f %.0f\" xmlns=\"http://www.w3.org/2000/svg\">",
			  id, id, W, H, W, H);
	ferry_strbuf_addf(sb, "<text x=\"%.0f\" y=\"15\" style=\"font-weight:600\">", L);
	esc(sb, title);
	ferry_strbuf_adds(sb, " (");
	esc(sb, unit);
	ferry_strbuf_adds(sb, ")</text>");
	size_t a, b;
	double pw = W - L - R, ph = H - T - B;
	if (command_span(s, &a, &b)) {
		double x0 = L + pw * (s->t[a] - t0) / (t1 - t0), x1 = L + pw * (s->t[b] - t0) / (t1 - t0);
		ferry_strbuf_addf(sb, "<rect class=\"cmdband\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\"/>",
				  x0, T, x1 - x0, ph);
	}
	ferry_strbuf_addf(sb, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
			      "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>",
			  L, T, L, T + ph, L, T + ph, L + pw, T + ph);
	ferry_strbuf_addf(sb, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.4g</text>"
			      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>"
			      "<text x=\"%.0f\" y=\"%.0f\">0 s</text>"
			      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f s</text>",
			  L - 4, T + 4, ymax, L - 4, T + ph, L, H - 8, L + pw, H - 8, t1 - t0);
	for (size_t l = 0; l < nl; l++) {
		ferry_strbuf_addf(sb, "<polyline class=\"line\" data-name=\"%s\" data-points=\"%zu\" stroke=\"%s\" points=\"",
				  names[l], np, colors[l % 4]);
		for (size_t k = 0; k < np; k++) {
			double y = v[l][k] > ymax ? ymax : v[l][k] < 0 ? 0 : v[l][k];
			ferry_strbuf_addf(sb, "%s%.1f,%.1f", k ? " " : "", L + pw * (s->t[k + 1] - t0) / (t1 - t0),
					  T + ph - ph * y / ymax);
		}
		ferry_strbuf_adds(sb, "\"/>");
		ferry_strbuf_addf(sb, "<text x=\"%.0f\" y=\"29\" style=\"fill:%s\">&#9632; %s</text>",
				  L + 140 * (double)l, colors[l % 4], names[l]);
	}
	ferry_strbuf_adds(sb, "</svg>\n");
}

/* v[k] = (sum over the inputs or outputs of key at k+1 - at k) / dt × scale */
static void rate(const struct series *s, int key, int outputs, double scale, double *v)
{
	for (size_t k = 0; k + 1 < s->n; k++) {
		double d = 0, dt = s->t[k + 1] - s->t[k];
		for (size_t i = 0; i < s->nio; i++)
			if (!strcmp(io_field(s, i, "dir"), outputs ? "output" : "input"))
				d += IO(s, k + 1, i, key) - IO(s, k, i, key);
		v[k] = dt > 0 ? d / dt * scale : 0;
	}
}

static void plots(struct ferry_strbuf *sb, const struct series *s)
{
	if (s->n < 2) {
		ferry_strbuf_adds(sb, "<p class=\"note\">The job was too short for plots (fewer than two samples).</p>\n");
		return;
	}
	size_t np = s->n - 1;
	double *buf = calloc(3 * np, sizeof(double));
	if (!buf)
		return;
	double *v[3] = { buf, buf + np, buf + 2 * np };
	ferry_strbuf_adds(sb, "<div class=\"plots\">\n");
	const double MB = 1.0 / (1024 * 1024);
	rate(s, K_READ, 0, MB, v[0]);
	rate(s, K_STORAGE, 0, MB, v[1]);
	rate(s, K_STORAGE, 1, MB, v[2]);
	plot(sb, s, "throughput", "Throughput", "MiB/s", 3,
	     (const char *const[]){ "read by the command", "from storage", "to storage" }, v, 0);
	rate(s, K_WAIT, 0, 100, v[0]);
	rate(s, K_WAIT, 1, 100, v[1]);
	plot(sb, s, "wait", "Reader wait", "% of wall time, summed over reads", 1,
	     (const char *const[]){ "inputs" }, v, 100);
	rate(s, K_HITS, 0, 1, v[0]);
	rate(s, K_MISSES, 0, 1, v[1]);
	double last = 0;
	for (size_t k = 0; k < np; k++) { /* an interval with no lookups keeps the last rate */
		double n = v[0][k] + v[1][k];
		v[2][k] = last = n > 0 ? 100 * v[0][k] / n : last;
	}
	plot(sb, s, "hitrate", "Cache hit rate", "%", 1, (const char *const[]){ "hits / lookups" }, v + 2, 100);
	double min_free = -1;
	for (size_t k = 0; k < np; k++) {
		v[0][k] = s->g[(k + 1) * NG + G_CACHE_DISK] * MB;
		double f = s->g[(k + 1) * NG + G_DISK_FREE];
		if (min_free < 0 || f < min_free)
			min_free = f;
	}
	char fr[32], title[96];
	bytes_text(fr, sizeof(fr), min_free < 0 ? 0 : min_free);
	snprintf(title, sizeof(title), "Cache disk use (least free: %s)", fr);
	plot(sb, s, "disk", title, "MiB", 1, (const char *const[]){ "cache files" }, v, 0);
	for (size_t k = 0; k < np; k++) {
		double dt = s->t[k + 1] - s->t[k];
		v[0][k] = dt > 0 ? (s->g[(k + 1) * NG + G_CPU] - s->g[k * NG + G_CPU]) / dt : 0;
		v[1][k] = s->g[(k + 1) * NG + G_RSS] * MB;
		v[2][k] = dt > 0 ? (s->g[(k + 1) * NG + G_DREAD] - s->g[k * NG + G_DREAD] + s->g[(k + 1) * NG + G_DWRITE] -
				    s->g[k * NG + G_DWRITE]) / dt * MB
				 : 0;
	}
	plot(sb, s, "cpu", "CPU of the command", "cores", 1, (const char *const[]){ "cpu" }, v, 0);
	plot(sb, s, "memory", "Memory of the command", "MiB resident", 1, (const char *const[]){ "rss" }, v + 1, 0);
	plot(sb, s, "diskio", "Disk I/O of the command", "MiB/s read + written", 1, (const char *const[]){ "disk" },
	     v + 2, 0);
	ferry_strbuf_adds(sb, "</div>\n");
	free(buf);
}

/* ---- the verdict ---- */

static double io_delta(const struct series *s, size_t i, int key, size_t a, size_t b)
{
	return IO(s, b, i, key) - IO(s, a, i, key);
}

static void verdict(struct ferry_strbuf *sb, const struct series *s, double job_seconds)
{
	ferry_strbuf_adds(sb, "<h2>Verdict</h2>\n");
	size_t a, b;
	if (!command_span(s, &a, &b)) {
		ferry_strbuf_adds(sb, "<p class=\"verdict\">The command did not run long enough to be sampled.</p>\n");
		return;
	}
	double cmd = s->t[b] - s->t[a], wait = 0, worst_wait = -1;
	size_t worst = 0;
	for (size_t i = 0; i < s->nio; i++) {
		if (strcmp(io_field(s, i, "dir"), "input"))
			continue;
		double w = io_delta(s, i, K_WAIT, a, b);
		wait += w;
		if (w > worst_wait) {
			worst_wait = w;
			worst = i;
		}
	}
	double share = cmd > 0 ? wait / cmd : 0;
	if (share > 1)
		share = 1;
	double staging = s->t[a] - s->t[0];
	ferry_strbuf_adds(sb, "<p class=\"verdict\" id=\"verdict\">");
	char line[512];
	snprintf(line, sizeof(line),
		 "%s: the command waited on data for %.0f%% of its run (its reads waited %.1f s in all, in a %.1f s run)",
		 share >= 0.5 ? "Data-bound" : share >= 0.2 ? "Partly data-bound" : "Not data-bound", 100 * share,
		 wait, cmd);
	esc(sb, line);
	struct ferry_strbuf adv = FERRY_STRBUF_INIT;
	if (share >= 0.2 && worst_wait > 0) {
		const char *mode = io_field(s, worst, "mode");
		int block = !strcmp(setting(s, "DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED"), "true");
		double hits = io_delta(s, worst, K_HITS, a, b), misses = io_delta(s, worst, K_MISSES, a, b);
		double hit = hits + misses > 0 ? hits / (hits + misses) : 0;
		double opens = IO(s, s->n - 1, worst, K_OPENS), stor = IO(s, s->n - 1, worst, K_STORAGE);
		double retries = IO(s, s->n - 1, worst, K_RETRIES);
		ferry_strbuf_adds(sb, "; input <code>");
		esc(sb, io_field(s, worst, "name"));
		ferry_strbuf_adds(sb, "</code> (");
		esc(sb, mode);
		if (strstr(mode, "mount"))
			ferry_strbuf_adds(sb, block ? ", block mode" : ", whole-file mode");
		snprintf(line, sizeof(line), ") had a %.0f%% hit rate while storage delivered %.1f MiB/s to it", 100 * hit,
			 cmd > 0 ? io_delta(s, worst, K_STORAGE, a, b) / cmd / 1048576 : 0.0);
		esc(sb, line);
		if (strstr(mode, "mount") && block && hit < 0.5)
			ferry_strbuf_adds(&adv, "<li>Few reads found their block ready: if the command reads each file "
						"whole, try whole-file mode (<code>DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: "
						"false</code>) or <code>mode: download</code>; for random reads of a big file "
						"the seed recommends whole-file mode.</li>");
		else if (strstr(mode, "mount") && block)
			ferry_strbuf_addf(&adv, "<li>Reads are sequential but prefetch does not keep ahead: raise "
						"<code>DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT</code> (now %s; the seed uses 80 "
						"for a big file read once) and <code>DATASET_MOUNT_READ_THREADS</code> (now %s), "
						"or use <code>mode: download</code>.</li>",
					  setting(s, "DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT"),
					  setting(s, "DATASET_MOUNT_READ_THREADS"));
		else if (strstr(mode, "mount") && opens >= 100 && stor / opens < 1024 * 1024)
			ferry_strbuf_addf(&adv, "<li>Many small files (%.0f opens, %.0f KiB each on average) each waited "
						"for its own request: <code>mode: download</code> fetches them in parallel "
						"before the command starts (raise <code>RSLEX_DOWNLOADER_THREADS</code>, now "
						"%s); read over many epochs, block mode with the disk cache "
						"(<code>DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: true</code>) keeps them.</li>",
					  opens, stor / opens / 1024, setting(s, "RSLEX_DOWNLOADER_THREADS"));
		else if (strstr(mode, "mount"))
			ferry_strbuf_adds(&adv, "<li>Whole-file mode makes each open wait for the whole file: block mode "
						"(<code>DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED: true</code>) lets reads start "
						"at once and prefetches ahead; for one big file read once the seed adds "
						"<code>DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT: 80</code>.</li>");
		if (retries > 0)
			ferry_strbuf_addf(&adv, "<li>Storage needed %.0f retries: it refused or dropped requests "
						"(throttling, a busy account, or a flaky network).</li>",
					  retries);
	}
	if (job_seconds > 0 && staging > 0.5 * job_seconds && staging > 2)
		ferry_strbuf_addf(&adv, "<li>Staging the inputs took %.0f%% of the job (%.1f s) before the command "
					"started: <code>mode: ro_mount</code> lets it start at once; for downloads raise "
					"<code>RSLEX_DOWNLOADER_THREADS</code> (now %s).</li>",
				  100 * staging / job_seconds, staging, setting(s, "RSLEX_DOWNLOADER_THREADS"));
	double min_free = -1;
	for (size_t k = 0; k < s->n; k++) {
		double f = s->g[k * NG + G_DISK_FREE];
		if (f > 0 && (min_free < 0 || f < min_free))
			min_free = f;
	}
	if (min_free >= 0 && min_free < 1024.0 * 1024 * 1024)
		ferry_strbuf_addf(&adv, "<li>The cache's disk came down to %.0f MiB free: bound the cache with "
					"<code>DATASET_MOUNT_CACHE_SIZE</code> or turn the disk cache off "
					"(<code>DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED: false</code>).</li>",
				  min_free / 1048576);
	if (share < 0.2)
		ferry_strbuf_adds(&adv, "<li>Data loading is not what limits this job: look at the command's CPU and "
					"memory below.</li>");
	ferry_strbuf_adds(sb, ".</p>\n<ul class=\"advice\" id=\"advice\">");
	ferry_strbuf_add(sb, adv.buf, adv.len);
	ferry_strbuf_adds(sb, "</ul>\n");
	ferry_strbuf_release(&adv);
}

/* ---- the tables ---- */

static void io_table(struct ferry_strbuf *sb, const char *inputs_json, const char *outputs_json,
		     const struct series *s)
{
	ferry_strbuf_adds(sb, "<h2>Inputs and outputs</h2>\n<table class=\"io\" id=\"io\"><tr><th>input/output</th>"
			      "<th>name</th><th>mode</th><th>from / to</th><th>status</th><th>bytes</th><th>files</th>"
			      "<th>seconds</th><th>read by the command</th><th>cache hit rate</th><th>waited for "
			      "storage</th><th>wait share</th><th>requests</th><th>retries</th><th>errors</th></tr>\n");
	size_t a = 0, b = 0;
	int span = s && command_span(s, &a, &b);
	for (int out = 0; out < 2; out++) {
		json_t *arr = json_loads(out ? (outputs_json ? outputs_json : "[]") : (inputs_json ? inputs_json : "[]"),
					 0, NULL);
		size_t i;
		json_t *o;
		json_array_foreach(arr, i, o) {
			const char *name = json_string_value(json_object_get(o, "name"));
			json_t *lit = json_object_get(o, "literal");
			json_t *m = json_object_get(o, "mount");
			char bytes[32], read[32] = "-", hit[16] = "-", waited[24] = "-", share[16] = "-", req[24] = "-",
					      ret[24] = "-", errs[24] = "-";
			bytes_text(bytes, sizeof(bytes), num(o, "bytes"));
			if (json_is_object(m)) {
				bytes_text(read, sizeof(read), num(m, "bytes_read"));
				snprintf(hit, sizeof(hit), "%.1f%%", 100 * num(m, "cache_hit_rate"));
				snprintf(waited, sizeof(waited), "%.2f s", num(m, "storage_wait_seconds"));
				snprintf(req, sizeof(req), "%.0f", num(m, "requests"));
				snprintf(ret, sizeof(ret), "%.0f", num(m, "retries"));
				snprintf(errs, sizeof(errs), "%.0f", num(m, "read_errors"));
			}
			for (size_t k = 0; span && name && k < s->nio; k++)
				if (!strcmp(io_field(s, k, "name"), name) &&
				    !strcmp(io_field(s, k, "dir"), out ? "output" : "input")) {
					double w = io_delta(s, k, K_WAIT, a, b), d = s->t[b] - s->t[a];
					snprintf(share, sizeof(share), "%.0f%%", d > 0 ? 100 * w / d : 0);
					if (!json_is_object(m)) {
						snprintf(req, sizeof(req), "%.0f", IO(s, s->n - 1, k, K_REQUESTS));
						snprintf(ret, sizeof(ret), "%.0f", IO(s, s->n - 1, k, K_RETRIES));
					}
				}
			const char *where = json_string_value(json_object_get(o, out ? "uri" : "path"));
			ferry_strbuf_addf(sb, "<tr><td>%s</td><td>", out ? "output" : "input");
			esc(sb, name);
			ferry_strbuf_adds(sb, "</td><td>");
			esc(sb, lit ? "literal" : json_string_value(json_object_get(o, "mode")));
			ferry_strbuf_adds(sb, "</td><td><code>");
			esc(sb, lit ? json_string_value(lit) : where);
			ferry_strbuf_adds(sb, "</code></td><td>");
			esc(sb, json_string_value(json_object_get(o, "status")));
			ferry_strbuf_addf(sb, "</td><td class=\"n\">%s</td><td class=\"n\">%.0f</td><td class=\"n\">%.2f</td>"
					      "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
					      "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
					      "<td class=\"n\">%s</td></tr>\n",
					  bytes, num(o, "files"), num(o, "seconds"), read, hit, waited, share, req, ret, errs);
			const char *e = json_string_value(json_object_get(o, "error"));
			if (e) {
				ferry_strbuf_adds(sb, "<tr><td></td><td colspan=\"14\" class=\"note\">error: ");
				esc(sb, e);
				ferry_strbuf_adds(sb, "</td></tr>\n");
			}
		}
		json_decref(arr);
	}
	ferry_strbuf_adds(sb, "</table>\n");
}

/* "2024-01-01T10:00:00.000000Z" → seconds since the epoch, or -1. */
static double when(const char *ts)
{
	struct tm tm = { 0 };
	const char *rest = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return -1;
	return (double)timegm(&tm) + (*rest == '.' ? strtod(rest, NULL) : 0);
}

/* The command as the runtime log recorded it ("command: …"), or NULL. */
static char *logged_command(const char *folder, const char *node)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/logs/system_logs/data_capability/%s%srslex.log", folder, node ? node : "",
		 node ? "/" : "");
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *line = NULL, *cmd = NULL;
	size_t cap = 0;
	while (!cmd && getline(&line, &cap, f) > 0) {
		char *p = strstr(line, " ferry: command: ");
		if (p) {
			p += strlen(" ferry: command: ");
			p[strcspn(p, "\n")] = '\0';
			cmd = strdup(p);
		}
	}
	free(line);
	fclose(f);
	return cmd;
}

static void section(struct ferry_strbuf *sb, const struct series *s, double job_seconds)
{
	verdict(sb, s, job_seconds);
	ferry_strbuf_adds(sb, "<h2>Over time</h2>\n<p class=\"note\">");
	char line[256];
	snprintf(line, sizeof(line), "%zu samples, every %lld ms%s; the shaded band is the command's run.", s->n,
		 (long long)json_integer_value(json_object_get(s->head, "interval_ms")),
		 s->n >= (size_t)json_integer_value(json_object_get(s->head, "max_points")) / 2
			 ? " (thinned: a long job keeps at most max_points samples)"
			 : "");
	esc(sb, line);
	ferry_strbuf_adds(sb, "</p>\n");
	plots(sb, s);
}

int ferry_job_report(const struct ferry_job_record *rec, const char *out, ferry_err *err)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT, path = FERRY_STRBUF_INIT;
	const char *folder = rec->folder ? rec->folder : "";
	ferry_strbuf_adds(&sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			       "<meta name=\"generator\" content=\"ferry job report\"><title>ferry job ");
	esc(&sb, rec->name);
	ferry_strbuf_addf(&sb, "</title><style>%s</style></head><body>\n<h1>Job <span id=\"job-name\">", style);
	esc(&sb, rec->name);
	ferry_strbuf_adds(&sb, "</span></h1>\n<table class=\"meta\">\n");
	double t0 = when(rec->start_time), t1 = when(rec->end_time);
	char dur[64] = "-";
	if (t0 >= 0 && t1 >= t0)
		snprintf(dur, sizeof(dur), "%.1f s", t1 - t0);
	char code[16] = "-";
	if (rec->has_exit_code)
		snprintf(code, sizeof(code), "%d", rec->exit_code);
	row(&sb, "display name", rec->display_name);
	row(&sb, "experiment", rec->experiment_name);
	row(&sb, "description", rec->description);
	row(&sb, "status", rec->status);
	row(&sb, "exit code", code);
	row(&sb, "started", rec->start_time);
	row(&sb, "ended", rec->end_time);
	row(&sb, "duration", dur);
	row(&sb, "job file", rec->job_file);
	row(&sb, "folder", rec->folder);
	if (rec->tags_json && strcmp(rec->tags_json, "{}"))
		row(&sb, "tags", rec->tags_json);
	struct series s;
	int have = series_load((ferry_strbuf_addf(&path, "%s/series.jsonl", folder), path.buf), &s) == 0;
	char *cmd = logged_command(folder, have ? NULL : "node_0");
	ferry_strbuf_adds(&sb, "<tr><th>command</th><td class=\"cmd\">");
	esc(&sb, cmd);
	ferry_strbuf_adds(&sb, "</td></tr>\n</table>\n");
	free(cmd);
	io_table(&sb, rec->inputs_json, rec->outputs_json, have ? &s : NULL);
	double job_seconds = t0 >= 0 && t1 >= t0 ? t1 - t0 : 0;
	if (have) {
		section(&sb, &s, job_seconds);
		series_free(&s);
	}
	int nodes = 0;
	for (int k = 0; !have && k < 4096; k++) { /* a distributed job: one series per node */
		ferry_strbuf_reset(&path);
		ferry_strbuf_addf(&path, "%s/nodes/%d.series.jsonl", folder, k);
		if (series_load(path.buf, &s) < 0)
			break;
		ferry_strbuf_addf(&sb, "<h2 class=\"node\">Node %d</h2>\n", k);
		section(&sb, &s, job_seconds);
		series_free(&s);
		nodes++;
	}
	if (!have && !nodes)
		ferry_strbuf_adds(&sb, "<h2>Verdict</h2>\n<p class=\"verdict\" id=\"verdict\">This job has no time series "
				       "(it ran with FERRY_SAMPLE=off, or before ferry kept one): only its totals are "
				       "shown.</p>\n");
	ferry_strbuf_adds(&sb, "<p class=\"note\">Made by <code>ferry job report</code>. Series format: docs/jobs.md, "
			       "\"The time series\".</p>\n</body></html>\n");
	ferry_strbuf_release(&path);
	if (sb.failed) {
		ferry_strbuf_release(&sb);
		return ferry_err_set(err, FERRY_E_IO, "out of memory writing the report");
	}
	ferry_strbuf_addf(&path, "%s.tmp", out);
	int fd = path.failed ? -1 : open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0, wrc = fd < 0 ? -1 : ferry_write_all(fd, sb.buf, sb.len);
	int e = errno;
	if (fd >= 0 && close(fd) < 0 && wrc == 0) {
		wrc = -1;
		e = errno;
	}
	if (wrc == 0 && rename(path.buf, out) < 0) {
		wrc = -1;
		e = errno;
	}
	if (wrc < 0) {
		if (fd >= 0)
			unlink(path.buf);
		rc = ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", out, strerror(e));
	}
	ferry_strbuf_release(&path);
	ferry_strbuf_release(&sb);
	return rc;
}
