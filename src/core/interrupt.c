/* interrupt.c — the stop flag set by SIGINT/SIGTERM (see interrupt.h). */
#include "core/interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	if (stop_signal) { /* second signal: stop now */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
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
