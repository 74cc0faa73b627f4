/* test_parquet.c — the Parquet reader's pure parts: the Thrift compact reader
 * (fields with short and long ids, bools in types, lists and maps, nested structs,
 * skipping, and its refusals: truncated data, lengths beyond the data, nesting
 * deeper than FERRY_THRIFT_MAX_DEPTH), the RLE/bit-packed hybrid (the format's
 * own example, bounds), and a hand-built file with data pages v1 (which the npm
 * fixtures of t7040 do not write): definition levels, INT96 and TIMESTAMP(MICROS)
 * values, a zlib-compressed page; then every truncation of it fails cleanly; a
 * LIST column is refused by its name. */
#include "check.h"
#include "mltable/parquet.h"
#include "mltable/thrift.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- a tiny compact-protocol writer for the tests ---- */
struct w {
	uint8_t b[4096];
	size_t n;
	int16_t last[32];
	int d;
};
static void byte(struct w *w, uint8_t c) { w->b[w->n++] = c; }
static void varint(struct w *w, uint64_t v)
{
	while (v >= 0x80) {
		byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	byte(w, (uint8_t)v);
}
static void zz(struct w *w, int64_t v) { varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }
static void field(struct w *w, int id, int type)
{
	int delta = id - w->last[w->d];
	if (delta > 0 && delta <= 15)
		byte(w, (uint8_t)(delta << 4 | type));
	else {
		byte(w, (uint8_t)type);
		zz(w, id);
	}
	w->last[w->d] = (int16_t)id;
}
static void fi(struct w *w, int id, int64_t v) { field(w, id, v == (int32_t)v ? FERRY_TT_I32 : FERRY_TT_I64), zz(w, v); }
static void fi64(struct w *w, int id, int64_t v) { field(w, id, FERRY_TT_I64), zz(w, v); }
static void fstr(struct w *w, int id, const char *s)
{
	field(w, id, FERRY_TT_BINARY);
	varint(w, strlen(s));
	memcpy(w->b + w->n, s, strlen(s));
	w->n += strlen(s);
}
static void begin(struct w *w) { w->last[++w->d] = 0; }
static void fstruct(struct w *w, int id) { field(w, id, FERRY_TT_STRUCT), begin(w); }
static void end(struct w *w) { byte(w, 0), w->d--; }
static void flist(struct w *w, int id, int etype, int n) { field(w, id, FERRY_TT_LIST), byte(w, (uint8_t)(n << 4 | etype)); }

static void thrift_tests(void)
{
	struct w w = { 0 };
	begin(&w);
	fi(&w, 1, -3);
	fstr(&w, 2, "ab");
	field(&w, 3, FERRY_TT_TRUE);
	flist(&w, 4, FERRY_TT_I32, 2);
	zz(&w, 7), zz(&w, -8);
	fi64(&w, 300, 1234567890123ll); /* a long-form id */
	fstruct(&w, 301);
	fi(&w, 1, 9);
	end(&w);
	end(&w);
	struct ferry_thrift t;
	ferry_thrift_init(&t, w.b, w.n);
	int id, ty, seen = 0;
	CHECK(ferry_thrift_begin(&t) == 0);
	while (ferry_thrift_field(&t, &id, &ty) == 1) {
		int32_t v;
		int64_t v64;
		const uint8_t *s;
		size_t n;
		int b, et;
		if (id == 1)
			CHECK(ferry_thrift_i32(&t, ty, &v) == 0 && v == -3);
		else if (id == 2)
			CHECK(ferry_thrift_binary(&t, &s, &n) == 0 && n == 2 && !memcmp(s, "ab", 2));
		else if (id == 3)
			CHECK(ferry_thrift_bool(&t, ty, &b) == 0 && b == 1);
		else if (id == 4) {
			CHECK(ferry_thrift_list(&t, &et, &n) == 0 && et == FERRY_TT_I32 && n == 2);
			CHECK(ferry_thrift_i32(&t, et, &v) == 0 && v == 7);
			CHECK(ferry_thrift_i32(&t, et, &v) == 0 && v == -8);
		} else if (id == 300)
			CHECK(ferry_thrift_i64(&t, ty, &v64) == 0 && v64 == 1234567890123ll);
		else if (id == 301)
			CHECK(ty == FERRY_TT_STRUCT && ferry_thrift_skip(&t, ty) == 0);
		seen++;
	}
	CHECK(seen == 6 && !t.why && t.p == t.end);

	/* every truncation is an error, never a read past the end */
	int fails = 0;
	for (size_t cut = 0; cut < w.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		memcpy(copy, w.b, cut);
		ferry_thrift_init(&t, copy, cut);
		fails += ferry_thrift_skip(&t, FERRY_TT_STRUCT) < 0 && t.why;
		free(copy);
	}
	CHECK(fails == (int)w.n);

	/* a map<i32, bool>: its bools are one byte each, as in lists */
	uint8_t map[] = { 0x1b, 2, 0x51, 2, 1, 4, 2, 0x15, 14, 0 };
	ferry_thrift_init(&t, map, sizeof(map));
	CHECK(ferry_thrift_begin(&t) == 0);
	CHECK(ferry_thrift_field(&t, &id, &ty) == 1 && id == 1 && ty == FERRY_TT_MAP && ferry_thrift_skip(&t, ty) == 0);
	int32_t after = 0;
	CHECK(ferry_thrift_field(&t, &id, &ty) == 1 && id == 2 && ferry_thrift_i32(&t, ty, &after) == 0 && after == 7);
	CHECK(ferry_thrift_field(&t, &id, &ty) == 0 && t.p == t.end);

	/* a string longer than its data; a list longer than its data; too deep */
	uint8_t s1[] = { 0x18, 0x7f, 'a', 0 };
	ferry_thrift_init(&t, s1, sizeof(s1));
	CHECK(ferry_thrift_skip(&t, FERRY_TT_STRUCT) < 0 && strstr(t.why, "longer"));
	uint8_t s2[] = { 0x19, 0xf5, 0xff, 0xff, 0xff, 0x0f, 0 };
	ferry_thrift_init(&t, s2, sizeof(s2));
	CHECK(ferry_thrift_skip(&t, FERRY_TT_STRUCT) < 0 && strstr(t.why, "longer"));
	uint8_t deep[200];
	memset(deep, 0x1c, sizeof(deep)); /* field 1: struct, again and again */
	ferry_thrift_init(&t, deep, sizeof(deep));
	CHECK(ferry_thrift_skip(&t, FERRY_TT_STRUCT) < 0 && strstr(t.why, "deep"));
}

static void rle_tests(void)
{
	/* the format's example: 0..7 bit-packed at width 3, then a run of five 7s */
	uint8_t d[] = { 0x03, 0x88, 0xC6, 0xFA, 0x0A, 0x07 };
	uint32_t out[13];
	const char *why = NULL;
	CHECK(ferry_pq_rle_decode(d, sizeof(d), 3, out, 13, &why) == 0);
	for (uint32_t i = 0; i < 8; i++)
		CHECK(out[i] == i);
	for (int i = 8; i < 13; i++)
		CHECK(out[i] == 7);
	CHECK(ferry_pq_rle_decode(d, sizeof(d), 3, out, 14, &why) < 0 && why); /* more than there is */
	CHECK(ferry_pq_rle_decode(d, 3, 3, out, 8, &why) < 0);                  /* packed run cut */
	uint8_t wide[] = { 0x02, 0x09 };                                         /* 9 in width 3 */
	CHECK(ferry_pq_rle_decode(wide, 2, 3, out, 1, &why) < 0 && strstr(why, "wider"));
	CHECK(ferry_pq_rle_decode(d, sizeof(d), 33, out, 1, &why) < 0);
	uint8_t zero[] = { 0x00, 0x00 };
	CHECK(ferry_pq_rle_decode(zero, 2, 1, out, 1, &why) < 0); /* an empty run never ends */
	/* width 0 (the indices into a one-value dictionary, as hyparquet-writer
	 * writes them): a bit-packed group of 8 values takes no bytes */
	uint8_t w0[] = { 0x03 };
	for (int i = 0; i < 8; i++)
		out[i] = 99;
	CHECK(ferry_pq_rle_decode(w0, sizeof(w0), 0, out, 7, &why) == 0 && out[0] == 0 && out[6] == 0);
	uint8_t w0huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f }; /* 2^62 groups: bounded by n */
	CHECK(ferry_pq_rle_decode(w0huge, sizeof(w0huge), 0, out, 13, &why) == 0 && out[12] == 0);
}

