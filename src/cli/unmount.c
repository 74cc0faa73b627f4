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

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "ferry unmount DIR";

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else
			*w++ = *r++;
	}
	*w = '\0';
}

/* Absolute `dir` without touching `dir` itself (a stale FUSE mount point
 * fails every stat with ENOTCONN): its parent resolved, its name kept. */
static int absolute(const char *dir, char *out, size_t cap)
{
	char tmp[PATH_MAX], parent[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *base = slash ? slash + 1 : tmp;
	if (slash == tmp)
		snprintf(parent, sizeof(parent), "/");
	else {
		if (slash)
			*slash = '\0';
		if (!realpath(slash ? tmp : ".", parent))
			return -1;
	}
	int w = snprintf(out, cap, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* The file system type and source of the top mount at `dir` (the last line
 * of /proc/self/mountinfo for it). 1 found, 0 not a mount point. */
static int top_mount(const char *dir, char *fstype, char *source, size_t cap)
{
	char want[PATH_MAX];
	if (absolute(dir, want, sizeof(want)) < 0)
		return 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char line[3 * PATH_MAX];
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mount-point options [optional...] - type source super-options */
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " \n", &save);
		if (!tok)
			continue;
		unescape(tok);
		if (strcmp(tok, want))
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-"))
			;
		char *type = tok ? strtok_r(NULL, " \n", &save) : NULL;
		char *src = type ? strtok_r(NULL, " \n", &save) : NULL;
		if (src)
			unescape(src);
		snprintf(fstype, cap, "%s", type ? type : "?");
		snprintf(source, cap, "%s", src ? src : "?");
		found = 1;
	}
	fclose(f);
	return found;
}

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
	if (top_mount(argv[1], fstype, source, sizeof(fstype)) &&
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
