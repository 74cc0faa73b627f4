/*
 * pqwrite.h — a writer of Apache Parquet files (`ferry mltable export --to
 * parquet`), the counterpart of parquet.h's reader.
 *
 * Rows are added one at a time as text; each column has a fixed type chosen
 * before the first row (int64, double, boolean, UTF-8 string, date, or a
 * timestamp in microseconds), every column is OPTIONAL (nulls as definition
 * levels). Rows are held one row group at a time (FERRY_PQW_GROUP_ROWS rows
 * or FERRY_PQW_GROUP_BYTES of values, whichever comes first), then written as
 * one PLAIN data page (v1) per column chunk, compressed with the codec
 * chosen; the footer (Thrift compact FileMetaData) ends the file. Output is
 * sequential writes to a FILE, so stdout works. Threads: one writer per
 * thread.
 */
#ifndef FERRY_MLTABLE_PQWRITE_H
#define FERRY_MLTABLE_PQWRITE_H

#include "core/err.h"

#include <stddef.h>
#include <stdio.h>

#define FERRY_PQW_GROUP_ROWS (1u << 17)
#define FERRY_PQW_GROUP_BYTES (64u << 20)

enum ferry_pqw_type { FERRY_PQW_INT64, FERRY_PQW_DOUBLE, FERRY_PQW_BOOL, FERRY_PQW_STRING, FERRY_PQW_DATE,
		      FERRY_PQW_TS_US };
enum ferry_pqw_codec { FERRY_PQW_UNCOMPRESSED, FERRY_PQW_SNAPPY, FERRY_PQW_GZIP, FERRY_PQW_ZSTD };

struct ferry_pqw;

/* A writer of `n` columns named names[i] (copied) of types[i] to `out`
 * (borrowed; the writer writes "PAR1" at once). NULL on failure (err set). */
struct ferry_pqw *ferry_pqw_new(FILE *out, char *const *names, const enum ferry_pqw_type *types, size_t n,
				enum ferry_pqw_codec codec, ferry_err *err);

/* Set column i of the current row to the text s[0..len) (NULL: null); the
 * text must parse as the column's type (ints in decimal, reals as strtod
 * reads them, booleans as true/false/1/0/yes/no any case, dates as
 * YYYY-MM-DD, timestamps as YYYY-MM-DD[T ]HH:MM:SS[.frac]). -1 when it does
 * not (err names the column and the text). */
int ferry_pqw_value(struct ferry_pqw *w, size_t i, const char *s, size_t len, ferry_err *err);
/* End the current row (columns not set are null); may write a row group. */
int ferry_pqw_end_row(struct ferry_pqw *w, ferry_err *err);
/* Write the last row group and the footer. Does not close `out`. */
int ferry_pqw_finish(struct ferry_pqw *w, ferry_err *err);
void ferry_pqw_free(struct ferry_pqw *w);

#endif
