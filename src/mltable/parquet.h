/*
 * parquet.h — a reader of Apache Parquet files for read_parquet.
 *
 * ferry_pq_open fetches the footer only (the file's last bytes: "PAR1", the
 * Thrift-compact FileMetaData); ferry_pq_read then fetches, row group by row
 * group, only the column chunks the caller wants (one ranged store read
 * each) and hands rows to a callback. Supported: flat schemas (a nested
 * group, LIST or MAP column is refused by name), data pages v1 and v2,
 * dictionary pages, PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY, RLE (booleans and
 * levels), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT; codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD (the
 * others refused by name); physical types BOOLEAN, INT32, INT64, INT96,
 * FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY with DATE, TIMESTAMP
 * (ms/us/ns), DECIMAL (as text) and STRING logical types.
 *
 * Values come as text (ints in decimal, floats shortest round-trip, dates
 * "YYYY-MM-DD", timestamps "YYYY-MM-DDTHH:MM:SS[.frac]", byte arrays as
 * they are) with a kind. Memory: one row group of the wanted columns at a
 * time. Every length and offset in the file is checked against the file
 * and the buffers: a malformed file is an error naming it, never a crash.
 * Threads: one reader per thread.
 */
#ifndef FERRY_MLTABLE_PARQUET_H
#define FERRY_MLTABLE_PARQUET_H

#include "core/err.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* Row groups above this many rows are refused (memory is one row group). */
#define FERRY_PQ_MAX_GROUP_ROWS (16u << 20)

enum ferry_pq_kind { FERRY_PQ_NULL, FERRY_PQ_STR, FERRY_PQ_INT, FERRY_PQ_FLOAT, FERRY_PQ_BOOL, FERRY_PQ_DT };

struct ferry_pq_val {
	int kind;          /* enum ferry_pq_kind */
	const char *s;     /* text, NUL-terminated (NULL for FERRY_PQ_NULL) */
	size_t len;
};

struct ferry_pq;

/* Open `path` (`size` bytes) in `s` (borrowed; must outlive the reader) and
 * read its footer. `label` names the file in errors. */
int ferry_pq_open(struct ferry_store *s, const char *path, uint64_t size, const char *label, struct ferry_pq **out,
		  ferry_err *err);
size_t ferry_pq_ncols(const struct ferry_pq *q);
const char *ferry_pq_colname(const struct ferry_pq *q, size_t i);
uint64_t ferry_pq_nrows(const struct ferry_pq *q);

/* Called once per row with v[0..ncols): columns not wanted are NULL.
 * Return 0 to go on, >0 to stop (no error), <0 for an error. */
typedef int (*ferry_pq_row_fn)(void *arg, const struct ferry_pq_val *v, uint64_t row);

/* Read the rows; want[i] != 0 for each column to fetch (NULL: all).
 * Returns 0, the callback's >0 stop value, or -1 (err filled; a callback
 * error is returned as it is). */
int ferry_pq_read(struct ferry_pq *q, const unsigned char *want, ferry_pq_row_fn fn, void *arg, ferry_err *err);

/* ---- nested files (Delta checkpoints) ----
 * ferry_pq_open_nested opens a file whose schema may nest groups, LISTs and
 * MAPs (at most 16 deep): its columns are then the leaves, named by their
 * dotted path ("add.partitionValues.key_value.key"), each with its maximum
 * definition and repetition levels; the caller assembles records from the
 * levels (Dremel). ferry_pq_read still works on the leaves that do not
 * repeat. */
int ferry_pq_open_nested(struct ferry_store *s, const char *path, uint64_t size, const char *label,
			 struct ferry_pq **out, ferry_err *err);
size_t ferry_pq_ngroups(const struct ferry_pq *q);
void ferry_pq_levels(const struct ferry_pq *q, size_t col, int *max_def, int *max_rep);

/* One leaf column of one row group: n entries, each with its definition and
 * repetition level (def == max_def: the value is there; rep == 0: a new
 * record starts). Owned by the caller: ferry_pq_leaf_free. */
struct ferry_pq_leaf {
	size_t n;
	const uint8_t *def, *rep;
	void *priv;
};
/* Fetch and decode column `col` of row group `group` (< ferry_pq_ngroups). */
int ferry_pq_read_leaf(struct ferry_pq *q, size_t col, size_t group, struct ferry_pq_leaf *out, ferry_err *err);
/* Entry i's value (FERRY_PQ_NULL unless def == max_def); text owned by l. */
struct ferry_pq_val ferry_pq_leaf_val(const struct ferry_pq_leaf *l, size_t i);
void ferry_pq_leaf_free(struct ferry_pq_leaf *l);

/* Bytes and reads fetched so far (footer included). */
void ferry_pq_fetched(const struct ferry_pq *q, uint64_t *bytes, uint64_t *reads);

void ferry_pq_close(struct ferry_pq *q);

/* The RLE/bit-packed hybrid (levels, dictionary indices, booleans):
 * decode exactly n values of `width` bits (0..32) from [p, p+len) into out.
 * Returns 0, or -1 with *why set (data too short, bad width). Pure. */
int ferry_pq_rle_decode(const uint8_t *p, size_t len, int width, uint32_t *out, size_t n, const char **why);

/* A reader over a whole file held in memory (`data`, borrowed until
 * ferry_pq_close): like ferry_pq_open without a store (tests, fuzzing). */
int ferry_pq_open_buffer(const void *data, size_t len, const char *label, struct ferry_pq **out, ferry_err *err);

/* Decode a whole file held in memory (tests, fuzzing): like open+read. */
int ferry_pq_decode_buffer(const void *data, size_t len, const char *label, ferry_pq_row_fn fn, void *arg,
			   ferry_err *err);

#endif
