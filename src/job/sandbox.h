/*
 * sandbox.h — what stands between a job's command and ferry's credentials,
 * applied where the command is started (fork, then these calls, then execve):
 *
 *  - a private mount namespace in which <home>/secrets (every datastore key,
 *    SAS and client secret) is covered by an empty read-only tmpfs. As root:
 *    unshare(CLONE_NEWNS). Otherwise, where the kernel allows unprivileged user
 *    namespaces: a user namespace mapping only the caller's own uid and gid
 *    (the command keeps its identity and files), then a second, nested one, so
 *    that the cover is locked in place (a mount made in a more privileged
 *    namespace cannot be unmounted from a less privileged one). Mounts are made
 *    slaves (MS_REC|MS_SLAVE): nothing the command mounts reaches ferry, and
 *    where ferry's mounts are shared, their unmounting reaches the command.
 *    The job's FUSE mounts, made before, are there as before.
 *  - every descriptor above 2 closed (the runtime log, libcurl's sockets, lock
 *    files: whatever a library opened without close-on-exec).
 *
 * What it cannot do, and the log says so: cover the folder where neither way
 * works (no CAP_SYS_ADMIN in a container, user namespaces off); stop a root
 * command, which may unmount the cover or read ferry's memory. See "Threat
 * model" in docs/architecture.md.
 */
#ifndef FERRY_JOB_SANDBOX_H
#define FERRY_JOB_SANDBOX_H

#include <limits.h>
#include <sys/types.h>

enum ferry_sandbox_mode {
	FERRY_SANDBOX_NONE,  /* nothing to hide, or no way to hide it */
	FERRY_SANDBOX_ROOT,  /* unshare(CLONE_NEWNS) */
	FERRY_SANDBOX_USERNS /* unshare(CLONE_NEWUSER | CLONE_NEWNS), twice */
};

struct ferry_sandbox {
	enum ferry_sandbox_mode mode;
	char hide[PATH_MAX];  /* the folder to cover */
	char uid_map[64], gid_map[64];
	int report[2];        /* child -> parent: how the namespace went */
	char why_none[256];   /* mode NONE: why */
};

/* Before fork: decide how the command of a job in workspace `home` is to be
 * confined (no system call that changes anything). Opens the report pipe
 * (close-on-exec). Returns 0, or -1 when no pipe could be made (then
 * sb->mode is NONE and the calls below still work). */
int ferry_sandbox_prepare(struct ferry_sandbox *sb, const char *home);

/* In the forked child, just before execve: async-signal-safe (no malloc, no
 * stdio). Enters the namespace (a failure is reported to the parent and the
 * command runs without it), then closes every descriptor above 2 but the
 * close-on-exec report pipe. */
void ferry_sandbox_child(const struct ferry_sandbox *sb);

/* In the parent, right after fork (pid > 0) or after a failed fork (pid < 0):
 * reads what the child reported (it reports before its execve) and logs one
 * line: the secrets folder hidden, or why not. Closes the pipe. */
void ferry_sandbox_parent(struct ferry_sandbox *sb, pid_t pid);

#endif