/* ---- a hand-built file: t INT96 optional (v1 page, plain), u TIMESTAMP(MICROS) INT64 (zlib) ---- */

struct got {
	char text[512];
	int rows;
};
static int row(void *arg, const struct ferry_pq_val *v, uint64_t r)
{
	struct got *g = arg;
	size_t n = strlen(g->text);
	snprintf(g->text + n, sizeof(g->text) - n, "%llu:%s|%s;", (unsigned long long)r, v[0].s ? v[0].s : "null",
		 v[1].s ? v[1].s : "null");
	g->rows++;
	return 0;
}

static void page_header(struct w *w, int usize, int csize, int nvalues)
{
	w->d = 0;
	w->last[0] = 0;
	begin(w);
	fi(w, 1, 0);
	fi(w, 2, usize);
	fi(w, 3, csize);
	fstruct(w, 5);
	fi(w, 1, nvalues);
	fi(w, 2, 0);
	fi(w, 3, 3);
	fi(w, 4, 3);
	end(w);
	end(w);
}

static size_t build(uint8_t *f)
{
	size_t n = 0;
	memcpy(f, "PAR1", 4);
	n = 4;
	/* column t: def levels 1,0,1 (length-prefixed RLE: one bit-packed group), two INT96 */
	uint8_t page[64];
	size_t pn = 0;
	page[pn++] = 2, page[pn++] = 0, page[pn++] = 0, page[pn++] = 0;
	page[pn++] = 0x03, page[pn++] = 0x05;
	uint64_t ns[2] = { 3723000000500ull, 0 };   /* 01:02:03.0000005 */
	uint32_t jd[2] = { 2440588 + 19782, 2440587 }; /* 2024-02-29, 1969-12-31 */
	for (int i = 0; i < 2; i++) {
		memcpy(page + pn, &ns[i], 8);
		memcpy(page + pn + 8, &jd[i], 4);
		pn += 12;
	}
	struct w h = { 0 };
	page_header(&h, (int)pn, (int)pn, 3);
	size_t t_off = n;
	memcpy(f + n, h.b, h.n), n += h.n;
	memcpy(f + n, page, pn), n += pn;
	size_t t_size = n - t_off;
	/* column u: required, 3 INT64 microseconds, zlib */
	int64_t us[3] = { 0, -1, 1709164923123456ll };
	uLongf clen = 64;
	uint8_t comp[64];
	compress(comp, &clen, (const Bytef *)us, sizeof(us));
	struct w h2 = { 0 };
	page_header(&h2, (int)sizeof(us), (int)clen, 3);
	size_t u_off = n;
	memcpy(f + n, h2.b, h2.n), n += h2.n;
	memcpy(f + n, comp, clen), n += clen;
	size_t u_size = n - u_off;
	/* footer */
	struct w m = { 0 };
	begin(&m);
	fi(&m, 1, 1);
	flist(&m, 2, FERRY_TT_STRUCT, 3);
	begin(&m), fstr(&m, 4, "schema"), fi(&m, 5, 2), end(&m);
	begin(&m), fi(&m, 1, 3), fi(&m, 3, 1), fstr(&m, 4, "t"), end(&m);
	begin(&m), fi(&m, 1, 2), fi(&m, 3, 0), fstr(&m, 4, "u");
	fstruct(&m, 10), fstruct(&m, 8), field(&m, 1, FERRY_TT_TRUE), fstruct(&m, 2), fstruct(&m, 2), end(&m), end(&m),
		end(&m), end(&m);
	end(&m);
	fi64(&m, 3, 3);
	flist(&m, 4, FERRY_TT_STRUCT, 1);
	begin(&m);
	flist(&m, 1, FERRY_TT_STRUCT, 2);
	const char *names[] = { "t", "u" };
	int types[] = { 3, 2 }, codecs[] = { 0, 2 };
	size_t offs[] = { t_off, u_off }, sizes[] = { t_size, u_size };
	for (int c = 0; c < 2; c++) {
		begin(&m);
		fi64(&m, 2, (int64_t)offs[c]);
		fstruct(&m, 3);
		fi(&m, 1, types[c]);
		flist(&m, 2, FERRY_TT_I32, 1), zz(&m, 0);
		flist(&m, 3, FERRY_TT_BINARY, 1), varint(&m, 1), byte(&m, (uint8_t)names[c][0]);
		fi(&m, 4, codecs[c]);
		fi64(&m, 5, 3);
		fi64(&m, 6, (int64_t)sizes[c]);
		fi64(&m, 7, (int64_t)sizes[c]);
		fi64(&m, 9, (int64_t)offs[c]);
		end(&m);
		end(&m);
	}
	fi64(&m, 2, 100);
	fi64(&m, 3, 3);
	end(&m);
	end(&m);
	memcpy(f + n, m.b, m.n), n += m.n;
	uint32_t fl = (uint32_t)m.n;
	memcpy(f + n, &fl, 4), n += 4;
	memcpy(f + n, "PAR1", 4), n += 4;
	return n;
}

