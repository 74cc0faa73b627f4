/*
 * mount.c — the mount's lifecycle, the process around the file system: serve
 * a mount (recorded in the workspace's registry while served), serve it from
 * a forked child that reports when the mount answers, stop that child,
 * unmount a folder in whatever state it is (busy, or stale after its server
 * died), and clean up after servers that died (ferry_mount_reap, over the
 * registry's records). registry.c only keeps the records; it calls nothing
 * here.
 *
 * Why fork without exec: the job runner and `ferry mount` (background) both
 * need the server in its own process, so that it outlives nothing it should
 * not (die_with_parent uses PR_SET_PDEATHSIG) and so that a crash of the
 * command never takes the mount down with it; forking keeps the already
 * resolved store (credentials included) without putting them on a command
 * line. The child gets its own session, so Ctrl-C on the terminal reaches the
 * job's command and ferry, which then unmounts in order.
 *
 * Threads: these functions are called from one controlling thread; spawn must
 * run before the calling process starts threads.
 */
#include "fs/fs.h"
#include "fs/registry.h"
#include "core/files.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/openmetrics.h"
#include "core/strbuf.h"
#include "core/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* o->live: every field stored atomically (a reader in another process sees
 * each field whole; the set may mix two moments, and each field only grows
 * but cache_disk_bytes). */
static void publish(struct ferry_fs *fs, struct ferry_fs_counters *live)
{
	struct ferry_fs_counters c;
	ferry_fs_counters(fs, &c);
	const uint64_t *from = (const uint64_t *)&c;
	uint64_t *to = (uint64_t *)live;
	for (size_t i = 0; i < sizeof(c) / sizeof(uint64_t); i++)
		__atomic_store_n(&to[i], from[i], __ATOMIC_RELAXED);
}

/* The publisher: a thread of the server copying its counters to o->live
 * four times a second. Cheaper than any alternative that reaches the job's
 * sampler in another process: no file, no socket, no lock the FUSE threads
 * would see but the caches' own for the length of a struct copy. */
struct publisher {
	struct ferry_fs *fs;
	struct ferry_fs_counters *live;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop, started;
};

static void *publish_loop(void *arg)
{
	struct publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		pthread_mutex_unlock(&p->lock);
		publish(p->fs, p->live);
		pthread_mutex_lock(&p->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!p->stop)
			pthread_cond_timedwait(&p->wake, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void publisher_start(struct publisher *p, struct ferry_fs *fs, struct ferry_fs_counters *live)
{
	*p = (struct publisher){ .fs = fs, .live = live };
	if (!live)
		return;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->started = pthread_create(&p->thread, NULL, publish_loop, p) == 0;
}

/* Stop the thread, then publish the final figures. */
static void publisher_stop(struct publisher *p)
{
	if (!p->live)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	publish(p->fs, p->live);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	p->live = NULL;
}

/* /metrics of a standalone mount: its counters, read on each scrape. */
struct mount_metrics {
	struct ferry_fs *fs;
	const char *dir, *mode;
};

static double counter(const struct ferry_fs_counters *c, const char *key)
{
	static const struct { const char *key; size_t off; } map[] = {
		{ "read", offsetof(struct ferry_fs_counters, bytes_read) },
		{ "storage", offsetof(struct ferry_fs_counters, storage_bytes) },
		{ "requests", offsetof(struct ferry_fs_counters, requests) },
		{ "retries", offsetof(struct ferry_fs_counters, retries) },
		{ "errors", offsetof(struct ferry_fs_counters, read_errors) },
		{ "hits", offsetof(struct ferry_fs_counters, cache_hits) },
		{ "misses", offsetof(struct ferry_fs_counters, cache_misses) },
		{ "prefetched", offsetof(struct ferry_fs_counters, prefetched) },
		{ "prefetch_hits", offsetof(struct ferry_fs_counters, prefetch_used) },
		{ "opens", offsetof(struct ferry_fs_counters, opens) },
		{ "cache_disk", offsetof(struct ferry_fs_counters, cache_disk_bytes) },
	};
	if (!strcmp(key, "wait_s"))
		return (double)c->wait_us / 1e6;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(key, map[i].key))
			return (double)*(const uint64_t *)((const char *)c + map[i].off);
	return NAN; /* a figure a mount does not have (files) */
}

static int render_metrics(void *arg, const char *path, struct ferry_strbuf *body, const char **ctype)
{
	struct mount_metrics *m = arg;
	if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
		ferry_strbuf_adds(body, "not found: this server has /metrics only\n");
		return 404;
	}
	struct ferry_fs_counters c;
	ferry_fs_counters(m->fs, &c);
	const char *labels[] = { "mount", m->dir, "mode", m->mode, NULL };
	for (size_t i = 0; i < ferry_om_io_count; i++) {
		double v = counter(&c, ferry_om_io[i].key);
		if (isnan(v))
			continue;
		ferry_om_family(body, ferry_om_io[i].name, ferry_om_io[i].type, ferry_om_io[i].help);
		ferry_om_sample(body, ferry_om_io[i].name, labels, v);
	}
	*ctype = FERRY_OM_CONTENT_TYPE;
	return 200;
}

