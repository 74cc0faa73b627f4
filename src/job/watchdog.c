/*
 * watchdog.c — the process that stops a job's command when `ferry run` dies
 * (see watchdog.h).
 */
#include "job/watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define MAX_GROUPS 1024

/* Sleep `ms` milliseconds (async-signal-safe). */
static void nap(int ms)
{
	(void)poll(NULL, 0, ms);
}

static int any_alive(const pid_t *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kill(-g[i], 0) == 0)
			return 1;
	return 0;
}

static void say(const char *a, pid_t pgid)
{
	char num[16];
	size_t k = sizeof(num);
	unsigned v = (unsigned)pgid;
	do
		num[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	ssize_t w = write(2, a, strlen(a));
	w = write(2, num + k, sizeof(num) - k);
	w = write(2, "\n", 1);
	(void)w;
}

/* The watchdog itself: only async-signal-safe calls (it is forked from a
 * process that may have threads). Never returns. */
static void watch(int fd, unsigned grace_ms)
{
	pid_t g[MAX_GROUPS];
	size_t n = 0;
	int bye = 0;
	for (;;) {
		int32_t v;
		ssize_t r = read(fd, &v, sizeof(v));
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(v))
			break; /* EOF: the runner is gone (4-byte writes to a pipe are whole) */
		if (v == 0)
			bye = 1;
		else if (v > 0 && n < MAX_GROUPS)
			g[n++] = v;
		else if (v < 0)
			for (size_t i = 0; i < n; i++)
				if (g[i] == -v) {
					g[i] = g[--n];
					break;
				}
	}
	if (bye || !n)
		_exit(0);
	for (size_t i = 0; i < n; i++) {
		say("ferry: ferry run died; stopping its command, process group ", g[i]);
		kill(-g[i], SIGTERM);
	}
	for (unsigned t = 0; t < grace_ms && any_alive(g, n); t += 100)
		nap(100);
	for (size_t i = 0; i < n; i++)
		kill(-g[i], SIGKILL);
	_exit(0);
}

int ferry_watchdog_start(struct ferry_watchdog *wd, unsigned grace_ms)
{
	wd->pid = -1;
	wd->fd = -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		close(p[1]); /* EOF must come when the runner's copy closes */
		setpgid(0, 0);
		struct sigaction ign = { 0 };
		ign.sa_handler = SIG_IGN;
		sigaction(SIGINT, &ign, NULL);
		sigaction(SIGHUP, &ign, NULL);
		sigaction(SIGPIPE, &ign, NULL);
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &dfl, NULL);
		prctl(PR_SET_NAME, "ferry-watchdog", 0, 0, 0);
		/* keep 0-2 and the read end (moved to 3) only */
		int rd = p[0] == 3 ? 3 : dup2(p[0], 3);
		if (rd != 3)
			_exit(1);
		close_range(4, ~0U, 0);
		watch(3, grace_ms);
	}
	close(p[0]);
	wd->pid = pid;
	wd->fd = p[1];
	return 0;
}

static void send_value(struct ferry_watchdog *wd, int32_t v)
{
	if (wd->fd < 0)
		return;
	ssize_t w;
	while ((w = write(wd->fd, &v, sizeof(v))) < 0 && errno == EINTR)
		;
}

void ferry_watchdog_watch(struct ferry_watchdog *wd, pid_t pgid)
{
	if (pgid > 0)
		send_value(wd, (int32_t)pgid);
}

void ferry_watchdog_forget(struct ferry_watchdog *wd, pid_t pgid)
{
	if (pgid > 0)
		send_value(wd, -(int32_t)pgid);
}

void ferry_watchdog_stop(struct ferry_watchdog *wd)
{
	if (wd->pid <= 0)
		return;
	send_value(wd, 0);
	close(wd->fd);
	wd->fd = -1;
	while (waitpid(wd->pid, NULL, 0) < 0 && errno == EINTR)
		;
	wd->pid = -1;
}