static void file_tests(void)
{
	static uint8_t f[8192];
	size_t n = build(f);
	struct got g = { "", 0 };
	ferry_err err;
	ferry_err_clear(&err);
	int rc = ferry_pq_decode_buffer(f, n, "hand.parquet", row, &g, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	CHECK(rc == 0 && g.rows == 3);
	CHECK_STR(g.text, "0:2024-02-29T01:02:03.0000005|1970-01-01T00:00:00;"
			  "1:null|1969-12-31T23:59:59.999999;"
			  "2:1969-12-31T00:00:00|2024-02-29T00:02:03.123456;");
	/* every truncation of the file (and a flipped byte at each place) fails or reads, never overreads */
	int errors = 0;
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, f, cut);
		struct got g2 = { "", 0 };
		ferry_err_clear(&err);
		errors += ferry_pq_decode_buffer(copy, cut, "cut.parquet", row, &g2, &err) < 0 && strstr(err.msg, "cut.parquet");
		free(copy);
	}
	CHECK(errors == (int)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *copy = malloc(n);
		memcpy(copy, f, n);
		copy[i] ^= 0xff;
		struct got g2 = { "", 0 };
		ferry_err_clear(&err);
		rc = ferry_pq_decode_buffer(copy, n, "flip.parquet", row, &g2, &err);
		CHECK(rc == 0 || strstr(err.msg, "flip.parquet"));
		free(copy);
	}
}

