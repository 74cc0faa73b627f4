/*
 * azauth.h — Azure Storage request authorization: Shared Key signatures.
 * (SAS needs no signing by ferry: the token is appended to the URL.)
 * Pure functions of their inputs; thread-safe.
 */
#ifndef FERRY_AZAUTH_H
#define FERRY_AZAUTH_H

#include "core/err.h"

#include <stddef.h>

struct ferry_kv {
	const char *name;
	const char *value;
};

struct ferry_az_sign_input {
	const char *verb;
	const char *account;
	const char *key_b64;          /* the account key, base64 */
	const char *content_length;   /* "" when 0 or absent */
	const char *content_md5;      /* "" when absent */
	const char *content_type;     /* "" when absent */
	const struct ferry_kv *xms;   /* x-ms-* headers sent (names lowercase) */
	size_t nxms;
	const char *resource_path;    /* URI path as sent, e.g. /devstoreaccount1/c/blob%20x */
	const struct ferry_kv *query; /* decoded query parameters */
	size_t nquery;
};

/* Compute "SharedKey <account>:<signature>" into out (cap >= 128).
 * Returns 0, or -1 (FERRY_E_AUTH) when the key is not valid base64. */
int ferry_az_sharedkey(const struct ferry_az_sign_input *in, char *out, size_t cap, ferry_err *err);

/* The string that is signed (for tests). malloc'd. */
char *ferry_az_string_to_sign(const struct ferry_az_sign_input *in);

#endif
