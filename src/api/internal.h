/*
 * internal.h — what the files of src/api/ share and bindings do not see: the
 * context's layout (api.c opens it; mltable.c evaluates tables with it).
 */
#ifndef FERRY_API_INTERNAL_H
#define FERRY_API_INTERNAL_H

#include "resolve/resolve.h"

struct ferry_api {
	struct ferry_ctx ctx;
};

struct ferry_api_entry;

/* ferry_api_list's folder listing of `path` in store s (entries appended to
 * *out, *n counting them; free with ferry_api_entries_free). */
int ferry_api_store_list(struct ferry_store *s, const char *path, int recursive, struct ferry_api_entry **out,
			 size_t *n, ferry_err *err);
/* ferry_api_read on a store already resolved (`uri` names it in errors). */
int64_t ferry_api_store_read(struct ferry_store *s, const char *path, const char *uri, uint64_t off, uint64_t len,
			     void *buf, ferry_err *err);

/* resolve (api.c) of `uri` for reading: *store and *path (malloc'd) to free. */
int ferry_api_resolve(struct ferry_api *api, const char *uri, struct ferry_store **store, char **path,
		      ferry_err *err);
/* A read without a stat first got no bytes (it failed with err): 0 when that
 * is an empty answer (a range at or past the end, len 0 of a file), else -1
 * with err saying why ("is a folder", the read's own error). api.c. */
int ferry_api_why_no_bytes(struct ferry_store *s, const char *path, const char *uri, uint64_t off, uint64_t len,
			   ferry_err *err);

/* Run fn(arg) on n threads (n >= 1): the caller's thread is one, n - 1 are
 * started and joined before returning (a thread that cannot start is one
 * fewer; fn must share out the work itself). cat.c. */
void ferry_api_run_workers(unsigned n, void *(*fn)(void *), void *arg);

#endif
