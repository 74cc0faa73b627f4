/*
 * sandbox.c — the command's mount namespace and descriptors (see sandbox.h).
 */
#include "job/sandbox.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the child reports: one letter and its errno. */
enum { R_HIDDEN = 'H', R_UNSHARE = 'U', R_MAP = 'M', R_SLAVE = 'S', R_COVER = 'C', R_LOCK = 'L' };

#define NO_SECRETS "the workspace has no secrets folder"

static int sysctl_is_zero(const char *path)
{
	char buf[16] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int zero = fgets(buf, sizeof(buf), f) && buf[0] == '0' && (buf[1] == '\n' || !buf[1]);
	fclose(f);
	return zero;
}

int ferry_sandbox_prepare(struct ferry_sandbox *sb, const char *home)
{
	memset(sb, 0, sizeof(*sb));
	sb->report[0] = sb->report[1] = -1;
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s/secrets", home);
	if (!realpath(rel, sb->hide)) /* absolute: the child changes folder before mounting */
		snprintf(sb->hide, sizeof(sb->hide), "%s", rel);
	struct stat st;
	if (stat(sb->hide, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(sb->why_none, sizeof(sb->why_none), NO_SECRETS);
		return 0;
	}
	if (geteuid() == 0)
		sb->mode = FERRY_SANDBOX_ROOT;
	else if (sysctl_is_zero("/proc/sys/kernel/unprivileged_userns_clone"))
		snprintf(sb->why_none, sizeof(sb->why_none),
			 "not root, and unprivileged user namespaces are off (kernel.unprivileged_userns_clone=0)");
	else if (sysctl_is_zero("/proc/sys/user/max_user_namespaces"))
		snprintf(sb->why_none, sizeof(sb->why_none),
			 "not root, and user namespaces are off (user.max_user_namespaces=0)");
	else
		sb->mode = FERRY_SANDBOX_USERNS;
	snprintf(sb->uid_map, sizeof(sb->uid_map), "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
	snprintf(sb->gid_map, sizeof(sb->gid_map), "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
	if (sb->mode != FERRY_SANDBOX_NONE && pipe2(sb->report, O_CLOEXEC) < 0) {
		snprintf(sb->why_none, sizeof(sb->why_none), "no pipe to hear from the command's process: %s",
			 strerror(errno));
		sb->mode = FERRY_SANDBOX_NONE;
		sb->report[0] = sb->report[1] = -1;
		return -1;
	}
	return 0;
}

/* ---- in the child: async-signal-safe only ---- */

static void report(const struct ferry_sandbox *sb, char what, int err)
{
	char buf[1 + sizeof(int)];
	buf[0] = what;
	memcpy(buf + 1, &err, sizeof(int));
	if (write(sb->report[1], buf, sizeof(buf)) < 0) {
		/* the parent logs "no report" */
	}
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A user namespace (and a mount namespace it owns) where we keep our ids. */
static int enter_userns(const struct ferry_sandbox *sb, char *what)
{
	*what = R_UNSHARE;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	/* /proc/self/{uid,gid}_map of a non-dumpable process are root's: this
	 * child, about to execve the command (which makes it dumpable anyway),
	 * becomes dumpable to write them. Cores stay off (RLIMIT_CORE 0). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	*what = R_MAP;
	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	return write_file("/proc/self/uid_map", sb->uid_map) < 0 || write_file("/proc/self/gid_map", sb->gid_map) < 0
		       ? -1
		       : 0;
}

static int enter(const struct ferry_sandbox *sb, char *what)
{
	if (sb->mode == FERRY_SANDBOX_ROOT) {
		*what = R_UNSHARE;
		if (unshare(CLONE_NEWNS) < 0)
			return -1;
	} else if (enter_userns(sb, what) < 0)
		return -1;
	*what = R_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return -1;
	*what = R_COVER;
	if (mount("ferry-hidden", sb->hide, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=0500") < 0)
		return -1;
	/* Lock the cover: from a less privileged (nested) user namespace, the
	 * mounts it received cannot be taken apart. */
	if (sb->mode == FERRY_SANDBOX_USERNS && enter_userns(sb, what) < 0) {
		*what = R_LOCK;
		return -1;
	}
	return 0;
}

static void close_from(int lo, int hi)
{
	if (lo > hi)
		return;
	if (close_range((unsigned)lo, (unsigned)hi, 0) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (int fd = lo; fd <= hi && fd < max; fd++)
		close(fd);
}

void ferry_sandbox_child(const struct ferry_sandbox *sb)
{
	if (sb->mode != FERRY_SANDBOX_NONE) {
		char what = 0;
		if (enter(sb, &what) < 0)
			report(sb, what, errno);
		else
			report(sb, R_HIDDEN, 0);
	}
	int keep = sb->report[1]; /* close-on-exec: gone at execve */
	if (keep > 2) {
		close_from(3, keep - 1);
		close_from(keep + 1, 0x7fffffff);
	} else
		close_from(3, 0x7fffffff);
}

/* ---- in the parent ---- */

void ferry_sandbox_parent(struct ferry_sandbox *sb, pid_t pid)
{
	if (sb->report[1] >= 0)
		close(sb->report[1]);
	sb->report[1] = -1;
	if (sb->mode == FERRY_SANDBOX_NONE) {
		if (!strcmp(sb->why_none, NO_SECRETS))
			ferry_info("command: %s does not exist; nothing to hide from it", sb->hide);
		else
			ferry_info("note: the command is not kept from %s: %s (threat model: docs/architecture.md)",
				   sb->hide, sb->why_none);
		return;
	}
	char buf[1 + sizeof(int)] = { 0 };
	ssize_t n = 0;
	if (pid > 0)
		while ((n = read(sb->report[0], buf, sizeof(buf))) < 0 && errno == EINTR)
			;
	close(sb->report[0]);
	sb->report[0] = -1;
	if (pid <= 0)
		return;
	int e = 0;
	if (n == (ssize_t)sizeof(buf))
		memcpy(&e, buf + 1, sizeof(int));
	const char *how = sb->mode == FERRY_SANDBOX_ROOT ? "a private mount namespace"
							 : "a private user and mount namespace";
	static const struct {
		char what;
		const char *step;
	} steps[] = { { R_UNSHARE, "unshare" },
		      { R_MAP, "mapping its uid and gid" },
		      { R_SLAVE, "making its mounts slaves" },
		      { R_COVER, "mounting an empty read-only tmpfs over the folder" },
		      { R_LOCK, "locking the cover in a nested user namespace" } };
	if (n == (ssize_t)sizeof(buf) && buf[0] == R_HIDDEN) {
		ferry_info("command: %s is hidden from it (%s, an empty read-only tmpfs over it)", sb->hide, how);
		return;
	}
	const char *step = "no report from the child";
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (n == (ssize_t)sizeof(buf) && steps[i].what == buf[0])
			step = steps[i].step;
	ferry_info("note: the command is not kept from %s: %s failed (%s)%s%s (threat model: docs/architecture.md)",
		   sb->hide, how, step, e ? ": " : "", e ? strerror(e) : "");
}
