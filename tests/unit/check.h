/*
 * check.h — the tiny harness of ferry's C unit tests: CHECK(cond) records a
 * failure with its line; each test program ends with CHECK_DONE(), which
 * prints "<file>: N passed, N failed" and returns the exit status.
 */
#ifndef FERRY_CHECK_H
#define FERRY_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (cond)                                                               \
			check_pass++;                                                   \
		else {                                                                  \
			check_fail++;                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b) CHECK((a) && (b) && strcmp((a), (b)) == 0)

#define CHECK_DONE()                                                                    \
	(printf("%s: %d passed, %d failed\n", __FILE__, check_pass, check_fail), check_fail ? 1 : 0)

#endif
