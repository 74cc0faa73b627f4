/*
 * local.h — a folder of the local file system as a store (local paths and
 * the workspace's default datastore). Reads use pread; writes go to a
 * temporary name in the target folder and are renamed when complete.
 */
#ifndef FERRY_LOCAL_H
#define FERRY_LOCAL_H

#include "store/store.h"

/* A store rooted at the folder `root` (must exist). NULL with err otherwise. */
struct ferry_store *ferry_local_open(const char *root, int writable, const struct ferry_settings *settings,
				     struct ferry_stats *stats, ferry_err *err);

#endif
