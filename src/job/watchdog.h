/*
 * watchdog.h — a job's command does not outlive `ferry run`: a small process
 * forked before the command watches the runner and, when it dies without
 * saying goodbye (SIGKILL, a crash, the OOM killer: any death), stops the
 * command's process groups — SIGTERM, then SIGKILL after a grace — so that
 * nothing keeps running with GPUs held and the job's mounts gone.
 *
 * How it knows: it holds the read end of a pipe whose only write end is the
 * runner's (close-on-exec, so the command never has it); every thread of the
 * runner dying closes it, and EOF without the goodbye is the runner's death.
 * Unlike PR_SET_PDEATHSIG, which fires when the forking *thread* exits and
 * reaches one process, this sees the whole runner and stops whole process
 * groups. The watchdog leaves the runner's process group (a signal to that
 * group does not take it down with the runner), ignores SIGINT and SIGHUP
 * (Ctrl-C is the runner's to handle) and keeps no descriptor but 0-2 and its
 * pipe (no lock, log or socket of the runner stays held by it).
 *
 * Threads: call from one thread; start forks, so call it where no other
 * thread runs across the fork (the runner pauses its samplers there).
 */
#ifndef FERRY_JOB_WATCHDOG_H
#define FERRY_JOB_WATCHDOG_H

#include <sys/types.h>

struct ferry_watchdog {
	pid_t pid; /* the watchdog process, or -1 when none runs */
	int fd;    /* the write end of its pipe, or -1 */
};

/* Fork the watchdog; `grace_ms` is how long it waits between SIGTERM and
 * SIGKILL. Returns 0, or -1 with errno (wd->pid is then -1 and the other
 * calls do nothing: the job runs unwatched, as before). */
int ferry_watchdog_start(struct ferry_watchdog *wd, unsigned grace_ms);
/* Watch process group `pgid` (a command's, pgid > 0) / stop watching it
 * (once it was reaped: its number may be reused). */
void ferry_watchdog_watch(struct ferry_watchdog *wd, pid_t pgid);
void ferry_watchdog_forget(struct ferry_watchdog *wd, pid_t pgid);
/* Goodbye: the watchdog exits without signalling anything; reaped here. */
void ferry_watchdog_stop(struct ferry_watchdog *wd);

#endif
