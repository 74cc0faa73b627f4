/*
 * tmpname.h — short temporary names for files written before they are
 * published under their final name (downloads, local-store writes).
 *
 * A temporary lives in the final file's folder (so the publishing rename(2)
 * is atomic and never crosses a file system) and is named
 * ".ferry-<16 hex>.part" whatever the final name is: a final name may be as
 * long as the file system allows (255 bytes) and still have a temporary.
 * `ferry run`'s start-up reaper (job/reap.h) removes such files left behind
 * by a killed job.
 */
#ifndef FERRY_CORE_TMPNAME_H
#define FERRY_CORE_TMPNAME_H

#include <stddef.h>

#define FERRY_TMP_PREFIX ".ferry-"
#define FERRY_TMP_SUFFIX ".part"

/* The temporary for `final` ("dir/name" or "name"): "dir/.ferry-<hex>.part"
 * in a new malloc'd string (NULL when out of memory). The 64 random bits come
 * from getrandom(2) (a counter mixed with the pid and time if that fails), so
 * names from concurrent threads and processes do not collide. Thread-safe. */
char *ferry_tmp_name(const char *final);

/* 1 if `base` (a file name without folder) has the form ferry_tmp_name gives. */
int ferry_is_tmp_name(const char *base);

#endif
