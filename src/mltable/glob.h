/*
 * glob.h — the path patterns of MLTable `pattern:` entries.
 *
 * Syntax (REFERENCE-azure.md): `*` any run of characters within one path
 * segment, `?` one character other than '/', `[abc]`, `[a-z]`, `[!a-z]` /
 * `[^a-z]` one character of (not of) a set, `**` any number of whole
 * segments (also none: "a/STARSTAR/b" matches "a/b"), `\x` a literal x.
 * Matching is on bytes (UTF-8 names match byte-wise) and case-sensitive,
 * as Blob names are.
 *
 * Pure functions; any thread.
 */
#ifndef FERRY_MLTABLE_GLOB_H
#define FERRY_MLTABLE_GLOB_H

#include <stddef.h>

#define FERRY_GLOB_MAX_STEPS 1000000L

/* 1 when `name` (a '/'-separated relative path) matches `pattern`, 0 when it
 * does not, -1 when deciding took more than FERRY_GLOB_MAX_STEPS steps (a
 * pathological pattern such as many `**` against a deep name). */
int ferry_glob_match(const char *pattern, const char *name);

/* 1 when `s` holds a glob character (* ? [ or a backslash escape). */
int ferry_glob_has_magic(const char *s);

/* Length of the longest literal folder prefix of `pattern`: the part up to
 * and including the last '/' before the first glob character ("data/x/a?.csv"
 * -> 7, "data/x/"; "a?.csv" -> 0). Listing starts there. */
size_t ferry_glob_literal_prefix(const char *pattern);

#endif
