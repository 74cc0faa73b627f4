/*
 * test_metrics.c — reading a growing time series (job/seriesread.h: the
 * header and the two newest whole samples, a half-written line left out,
 * lines longer than the first window) and rendering it as Prometheus text
 * (job/metrics.h, core/openmetrics.h: families, labels escaped, values).
 */
#include "check.h"
#include "core/openmetrics.h"
#include "job/metrics.h"
#include "job/seriesread.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const head = "{\"ferry_series\":1,\"io\":[{\"name\":\"im\\\"g\",\"dir\":\"input\",\"mode\":\"ro_mount\"}]}";

static void sample(FILE *f, int t, int pad)
{
	fprintf(f, "{\"t\":%d,\"phase\":\"command\",\"pad\":\"%*s\",\"io\":[{\"read\":%d,\"wait_s\":%d.5}],"
		   "\"cpu_s\":1.25,\"rss\":4096,\"procs\":2}\n", t, pad, "", t * 100, t);
}

int main(void)
{
	char path[] = "/tmp/ferry-series-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct ferry_series_tail t;

	fprintf(f, "%s\n", head);
	fflush(f);
	CHECK(ferry_series_tail_read(path, &t) == 0);
	CHECK_STR(t.head, head);
	CHECK(t.last == NULL && t.prev == NULL); /* the header alone: no sample */
	ferry_series_tail_free(&t);

	sample(f, 1, 0);
	fputs("{\"t\":2,\"phase\":\"comm", f); /* being written */
	fflush(f);
	CHECK(ferry_series_tail_read(path, &t) == 0);
	CHECK(t.last && strstr(t.last, "\"t\":1,") && t.prev == NULL);
	ferry_series_tail_free(&t);
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	CHECK(ferry_job_metrics_render("j", path, &sb) == 0);
	CHECK(strstr(sb.buf, "# TYPE ferry_io_read_bytes_total counter\n"));
	CHECK(strstr(sb.buf, "ferry_io_read_bytes_total{job=\"j\",io=\"im\\\"g\",dir=\"input\",mode=\"ro_mount\"} 100\n"));
	CHECK(strstr(sb.buf, "ferry_io_reader_wait_seconds_total{job=\"j\",io=\"im\\\"g\",dir=\"input\",mode=\"ro_mount\"} 1.5\n"));
	CHECK(strstr(sb.buf, "ferry_command_cpu_seconds_total{job=\"j\"} 1.25\n"));
	CHECK(strstr(sb.buf, "ferry_job_phase{job=\"j\",phase=\"command\"} 1\n"));
	CHECK(strstr(sb.buf, "ferry_job_phase{job=\"j\",phase=\"inputs\"} 0\n"));
	ferry_strbuf_release(&sb);

	/* Finish line 2, then lines far longer than the first 64 KiB window. */
	fputs("and\",\"io\":[]}\n", f);
	for (int i = 3; i <= 6; i++)
		sample(f, i, i >= 5 ? 100000 : 10);
	fflush(f);
	CHECK(ferry_series_tail_read(path, &t) == 0);
	CHECK(t.last && strstr(t.last, "\"t\":6,"));
	CHECK(t.prev && strstr(t.prev, "\"t\":5,"));
	ferry_series_tail_free(&t);

	/* Escaping of label values, and values that are not integers. */
	const char *labels[] = { "a", "x\\y\n\"z\"", "skip", NULL, "b", "2", NULL };
	ferry_om_sample(&sb, "m", labels, 0.25);
	ferry_om_sample(&sb, "n", NULL, 12345678901.0);
	CHECK_STR(sb.buf, "m{a=\"x\\\\y\\n\\\"z\\\"\",b=\"2\"} 0.25\nn 12345678901\n");
	ferry_strbuf_release(&sb);

	fclose(f);
	CHECK(ferry_series_tail_read(path, &t) == 0);
	ferry_series_tail_free(&t);
	unlink(path);
	CHECK(ferry_series_tail_read(path, &t) < 0); /* gone */
	CHECK(ferry_job_metrics_render("j", path, &sb) < 0);
	ferry_strbuf_release(&sb);
	return CHECK_DONE();
}
