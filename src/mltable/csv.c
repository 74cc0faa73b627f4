/*
 * csv.c — streaming delimited-text reader (see csv.h).
 *
 * A byte state machine. The common case — unquoted field bytes — is taken
 * in runs: a 256-entry table marks the bytes that can change state
 * (delimiter, quote, CR, LF) and everything between them is appended with
 * one memcpy, which keeps the reader near memory speed on plain files.
 * Fields are stored back to back in one buffer, each NUL-terminated, with
 * their start offsets; pointers are made only when a record is complete
 * because the buffer may move while it grows.
 */
#include "mltable/csv.h"

#include <stdlib.h>
#include <string.h>

enum { S_START, S_UNQ, S_Q, S_QQ };

struct ferry_csv {
	char delim;
	int multi_line;
	ferry_csv_fn fn;
	void *arg;
	unsigned char special[256];
	int state;
	int in_record;   /* some byte of the current record was seen */
	int any_quote;   /* the record had a quoted field */
	int pending_cr;  /* last byte was CR: a following LF belongs to it */
	uint64_t line, rec_line;
	char *buf;
	size_t len, cap;
	size_t *start, *flen;
	size_t nf, fcap;  /* fields completed in the current record */
	size_t cur;       /* start offset of the field being read */
	const char **ptrs;
	size_t pcap;
};

struct ferry_csv *ferry_csv_new(char delimiter, int multi_line, ferry_csv_fn fn, void *arg)
{
	struct ferry_csv *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->delim = delimiter;
	c->multi_line = multi_line;
	c->fn = fn;
	c->arg = arg;
	c->special[(unsigned char)delimiter] = 1;
	c->special['"'] = 1;
	c->special['\r'] = 1;
	c->special['\n'] = 1;
	ferry_csv_reset(c);
	return c;
}

void ferry_csv_reset(struct ferry_csv *c)
{
	c->state = S_START;
	c->in_record = c->any_quote = c->pending_cr = 0;
	c->line = c->rec_line = 1;
	c->len = c->nf = c->cur = 0;
}

void ferry_csv_free(struct ferry_csv *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c->start);
	free(c->flen);
	free(c->ptrs);
	free(c);
}

static int too_big(struct ferry_csv *c, const char *label, ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_INVALID,
			     "%s:%llu: a record larger than %u MiB (an unclosed quote?)", label,
			     (unsigned long long)c->rec_line, FERRY_CSV_MAX_RECORD >> 20);
}

