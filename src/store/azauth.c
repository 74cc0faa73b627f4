/*
 * azauth.c — Shared Key signing for the Blob service (REFERENCE-azure.md):
 * HMAC-SHA256 over the string-to-sign with the base64-decoded account key,
 * using OpenSSL's libcrypto.
 */
#include "store/azauth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l + 1 > b->cap) {
		b->cap = (b->n + l + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, l + 1);
	b->n += l;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct ferry_kv *)a)->name, ((const struct ferry_kv *)b)->name);
}

char *ferry_az_string_to_sign(const struct ferry_az_sign_input *in)
{
	struct sbuf b = { 0 };
	const char *c = in->content_length && strcmp(in->content_length, "0") ? in->content_length : "";
	sb_add(&b, in->verb);
	sb_add(&b, "\n\n\n"); /* Content-Encoding, Content-Language */
	sb_add(&b, c);
	sb_add(&b, "\n");
	sb_add(&b, in->content_md5 ? in->content_md5 : "");
	sb_add(&b, "\n");
	sb_add(&b, in->content_type ? in->content_type : "");
	/* Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range */
	sb_add(&b, "\n\n\n\n\n\n\n");
	struct ferry_kv *h = malloc((in->nxms + 1) * sizeof(*h));
	memcpy(h, in->xms, in->nxms * sizeof(*h));
	qsort(h, in->nxms, sizeof(*h), kv_cmp);
	for (size_t i = 0; i < in->nxms; i++) {
		sb_add(&b, h[i].name);
		sb_add(&b, ":");
		sb_add(&b, h[i].value);
		sb_add(&b, "\n");
	}
	free(h);
	sb_add(&b, "/");
	sb_add(&b, in->account);
	sb_add(&b, in->resource_path);
	struct ferry_kv *q = malloc((in->nquery + 1) * sizeof(*q));
	memcpy(q, in->query, in->nquery * sizeof(*q));
	qsort(q, in->nquery, sizeof(*q), kv_cmp);
	for (size_t i = 0; i < in->nquery; i++) {
		char lower[64];
		snprintf(lower, sizeof(lower), "%s", q[i].name);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 32;
		sb_add(&b, "\n");
		sb_add(&b, lower);
		sb_add(&b, ":");
		sb_add(&b, q[i].value);
	}
	free(q);
	return b.p;
}

int ferry_az_sharedkey(const struct ferry_az_sign_input *in, char *out, size_t cap, ferry_err *err)
{
	unsigned char key[128], mac[EVP_MAX_MD_SIZE];
	size_t klen = strlen(in->key_b64);
	if (klen == 0 || klen > 160 || klen % 4)
		return ferry_err_set(err, FERRY_E_AUTH, "the account key of '%s' is not valid base64", in->account);
	int n = EVP_DecodeBlock(key, (const unsigned char *)in->key_b64, (int)klen);
	if (n < 0)
		return ferry_err_set(err, FERRY_E_AUTH, "the account key of '%s' is not valid base64", in->account);
	/* EVP_DecodeBlock counts '=' padding as zero bytes: drop them */
	for (const char *p = in->key_b64 + klen; p > in->key_b64 && p[-1] == '='; p--)
		n--;
	char *sts = ferry_az_string_to_sign(in);
	unsigned maclen = 0;
	HMAC(EVP_sha256(), key, n, (const unsigned char *)sts, strlen(sts), mac, &maclen);
	free(sts);
	char sig[96];
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
	snprintf(out, cap, "SharedKey %s:%s", in->account, sig);
	return 0;
}