/* Serve /metrics when asked (o->metrics and FERRY_METRICS_ADDR); *httpd
 * stays NULL otherwise. A port that cannot be bound is an error. */
static int start_metrics(const struct ferry_mount_opts *o, struct ferry_fs *fs, struct mount_metrics *mm,
			 struct ferry_httpd **httpd, ferry_err *err)
{
	int64_t addr = o->metrics && o->settings->from_user[FS_METRICS_ADDR] ? ferry_setting_int(o->settings, FS_METRICS_ADDR)
									      : -1;
	mm->fs = fs;
	if (addr < 0)
		return 0;
	if (ferry_httpd_start((uint64_t)addr, render_metrics, mm, httpd, err) < 0)
		return -1;
	char where[32];
	ferry_addr_format(((uint64_t)addr & ~(uint64_t)0xffff) | (uint64_t)ferry_httpd_port(*httpd), where,
			  sizeof(where));
	ferry_info("mount %s: metrics at http://%s/metrics", o->dir, where);
	return 0;
}

int ferry_mount_serve(const struct ferry_mount_opts *o, int ready_fd, ferry_err *err)
{
	const char *dir = o->dir, *summary_file = o->summary_file;
	struct ferry_fs *fs = NULL;
	/* Registered before mounting, unregistered after unmounting: whenever
	 * this process may leave a mount behind, an entry says so. */
	int entry = -1;
	char abs[PATH_MAX];
	struct mount_metrics mm = { .dir = realpath(dir, abs) ? abs : dir, .mode = o->rw ? "rw_mount" : "ro_mount" };
	struct ferry_httpd *httpd = NULL;
	if ((o->home && (entry = ferry_mount_register(o->home, dir, o->cache_dir, err)) < 0) ||
	    ferry_fs_new(o, &fs, err) < 0 ||
	    ferry_fs_mount(fs, dir, err) < 0 || start_metrics(o, fs, &mm, &httpd, err) < 0) {
		ferry_fs_destroy(fs);
		ferry_mount_unregister(entry);
		if (ready_fd >= 0) {
			(void)ferry_write_all(ready_fd, err->msg, strlen(err->msg));
			close(ready_fd);
		}
		return -1;
	}
	ferry_settings_log(o->settings);
	if (ready_fd >= 0) {
		(void)ferry_write_all(ready_fd, "K", 1);
		close(ready_fd);
	}
	struct publisher pub;
	publisher_start(&pub, fs, o->live);
	int rc = ferry_fs_loop(fs);
	int urc = ferry_fs_finish_uploads(fs);
	publisher_stop(&pub);
	ferry_httpd_stop(httpd);
	char line[512];
	struct ferry_strbuf report = FERRY_STRBUF_INIT;
	ferry_fs_report(fs, &report, line, sizeof(line));
	const char *const *failed = NULL;
	size_t nfailed = ferry_fs_failed_uploads(fs, &failed);
	for (size_t i = 0; i < nfailed; i++)
		ferry_log(FERRY_LOG_ERROR, "mount: '%s' was written but is not in storage",
			  failed[i]);
	if (summary_file) {
		/* line 1: the summary; then the counters as NAME=VALUE lines;
		 * then one "NOT UPLOADED <path>" per file missing from storage.
		 * The file appears (rename) only once all of it is written. */
		struct ferry_fs_counters c;
		ferry_fs_counters(fs, &c);
		struct ferry_strbuf tmp = FERRY_STRBUF_INIT;
		FILE *f = ferry_strbuf_addf(&tmp, "%s.tmp", summary_file) == 0 ? fopen(tmp.buf, "we") : NULL;
		if (f) {
			fprintf(f, "%s\n", line);
			fprintf(f, "opens=%llu\nbytes_read=%llu\ncache_hits=%llu\ncache_misses=%llu\n"
				   "storage_bytes=%llu\nrequests=%llu\nretries=%llu\nread_errors=%llu\n"
				   "storage_wait_us=%llu\nprefetched=%llu\nprefetch_cancelled=%llu\n"
				   "random_switches=%llu\nranged_reads=%llu\nranged_bytes=%llu\n",
				(unsigned long long)c.opens, (unsigned long long)c.bytes_read,
				(unsigned long long)c.cache_hits, (unsigned long long)c.cache_misses,
				(unsigned long long)c.storage_bytes, (unsigned long long)c.requests,
				(unsigned long long)c.retries, (unsigned long long)c.read_errors,
				(unsigned long long)c.wait_us, (unsigned long long)c.prefetched,
				(unsigned long long)c.prefetch_cancelled, (unsigned long long)c.random_switches,
				(unsigned long long)c.ranged_reads, (unsigned long long)c.ranged_bytes);
			fprintf(f, "files_ahead=%llu\nfiles_ahead_used=%llu\nfiles_ahead_cancelled=%llu\n"
				   "lookups_from_listing=%llu\nstats_from_storage=%llu\n",
				(unsigned long long)c.files_ahead, (unsigned long long)c.files_ahead_used,
				(unsigned long long)c.files_ahead_cancelled, (unsigned long long)c.lookups_from_listing,
				(unsigned long long)c.stats_from_storage);
			for (size_t i = 0; i < nfailed; i++)
				fprintf(f, "NOT UPLOADED %s\n", failed[i]);
			if (fclose(f) == 0)
				rename(tmp.buf, summary_file);
		}
		ferry_strbuf_release(&tmp);
	}
	ferry_fs_destroy(fs);
	ferry_mount_unregister(entry);
	/* Logged last: a summary in the runtime log means this server has
	 * unmounted, emptied its caches and left the registry (the tests, and
	 * anyone reading the log, take it so). */
	for (char *l = report.buf, *nl; l && *l; l = nl + 1) {
		if (!(nl = strchr(l, '\n')))
			break;
		ferry_info("%.*s", (int)(nl - l), l);
	}
	ferry_strbuf_release(&report);
	if (rc < 0)
		return ferry_err_set(err, FERRY_E_IO, "the FUSE session of %s ended with an error", dir);
	if (urc < 0)
		return ferry_err_set(err, FERRY_E_IO, "%zu files written at %s are not in storage (see the log)",
				     nfailed, dir);
	return 0;
}

