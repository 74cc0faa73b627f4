/* expr.c — fuzz target: MLTable filter expressions (mltable/expr.c), parsed,
 * then evaluated against a row whose values come from the column names (so
 * numbers, booleans, strings and nulls all occur), and their columns listed. */
#include "fuzz.h"

#include "mltable/mltable.h"

/* Column "n<...>" is null; "v<text>" has value <text>; others echo the name. */
static const char *lookup(void *arg, const char *column, int *is_null)
{
	(void)arg;
	*is_null = column[0] == 'n';
	if (*is_null)
		return NULL;
	return column[0] == 'v' ? column + 1 : column;
}

static int count(void *arg, const char *name)
{
	(void)name;
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct ferry_mlt_expr *e;
	char errbuf[256];
	if (ferry_mlt_expr_parse(s, &e, errbuf, sizeof(errbuf)) == 0) {
		size_t n = 0;
		ferry_mlt_expr_columns(e, count, &n);
		ferry_mlt_expr_eval(e, lookup, NULL);
		ferry_mlt_expr_free(e);
	}
	free(s);
	return 0;
}
