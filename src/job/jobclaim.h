/*
 * jobclaim.h — the claim on a job's name, the liveness lock of the `ferry run`
 * that runs it, and the reaper that fails the jobs of a ferry that was killed.
 *
 * Claim: the job folder <home>/jobs/<name> is created with one mkdir(2),
 * which succeeds for exactly one of several `ferry run --name same` started at
 * once; the loser fails before anything runs and never touches the folder.
 *
 * Liveness: while it runs a job, ferry holds a write lock (fcntl F_SETLK) on
 * <home>/running/<name>. A POSIX record lock belongs to the process: it is not
 * inherited by the mount servers ferry forks (an flock(2) would be, and a
 * server that outlived a killed ferry would keep the job looking alive), and
 * the kernel drops it the moment ferry dies, however it dies. The entry is
 * written under a temporary name, locked, then renamed into place, so a reaper
 * never sees an unlocked entry of a live run.
 *
 * Reaping (every ferry start, after the mount reaper): an entry whose lock can
 * be taken belongs to a ferry that is gone. Its job, if still recorded as
 * Running (or never recorded), becomes Failed with the reason "ferry was
 * killed" in `ferry job show`'s log and on stderr; the temporaries it left in
 * the job folder (core/tmpname.h: the download's .part files) are removed;
 * the entry is dropped. A finished run records its end before it drops its
 * entry, so a reaper that wins the lock of a run that just ended sees the
 * entry unlinked (st_nlink 0) and leaves the job alone.
 *
 * Threads: call from one thread. Several processes may reap at once: each
 * entry is cleaned by whoever takes its lock first.
 */
#ifndef FERRY_JOB_JOBCLAIM_H
#define FERRY_JOB_JOBCLAIM_H

#include "core/err.h"

/* Claim job `name` in <home>: create <home>/jobs/<name> (its parents as
 * needed) with mkdir(2), then take the liveness lock. Returns a handle (>= 0,
 * a close-on-exec descriptor) for ferry_job_release, or -1 with err:
 * FERRY_E_INVALID naming the job when the folder exists already (another run
 * holds or held that name), FERRY_E_IO otherwise. */
int ferry_job_claim(const char *home, const char *name, ferry_err *err);

/* Drop the liveness entry of a handle from ferry_job_claim, after the job's
 * final status is recorded. The job folder stays. Safe with -1. */
void ferry_job_release(int handle);

/* Fail the jobs of every `ferry run` of <home> that died, and remove their
 * temporaries; one warning line each. Costs one opendir when none ran.
 * Returns how many jobs were reaped. */
int ferry_job_reap(const char *home);

#endif
