/*
 * err.h — the error value every library function fills.
 *
 * Convention (docs/STYLE.md, "Errors"): a function returns 0 on success or
 * -1 on failure and, on failure, fills a caller-owned `ferry_err` with a code and a message
 * fit for a user: what failed (which blob, which file), why, and, where it
 * helps, what to do. Messages pass through the secret redactor before they are
 * stored, so a message can never carry a key, a SAS signature or a bearer
 * token. Only src/cli/ turns an error into an exit status.
 *
 * Layer core may include: nothing. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stdarg.h>

enum ferry_errcode {
	FERRY_OK = 0,
	FERRY_E_INVALID,   /* bad input: YAML, URI, argument, setting */
	FERRY_E_NOTFOUND,  /* the blob/file/datastore/job does not exist */
	FERRY_E_AUTH,      /* 401/403: wrong key, expired SAS, no permission */
	FERRY_E_IO,        /* local file system */
	FERRY_E_NET,       /* network or server failure after retries */
	FERRY_E_UNSAFE,    /* a name that would escape the destination */
	FERRY_E_INTEGRITY, /* checksum or size mismatch */
	FERRY_E_CHILD,     /* the user's command failed */
	FERRY_E_INTERRUPTED, /* stopped by SIGINT/SIGTERM */
};

typedef struct ferry_err {
	int code;
	char msg[1024];
} ferry_err;

/* Fill `e` (may be NULL) with `code` and the formatted message, redacted.
 * Returns -1 so callers can `return ferry_err_set(...)`. Thread-safe. */
int ferry_err_set(ferry_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "<prefix>: <old message>". Returns -1. */
int ferry_err_wrap(ferry_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to "no error". */
void ferry_err_clear(ferry_err *e);

/* The errno a file system call reports for `e` (the mount): not found ->
 * ENOENT, auth -> EACCES, invalid/unsafe name -> EINVAL, anything else -> EIO. */
int ferry_err_errno(const ferry_err *e);

#endif