int ferry_mount_spawn(const struct ferry_mount_opts *o, pid_t *pid, ferry_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	pid_t c = fork();
	if (c < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return ferry_err_set(err, FERRY_E_IO, "fork: %s", strerror(e));
	}
	if (c == 0) {
		close(p[0]);
		setsid();
		if (o->die_with_parent) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(1);
		}
		ferry_stdio_devnull(); /* the terminal and the caller's pipes are the caller's */
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		ferry_err e;
		ferry_err_clear(&e);
		int rc = ferry_mount_serve(o, p[1], &e);
		if (rc < 0)
			ferry_log(FERRY_LOG_ERROR, "mount of %s: %s", o->dir, e.msg);
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	char msg[1024];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(p[0], msg + n, sizeof(msg) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(msg) - 1)
			break;
	}
	close(p[0]);
	msg[n] = '\0';
	if (n >= 1 && msg[0] == 'K' && n == 1) {
		*pid = c;
		return 0;
	}
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	return ferry_err_set(err, FERRY_E_IO, "%s", n ? msg : "the mount process ended before the mount was up");
}

/* Absolute form of `dir` into `out` (reset first) without touching `dir`
 * itself (a stale FUSE mount point fails every stat with ENOTCONN). 0, or -1
 * with errno. */
static int abs_dir(const char *dir, struct ferry_strbuf *out)
{
	char *tmp = strdup(dir), *parent = NULL;
	if (!tmp)
		return -1;
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *base = slash ? slash + 1 : tmp;
	if (slash == tmp)
		parent = strdup("/");
	else if (slash) {
		*slash = '\0';
		parent = realpath(tmp, NULL);
	} else
		parent = getcwd(NULL, 0);
	int rc = -1;
	ferry_strbuf_reset(out);
	if (parent && ferry_strbuf_addf(out, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base) == 0)
		rc = 0;
	else if (parent)
		errno = ENOMEM;
	int e = errno;
	free(parent);
	free(tmp);
	errno = e;
	return rc;
}

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