static int no_row(void *arg, const struct ferry_pq_val *v, uint64_t r)
{
	(void)arg, (void)v, (void)r;
	return 0;
}

/* A footer whose schema has a LIST column: refused by the column's name. */
static void nested_tests(void)
{
	struct w m = { 0 };
	begin(&m);
	flist(&m, 2, FERRY_TT_STRUCT, 4);
	begin(&m), fstr(&m, 4, "schema"), fi(&m, 5, 2), end(&m);
	begin(&m), fi(&m, 1, 1), fi(&m, 3, 0), fstr(&m, 4, "id"), end(&m);
	begin(&m), fi(&m, 3, 1), fstr(&m, 4, "tags"), fi(&m, 5, 1), fi(&m, 6, 3), end(&m);
	begin(&m), fi(&m, 1, 6), fi(&m, 3, 2), fstr(&m, 4, "element"), end(&m);
	fi64(&m, 3, 0);
	end(&m);
	uint8_t f[600];
	size_t n = 0;
	memcpy(f, "PAR1", 4), n = 4;
	memcpy(f + n, m.b, m.n), n += m.n;
	uint32_t fl = (uint32_t)m.n;
	memcpy(f + n, &fl, 4), n += 4;
	memcpy(f + n, "PAR1", 4), n += 4;
	ferry_err err;
	ferry_err_clear(&err);
	CHECK(ferry_pq_decode_buffer(f, n, "nested.parquet", no_row, NULL, &err) < 0);
	CHECK(strstr(err.msg, "nested.parquet") && strstr(err.msg, "column 'tags' is a nested type"));
}

int main(void)
{
	nested_tests();
	thrift_tests();
	rle_tests();
	file_tests();
	return CHECK_DONE();
}
