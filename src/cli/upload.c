/* upload.c — `ferry upload SRC URI`. */
#include "cli/cli.h"
#include "transfer/transfer.h"

#include <stdio.h>

static const char usage[] = "ferry upload SRC URI";

int cmd_upload(int argc, char **argv)
{
	if (argc != 3)
		return cli_usage(usage, "upload takes a local file or folder and a destination URI");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	struct ferry_xfer_result res;
	int rc = ferry_upload(&ctx, argv[1], argv[2], &res, &err);
	if (rc == 0) {
		char line[256];
		ferry_xfer_summary(&res, line, sizeof(line));
		fprintf(stderr, "uploaded %s -> %s: %s\n", argv[1], argv[2], line);
	}
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
