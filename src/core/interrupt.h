/*
 * interrupt.h — Ctrl-C and SIGTERM during a transfer.
 *
 * The first SIGINT/SIGTERM sets a process-wide flag; transfers notice it
 * (libcurl's progress callback aborts the request, retry waits end, local
 * copies stop between chunks), the pool stops, temporary files are removed,
 * and the command exits 130 (SIGINT) or 143 (SIGTERM). The same signal again
 * within a second is the same request (supervisors such as `timeout` deliver
 * it to the process and to its group); a later one prints a line on stderr
 * and kills the process at once. Async-signal-safe; readable from any thread.
 */
#ifndef FERRY_INTERRUPT_H
#define FERRY_INTERRUPT_H

/* Install the handlers (CLI only). */
void ferry_interrupt_install(void);

/* 0, or the number of the signal that asked ferry to stop. */
int ferry_interrupted(void);

/* Ask ferry to stop as if `sig` had arrived (the job runner forwards its own). */
void ferry_interrupt_raise(int sig);

#endif
