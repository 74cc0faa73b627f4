/*
 * thrift.c — the Thrift compact protocol reader (see thrift.h).
 */
#include "mltable/thrift.h"

#include <string.h>

static int fail(struct ferry_thrift *t, const char *why)
{
	if (!t->why)
		t->why = why;
	return -1;
}

void ferry_thrift_init(struct ferry_thrift *t, const void *data, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->p = data;
	t->end = t->p + len;
}

int ferry_thrift_varint(struct ferry_thrift *t, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (t->p >= t->end)
			return fail(t, "truncated Thrift data");
		uint8_t b = *t->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return fail(t, "a Thrift varint longer than 10 bytes");
}

static int zigzag(struct ferry_thrift *t, int64_t *out)
{
	uint64_t u;
	if (ferry_thrift_varint(t, &u) < 0)
		return -1;
	*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

int ferry_thrift_begin(struct ferry_thrift *t)
{
	if (t->depth >= FERRY_THRIFT_MAX_DEPTH)
		return fail(t, "Thrift structs nested too deep");
	t->last[++t->depth] = 0;
	return 0;
}

int ferry_thrift_field(struct ferry_thrift *t, int *id, int *type)
{
	if (t->depth <= 0)
		return fail(t, "Thrift field outside a struct");
	if (t->p >= t->end)
		return fail(t, "truncated Thrift data");
	uint8_t b = *t->p++;
	if (b == 0) {
		t->depth--;
		return 0;
	}
	int delta = b >> 4;
	*type = b & 0x0f;
	if (delta) {
		*id = t->last[t->depth] + delta;
	} else {
		int64_t v;
		if (zigzag(t, &v) < 0)
			return -1;
		if (v < -32768 || v > 32767)
			return fail(t, "a Thrift field id out of range");
		*id = (int)v;
	}
	if (*type > FERRY_TT_STRUCT)
		return fail(t, "an unknown Thrift type");
	t->last[t->depth] = (int16_t)*id;
	return 1;
}

int ferry_thrift_i64(struct ferry_thrift *t, int type, int64_t *out)
{
	if (type == FERRY_TT_BYTE) {
		if (t->p >= t->end)
			return fail(t, "truncated Thrift data");
		*out = (int8_t)*t->p++;
		return 0;
	}
	if (type != FERRY_TT_I16 && type != FERRY_TT_I32 && type != FERRY_TT_I64)
		return fail(t, "a Thrift field of the wrong type (an integer expected)");
	return zigzag(t, out);
}

int ferry_thrift_i32(struct ferry_thrift *t, int type, int32_t *out)
{
	int64_t v;
	if (ferry_thrift_i64(t, type, &v) < 0)
		return -1;
	if (v < INT32_MIN || v > INT32_MAX)
		return fail(t, "a Thrift i32 out of range");
	*out = (int32_t)v;
	return 0;
}

int ferry_thrift_bool(struct ferry_thrift *t, int type, int *out)
{
	if (type == FERRY_TT_TRUE || type == FERRY_TT_FALSE) {
		*out = type == FERRY_TT_TRUE;
		return 0;
	}
	if (type == FERRY_TT_BYTE) { /* list element */
		if (t->p >= t->end)
			return fail(t, "truncated Thrift data");
		*out = *t->p++ == 1;
		return 0;
	}
	return fail(t, "a Thrift field of the wrong type (a bool expected)");
}

int ferry_thrift_binary(struct ferry_thrift *t, const uint8_t **out, size_t *len)
{
	uint64_t n;
	if (ferry_thrift_varint(t, &n) < 0)
		return -1;
	if (n > (uint64_t)(t->end - t->p))
		return fail(t, "a Thrift string longer than its data");
	*out = t->p;
	*len = (size_t)n;
	t->p += n;
	return 0;
}

int ferry_thrift_list(struct ferry_thrift *t, int *etype, size_t *n)
{
	if (t->p >= t->end)
		return fail(t, "truncated Thrift data");
	uint8_t b = *t->p++;
	uint64_t size = b >> 4;
	*etype = b & 0x0f;
	if (size == 15 && ferry_thrift_varint(t, &size) < 0)
		return -1;
	if (*etype == FERRY_TT_TRUE || *etype == FERRY_TT_FALSE)
		*etype = FERRY_TT_BYTE; /* bools in lists are bytes */
	if (*etype == FERRY_TT_STOP || *etype > FERRY_TT_STRUCT)
		return fail(t, "a Thrift list of an unknown type");
	if (size > (uint64_t)(t->end - t->p))
		return fail(t, "a Thrift list longer than its data");
	*n = (size_t)size;
	return 0;
}

int ferry_thrift_skip(struct ferry_thrift *t, int type)
{
	int64_t v;
	const uint8_t *s;
	size_t n;
	int et, id, ft, r;
	switch (type) {
	case FERRY_TT_TRUE:
	case FERRY_TT_FALSE:
		return 0;
	case FERRY_TT_BYTE:
	case FERRY_TT_I16:
	case FERRY_TT_I32:
	case FERRY_TT_I64:
		return ferry_thrift_i64(t, type, &v);
	case FERRY_TT_DOUBLE:
		if (t->end - t->p < 8)
			return fail(t, "truncated Thrift data");
		t->p += 8;
		return 0;
	case FERRY_TT_BINARY:
		return ferry_thrift_binary(t, &s, &n);
	case FERRY_TT_LIST:
	case FERRY_TT_SET:
		if (ferry_thrift_list(t, &et, &n) < 0)
			return -1;
		if (t->depth >= FERRY_THRIFT_MAX_DEPTH)
			return fail(t, "Thrift values nested too deep");
		t->depth++;
		t->last[t->depth] = 0;
		for (size_t i = 0; i < n; i++)
			if (ferry_thrift_skip(t, et) < 0)
				return -1;
		t->depth--;
		return 0;
	case FERRY_TT_MAP: {
		uint64_t cnt;
		if (ferry_thrift_varint(t, &cnt) < 0)
			return -1;
		if (!cnt)
			return 0;
		if (cnt > (uint64_t)(t->end - t->p))
			return fail(t, "a Thrift map longer than its data");
		if (t->p >= t->end)
			return fail(t, "truncated Thrift data");
		uint8_t kv = *t->p++;
		int kt = kv >> 4, vt = kv & 0x0f;
		if (kt == FERRY_TT_TRUE || kt == FERRY_TT_FALSE)
			kt = FERRY_TT_BYTE; /* bools in maps are bytes, as in lists */
		if (vt == FERRY_TT_TRUE || vt == FERRY_TT_FALSE)
			vt = FERRY_TT_BYTE;
		if (t->depth >= FERRY_THRIFT_MAX_DEPTH)
			return fail(t, "Thrift values nested too deep");
		t->depth++;
		t->last[t->depth] = 0;
		for (uint64_t i = 0; i < cnt; i++)
			if (ferry_thrift_skip(t, kt) < 0 || ferry_thrift_skip(t, vt) < 0)
				return -1;
		t->depth--;
		return 0;
	}
	case FERRY_TT_STRUCT:
		if (ferry_thrift_begin(t) < 0)
			return -1;
		while ((r = ferry_thrift_field(t, &id, &ft)) == 1)
			if (ferry_thrift_skip(t, ft) < 0)
				return -1;
		return r;
	default:
		return fail(t, "an unknown Thrift type");
	}
}
