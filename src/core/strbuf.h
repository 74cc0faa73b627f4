/*
 * strbuf.h — a growable string buffer (after git's strbuf and curl's dynbuf).
 *
 * Invariants, true before and after every call:
 *  - sb->buf is never NULL and always NUL-terminated: sb->buf[sb->len] == '\0',
 *    so sb->buf can be passed wherever a C string is wanted;
 *  - sb->alloc == 0 means nothing is allocated yet and sb->buf points to a
 *    shared, read-only empty string (so never write through it directly;
 *    ferry_strbuf_grow first); otherwise sb->len < sb->alloc and sb->buf is
 *    owned by the buffer;
 *  - the buffer may hold bytes, NULs included (ferry_strbuf_add), but then it
 *    is no longer a C string: sb->len is the length.
 *
 * Errors are sticky, so that a path can be built with several calls and
 * checked once: when growing fails (out of memory, or more than
 * FERRY_STRBUF_MAX bytes), the call returns -1, the content is left as it
 * was, sb->failed is set, and every later add does nothing and returns -1
 * until ferry_strbuf_reset or _release. ferry_strbuf_detach of a failed
 * buffer returns NULL.
 *
 * Threads: a buffer belongs to one thread at a time; no shared state.
 */
#ifndef FERRY_STRBUF_H
#define FERRY_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#define FERRY_STRBUF_MAX ((size_t)1 << 30) /* 1 GiB: a larger string is a bug */

struct ferry_strbuf {
	char *buf;
	size_t len;   /* bytes in buf, not counting the final NUL */
	size_t alloc; /* bytes allocated at buf; 0: buf is the shared empty string */
	int failed;   /* a grow failed: adds are ignored until reset */
};

extern char ferry_strbuf_empty[];
#define FERRY_STRBUF_INIT { .buf = ferry_strbuf_empty }

/* Make `sb` an empty buffer (same as = FERRY_STRBUF_INIT). */
void ferry_strbuf_init(struct ferry_strbuf *sb);
/* Free what `sb` holds and make it empty again (reusable). */
void ferry_strbuf_release(struct ferry_strbuf *sb);
/* Empty the content, keep the memory, clear `failed`. */
void ferry_strbuf_reset(struct ferry_strbuf *sb);
/* Make room for `extra` more bytes (and the NUL). 0, or -1 (see above). */
int ferry_strbuf_grow(struct ferry_strbuf *sb, size_t extra);
/* Cut the content to `len` bytes (len <= sb->len). */
void ferry_strbuf_setlen(struct ferry_strbuf *sb, size_t len);

/* Append bytes, a C string, one character, or printf-style text. 0 or -1. */
int ferry_strbuf_add(struct ferry_strbuf *sb, const void *data, size_t n);
int ferry_strbuf_adds(struct ferry_strbuf *sb, const char *s);
int ferry_strbuf_addch(struct ferry_strbuf *sb, int c);
int ferry_strbuf_addf(struct ferry_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ferry_strbuf_vaddf(struct ferry_strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append path component `name` after a '/' (none when the buffer is empty or
 * already ends in '/'): "a" + "b" -> "a/b", "a/" + "b" -> "a/b", "" + "b" -> "b". */
int ferry_strbuf_addpath(struct ferry_strbuf *sb, const char *name);

/* Copy C string `src` into the fixed field `dst` of `cap` bytes, cut short
 * when it does not fit (deliberately: header values, messages), always
 * NUL-terminated when cap > 0. Returns strlen(src): >= cap means it was cut. */
size_t ferry_strlcpy(char *dst, const char *src, size_t cap);

/* Hand the string over: returns it (malloc'd, the caller frees; an empty
 * buffer gives a malloc'd "") and leaves `sb` empty; NULL if the buffer had
 * failed or memory runs out (sb is released either way). *len (may be NULL)
 * gets its length. */
char *ferry_strbuf_detach(struct ferry_strbuf *sb, size_t *len);

#endif