/* Room for `need` bytes in the record buffer. */
static int reserve(struct ferry_csv *c, size_t need, const char *label, ferry_err *err)
{
	if (need <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *b = realloc(c->buf, cap);
	if (!b)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	c->buf = b;
	c->cap = cap;
	(void)label;
	return 0;
}

/* feed() reserves, before each piece, room for every byte of the piece plus
 * one NUL per field: data bytes never outnumber the input and NULs never
 * outnumber the bytes that end fields, so appends need no check. */
static inline void append(struct ferry_csv *c, const char *p, size_t n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static __attribute__((noinline)) int grow_fields(struct ferry_csv *c, ferry_err *err)
{
	size_t cap = c->fcap ? c->fcap * 2 : 32;
	size_t *s = realloc(c->start, cap * sizeof(*s));
	if (s)
		c->start = s;
	size_t *l = s ? realloc(c->flen, cap * sizeof(*l)) : NULL;
	if (l)
		c->flen = l;
	if (!s || !l)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	c->fcap = cap;
	return 0;
}

/* The record-size cap is checked once per piece in feed(): the buffer grows
 * by at most twice a piece between checks. */
static inline int end_field(struct ferry_csv *c, const char *label, ferry_err *err)
{
	(void)label;
	if (c->nf == c->fcap && grow_fields(c, err) < 0)
		return -1;
	size_t cur = c->cur, len = c->len;
	c->start[c->nf] = cur;
	c->flen[c->nf] = len - cur;
	c->nf++;
	c->buf[len] = '\0';
	c->cur = c->len = len + 1;
	return 0;
}

static int end_record(struct ferry_csv *c, const char *label, ferry_err *err)
{
	if (end_field(c, label, err) < 0)
		return -1;
	int rc = 0;
	int blank = c->nf == 1 && c->flen[0] == 0 && !c->any_quote;
	if (!blank) {
		if (c->pcap < c->nf) {
			const char **p = realloc(c->ptrs, c->nf * sizeof(*p));
			if (!p)
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
			c->ptrs = p;
			c->pcap = c->nf;
		}
		for (size_t i = 0; i < c->nf; i++)
			c->ptrs[i] = c->buf + c->start[i];
		struct ferry_csv_record r = { .n = c->nf, .f = c->ptrs, .len = c->flen, .line = c->rec_line };
		rc = c->fn(c->arg, &r);
	}
	c->len = c->nf = c->cur = 0;
	c->in_record = c->any_quote = 0;
	c->state = S_START;
	c->rec_line = c->line;
	return rc;
}

int ferry_csv_feed(struct ferry_csv *c, const char *data, size_t len, const char *label, ferry_err *err)
{
	const char *p = data, *end = data + len;
	int rc;
	if (c->len > FERRY_CSV_MAX_RECORD)
		return too_big(c, label, err);
	if (reserve(c, c->len + 2 * len + 2, label, err) < 0)
		return -1;
	while (p < end) {
		char ch = *p;
		if (c->pending_cr) {
			c->pending_cr = 0;
			if (ch == '\n') {
				p++;
				continue;
			}
		}
		switch (c->state) {
		case S_START:
		case S_UNQ:
			if (!c->special[(unsigned char)ch] || (ch == '"' && c->state == S_UNQ)) {
				/* a run of plain bytes */
				const char *q = p + 1;
				q = ferry_csv_scan4(q, end, (unsigned char)c->delim, '"', '\r', '\n');
				append(c, p, (size_t)(q - p));
				c->in_record = 1;
				c->state = S_UNQ;
				p = q;
				continue;
			}
			if (ch == c->delim) {
				c->in_record = 1;
				if (end_field(c, label, err) < 0)
					return -1;
				c->state = S_START;
			} else if (ch == '"') { /* S_START only */
				c->in_record = c->any_quote = 1;
				c->state = S_Q;
			} else { /* CR or LF */
				c->line++;
				c->pending_cr = ch == '\r';
				if ((rc = end_record(c, label, err)) != 0)
					return rc;
			}
			p++;
			break;
		case S_Q: {
			const char *q = p;
			q = ferry_csv_scan4(q, end, '"', '"', '\r', '\n');
			append(c, p, (size_t)(q - p));
			p = q;
			if (p == end)
				break;
			if (*p == '"') {
				c->state = S_QQ;
				p++;
			} else if (c->multi_line) {
				/* CRLF inside a quoted field is kept as it is */
				if (*p == '\n' || (*p == '\r' && !(p + 1 < end && p[1] == '\n')))
					c->line++;
				append(c, p, 1);
				p++;
			} else {
				c->line++;
				c->pending_cr = *p == '\r';
				p++;
				if ((rc = end_record(c, label, err)) != 0)
					return rc;
			}
			break;
		}
		case S_QQ:
			if (ch == '"') {
				append(c, "\"", 1);
				c->state = S_Q;
				p++;
			} else {
				c->state = S_UNQ; /* closing quote; what follows is handled unquoted */
				if (ch != c->delim && ch != '\r' && ch != '\n') {
					append(c, p, 1);
					p++;
				} else if (ch == c->delim) {
					if (end_field(c, label, err) < 0)
						return -1;
					c->state = S_START;
					p++;
				}
			}
			break;
		}
	}
	return 0;
}

int ferry_csv_finish(struct ferry_csv *c, const char *label, ferry_err *err)
{
	c->pending_cr = 0;
	if (c->state == S_Q)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "%s:%llu: a quoted field is not closed at the end of the file", label,
				     (unsigned long long)c->rec_line);
	if (!c->in_record)
		return 0;
	return end_record(c, label, err);
}
