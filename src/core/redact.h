/*
 * redact.h — keeping secrets out of everything ferry prints.
 *
 * Two nets, both applied to every log line and error message:
 *  1. patterns: the value of `sig=` (SAS signature), `Signature=` and
 *     `Security-Token=` (S3 presigned URLs), `access_token=`,
 *     `refresh_token=`, `AccountKey=`, `SharedAccessSignature=`, and the
 *     rest of an `Authorization:` header;
 *  2. registered secrets: account keys, SAS tokens and bearer tokens are
 *     registered when they are loaded, and any occurrence is replaced.
 * Thread-safe: registration takes a lock; redaction reads under it.
 */
#ifndef FERRY_REDACT_H
#define FERRY_REDACT_H

#include <stddef.h>

/* Remember `secret` (copied) so that later redactions hide it. Strings shorter
 * than 6 bytes are ignored (too likely to hide ordinary text). */
void ferry_redact_register(const char *secret);

/* Rewrite the NUL-terminated string in `buf` (capacity `cap`) in place. */
void ferry_redact(char *buf, size_t cap);

/* A malloc'd copy of `s` redacted like ferry_redact (NULL for NULL, or when
 * out of memory): for text that is printed or recorded (job records, data
 * assets) rather than logged. */
char *ferry_redact_dup(const char *s);

/* 1 when ferry_redact would change `s`: it holds a secret (a SAS signature,
 * a key, a token, a registered secret). */
int ferry_redact_holds_secret(const char *s);

/* Forget every registered secret (tests, end of process). */
void ferry_redact_reset(void);

#endif
