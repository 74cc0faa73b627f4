/* download.c — `ferry download URI DEST [--stats FILE]` (--stats: the
 * download's time series, the format of a job's series.jsonl; job/series.h). */
#include "cli/cli.h"
#include "job/series.h"
#include "transfer/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry download URI DEST [--stats FILE]";

int cmd_download(int argc, char **argv)
{
	const char *src = NULL, *dest = NULL, *stats = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stats") && i + 1 < argc)
			stats = argv[++i];
		else if (!strcmp(argv[i], "--stats"))
			return cli_usage(usage, "--stats needs a file name");
		else if (!src)
			src = argv[i];
		else if (!dest)
			dest = argv[i];
		else
			return cli_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	if (!src || !dest)
		return cli_usage(usage, "download takes a source URI and a destination folder");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	struct ferry_series *series = NULL;
	const struct ferry_series_io io = { .name = "download", .mode = "download", .where = src };
	if (stats) {
		struct ferry_series_opts so = {
			.path = stats, .interval_ms = (unsigned)ferry_setting_int(&ctx.settings, FS_SAMPLE_INTERVAL),
			.max_points = (unsigned)ferry_setting_int(&ctx.settings, FS_SAMPLE_MAX_POINTS), .cache_dir = dest,
			.xfer = &ctx.stats, .io = &io, .nio = 1, .settings = &ctx.settings
		};
		if (ferry_series_start(&so, &series, &err) < 0) {
			cli_ctx_close(&ctx);
			return cli_fail(&err);
		}
		ferry_series_phase(series, "command"); /* a standalone transfer: its active phase */
		ferry_series_xfer_begin(series, 0);
	}
	struct ferry_xfer_result res;
	char *file = NULL;
	int rc = ferry_download(&ctx, src, dest, &res, &file, &err);
	ferry_series_xfer_end(series, 0);
	ferry_series_phase(series, "outputs");
	ferry_series_free(series);
	if (rc == 0) {
		char line[256];
		ferry_xfer_summary(&res, line, sizeof(line));
		fprintf(stderr, "downloaded %s -> %s: %s\n", src, file ? file : dest, line);
	}
	free(file);
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
