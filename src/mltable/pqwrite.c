/*
 * pqwrite.c — the Parquet writer (see pqwrite.h): values to PLAIN column
 * chunks, pages, codecs, and the Thrift-compact footer.
 *
 * Deliberately the simplest layout every reader knows: one v1 data page per
 * column chunk, PLAIN values, definition levels as bit-packed runs of width 1
 * (a valid form of the RLE/bit-packed hybrid), no dictionary, no statistics.
 * The footer carries both the logical type and the converted type where one
 * exists, so old and new readers agree on strings and dates.
 */
#include "mltable/pqwrite.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

/* Parquet's enums */
enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6 };
enum { ENC_PLAIN = 0, ENC_RLE = 3 };

struct buf {
	uint8_t *p;
	size_t n, cap;
	int failed;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put8(struct buf *b, uint8_t c)
{
	put(b, &c, 1);
}

/* ---- Thrift compact ---- */

struct tw {
	struct buf *b;
	int16_t last[16];
	int depth;
};

static void varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		put8(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put8(b, (uint8_t)v);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void field(struct tw *t, int id, int type)
{
	int delta = id - t->last[t->depth];
	if (delta > 0 && delta <= 15) {
		put8(t->b, (uint8_t)(delta << 4 | type));
	} else {
		put8(t->b, (uint8_t)type);
		varint(t->b, zigzag(id));
	}
	t->last[t->depth] = (int16_t)id;
}

static void f_i32(struct tw *t, int id, int32_t v)
{
	field(t, id, 5);
	varint(t->b, zigzag(v));
}

static void f_i64(struct tw *t, int id, int64_t v)
{
	field(t, id, 6);
	varint(t->b, zigzag(v));
}

static void f_bool(struct tw *t, int id, int v)
{
	field(t, id, v ? 1 : 2);
}

static void binary(struct buf *b, const char *s, size_t n)
{
	varint(b, n);
	put(b, s, n);
}

static void f_string(struct tw *t, int id, const char *s)
{
	field(t, id, 8);
	binary(t->b, s, strlen(s));
}

static void list(struct tw *t, int id, int etype, size_t n)
{
	field(t, id, 9);
	if (n < 15) {
		put8(t->b, (uint8_t)(n << 4 | (size_t)etype));
	} else {
		put8(t->b, (uint8_t)(0xf0 | etype));
		varint(t->b, n);
	}
}

/* Enter a struct: the value of a STRUCT field (field() first) or a list element. */
static void begin(struct tw *t)
{
	t->last[++t->depth] = 0;
}

static void end(struct tw *t)
{
	put8(t->b, 0);
	t->depth--;
}

static void f_struct(struct tw *t, int id)
{
	field(t, id, 12);
	begin(t);
}

/* ---- the writer ---- */

struct column {
	char *name;
	enum ferry_pqw_type type;
	struct buf vals;      /* PLAIN values of this row group */
	uint8_t *def;         /* 1: present */
	size_t nbool;         /* booleans: values packed so far */
	int set;              /* set in the current row */
};

struct chunk_meta {
	int64_t offset, usize, csize, nvalues;
};

struct ferry_pqw {
	FILE *out;
	struct column *cols;
	size_t ncols;
	enum ferry_pqw_codec codec;
	size_t rows;          /* in the current row group */
	size_t defcap;
	uint64_t pos;         /* bytes written */
	int64_t total_rows;
	struct chunk_meta *meta; /* per row group, ncols each */
	int64_t *group_rows;
	size_t ngroups;
	struct buf page, comp;
};

static int wfail(ferry_err *err)
{
	return ferry_err_set(err, FERRY_E_IO, "cannot write the Parquet output: %s", strerror(errno ? errno : EIO));
}

static int out(struct ferry_pqw *w, const void *d, size_t n, ferry_err *err)
{
	if (n && fwrite(d, 1, n, w->out) != n)
		return wfail(err);
	w->pos += n;
	return 0;
}

struct ferry_pqw *ferry_pqw_new(FILE *o, char *const *names, const enum ferry_pqw_type *types, size_t n,
				enum ferry_pqw_codec codec, ferry_err *err)
{
	struct ferry_pqw *w = calloc(1, sizeof(*w));
	if (w)
		w->cols = calloc(n ? n : 1, sizeof(*w->cols));
	if (!w || !w->cols) {
		free(w);
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	w->out = o;
	w->ncols = n;
	w->codec = codec;
	for (size_t i = 0; i < n; i++) {
		w->cols[i].type = types[i];
		if (!(w->cols[i].name = strdup(names[i]))) {
			ferry_pqw_free(w);
			ferry_err_set(err, FERRY_E_IO, "out of memory");
			return NULL;
		}
	}
	if (out(w, "PAR1", 4, err) < 0) {
		ferry_pqw_free(w);
		return NULL;
	}
	return w;
}

static int days_from_civil(int64_t y, unsigned m, unsigned d, int64_t *out)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = era * 146097 + (int64_t)doe - 719468;
	return 0;
}

/* "YYYY-MM-DD" then, for a timestamp, "[T ]HH:MM:SS[.frac]": days, or micros. */
static int parse_dt(const char *s, size_t len, int with_time, int64_t *out)
{
	char b[64];
	if (len >= sizeof(b))
		return -1;
	memcpy(b, s, len);
	b[len] = '\0';
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	if (sscanf(b, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	int64_t days;
	days_from_civil(y, (unsigned)mo, (unsigned)d, &days);
	if (!with_time) {
		if (b[10])
			return -1;
		*out = days;
		return 0;
	}
	int64_t frac = 0;
	if (b[10]) {
		int k = 0;
		if ((b[10] != 'T' && b[10] != ' ') || sscanf(b + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &k) != 3 || k != 8 ||
		    h > 23 || mi > 59 || sec > 60)
			return -1;
		const char *p = b + 19;
		if (*p == '.') {
			int nd = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, nd++)
				if (nd < 6)
					frac = frac * 10 + (*p - '0');
			if (!nd)
				return -1;
			for (; nd < 6; nd++)
				frac *= 10;
		}
		if (*p)
			return -1;
	}
	*out = ((days * 24 + h) * 60 + mi) * 60 * 1000000LL + (int64_t)sec * 1000000 + frac;
	return 0;
}

static int parse_bool(const char *s, size_t len, int *v)
{
	static const char *const t[] = { "true", "1", "yes" }, *const f[] = { "false", "0", "no" };
	for (int i = 0; i < 3; i++) {
		if (strlen(t[i]) == len && !strncasecmp(s, t[i], len)) {
			*v = 1;
			return 0;
		}
		if (strlen(f[i]) == len && !strncasecmp(s, f[i], len)) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

int ferry_pqw_value(struct ferry_pqw *w, size_t i, const char *s, size_t len, ferry_err *err)
{
	static const char *const tn[] = { "int", "float", "boolean", "string", "date", "timestamp" };
	struct column *c = &w->cols[i];
	if (!s || c->set)
		return 0;
	char num[80];
	char *end = NULL;
	int ok = 1;
	errno = 0;
	switch (c->type) {
	case FERRY_PQW_INT64: {
		if (len >= sizeof(num))
			ok = 0;
		else {
			memcpy(num, s, len);
			num[len] = '\0';
			int64_t v = strtoll(num, &end, 10);
			ok = len && !*end && !errno;
			if (ok)
				put(&c->vals, &v, 8);
		}
		break;
	}
	case FERRY_PQW_DOUBLE: {
		if (len >= sizeof(num))
			ok = 0;
		else {
			memcpy(num, s, len);
			num[len] = '\0';
			double v = strtod(num, &end);
			ok = len && !*end;
			if (ok)
				put(&c->vals, &v, 8);
		}
		break;
	}
	case FERRY_PQW_BOOL: {
		int v = 0;
		ok = parse_bool(s, len, &v) == 0;
		if (ok) {
			if (c->nbool % 8 == 0)
				put8(&c->vals, 0);
			if (v && !c->vals.failed)
				c->vals.p[c->vals.n - 1] |= (uint8_t)(1u << (c->nbool % 8));
			c->nbool++;
		}
		break;
	}
	case FERRY_PQW_STRING: {
		if (len > INT32_MAX) {
			ok = 0;
			break;
		}
		uint32_t l = (uint32_t)len;
		put(&c->vals, &l, 4);
		put(&c->vals, s, len);
		break;
	}
	case FERRY_PQW_DATE:
	case FERRY_PQW_TS_US: {
		int64_t v;
		ok = parse_dt(s, len, c->type == FERRY_PQW_TS_US, &v) == 0;
		if (ok && c->type == FERRY_PQW_DATE) {
			int32_t d = (int32_t)v;
			put(&c->vals, &d, 4);
		} else if (ok) {
			put(&c->vals, &v, 8);
		}
		break;
	}
	}
	if (!ok)
		return ferry_err_set(err, FERRY_E_INVALID, "column '%s' is %s, but a value is '%.*s' (types come from "
				     "convert_column_types or the first 200 rows; declare the column's type with "
				     "convert_column_types)", c->name, tn[c->type], (int)(len > 60 ? 60 : len), s);
	if (c->vals.failed)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	c->set = 1;
	return 0;
}

/* Compress `in` into w->comp; returns its bytes (or in's, uncompressed). */
static int compress_page(struct ferry_pqw *w, const struct buf *in, const uint8_t **outp, size_t *outn,
			 ferry_err *err)
{
	w->comp.n = 0;
	size_t bound;
	switch (w->codec) {
	case FERRY_PQW_UNCOMPRESSED:
		*outp = in->p;
		*outn = in->n;
		return 0;
	case FERRY_PQW_SNAPPY: bound = snappy_max_compressed_length(in->n); break;
	case FERRY_PQW_ZSTD: bound = ZSTD_compressBound(in->n); break;
	default: bound = compressBound((uLong)in->n) + 64; break;
	}
	if (bound > w->comp.cap) {
		uint8_t *p = realloc(w->comp.p, bound);
		if (!p)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		w->comp.p = p;
		w->comp.cap = bound;
	}
	size_t n = bound;
	if (w->codec == FERRY_PQW_SNAPPY) {
		if (snappy_compress((const char *)in->p, in->n, (char *)w->comp.p, &n) != SNAPPY_OK)
			return ferry_err_set(err, FERRY_E_IO, "snappy compression failed");
	} else if (w->codec == FERRY_PQW_ZSTD) {
		n = ZSTD_compress(w->comp.p, bound, in->p, in->n, 3);
		if (ZSTD_isError(n))
			return ferry_err_set(err, FERRY_E_IO, "zstd compression failed: %s", ZSTD_getErrorName(n));
	} else {
		z_stream z = { 0 };
		if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return ferry_err_set(err, FERRY_E_IO, "gzip compression failed");
		z.next_in = in->p;
		z.avail_in = (uInt)in->n;
		z.next_out = w->comp.p;
		z.avail_out = (uInt)bound;
		int r = deflate(&z, Z_FINISH);
		n = z.total_out;
		deflateEnd(&z);
		if (r != Z_STREAM_END)
			return ferry_err_set(err, FERRY_E_IO, "gzip compression failed");
	}
	*outp = w->comp.p;
	*outn = n;
	return 0;
}

static int write_group(struct ferry_pqw *w, ferry_err *err)
{
	if (!w->rows)
		return 0;
	struct chunk_meta *m = realloc(w->meta, (w->ngroups + 1) * w->ncols * sizeof(*m));
	int64_t *gr = m ? realloc(w->group_rows, (w->ngroups + 1) * sizeof(*gr)) : NULL;
	if (m)
		w->meta = m;
	if (!gr)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	w->group_rows = gr;
	for (size_t i = 0; i < w->ncols; i++) {
		struct column *c = &w->cols[i];
		/* page body: definition levels (4-byte length, bit-packed runs of width 1), values */
		struct buf *p = &w->page;
		p->n = 0;
		size_t groups = (w->rows + 7) / 8;
		struct buf lv = { 0 };
		varint(&lv, (uint64_t)groups << 1 | 1);
		for (size_t g = 0; g < groups; g++) {
			uint8_t byte = 0;
			for (size_t k = 0; k < 8 && g * 8 + k < w->rows; k++)
				byte |= (uint8_t)(c->def[g * 8 + k] << k);
			put8(&lv, byte);
		}
		uint32_t ll = (uint32_t)lv.n;
		put(p, &ll, 4);
		put(p, lv.p, lv.n);
		int lvfail = lv.failed;
		free(lv.p);
		put(p, c->vals.p, c->vals.n);
		if (p->failed || lvfail)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (p->n > INT32_MAX)
			return ferry_err_set(err, FERRY_E_INVALID, "column '%s': a page above 2 GiB", c->name);
		const uint8_t *body = NULL;
		size_t blen = 0;
		if (compress_page(w, p, &body, &blen, err) < 0)
			return -1;
		struct buf hdr = { 0 };
		struct tw t = { .b = &hdr };
		f_i32(&t, 1, 0); /* DATA_PAGE */
		f_i32(&t, 2, (int32_t)p->n);
		f_i32(&t, 3, (int32_t)blen);
		f_struct(&t, 5);
		f_i32(&t, 1, (int32_t)w->rows);
		f_i32(&t, 2, ENC_PLAIN);
		f_i32(&t, 3, ENC_RLE);
		f_i32(&t, 4, ENC_RLE);
		end(&t);
		put8(&hdr, 0);
		if (hdr.failed) {
			free(hdr.p);
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		struct chunk_meta *cm = &w->meta[w->ngroups * w->ncols + i];
		cm->offset = (int64_t)w->pos;
		cm->usize = (int64_t)(hdr.n + p->n);
		cm->csize = (int64_t)(hdr.n + blen);
		cm->nvalues = (int64_t)w->rows;
		int rc = out(w, hdr.p, hdr.n, err);
		free(hdr.p);
		if (rc < 0 || out(w, body, blen, err) < 0)
			return -1;
		c->vals.n = 0;
		c->nbool = 0;
	}
	w->group_rows[w->ngroups++] = (int64_t)w->rows;
	w->total_rows += (int64_t)w->rows;
	w->rows = 0;
	return 0;
}

int ferry_pqw_end_row(struct ferry_pqw *w, ferry_err *err)
{
	if (w->rows == w->defcap) {
		size_t cap = w->defcap ? w->defcap * 2 : 1024;
		for (size_t i = 0; i < w->ncols; i++) {
			uint8_t *d = realloc(w->cols[i].def, cap);
			if (!d)
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
			w->cols[i].def = d;
		}
		w->defcap = cap;
	}
	size_t bytes = 0;
	for (size_t i = 0; i < w->ncols; i++) {
		w->cols[i].def[w->rows] = (uint8_t)w->cols[i].set;
		w->cols[i].set = 0;
		bytes += w->cols[i].vals.n;
	}
	w->rows++;
	if (w->rows >= FERRY_PQW_GROUP_ROWS || bytes >= FERRY_PQW_GROUP_BYTES)
		return write_group(w, err);
	return 0;
}

static void schema_elem(struct tw *t, const struct column *c)
{
	static const int phys[] = { [FERRY_PQW_INT64] = PT_INT64, [FERRY_PQW_DOUBLE] = PT_DOUBLE,
				    [FERRY_PQW_BOOL] = PT_BOOLEAN, [FERRY_PQW_STRING] = PT_BYTE_ARRAY,
				    [FERRY_PQW_DATE] = PT_INT32, [FERRY_PQW_TS_US] = PT_INT64 };
	begin(t);
	f_i32(t, 1, phys[c->type]);
	f_i32(t, 3, 1); /* OPTIONAL */
	f_string(t, 4, c->name);
	if (c->type == FERRY_PQW_STRING)
		f_i32(t, 6, 0); /* UTF8 */
	else if (c->type == FERRY_PQW_DATE)
		f_i32(t, 6, 6); /* DATE */
	if (c->type == FERRY_PQW_STRING || c->type == FERRY_PQW_DATE || c->type == FERRY_PQW_TS_US) {
		f_struct(t, 10); /* LogicalType */
		if (c->type == FERRY_PQW_STRING) {
			f_struct(t, 1);
			end(t);
		} else if (c->type == FERRY_PQW_DATE) {
			f_struct(t, 6);
			end(t);
		} else {
			f_struct(t, 8); /* TIMESTAMP {1: isAdjustedToUTC, 2: unit {2: MICROS {}}} */
			f_bool(t, 1, 0);
			f_struct(t, 2);
			f_struct(t, 2);
			end(t);
			end(t);
			end(t);
		}
		end(t);
	}
	end(t);
}

int ferry_pqw_finish(struct ferry_pqw *w, ferry_err *err)
{
	static const int phys[] = { [FERRY_PQW_INT64] = PT_INT64, [FERRY_PQW_DOUBLE] = PT_DOUBLE,
				    [FERRY_PQW_BOOL] = PT_BOOLEAN, [FERRY_PQW_STRING] = PT_BYTE_ARRAY,
				    [FERRY_PQW_DATE] = PT_INT32, [FERRY_PQW_TS_US] = PT_INT64 };
	static const int codec[] = { [FERRY_PQW_UNCOMPRESSED] = 0, [FERRY_PQW_SNAPPY] = 1, [FERRY_PQW_GZIP] = 2,
				     [FERRY_PQW_ZSTD] = 6 };
	if (write_group(w, err) < 0)
		return -1;
	struct buf b = { 0 };
	struct tw t = { .b = &b };
	begin(&t); /* FileMetaData */
	f_i32(&t, 1, 1);
	list(&t, 2, 12, w->ncols + 1);
	begin(&t);
	f_string(&t, 4, "schema");
	f_i32(&t, 5, (int32_t)w->ncols);
	end(&t);
	for (size_t i = 0; i < w->ncols; i++)
		schema_elem(&t, &w->cols[i]);
	f_i64(&t, 3, w->total_rows);
	list(&t, 4, 12, w->ngroups);
	for (size_t g = 0; g < w->ngroups; g++) {
		begin(&t); /* RowGroup */
		list(&t, 1, 12, w->ncols);
		int64_t total = 0;
		for (size_t i = 0; i < w->ncols; i++) {
			const struct chunk_meta *cm = &w->meta[g * w->ncols + i];
			total += cm->usize;
			begin(&t); /* ColumnChunk */
			f_i64(&t, 2, cm->offset);
			f_struct(&t, 3); /* ColumnMetaData */
			f_i32(&t, 1, phys[w->cols[i].type]);
			list(&t, 2, 5, 2);
			varint(&b, zigzag(ENC_PLAIN));
			varint(&b, zigzag(ENC_RLE));
			list(&t, 3, 8, 1);
			binary(&b, w->cols[i].name, strlen(w->cols[i].name));
			f_i32(&t, 4, codec[w->codec]);
			f_i64(&t, 5, cm->nvalues);
			f_i64(&t, 6, cm->usize);
			f_i64(&t, 7, cm->csize);
			f_i64(&t, 9, cm->offset);
			end(&t);
			end(&t);
		}
		f_i64(&t, 2, total);
		f_i64(&t, 3, w->group_rows[g]);
		end(&t);
	}
	f_string(&t, 6, "ferry");
	end(&t);
	if (b.failed) {
		free(b.p);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	uint32_t flen = (uint32_t)b.n;
	int rc = out(w, b.p, b.n, err);
	free(b.p);
	if (rc < 0 || out(w, &flen, 4, err) < 0 || out(w, "PAR1", 4, err) < 0)
		return -1;
	return 0;
}

void ferry_pqw_free(struct ferry_pqw *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ncols; i++) {
		free(w->cols[i].name);
		free(w->cols[i].vals.p);
		free(w->cols[i].def);
	}
	free(w->cols);
	free(w->meta);
	free(w->group_rows);
	free(w->page.p);
	free(w->comp.p);
	free(w);
}
