/* csv.c — fuzz target: the streaming delimited-text reader (mltable/csv.c).
 * Byte 0 picks the delimiter, multi_line and the size of the pieces the rest
 * is fed in (as a store's reads cut it anywhere); every field of every record
 * is read, so a field pointing outside the record shows (ASan). */
#include "fuzz.h"

#include "mltable/csv.h"

static int on_record(void *arg, const struct ferry_csv_record *rec)
{
	size_t *sum = arg;
	for (size_t i = 0; i < rec->n; i++) {
		if (rec->f[i][rec->len[i]] != '\0')
			abort(); /* the contract: every field is NUL-terminated at len */
		for (size_t k = 0; k < rec->len[i]; k++)
			*sum += (unsigned char)rec->f[i][k];
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const char delims[] = { ',', '\t', ';', '|' };
	unsigned ctl = data[0];
	size_t piece = (ctl >> 3) ? (ctl >> 3) : size + 1; /* 1..31 bytes, or all at once */
	size_t sum = 0;
	struct ferry_csv *c = ferry_csv_new(delims[ctl & 3], (ctl >> 2) & 1, on_record, &sum);
	if (!c)
		abort();
	ferry_err err;
	int rc = 0;
	for (size_t at = 1; rc == 0 && at < size; at += piece)
		rc = ferry_csv_feed(c, (const char *)data + at, size - at < piece ? size - at : piece, "fuzz.csv", &err);
	if (rc == 0)
		ferry_csv_finish(c, "fuzz.csv", &err);
	ferry_csv_free(c);
	return 0;
}
