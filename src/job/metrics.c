/*
 * metrics.c — /metrics of a running job (metrics.h): the newest sample of
 * the job's time series rendered as Prometheus text on each scrape.
 */
#include "job/metrics.h"

#include "core/httpd.h"
#include "core/log.h"
#include "core/openmetrics.h"
#include "job/seriesread.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>


struct ferry_job_metrics {
	struct ferry_httpd *httpd;
	char *job, *path;
};

/* The header and the newest sample, parsed. */
static int read_ends(const char *path, json_t **head, json_t **last)
{
	struct ferry_series_tail t;
	*head = *last = NULL;
	if (ferry_series_tail_read(path, &t) < 0)
		return -1;
	*head = json_loads(t.head, 0, NULL);
	*last = t.last ? json_loads(t.last, 0, NULL) : NULL;
	ferry_series_tail_free(&t);
	return *head && *last ? 0 : -1;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const struct ferry_om_def job_metrics[] = {
	{ "t", "ferry_job_elapsed_seconds", "gauge", "Seconds since the job started (at the newest sample)." },
	{ "cache_disk", "ferry_cache_disk_bytes", "gauge", "Bytes of the job's caches on disk." },
	{ "disk_free", "ferry_cache_disk_free_bytes", "gauge", "Free bytes on the caches' file system." },
	{ "cpu_s", "ferry_command_cpu_seconds_total", "counter", "CPU time of the command's process tree." },
	{ "rss", "ferry_command_rss_bytes", "gauge", "Resident memory of the command's process tree." },
	{ "disk_read", "ferry_command_disk_read_bytes_total", "counter", "Bytes the command's processes read from disk." },
	{ "disk_write", "ferry_command_disk_write_bytes_total", "counter", "Bytes the command's processes wrote to disk." },
	{ "procs", "ferry_command_processes", "gauge", "Processes in the command's tree." },
};

static const char *const phases[] = { "inputs", "command", "outputs" };

int ferry_job_metrics_render(const char *job, const char *series_path, struct ferry_strbuf *out)
{
	json_t *head, *last;
	if (read_ends(series_path, &head, &last) < 0) {
		json_decref(head);
		json_decref(last);
		ferry_strbuf_adds(out, "no sample of the job's time series yet\n");
		return -1;
	}
	json_t *ios = json_object_get(head, "io"), *vals = json_object_get(last, "io");
	for (size_t m = 0; m < ferry_om_io_count; m++) {
		ferry_om_family(out, ferry_om_io[m].name, ferry_om_io[m].type, ferry_om_io[m].help);
		for (size_t i = 0; i < json_array_size(ios) && i < json_array_size(vals); i++) {
			json_t *d = json_array_get(ios, i);
			const char *labels[] = { "job", job, "io", json_string_value(json_object_get(d, "name")),
						 "dir", json_string_value(json_object_get(d, "dir")),
						 "mode", json_string_value(json_object_get(d, "mode")), NULL };
			ferry_om_sample(out, ferry_om_io[m].name, labels, num(json_array_get(vals, i), ferry_om_io[m].key));
		}
	}
	const char *jl[] = { "job", job, NULL };
	for (size_t m = 0; m < sizeof(job_metrics) / sizeof(job_metrics[0]); m++) {
		ferry_om_family(out, job_metrics[m].name, job_metrics[m].type, job_metrics[m].help);
		ferry_om_sample(out, job_metrics[m].name, jl, num(last, job_metrics[m].key));
	}
	const char *phase = json_string_value(json_object_get(last, "phase"));
	ferry_om_family(out, "ferry_job_phase", "gauge", "1 for what the job is doing now: inputs, command or outputs.");
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		const char *pl[] = { "job", job, "phase", phases[p], NULL };
		ferry_om_sample(out, "ferry_job_phase", pl, phase && !strcmp(phase, phases[p]));
	}
	json_t *ranks = json_object_get(last, "ranks");
	if (json_array_size(ranks)) {
		static const char *const rk[][4] = {
			{ "cpu_s", "ferry_rank_cpu_seconds_total", "counter", "CPU time of one rank's process tree." },
			{ "rss", "ferry_rank_rss_bytes", "gauge", "Resident memory of one rank's process tree." },
		};
		for (size_t m = 0; m < 2; m++) {
			ferry_om_family(out, rk[m][1], rk[m][2], rk[m][3]);
			for (size_t i = 0; i < json_array_size(ranks); i++) {
				char rank[24];
				snprintf(rank, sizeof(rank), "%zu", i);
				const char *rl[] = { "job", job, "rank", rank, NULL };
				ferry_om_sample(out, rk[m][1], rl, num(json_array_get(ranks, i), rk[m][0]));
			}
		}
	}
	json_decref(head);
	json_decref(last);
	return out->failed ? -1 : 0;
}

static int render(void *arg, const char *path, struct ferry_strbuf *body, const char **ctype)
{
	struct ferry_job_metrics *m = arg;
	if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		ferry_strbuf_adds(body, "not found: this server has /metrics only\n");
		return 404;
	}
	if (ferry_job_metrics_render(m->job, m->path, body) < 0)
		return 503;
	*ctype = FERRY_OM_CONTENT_TYPE;
	return 200;
}

int ferry_job_metrics_start(const struct ferry_settings *s, const char *job, const char *series_path,
			    struct ferry_job_metrics **out, ferry_err *err)
{
	*out = NULL;
	int64_t addr = ferry_setting_int(s, FS_METRICS_ADDR);
	if (addr < 0 || !s->from_user[FS_METRICS_ADDR])
		return 0;
	struct ferry_job_metrics *m = calloc(1, sizeof(*m));
	if (!m || !(m->job = strdup(job)) || !(m->path = strdup(series_path))) {
		ferry_job_metrics_stop(m);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (ferry_httpd_start((uint64_t)addr, render, m, &m->httpd, err) < 0) {
		ferry_job_metrics_stop(m);
		return -1;
	}
	char where[32];
	ferry_addr_format(((uint64_t)addr & ~(uint64_t)0xffff) | (uint64_t)ferry_httpd_port(m->httpd), where,
			  sizeof(where));
	ferry_info("job %s: metrics at http://%s/metrics", job, where);
	*out = m;
	return 0;
}

void ferry_job_metrics_pause(struct ferry_job_metrics *m)
{
	if (m)
		ferry_httpd_pause(m->httpd);
}

void ferry_job_metrics_resume(struct ferry_job_metrics *m)
{
	if (m)
		ferry_httpd_resume(m->httpd);
}

void ferry_job_metrics_stop(struct ferry_job_metrics *m)
{
	if (!m)
		return;
	ferry_httpd_stop(m->httpd);
	free(m->job);
	free(m->path);
	free(m);
}
