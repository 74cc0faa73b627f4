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
 * --stats FILE: the mount's time series while it is served (the format of a
 * job's series.jsonl, docs/jobs.md; its CPU and memory figures are the
 * server's own), sampled by this process with -f, else by a small forked
 * sampler that ends with the server.
 */
#include "cli/cli.h"
#include "core/settings.h"
#include "core/log.h"
#include "core/sys.h"
#include "fs/fs.h"
#include "job/series.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"ferry mount URI DIR [--rw] [-f] [--set NAME=VALUE]... [--cache-dir DIR] [--log FILE] [--stats FILE]";

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

/* --stats of a background mount: a forked child samples the server's
 * shared counters (mapped before either fork) and its CPU and memory until
 * it exits, then takes the last sample; this process returns at once. */
static void sample_in_child(struct ferry_series **sp, pid_t server)
{
	struct ferry_series *series = *sp;
	*sp = NULL; /* handed to the child (or given up) */
	pid_t c = fork();
	if (c < 0) {
		ferry_warn("--stats: fork: %s; no series", strerror(errno));
		ferry_series_detach(series);
		return;
	}
	if (c > 0) {
		ferry_series_detach(series);
		return;
	}
	setsid();
	ferry_stdio_devnull();
	ferry_series_pids(series, &server, 1);
	ferry_series_resume(series);
	ferry_series_phase(series, "command");
	while (kill(server, 0) == 0 || errno != ESRCH) {
		char st[512] = "";
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/stat", (int)server);
		FILE *f = fopen(p, "re");
		if (f) {
			if (!fgets(st, sizeof(st), f))
				st[0] = '\0';
			fclose(f);
		}
		const char *rp = strrchr(st, ')');
		if (!f || (rp && rp[1] == ' ' && rp[2] == 'Z')) /* gone, or a zombie nobody reaped yet */
			break;
		ferry_sleep_ms(250);
	}
	ferry_series_phase(series, "outputs");
	ferry_series_free(series);
	_exit(0);
}

int cmd_mount(int argc, char **argv)
{
	const char *uri = NULL, *dir = NULL, *cache_dir = NULL, *logfile = NULL, *stats = NULL;
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
		else if (!strcmp(a, "--set") || !strcmp(a, "--cache-dir") || !strcmp(a, "--log") ||
			 !strcmp(a, "--stats")) {
			if (i + 1 >= argc) {
				free(sets.kv);
				return cli_usage(usage, "%s needs a value", a);
			}
			const char *v = argv[++i];
			if (!strcmp(a, "--stats"))
				stats = v;
			else if (a[2] == 's') {
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
		struct ferry_series *series = NULL;
		const struct ferry_series_io io = { .name = "mount", .output = rw, .mode = rw ? "rw_mount" : "ro_mount",
						    .where = uri };
		if (stats) {
			struct ferry_series_opts so = {
				.path = stats, .interval_ms = (unsigned)ferry_setting_int(&ctx.settings, FS_SAMPLE_INTERVAL),
				.max_points = (unsigned)ferry_setting_int(&ctx.settings, FS_SAMPLE_MAX_POINTS),
				.cache_dir = cache_dir, .io = &io, .nio = 1, .settings = &ctx.settings
			};
			rc = ferry_series_open(&so, &series, &err);
			o.live = ferry_series_mount_slot(series, 0);
		}
		if (rc < 0)
			;
		else if (foreground) {
			pid_t self = getpid();
			ferry_series_pids(series, &self, 1);
			ferry_series_resume(series);
			ferry_series_phase(series, "command"); /* a standalone mount: while it is served */
			rc = ferry_mount_serve(&o, -1, &err);
			ferry_series_phase(series, "outputs");
		} else {
			pid_t pid;
			rc = ferry_mount_spawn(&o, &pid, &err);
			if (rc == 0)
				ferry_info("mount of %s served by process %d", dir, (int)pid);
			if (rc == 0 && series)
				sample_in_child(&series, pid);
		}
		ferry_series_free(series);
		ferry_store_destroy(s);
		free(path);
	}
	ferry_log_close();
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
