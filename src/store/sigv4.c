/*
 * sigv4.c — AWS Signature Version 4 (see sigv4.h).
 *
 * Canonical request, per AWS's documentation:
 *   METHOD \n CANONICAL_URI \n CANONICAL_QUERY \n CANONICAL_HEADERS \n
 *   SIGNED_HEADERS \n PAYLOAD_HASH
 * where the query is sorted by encoded name (then value), every header line is
 * "name:value\n" sorted by name, and SIGNED_HEADERS is the ';'-joined names.
 * The string to sign is "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of
 * canonical request>", scope "<date>/<region>/<service>/aws4_request", and the
 * signing key is HMAC("AWS4"+secret, date) → region → service → "aws4_request".
 */
#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char hexd[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void ferry_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

void ferry_sigv4_date(long long t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

char *ferry_sigv4_encode(const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *w = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			*w++ = (char)*p;
		else {
			*w++ = '%';
			*w++ = hx[*p >> 4];
			*w++ = hx[*p & 15];
		}
	}
	*w = '\0';
	return out;
}

struct pair {
	char *name, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* A growable string; on ENOMEM `s` becomes NULL and stays so. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *t)
{
	if (!b->s && b->cap)
		return;
	size_t n = strlen(t);
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap : 256);
		while (cap < b->len + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			free(b->s);
			b->s = NULL;
			b->cap = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
}

/* Signed header names, sorted, ';'-joined (malloc'd). Also appends the
 * canonical header lines to `b` when not NULL. */
static char *headers_part(const struct ferry_sigv4_input *in, struct sbuf *b)
{
	struct pair *h = calloc(in->nheaders ? in->nheaders : 1, sizeof(*h));
	if (!h)
		return NULL;
	for (size_t i = 0; i < in->nheaders; i++) {
		h[i].name = (char *)in->headers[i].name;
		h[i].value = (char *)in->headers[i].value;
	}
	qsort(h, in->nheaders, sizeof(*h), pair_cmp);
	struct sbuf names = { 0 };
	for (size_t i = 0; i < in->nheaders; i++) {
		if (b) {
			sb_add(b, h[i].name);
			sb_add(b, ":");
			sb_add(b, h[i].value);
			sb_add(b, "\n");
		}
		if (i)
			sb_add(&names, ";");
		sb_add(&names, h[i].name);
	}
	free(h);
	if (!names.s && !names.cap)
		return strdup("");
	return names.s;
}

char *ferry_sigv4_canonical_request(const struct ferry_sigv4_input *in)
{
	struct sbuf b = { 0 };
	sb_add(&b, in->method);
	sb_add(&b, "\n");
	sb_add(&b, in->canonical_uri);
	sb_add(&b, "\n");

	struct pair *q = calloc(in->nquery ? in->nquery : 1, sizeof(*q));
	if (!q) {
		free(b.s);
		return NULL;
	}
	int oom = 0;
	for (size_t i = 0; i < in->nquery; i++) {
		q[i].name = ferry_sigv4_encode(in->query[i].name);
		q[i].value = ferry_sigv4_encode(in->query[i].value ? in->query[i].value : "");
		oom |= !q[i].name || !q[i].value;
	}
	if (!oom)
		qsort(q, in->nquery, sizeof(*q), pair_cmp);
	for (size_t i = 0; i < in->nquery && !oom; i++) {
		if (i)
			sb_add(&b, "&");
		sb_add(&b, q[i].name);
		sb_add(&b, "=");
		sb_add(&b, q[i].value);
	}
	for (size_t i = 0; i < in->nquery; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
	sb_add(&b, "\n");
	char *names = headers_part(in, &b);
	sb_add(&b, "\n");
	if (names)
		sb_add(&b, names);
	sb_add(&b, "\n");
	sb_add(&b, in->payload_hash);
	if (oom || !names) {
		free(names);
		free(b.s);
		return NULL;
	}
	free(names);
	return b.s;
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

int ferry_sigv4_authorization(const struct ferry_sigv4_input *in, char *out, size_t cap, ferry_err *err)
{
	char *creq = ferry_sigv4_canonical_request(in);
	char *names = headers_part(in, NULL);
	if (!creq || !names) {
		free(creq);
		free(names);
		return ferry_err_set(err, FERRY_E_IO, "signing a request: out of memory");
	}
	char creq_hash[65], date[9], scope[256];
	ferry_sha256_hex(creq, strlen(creq), creq_hash);
	free(creq);
	snprintf(date, sizeof(date), "%.8s", in->amz_date);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, in->region, in->service);
	size_t sl = strlen(in->amz_date) + strlen(scope) + 128;
	char *sts = malloc(sl);
	if (!sts) {
		free(names);
		return ferry_err_set(err, FERRY_E_IO, "signing a request: out of memory");
	}
	snprintf(sts, sl, "AWS4-HMAC-SHA256\n%s\n%s\n%s", in->amz_date, scope, creq_hash);

	size_t kl = strlen(in->secret_key) + 5;
	char *k0 = malloc(kl);
	snprintf(k0, kl, "AWS4%s", in->secret_key);
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	hmac(k0, kl - 1, date, k1);
	hmac(k1, 32, in->region, k2);
	hmac(k2, 32, in->service, k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts, sig);
	memset(k0, 0, kl); /* the derived keys are as good as the secret for a day */
	free(k0);
	free(sts);
	char sighex[65];
	to_hex(sig, 32, sighex);
	int n = snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			 in->access_key, scope, names, sighex);
	free(names);
	if (n < 0 || (size_t)n >= cap)
		return ferry_err_set(err, FERRY_E_INVALID, "signing a request: the Authorization header is too long");
	return 0;
}
