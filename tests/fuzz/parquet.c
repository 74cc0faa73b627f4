/* parquet.c — fuzz target: the Parquet reader (mltable/parquet.c) on a whole
 * file held in memory: the footer's Thrift metadata, row groups, pages v1/v2,
 * codecs, encodings, definition levels. Every value of every row is read to
 * its end, so a value pointing outside its buffer shows (ASan); its text must
 * be NUL-terminated at len, as the header promises. Seeds: small files written
 * by npm's hyparquet-writer (tests/fuzz/corpus/parquet/). */
#include "fuzz.h"

#include "mltable/parquet.h"

struct seen {
	size_t ncols;
	size_t sum;
};

static int on_row(void *arg, const struct ferry_pq_val *v, uint64_t row)
{
	struct seen *s = arg;
	(void)row;
	for (size_t i = 0; i < s->ncols; i++) {
		if (v[i].kind == FERRY_PQ_NULL)
			continue;
		if (!v[i].s || v[i].s[v[i].len] != '\0')
			abort(); /* the contract: text NUL-terminated at len */
		for (size_t k = 0; k < v[i].len; k++)
			s->sum += (unsigned char)v[i].s[k];
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: ASan then sees the end of the file's bytes exactly. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	ferry_err err;
	struct ferry_pq *q;
	if (ferry_pq_open_buffer(copy, size, "fuzz.parquet", &q, &err) == 0) {
		struct seen s = { .ncols = ferry_pq_ncols(q) };
		for (size_t i = 0; i < s.ncols; i++)
			if (!ferry_pq_colname(q, i))
				abort();
		(void)ferry_pq_read(q, NULL, on_row, &s, &err);
		ferry_pq_close(q);
	}
	free(copy);
	return 0;
}
