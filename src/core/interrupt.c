/* interrupt.c — the stop flag set by SIGINT/SIGTERM (see interrupt.h). */
#include "core/interrupt.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;
static struct timespec first_at; /* when stop_signal was set */

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void on_signal(int sig)
{
	if (!stop_signal) {
		clock_gettime(CLOCK_MONOTONIC, &first_at); /* async-signal-safe */
		stop_signal = sig;
		return;
	}
	/* One Ctrl-C often arrives twice: `timeout` and other supervisors
	 * send it to the child and to its process group. A repeat within a
	 * second is that same request, not a second one. */
	if (ms_since(&first_at) < 1000)
		return;
	/* A second request: stop now, but never silently. */
	static const char msg[] = "ferry: interrupted again: stopping at once (temporary "
				  "files and unfinished uploads may be left)\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

void ferry_interrupt_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int ferry_interrupted(void)
{
	return stop_signal;
}

void ferry_interrupt_raise(int sig)
{
	if (!stop_signal)
		stop_signal = sig;
}
