/*
 * shell.h — which shell runs a job's command.
 *
 * Azure ML's images run the command with bash (`source`, arrays, `[[`), so
 * ferry does too: /bin/bash -c, and /bin/sh -c only where no executable
 * /bin/bash exists, said once as a warning in the runtime log and on stderr.
 */
#ifndef FERRY_JOB_SHELL_H
#define FERRY_JOB_SHELL_H

/* The shell's path ("/bin/bash", else "/bin/sh"; static storage). Warns
 * when it falls back to sh. Call before fork (it logs). Thread-safe. */
const char *ferry_job_shell(void);

#endif
