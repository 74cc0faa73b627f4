/*
 * shell.c — owns the choice of the shell a job's command runs in (shell.h).
 */
#include "job/shell.h"
#include "core/log.h"

#include <unistd.h>

const char *ferry_job_shell(void)
{
	if (access("/bin/bash", X_OK) == 0)
		return "/bin/bash";
	ferry_warn("/bin/bash is absent: the command runs with /bin/sh -c (bash-only syntax "
		   "such as `source` or arrays will fail)");
	return "/bin/sh";
}
