/*
 * csv.h — a streaming reader of delimited text (read_delimited).
 *
 * Bytes are pushed in any pieces (as a store's read delivers them); each
 * complete record is handed to a callback as an array of fields that point
 * into the reader's buffer, valid only during the call. Memory is one record
 * (capped at FERRY_CSV_MAX_RECORD), whatever the file size.
 *
 * Dialect (RFC 4180 plus what real files do): fields separated by a one-byte
 * delimiter; records end at "\n", "\r\n" or "\r"; a field starting with '"'
 * is quoted: '""' inside it is one '"', and the delimiter and (with
 * multi_line) line breaks are data; with multi_line=0 a line break always
 * ends the record, as Azure's support_multi_line: false does. Text after a
 * closing quote is kept ("ab"c -> abc). Blank lines are skipped. At the end
 * of the data, a quoted field still open is an error naming its line.
 *
 * Threads: one reader per thread.
 */
#ifndef FERRY_MLTABLE_CSV_H
#define FERRY_MLTABLE_CSV_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define FERRY_CSV_MAX_RECORD (256u << 20)

struct ferry_csv_record {
	size_t n;               /* number of fields (>= 1) */
	const char *const *f;   /* f[i]: field i, NUL-terminated, borrowed */
	const size_t *len;      /* len[i]: its length in bytes */
	uint64_t line;          /* 1-based line where the record starts */
};

/* Receives one record. Return 0 to go on, >0 to stop reading (no error),
 * <0 for an error (the callback fills its own error). */
typedef int (*ferry_csv_fn)(void *arg, const struct ferry_csv_record *rec);

struct ferry_csv;

/* The first byte in [p, end) equal to a, b, c or d, or end. Eight bytes at a
 * time (SWAR: a byte equal to x makes (w ^ x·0x01…01) have a zero byte, found
 * with the classic (v - 0x01…01) & ~v & 0x80…80 test, whose lowest flag is
 * exact). Used by the reader and by table.c's CSV writer. */
static inline const char *ferry_csv_scan4(const char *p, const char *end, unsigned char a, unsigned char b,
					  unsigned char c, unsigned char d)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	const uint64_t ma = a * ones, mb = b * ones, mc = c * ones, md = d * ones;
	while (end - p >= 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		uint64_t xa = w ^ ma, xb = w ^ mb, xc = w ^ mc, xd = w ^ md;
		uint64_t hit = (((xa - ones) & ~xa) | ((xb - ones) & ~xb) | ((xc - ones) & ~xc) | ((xd - ones) & ~xd)) & highs;
		if (hit)
			return p + (__builtin_ctzll(hit) >> 3);
		p += 8;
	}
	while (p < end && *p != (char)a && *p != (char)b && *p != (char)c && *p != (char)d)
		p++;
	return p;
}

/* A reader calling `fn(arg, rec)` per record. NULL on out of memory. */
struct ferry_csv *ferry_csv_new(char delimiter, int multi_line, ferry_csv_fn fn, void *arg);

/* Push `len` bytes. Returns 0, the callback's >0 stop value, or <0: the
 * callback's error, or -1 with err filled (record too large). `label` names
 * the source in errors. */
int ferry_csv_feed(struct ferry_csv *c, const char *data, size_t len, const char *label, ferry_err *err);

/* End of data: emits the last record if it had no line break. Same returns. */
int ferry_csv_finish(struct ferry_csv *c, const char *label, ferry_err *err);

/* Forget any partial record and restart at line 1 (for the next file). */
void ferry_csv_reset(struct ferry_csv *c);

void ferry_csv_free(struct ferry_csv *c);

#endif
