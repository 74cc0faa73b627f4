/*
 * proc.h — what every ferry process does first to keep credentials out of
 * reach of other processes of the same user (the job's command above all):
 * see "Threat model" in docs/architecture.md.
 */
#ifndef FERRY_CORE_PROC_H
#define FERRY_CORE_PROC_H

#include <stddef.h>

/*
 * Call first thing in main(), before any thread or getenv of a credential:
 *  - prctl(PR_SET_DUMPABLE, 0): /proc/<pid>/{environ,mem,maps,fd} become
 *    root's, so another process of the same (non-root) user cannot read them
 *    nor ptrace ferry; the kernel writes no core file. Inherited by the mount
 *    servers ferry forks; reset by execve of another program (the command).
 *  - RLIMIT_CORE 0 (soft and hard): no core file even where a core pattern
 *    pipes dumps to a helper. Also inherited — the command of a job starts
 *    with cores off (it may raise the soft limit back to the hard one: 0).
 *  - each credential variable (ferry_secret_env) is moved to the heap and its
 *    value overwritten with NULs in the process's original environment block,
 *    the bytes /proc/<pid>/environ shows; getenv() still returns the value.
 * Never fails; a step the kernel refuses is skipped.
 */
void ferry_proc_harden(void);

/* 1 if the variable `name` (its first `len` bytes) carries a storage or
 * identity credential that the job's command never receives and ferry
 * scrubs from its environment block: AZURE_STORAGE_KEY,
 * AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN, AZURE_CLIENT_SECRET,
 * AZURE_ACCESS_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. */
int ferry_secret_env(const char *name, size_t len);

#endif