/* The mounts at `dir` in /proc/self/mountinfo: how many there are, and (when
 * fstype is not NULL) the type and source of the last, the top one, into
 * fstype and source (cap bytes each; "?" where the line lacks them). */
static int scan_mountinfo(const char *dir, char *fstype, char *source, size_t cap)
{
	struct ferry_strbuf want = FERRY_STRBUF_INIT;
	FILE *f = NULL;
	if (abs_dir(dir, &want) < 0 || !(f = fopen("/proc/self/mountinfo", "re"))) {
		ferry_strbuf_release(&want);
		return 0;
	}
	char line[3 * PATH_MAX];
	int found = 0;
	while ((fstype || !found) && fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mount-point options [optional...] - type source super-options */
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " \n", &save);
		if (!tok)
			continue;
		unescape(tok);
		if (strcmp(tok, want.buf))
			continue;
		found++;
		if (!fstype)
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)) && strcmp(tok, "-"))
			;
		char *type = tok ? strtok_r(NULL, " \n", &save) : NULL;
		char *src = type ? strtok_r(NULL, " \n", &save) : NULL;
		if (src)
			unescape(src);
		ferry_strlcpy(fstype, type ? type : "?", cap);
		ferry_strlcpy(source, src ? src : "?", cap);
	}
	fclose(f);
	ferry_strbuf_release(&want);
	return found;
}

int ferry_mount_is_mounted(const char *dir)
{
	return scan_mountinfo(dir, NULL, NULL, 0) > 0;
}

int ferry_mount_top(const char *dir, char *fstype, char *source, size_t cap)
{
	return scan_mountinfo(dir, fstype, source, cap) > 0;
}

