/*
 * test_series.c — the time series' pure parts: HTML escaping of the report,
 * thinning at max_points (bounded, the newest sample kept, the interval
 * doubled), a transfer's figures frozen at its end, and the process-tree
 * sampler on this very process.
 */
#include "check.h"
#include "core/proctree.h"
#include "core/strbuf.h"
#include "job/report.h"
#include "job/series.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t lines(const char *path, char *last, size_t cap)
{
	FILE *f = fopen(path, "r");
	char buf[8192];
	size_t n = 0;
	while (f && fgets(buf, sizeof(buf), f)) {
		n++;
		snprintf(last, cap, "%s", buf);
	}
	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	ferry_html_escape(&sb, "<script>a=\"1\" & b='2'</script>");
	CHECK_STR(sb.buf, "&lt;script&gt;a=&quot;1&quot; &amp; b=&#39;2&#39;&lt;/script&gt;");
	ferry_strbuf_release(&sb);

	char path[] = "/tmp/test_series.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct ferry_stats x = { 0 };
	const struct ferry_series_io io[2] = { { .name = "in", .mode = "download" },
					       { .name = "<out>", .output = 1, .mode = "upload" } };
	struct ferry_series_opts o = { .path = path, .interval_ms = 100, .max_points = 16, .cache_dir = "/tmp",
				       .xfer = &x, .io = io, .nio = 2 };
	struct ferry_series *s = NULL;
	ferry_err err;
	CHECK(ferry_series_open(&o, &s, &err) == 0);
	/* samples are taken synchronously at each phase change: no thread runs */
	ferry_series_xfer_begin(s, 0);
	x.bytes = 1000;
	x.files = 2;
	ferry_series_phase(s, "inputs");
	ferry_series_xfer_end(s, 0);
	x.bytes = 5000; /* after the end: not the download's */
	ferry_series_xfer_begin(s, 1);
	x.bytes = 5700;
	for (int i = 0; i < 40; i++)
		ferry_series_phase(s, i < 39 ? "command" : "outputs");
	ferry_series_detach(s);
	char last[8192] = "";
	size_t n = lines(path, last, sizeof(last));
	CHECK(n >= 2 && n <= 17); /* the header + at most max_points samples */
	CHECK(strstr(last, "\"phase\":\"outputs\"") != NULL); /* the newest kept */
	CHECK(strstr(last, "{\"read\":0,\"storage\":1000,\"files\":2,") != NULL);
	CHECK(strstr(last, "{\"read\":0,\"storage\":700,\"files\":0,") != NULL);
	FILE *f = fopen(path, "r");
	char head[4096] = "";
	CHECK(f && fgets(head, sizeof(head), f));
	if (f)
		fclose(f);
	const char *iv = strstr(head, "\"interval_ms\":");
	CHECK(iv && atoi(iv + 14) >= 800); /* 41 samples, at most 16 kept: thinned 3 times or more */
	CHECK(strstr(head, "\"name\":\"<out>\"") != NULL); /* JSON, not HTML: kept as is */
	unlink(path);

	pid_t self = getpid();
	struct ferry_proctree_usage u[2];
	pid_t roots[2] = { self, 0 };
	CHECK(ferry_proctree_sample(roots, 2, u) == 0);
	CHECK(u[0].procs == 1 && u[0].rss_bytes > 0);
	CHECK(u[1].procs == 0 && u[1].rss_bytes == 0);
	volatile double spin = 0;
	uint64_t before = u[0].cpu_us;
	for (long i = 0; i < 400000000L && u[0].cpu_us < before + 20000; i++) {
		spin += i * 0.5;
		if (i % 10000000 == 0)
			ferry_proctree_sample(roots, 1, u);
	}
	CHECK(u[0].cpu_us >= before + 20000); /* CPU time shows up */
	pid_t kid = fork(); /* a child (and its own child) belong to the tree */
	if (kid == 0) { /* long sleeps: a loaded machine may take seconds to exec them */
		setpgid(0, 0);
		if (fork() == 0)
			execlp("sleep", "sleep", "30", (char *)NULL);
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(1);
	}
	for (int i = 0; i < 1000; i++) { /* until both execs happened */
		ferry_proctree_sample(roots, 1, u);
		if (u[0].procs == 3)
			break;
		usleep(20000);
	}
	CHECK(u[0].procs == 3);
	pid_t kids[2] = { kid, 0 };
	CHECK(ferry_proctree_sample(kids, 2, u) == 0);
	CHECK(u[0].procs == 2 && u[1].procs == 0); /* a root's tree, not its parent */
	kill(-kid, SIGKILL); /* its process group: the grandchild too */
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	return CHECK_DONE();
}
