/*
 * workdir.h — the folder a job's command runs in, as on Azure ML:
 *
 *  - a snapshot copy of `code:` (or of the job file's folder), made under
 *    <job folder>/exe/wd before the command starts, so that the command never
 *    writes into the user's source tree. `.git` folders and ferry's own
 *    workspace are left out; a
 *    symbolic link is copied as a link; anything else (sockets, devices) is
 *    skipped with a log line;
 *  - ./outputs and ./logs created in it;
 *  - after the command (whatever its exit status), what it left in ./outputs
 *    and ./logs is uploaded as the job's artifacts to
 *    azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.<job>/
 *    {outputs,logs}/ (the default datastore, Azure's artifact layout), read
 *    back by `ferry job download`. The snapshot is then removed; it stays
 *    when an upload failed, and the error says where.
 *
 * Threads: call from one thread.
 */
#ifndef FERRY_JOB_WORKDIR_H
#define FERRY_JOB_WORKDIR_H

#include "core/err.h"
#include "resolve/resolve.h"
#include "transfer/transfer.h"

#include <stddef.h>

/* The artifacts folder of job `job`: "azureml://.../ExperimentRun/dcid.<job>/". */
void ferry_workdir_artifacts_uri(const char *job, char *buf, size_t cap);

/* Copy the folder `src` to <jobdir>/exe/wd, leaving out the folder `home`
 * (ferry's workspace, may be NULL) when it lies inside, and create outputs/
 * and logs/ in it. *wd (malloc'd) is the copy. Returns 0, or -1 with err
 * (nothing of `src` is ever modified). Warns above 300 MiB. */
int ferry_workdir_snapshot(const char *src, const char *jobdir, const char *home, char **wd,
			   ferry_err *err);

/* Upload <wd>/outputs and <wd>/logs (when not empty) to the artifacts of
 * `job`, saying so in one line on stderr; then remove `wd`. Returns 0, or
 * -1 with err naming the folder kept. */
int ferry_workdir_finish(struct ferry_ctx *ctx, const char *wd, const char *job, ferry_err *err);

#endif
