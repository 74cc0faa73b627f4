/*
 * sys.h — the process's view of time and chance: a monotonic clock for
 * durations, a short sleep, and random bytes for names.
 *
 * Threads: any thread; no shared state.
 */
#ifndef FERRY_SYS_H
#define FERRY_SYS_H

#include <stddef.h>

/* Seconds on CLOCK_MONOTONIC (from an arbitrary start; never jumps with the
 * wall clock): for durations and deadlines, never for dates. */
double ferry_now(void);
/* The same in milliseconds and microseconds. */
double ferry_now_ms(void);
double ferry_now_us(void);

/* Sleep `ms` milliseconds. A signal may cut it short: callers wait in a loop
 * that looks at the clock or the condition again. */
void ferry_sleep_ms(long ms);

/* Fill buf with n random bytes from the kernel (getrandom). Never fails nor
 * blocks: if the kernel cannot answer (or not yet, early at boot), the bytes
 * come from a mix of the time, the process id and a count of calls — unique
 * enough for names (job names, asset ids, temporary files), not secret.
 * Never use it for keys. */
void ferry_random_bytes(void *buf, size_t n);

/* Point stdin, stdout and stderr at /dev/null: a forked server or sampler
 * leaves the terminal and any pipe the caller reads to the caller. */
void ferry_stdio_devnull(void);

#endif
