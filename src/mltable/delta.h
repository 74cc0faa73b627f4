/*
 * delta.h — read_delta_lake: the files of a Delta Lake table at a version or
 * a timestamp (Delta protocol, "Action Reconciliation"), for table.c.
 *
 * Threads: one snapshot per thread; nothing shared.
 */
#ifndef FERRY_MLTABLE_DELTA_H
#define FERRY_MLTABLE_DELTA_H

#include "mltable/mltable.h"

#include <stdint.h>

/* A table's state at one version. */
struct ferry_delta {
	int64_t version;
	char **cols;          /* the schema's columns, in its order */
	size_t ncols;
	int *kind;            /* per column: 0 string, 1 integer, 2 real, 3 boolean, 4 date/time */
	size_t *part;         /* the partition columns, as indexes into cols */
	size_t npart;
	char ***values;       /* per live file, its npart partition values (NULL: null) */
};

/* The live files of the Delta table whose root is m's one `folder:` path, at
 * step s's version_as_of / timestamp_as_of (else the latest version).
 * `files` holds every file below the root (ferry_mltable_files) and is
 * replaced by the live data files, in path order; *d gets the schema and each
 * file's partition values (free with ferry_delta_clear). Reads `_delta_log/`:
 * the newest checkpoint Parquet at or before the version (a single-file
 * checkpoint, read through parquet.c's nested leaves) and the JSON commits
 * after it. Errors (FERRY_E_INVALID) name the log file and, for JSON, the
 * line: malformed JSON or actions, a missing version, a remove of a file that
 * is not live, a version number beyond 2^63, deletion vectors, column mapping
 * and reader features ferry does not know. */
int ferry_delta_snapshot(struct ferry_mltable *m, const struct ferry_mlt_step *s, struct ferry_mlt_files *files,
			 struct ferry_delta *d, ferry_err *err);
void ferry_delta_clear(struct ferry_delta *d, size_t nfiles);

/* Parse a timestamp_as_of: "YYYY-MM-DD" or "YYYY-MM-DD[T ]HH:MM[:SS[.fff]]"
 * then "Z", "+HH:MM", "-HH:MM" or nothing (UTC). Milliseconds since the
 * epoch into *ms; 0, or -1 when the text is not such a timestamp. Pure. */
int ferry_delta_parse_time(const char *text, int64_t *ms);

#endif
