/*
 * mount.c — `ferry mount URI DIR [--rw] [-f] [--set NAME=VALUE]... [--cache-dir D]`:
 * mount a folder of any supported path at DIR, read-only, or read-write with
 * --rw (files written land in storage when closed; see fs.h).
 *
 * Without -f the mount is served by a child process and the command returns
 * once the mount answers (its exit status says whether it does); with -f it is
 * served in the foreground until `ferry unmount DIR`, `fusermount3 -u DIR`,
 * Ctrl-C or SIGTERM. Settings come from the environment, then --set. The
 * runtime log is $FERRY_HOME/logs/mount.log unless --log names another.
 */
#include "cli/cli.h"
#include "core/settings.h"
#include "core/log.h"
#include "fs/fs.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"ferry mount URI DIR [--rw] [-f] [--set NAME=VALUE]... [--cache-dir DIR] [--log FILE]";

struct sets {
	const char **kv;
	int n;
};

/* --set values first (last one wins), then the environment. */
static const char *set_lookup(void *arg, const char *name)
{
	struct sets *s = arg;
	size_t len = strlen(name);
	for (int i = s->n - 1; i >= 0; i--)
		if (!strncmp(s->kv[i], name, len) && s->kv[i][len] == '=')
			return s->kv[i] + len + 1;
	return getenv(name);
}

/* 1 (with a message) when NAME of "NAME=VALUE" is not a setting: a typo
 * would otherwise be ignored silently. */
static int unknown_setting(const char *kv)
{
	const struct ferry_setting_def *t = ferry_settings_table();
	const char *names[FS__COUNT];
	size_t len = strcspn(kv, "=");
	for (size_t i = 0; i < FS__COUNT; i++) {
		names[i] = t[i].name;
		if (strlen(t[i].name) == len && !strncmp(t[i].name, kv, len))
			return 0;
	}
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)len, kv);
	const char *near = cli_nearest(name, names, FS__COUNT);
	cli_usage(usage, "--set %s: unknown setting%s%s%s (see `ferry settings`)", name,
		  near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
	return 1;
}

int cmd_mount(int argc, char **argv)
{
	const char *uri = NULL, *dir = NULL, *cache_dir = NULL, *logfile = NULL;
	int foreground = 0, rw = 0;
	struct sets sets = { calloc((size_t)argc, sizeof(char *)), 0 };
	if (!sets.kv)
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-f") || !strcmp(a, "--foreground"))
			foreground = 1;
		else if (!strcmp(a, "--rw"))
			rw = 1;
		else if (!strcmp(a, "--set") || !strcmp(a, "--cache-dir") || !strcmp(a, "--log")) {
			if (i + 1 >= argc) {
				free(sets.kv);
				return cli_usage(usage, "%s needs a value", a);
			}
			const char *v = argv[++i];
			if (a[2] == 's') {
				if (!strchr(v, '=')) {
					free(sets.kv);
					return cli_usage(usage, "--set takes NAME=VALUE, got '%s'", v);
				}
				if (unknown_setting(v)) {
					free(sets.kv);
					return 2;
				}
				sets.kv[sets.n++] = v;
			} else if (a[2] == 'c')
				cache_dir = v;
			else
				logfile = v;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n", usage);
			free(sets.kv);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			free(sets.kv);
			return cli_usage(usage, "unknown option '%s'", a);
		} else if (!uri)
			uri = a;
		else if (!dir)
			dir = a;
		else {
			free(sets.kv);
			return cli_usage(usage, "unexpected argument '%s'", a);
		}
	}
	if (!uri || !dir) {
		free(sets.kv);
		return cli_usage(usage, "mount takes a URI and a folder to mount it at");
	}
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0 ||
	    ferry_settings_load(&ctx.settings, set_lookup, &sets, &err) < 0) {
		free(sets.kv);
		cli_ctx_close(&ctx);
		return cli_fail(&err);
	}
	free(sets.kv);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ferry_err_set(&err, FERRY_E_INVALID, "mount point %s is not an existing folder", dir);
		cli_ctx_close(&ctx);
		return cli_fail(&err);
	}
	const char *home = ferry_ws_home(ctx.ws);
	char logbuf[4200], cachebuf[4200];
	if (!logfile) {
		snprintf(logbuf, sizeof(logbuf), "%s/logs", home);
		mkdir(logbuf, 0755);
		snprintf(logbuf, sizeof(logbuf), "%s/logs/mount.log", home);
		logfile = logbuf;
	}
	if (ferry_log_open(logfile) < 0) {
		ferry_err_set(&err, FERRY_E_IO, "cannot open %s: %s", logfile, strerror(errno));
		cli_ctx_close(&ctx);
		return cli_fail(&err);
	}
	if (!cache_dir) {
		snprintf(cachebuf, sizeof(cachebuf), "%s/cache", home);
		mkdir(cachebuf, 0700);
		snprintf(cachebuf, sizeof(cachebuf), "%s/cache/mount-%d", home, (int)getpid());
		cache_dir = cachebuf;
	}
	struct ferry_store *s = NULL;
	char *path = NULL;
	int rc = ferry_resolve(&ctx, uri, rw, &s, &path, NULL, &err);
	if (rc == 0 && rw)
		ferry_store_ensure_container(s);
	if (rc == 0) {
		ferry_info("ferry mount %s %s (%s%s)", uri, dir, foreground ? "foreground" : "background",
			   rw ? ", read-write" : "");
		struct ferry_mount_opts o = { .store = s, .root = path, .settings = &ctx.settings, .stats = &ctx.stats,
					      .cache_dir = cache_dir, .rw = rw, .dir = dir, .home = home,
					      .metrics = 1 };
		if (foreground)
			rc = ferry_mount_serve(&o, -1, &err);
		else {
			pid_t pid;
			rc = ferry_mount_spawn(&o, &pid, &err);
			if (rc == 0)
				ferry_info("mount of %s served by process %d", dir, (int)pid);
		}
		ferry_store_destroy(s);
		free(path);
	}
	ferry_log_close();
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
