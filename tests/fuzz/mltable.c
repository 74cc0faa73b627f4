/* mltable.c — fuzz target: MLTable documents (mltable/doc.c: paths and every
 * transformation, filter expressions included). No storage is touched. */
#include "fuzz.h"

#include "mltable/mltable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_mltable *m;
	ferry_err err;
	if (ferry_mltable_parse((const char *)data, size, "fuzz/MLTable", &m, &err) == 0)
		ferry_mltable_free(m);
	return 0;
}
