/*
 * registry.h — the records of a workspace's live mounts, so that a mount
 * whose server was killed (SIGKILL, OOM, a crash) is found, and cleaned up
 * (ferry_mount_reap, fs.h), by the next `ferry` start.
 *
 * Each mount server keeps one entry file in <home>/mounts/ for as long as it
 * serves: its pid, start time, mount folder and cache folder, and an
 * exclusive flock(2) on the file held by the server itself. The kernel drops
 * that lock the moment the server dies, however it dies, so "the lock can be
 * taken" means exactly "the server is gone" — no pid comparison can be
 * fooled by a reused pid (the pid and start time are recorded for the log).
 *
 * Threads: call from one thread of a process. Several processes may register
 * and reap in the same workspace at once: an entry is handed over by whoever
 * takes its lock first; the others see it unlinked and skip it.
 */
#ifndef FERRY_FS_REGISTRY_H
#define FERRY_FS_REGISTRY_H

#include "core/err.h"

/* Record that this process serves a mount at `dir` with caches in
 * `cache_dir`, in <home>/mounts/ (created 0700). Returns a handle (an open
 * file descriptor holding the lock; >= 0) for ferry_mount_unregister, or -1
 * with err. The descriptor is close-on-exec; a forked child that does not exec
 * must not outlive the caller while holding it. */
int ferry_mount_register(const char *home, const char *dir, const char *cache_dir, ferry_err *err);

/* Drop the entry of a handle from ferry_mount_register (after unmounting and
 * removing the cache). Safe with -1. */
void ferry_mount_unregister(int handle);

/* An entry whose server died (fields as recorded; valid during the call). */
struct ferry_mount_entry {
	const char *pid, *start; /* decimal, for messages */
	const char *dir;         /* the mount folder (absolute) */
	const char *cache;       /* its cache folder (absolute) */
};
typedef void (*ferry_mount_cleanup_fn)(const struct ferry_mount_entry *e, void *arg);

/*
 * For every entry of <home>/mounts/ whose server died, call `cleanup` while
 * holding the entry's lock, then drop the entry. Costs one opendir when
 * <home>/mounts is empty or absent. Returns how many entries were handed
 * over. (ferry_mount_reap in fs.h is the caller that unmounts and removes
 * caches: the mount lifecycle is mount.c's, this file only keeps records.)
 */
int ferry_mount_registry_reap(const char *home, ferry_mount_cleanup_fn cleanup, void *arg);

#endif
