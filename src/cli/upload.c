/* upload.c — `ferry upload SRC URI`. */
#include "cli/cli.h"
#include "transfer/transfer.h"

#include <stdio.h>
#include <string.h>

static const char usage[] = "ferry upload [--follow-links] SRC URI";

int cmd_upload(int argc, char **argv)
{
	/* --follow-links: also links to files outside SRC (FERRY_UPLOAD_FOLLOW_LINKS) */
	int follow = 0, n = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow-links"))
			follow = 1;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (argc != 3)
		return cli_usage(usage, "upload takes a local file or folder and a destination URI");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	if (follow)
		ctx.settings.v[FS_UPLOAD_FOLLOW_LINKS] = 1;
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
