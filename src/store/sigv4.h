/*
 * sigv4.h — AWS Signature Version 4 for S3 requests (header form).
 *
 * The caller lists every header it will send and wants signed (names in
 * lowercase, values as sent; "host" among them) and the decoded query
 * parameters; sigv4 builds the canonical request (headers and query sorted,
 * query names and values RFC 3986-encoded), the string to sign, the signing
 * key (HMAC-SHA256 chain date → region → service → "aws4_request") and the
 * Authorization header value. S3 does not normalise paths, so the canonical
 * URI is exactly the encoded path the request sends.
 *
 * Ownership: inputs are borrowed; outputs are written into caller buffers or,
 * for ferry_sigv4_canonical_request, malloc'd. Errors: -1 with FERRY_E_INVALID
 * when an output buffer is too small. Threads: pure functions, callable from
 * any thread.
 */
#ifndef FERRY_SIGV4_H
#define FERRY_SIGV4_H

#include "core/err.h"
#include "store/azauth.h" /* struct ferry_kv */

#include <stddef.h>

/* SHA-256 of the empty string: the payload hash of GET/HEAD/DELETE. */
#define FERRY_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FERRY_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

struct ferry_sigv4_input {
	const char *method;
	const char *canonical_uri;    /* encoded path as sent, starting with '/' */
	const struct ferry_kv *query; /* decoded; a value of "" for flags like ?uploads */
	size_t nquery;
	const struct ferry_kv *headers; /* lowercase names, trimmed values */
	size_t nheaders;
	const char *payload_hash;     /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
	const char *access_key, *secret_key;
	const char *region, *service; /* "us-east-1", "s3" */
	const char *amz_date;         /* YYYYMMDDTHHMMSSZ, the x-amz-date sent */
};

/* The canonical request (malloc'd, caller frees), or NULL on ENOMEM. */
char *ferry_sigv4_canonical_request(const struct ferry_sigv4_input *in);

/* The Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 * SignedHeaders=a;b, Signature=hex". 0, or -1 with err. */
int ferry_sigv4_authorization(const struct ferry_sigv4_input *in, char *out, size_t cap, ferry_err *err);

/* Hex SHA-256 of `len` bytes (out: 65 bytes). */
void ferry_sha256_hex(const void *data, size_t len, char out[65]);

/* "YYYYMMDDTHHMMSSZ" for `t` (out: 17 bytes). */
void ferry_sigv4_date(long long t, char out[17]);

/* Encode `s` as SigV4 wants query names and values (unreserved A-Z a-z 0-9
 * - _ . ~ kept, everything else %XX uppercase). malloc'd. */
char *ferry_sigv4_encode(const char *s);

#endif
