/*
 * jobclaim.c — job-name claims, liveness locks and the reaper of jobs whose
 * ferry was killed (see jobclaim.h).
 *
 * An entry <home>/running/<name> holds "<pid>\n" (for the log) and the write
 * lock of the ferry that runs job <name>.
 */
#include "job/jobclaim.h"
#include "core/files.h"
#include "core/log.h"
#include "core/tmpname.h"
#include "job/follow.h"
#include "workspace/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Take the write lock on `fd` without waiting: 0, or -1 when another process holds it. */
static int try_lock(int fd)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	return fcntl(fd, F_SETLK, &l);
}

static int mkdir_ok(const char *path, mode_t mode)
{
	return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -1;
}

int ferry_job_claim(const char *home, const char *name, ferry_err *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX], entry[PATH_MAX];
	if (strlen(home) + strlen(name) + 32 > sizeof(dir))
		return ferry_err_set(err, FERRY_E_INVALID, "job '%s': the workspace path %s is too long", name, home);
	snprintf(dir, sizeof(dir), "%s/jobs", home);
	if (mkdir_ok(dir, 0755) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/jobs/%s", home, name);
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "a job named '%s' already exists in %s (or another ferry run is starting it "
					     "now); choose another with --name",
					     name, home);
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", dir, strerror(errno));
	}
	snprintf(dir, sizeof(dir), "%s/running", home);
	if (mkdir_ok(dir, 0700) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s", dir, strerror(errno));
	if (snprintf(tmp, sizeof(tmp), "%s/.%d.tmp", dir, (int)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(entry, sizeof(entry), "%s/%s", dir, name) >= (int)sizeof(entry))
		return ferry_err_set(err, FERRY_E_INVALID, "job '%s': the workspace path %s is too long", name, home);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot create %s: %s", tmp, strerror(errno));
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (try_lock(fd) < 0 || ferry_write_all(fd, pid, (size_t)n) < 0 || rename(tmp, entry) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot record the running job in %s: %s", dir, strerror(e));
	}
	return fd;
}

void ferry_job_release(int handle)
{
	ferry_unlink_fd(handle);
}

static int removed_tmp;

static int rm_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_F && S_ISREG(st->st_mode) && ferry_is_tmp_name(path + ftw->base) && unlink(path) == 0)
		removed_tmp++;
	return 0;
}

/* Append the reason to the job's runtime log, where `ferry job show` points. */
static void log_to_job(const char *jobdir, const char *line)
{
	char path[PATH_MAX + 64], ts[40];
	snprintf(path, sizeof(path), "%s/logs/system_logs/data_capability/rslex.log", jobdir);
	FILE *f = fopen(path, "ae");
	if (!f)
		return;
	ferry_log_timestamp(ts, sizeof(ts));
	fprintf(f, "%s ERROR %s\n", ts, line);
	fclose(f);
}

/* Fail job `name` (still Running, or never recorded) and remove its temporaries.
 * A job handed to Slurm is not failed: it runs on the cluster whatever became
 * of the ferry that submitted and followed it, and its nodes may be writing
 * temporaries in its folder right now; it is left as a detached job is, for
 * `ferry job stream|show|cancel` to reconcile with Slurm. */
static void fail_job(const char *home, const char *name, const char *pid)
{
	char jobdir[PATH_MAX], id[32];
	snprintf(jobdir, sizeof(jobdir), "%s/jobs/%s", home, name);
	if (ferry_follow_is_slurm(jobdir, id, sizeof(id), NULL, 0)) {
		char line[PATH_MAX + 256];
		snprintf(line, sizeof(line),
			 "job %s: the ferry that followed it (pid %s) was killed; Slurm job %s goes on: follow it "
			 "with `ferry job stream %s`, stop it with `ferry job cancel %s`",
			 name, pid, id, name, name);
		log_to_job(jobdir, line);
		ferry_warn("%s", line);
		return;
	}
	struct ferry_ws *ws = NULL;
	ferry_err e;
	ferry_err_clear(&e);
	if (ferry_ws_open(home, &ws, &e) < 0) {
		ferry_warn("job %s: its ferry (pid %s) was killed, but the registry cannot be opened: %s", name, pid,
			   e.msg);
		return;
	}
	struct ferry_job_record rec;
	int got = ferry_ws_job_get(ws, name, &rec, &e);
	if (got == 0 && rec.status && strcmp(rec.status, "Running") && strcmp(rec.status, "Queued")) {
		ferry_job_record_free(&rec); /* it ended before ferry died */
		ferry_ws_close(ws);
		return;
	}
	if (got < 0) { /* killed before its first record */
		memset(&rec, 0, sizeof(rec));
		rec.name = strdup(name);
		rec.folder = strdup(jobdir);
	}
	char ts[40];
	ferry_log_timestamp(ts, sizeof(ts));
	free(rec.status);
	free(rec.end_time);
	rec.status = strdup("Failed");
	rec.end_time = strdup(ts);
	rec.has_exit_code = 0;
	if (ferry_ws_job_put(ws, &rec, &e) < 0)
		ferry_warn("job %s: cannot record it as Failed: %s", name, e.msg);
	ferry_job_record_free(&rec);
	ferry_ws_close(ws);
	removed_tmp = 0;
	/* FTW_MOUNT: never into a mount left in the job folder (the mount
	 * reaper has run first; a live foreign mount is not ours to touch). */
	nftw(jobdir, rm_tmp, 16, FTW_PHYS | FTW_MOUNT);
	char line[PATH_MAX + 256];
	int w = snprintf(line, sizeof(line),
		 "job %s: ferry was killed while it ran (pid %s); marked Failed, removed %d temporary file%s "
		 "from %s",
		 name, pid, removed_tmp, removed_tmp == 1 ? "" : "s", jobdir);
	if (w >= (int)sizeof(line)) /* a very long path: the line is cut, not lost */
		line[sizeof(line) - 1] = '\0';
	log_to_job(jobdir, line);
	ferry_warn("%s", line);
}

/* Reap the entry `name` in `dir` if its ferry is gone: 1 reaped, else 0. */
static int reap_one(const char *home, const char *dir, const char *name)
{
	char path[PATH_MAX + 300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	struct stat st;
	if (try_lock(fd) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close(fd); /* alive, or already reaped / released */
		return 0;
	}
	char pid[32] = "?";
	ssize_t n = read(fd, pid, sizeof(pid) - 1);
	if (n > 0) {
		pid[n] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
	} else
		snprintf(pid, sizeof(pid), "?");
	fail_job(home, name, pid);
	unlink(path);
	close(fd);
	return 1;
}

int ferry_job_reap(const char *home)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/running", home);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int reaped = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			reaped += reap_one(home, dir, de->d_name);
	closedir(d);
	return reaped;
}