static int run_fusermount(const char *flags, const char *dir)
{
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execlp("fusermount3", "fusermount3", flags, dir, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ferry_mount_unmount of the absolute folder `abs` (`dir` as the caller
 * named it, for messages). */
static int unmount_abs(const char *abs, const char *dir, unsigned timeout_s, ferry_err *err)
{
	if (!ferry_mount_is_mounted(abs))
		return ferry_err_set(err, FERRY_E_NOTFOUND, "%s is not a mount point", dir);
	double t0 = ferry_now();
	int root = geteuid() == 0;
	for (;;) {
		int ok = root ? umount2(abs, 0) == 0 : run_fusermount("-u", abs) == 0;
		if (ok || !ferry_mount_is_mounted(abs)) {
			ferry_info("unmounted %s", abs);
			return 0;
		}
		if (root && errno != EBUSY)
			break;
		if (ferry_now() - t0 >= (double)timeout_s)
			break;
		ferry_sleep_ms(100);
	}
	/* Busy past the timeout (or stale): detach now; the kernel finishes
	 * once the last open file is closed. */
	int ok = root ? umount2(abs, MNT_DETACH) == 0 : run_fusermount("-uz", abs) == 0;
	if (!ok && ferry_mount_is_mounted(abs))
		return ferry_err_set(err, FERRY_E_IO, "cannot unmount %s: %s", dir, strerror(errno));
	ferry_warn("%s was busy for %u s (DATASET_UNMOUNT_TIMEOUT_SECONDS); detached it lazily", abs,
		   timeout_s);
	return 0;
}

int ferry_mount_unmount(const char *dir, unsigned timeout_s, ferry_err *err)
{
	struct ferry_strbuf abs = FERRY_STRBUF_INIT;
	int rc = abs_dir(dir, &abs) < 0 ? ferry_err_set(err, FERRY_E_NOTFOUND, "%s: %s", dir, strerror(errno))
					: unmount_abs(abs.buf, dir, timeout_s, err);
	ferry_strbuf_release(&abs);
	return rc;
}

int ferry_mount_stop(pid_t pid, const char *dir, unsigned timeout_s, ferry_err *err)
{
	int st = 0, exited = 0;
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (long waited = 0; waited <= (long)timeout_s * 1000; waited += 50) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid || (w < 0 && errno == ECHILD)) {
				exited = 1;
				break;
			}
			ferry_sleep_ms(50);
		}
		if (!exited) {
			ferry_warn("mount server of %s did not stop within %u s "
				   "(DATASET_UNMOUNT_TIMEOUT_SECONDS); killing it",
				   dir, timeout_s);
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
		}
	}
	int rc = 0;
	if (ferry_mount_is_mounted(dir)) {
		struct ferry_strbuf abs = FERRY_STRBUF_INIT;
		if (abs_dir(dir, &abs) == 0 &&
		    (geteuid() == 0 ? umount2(abs.buf, MNT_DETACH) : run_fusermount("-uz", abs.buf)) != 0 &&
		    ferry_mount_is_mounted(dir))
			rc = ferry_err_set(err, FERRY_E_IO, "cannot unmount %s: %s", dir, strerror(errno));
		ferry_strbuf_release(&abs);
	}
	return rc;
}

/* Remove what a mount's caches may hold: files in cache/blocks and
 * cache/files (the layouts of src/cache), those folders, and the cache folder
 * itself when that leaves it empty. Nothing else: the folder may be the
 * user's --cache-dir. */
static void remove_cache(const char *cache)
{
	static const char *const subs[] = { "blocks", "files" };
	struct ferry_strbuf sub = FERRY_STRBUF_INIT;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		ferry_strbuf_reset(&sub);
		if (ferry_strbuf_addf(&sub, "%s/%s", cache, subs[i]) == 0)
			(void)ferry_rm_rf(sub.buf);
	}
	ferry_strbuf_release(&sub);
	rmdir(cache);
}

/* The clean-up after one dead server: its mount (also a stale one), then its cache. */
static void reap_dead(const struct ferry_mount_entry *e, void *arg)
{
	(void)arg;
	ferry_err err;
	ferry_err_clear(&err);
	int mounted = ferry_mount_is_mounted(e->dir);
	if (mounted && ferry_mount_unmount(e->dir, 0, &err) < 0)
		ferry_warn("mount server %s (started at tick %s) died; cannot unmount %s: %s", e->pid, e->start,
			   e->dir, err.msg);
	else if (mounted)
		ferry_warn("mount server %s died; unmounted its stale mount %s and removed its cache %s", e->pid,
			   e->dir, e->cache);
	else
		ferry_warn("mount server %s died; its mount %s was already gone; removed its cache %s", e->pid,
			   e->dir, e->cache);
	remove_cache(e->cache);
}

int ferry_mount_reap(const char *home)
{
	return ferry_mount_registry_reap(home, reap_dead, NULL);
}
