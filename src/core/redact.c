/*
 * redact.c — secret redaction for logs and errors.
 *
 * Patterns (SAS `sig=`, connection-string keys, Authorization and Bearer
 * values, client secrets in forms, and anything shaped like a JSON Web Token)
 * are matched case-insensitively; a value runs until a delimiter
 * (`&`, `;`, whitespace, quote, end). The registered-secret list is small (a
 * handful of keys per process) so a linear scan per message is fine.
 */
#include "core/redact.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECRETS 64
static const char MASK[] = "REDACTED";

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[MAX_SECRETS];
static int nsecrets;

void ferry_redact_register(const char *secret)
{
	if (!secret || strlen(secret) < 6)
		return;
	pthread_mutex_lock(&secrets_lock);
	for (int i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], secret))
			goto out;
	if (nsecrets < MAX_SECRETS)
		secrets[nsecrets++] = strdup(secret);
	/* a SAS token given with a leading '?' also appears without it */
	if (secret[0] == '?' && nsecrets < MAX_SECRETS && strlen(secret + 1) >= 6)
		secrets[nsecrets++] = strdup(secret + 1);
out:
	pthread_mutex_unlock(&secrets_lock);
}

void ferry_redact_reset(void)
{
	pthread_mutex_lock(&secrets_lock);
	for (int i = 0; i < nsecrets; i++)
		free(secrets[i]);
	nsecrets = 0;
	pthread_mutex_unlock(&secrets_lock);
}

/* Replace buf[start, end) with MASK, keeping the string within cap. */
static size_t splice(char *buf, size_t cap, size_t start, size_t end)
{
	size_t len = strlen(buf), mlen = sizeof(MASK) - 1;
	if (start + mlen + (len - end) + 1 > cap)
		mlen = 0; /* no room for the mask: just cut the secret out */
	memmove(buf + start + mlen, buf + end, len - end + 1);
	memcpy(buf + start, MASK, mlen);
	return start + mlen;
}

static int is_delim(char c)
{
	return c == '\0' || c == '&' || c == ';' || c == ' ' || c == '\t' ||
	       c == '\n' || c == '\r' || c == '"' || c == '\'' || c == ',' ||
	       c == '<' || c == '>';
}

static void redact_pattern(char *buf, size_t cap, const char *key, int to_eol)
{
	size_t klen = strlen(key);
	size_t i = 0;
	while (buf[i]) {
		if (strncasecmp(buf + i, key, klen) != 0) {
			i++;
			continue;
		}
		size_t start = i + klen, end = start;
		if (to_eol)
			while (buf[end] && buf[end] != '\n' && buf[end] != '\r')
				end++;
		else
			while (!is_delim(buf[end]))
				end++;
		if (end == start || !strncmp(buf + start, MASK, sizeof(MASK) - 1)) {
			i = end > start ? end : start;
			continue;
		}
		i = splice(buf, cap, start, end);
	}
}

static int jwt_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.';
}

/* JSON Web Tokens (OAuth access tokens): "eyJ" (base64url of '{"') then
 * base64url segments joined by two dots. Masked wherever they appear, so a
 * token is hidden even before it is registered, and however many are. */
static void redact_jwts(char *buf, size_t cap)
{
	size_t i = 0;
	while (buf[i]) {
		if (strncmp(buf + i, "eyJ", 3) != 0 || (i > 0 && jwt_char(buf[i - 1]))) {
			i++;
			continue;
		}
		size_t end = i, dots = 0;
		while (jwt_char(buf[end]))
			dots += buf[end++] == '.';
		if (dots >= 2 && end - i >= 20)
			i = splice(buf, cap, i, end);
		else
			i = end;
	}
}

void ferry_redact(char *buf, size_t cap)
{
	if (!buf || !cap)
		return;
	redact_pattern(buf, cap, "sig=", 0);
	redact_pattern(buf, cap, "Signature=", 0);
	redact_pattern(buf, cap, "Security-Token=", 0);
	redact_pattern(buf, cap, "access_token=", 0);
	redact_pattern(buf, cap, "refresh_token=", 0);
	redact_pattern(buf, cap, "AccountKey=", 0);
	redact_pattern(buf, cap, "SharedAccessSignature=", 0);
	redact_pattern(buf, cap, "Authorization: ", 1);
	redact_pattern(buf, cap, "x-ms-copy-source-authorization: ", 1);
	redact_pattern(buf, cap, "Bearer ", 0);
	redact_pattern(buf, cap, "client_secret=", 0);
	redact_pattern(buf, cap, "access_token\":\"", 0);
	redact_jwts(buf, cap);
	pthread_mutex_lock(&secrets_lock);
	for (int s = 0; s < nsecrets; s++) {
		size_t slen = strlen(secrets[s]);
		char *p = buf;
		while ((p = strstr(p, secrets[s])) != NULL) {
			size_t at = (size_t)(p - buf);
			p = buf + splice(buf, cap, at, at + slen);
		}
	}
	pthread_mutex_unlock(&secrets_lock);
}

char *ferry_redact_dup(const char *s)
{
	if (!s)
		return NULL;
	/* each masked value grows by at most the mask minus one byte */
	size_t n = strlen(s), cap = n * (sizeof(MASK) + 1) + 1;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	memcpy(buf, s, n + 1);
	ferry_redact(buf, cap);
	char *r = realloc(buf, strlen(buf) + 1);
	return r ? r : buf;
}

int ferry_redact_holds_secret(const char *s)
{
	char *m = ferry_redact_dup(s);
	int holds = s && (!m || strcmp(m, s) != 0);
	free(m);
	return holds;
}
