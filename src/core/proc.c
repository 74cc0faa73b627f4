/*
 * proc.c — process hardening at start-up (see proc.h).
 */
#include "core/proc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

extern char **environ;

static const char *const secret_vars[] = { "AZURE_STORAGE_KEY",   "AZURE_STORAGE_CONNECTION_STRING",
					   "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_SECRET",
					   "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
					   "AZURE_ACCESS_TOKEN" };

int ferry_secret_env(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(secret_vars) / sizeof(secret_vars[0]); i++)
		if (strlen(secret_vars[i]) == len && !strncmp(name, secret_vars[i], len))
			return 1;
	return 0;
}

void ferry_proc_harden(void)
{
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	for (char **e = environ; e && *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq || !ferry_secret_env(*e, (size_t)(eq - *e)))
			continue;
		char *copy = strdup(*e);
		if (!copy)
			continue; /* keep it readable rather than lose it */
		/* The old string stays where the kernel put it (the block
		 * /proc/<pid>/environ reads): blank its value there. */
		char *old = *e;
		*e = copy;
		explicit_bzero(old + (eq - old) + 1, strlen(eq + 1));
	}
}
