/* download.c — `ferry download URI DEST`. */
#include "cli/cli.h"
#include "transfer/transfer.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] = "ferry download URI DEST";

int cmd_download(int argc, char **argv)
{
	if (argc != 3)
		return cli_usage(usage, "download takes a source URI and a destination folder");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	struct ferry_xfer_result res;
	char *file = NULL;
	int rc = ferry_download(&ctx, argv[1], argv[2], &res, &file, &err);
	if (rc == 0) {
		char line[256];
		ferry_xfer_summary(&res, line, sizeof(line));
		fprintf(stderr, "downloaded %s -> %s: %s\n", argv[1], file ? file : argv[2], line);
	}
	free(file);
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
