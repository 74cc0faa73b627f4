/*
 * thrift.h — a reader of the Thrift compact protocol (the encoding of
 * Parquet's footer and page headers), over a bounded byte range.
 *
 * The reader never reads outside [p, end): every read checks the bytes left
 * and fails with a message in `why` (a static string) instead. Structs nest at
 * most FERRY_THRIFT_MAX_DEPTH deep, so a hostile footer cannot exhaust the
 * stack; lists are checked against the bytes left (each element takes at
 * least one byte) before a caller allocates for them.
 *
 * Usage: ferry_thrift_begin() enters a struct; ferry_thrift_field() returns
 * 1 with the next field's id and type, or 0 at its end (leaving the struct);
 * read the value with the function of its type or skip it with
 * ferry_thrift_skip(). Threads: one reader per thread; pure.
 */
#ifndef FERRY_MLTABLE_THRIFT_H
#define FERRY_MLTABLE_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#define FERRY_THRIFT_MAX_DEPTH 32

enum {
	FERRY_TT_STOP = 0, FERRY_TT_TRUE = 1, FERRY_TT_FALSE = 2, FERRY_TT_BYTE = 3, FERRY_TT_I16 = 4,
	FERRY_TT_I32 = 5, FERRY_TT_I64 = 6, FERRY_TT_DOUBLE = 7, FERRY_TT_BINARY = 8, FERRY_TT_LIST = 9,
	FERRY_TT_SET = 10, FERRY_TT_MAP = 11, FERRY_TT_STRUCT = 12,
};

struct ferry_thrift {
	const uint8_t *p, *end;
	int depth;
	int16_t last[FERRY_THRIFT_MAX_DEPTH + 1]; /* last field id per open struct */
	const char *why;                          /* set on failure */
};

void ferry_thrift_init(struct ferry_thrift *t, const void *data, size_t len);
/* Enter a struct (the value of a STRUCT field or list element). -1: too deep. */
int ferry_thrift_begin(struct ferry_thrift *t);
/* Next field of the current struct: 1 (id, type set), 0 at its end, -1 error. */
int ferry_thrift_field(struct ferry_thrift *t, int *id, int *type);
/* Values. `type` is the field's or list element's type; integers accept any
 * integer type (and check the range of i32). 0 or -1. */
int ferry_thrift_i32(struct ferry_thrift *t, int type, int32_t *out);
int ferry_thrift_i64(struct ferry_thrift *t, int type, int64_t *out);
/* A field's bool is in its type; a list element's is one byte. */
int ferry_thrift_bool(struct ferry_thrift *t, int type, int *out);
/* Binary/string: *out points into the buffer (not NUL-terminated). */
int ferry_thrift_binary(struct ferry_thrift *t, const uint8_t **out, size_t *len);
/* A list or set header: element type and count (count <= bytes left). */
int ferry_thrift_list(struct ferry_thrift *t, int *etype, size_t *n);
/* Skip a value of `type` (nested values count against the depth limit). */
int ferry_thrift_skip(struct ferry_thrift *t, int type);
/* ULEB128 varint, as Parquet also uses outside Thrift. 0 or -1. */
int ferry_thrift_varint(struct ferry_thrift *t, uint64_t *out);

#endif
