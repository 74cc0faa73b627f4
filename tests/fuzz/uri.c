/* uri.c — fuzz target: the path forms of SPEC §2 (core/uri.c), and the
 * percent-encoder of blob paths. */
#include "fuzz.h"

#include "core/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct ferry_uri u;
	ferry_err err;
	if (ferry_uri_parse(s, &u, &err) == 0) {
		if (u.path)
			free(ferry_uri_escape_path(u.path));
		ferry_uri_free(&u);
	}
	free(ferry_uri_escape_path(s));
	free(s);
	return 0;
}
