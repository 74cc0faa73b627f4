/*
 * unmount.c — `ferry unmount DIR`: unmount a ferry mount, also one left stale
 * by a killed server, and nothing else: DIR's top mount must be ferry's FUSE
 * file system (type fuse.ferry, source "ferry", as every ferry mount names
 * itself), so that a typo or a hostile argument cannot detach a tmpfs or a
 * disk (issue 10 item 4). Busy files are waited for up to
 * DATASET_UNMOUNT_TIMEOUT_SECONDS, then the mount is detached lazily. Then, as
 * every ferry start does, cleans up after mount servers of the workspace that
 * died (ferry_mount_reap, fs/fs.h).
 */
#include "cli/cli.h"
#include "fs/fs.h"
#include "workspace/workspace.h"

#include <string.h>

static const char usage[] = "ferry unmount DIR";

int cmd_unmount(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(usage, "unmount takes the folder a mount is at");
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0) {
		cli_ctx_close(&ctx);
		return cli_fail(&err);
	}
	int rc;
	char fstype[256], source[256];
	if (ferry_mount_top(argv[1], fstype, source, sizeof(fstype)) &&
	    (strcmp(fstype, "fuse.ferry") || strcmp(source, "ferry")))
		rc = ferry_err_set(&err, FERRY_E_INVALID,
				   "%s is not a ferry mount (it is a %s mount of '%s'); ferry unmount only removes "
				   "ferry's own mounts",
				   argv[1], fstype, source);
	else {
		int64_t t = ferry_setting_int(&ctx.settings, FS_UNMOUNT_TIMEOUT);
		rc = ferry_mount_unmount(argv[1], t < 0 ? 30 : (unsigned)t, &err);
	}
	/* A server that died leaves its entry and cache: clean them now. */
	ferry_mount_reap(ferry_ws_home(ctx.ws));
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
