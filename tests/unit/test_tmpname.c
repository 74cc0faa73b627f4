/*
 * test_tmpname.c — temporaries live in the final file's folder, are short
 * whatever the final name's length (".ferry-" + 16 hex + ".part" = 28 bytes),
 * differ from call to call, and ferry_is_tmp_name recognises exactly them.
 */
#include "check.h"
#include "core/tmpname.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
	char longname[256];
	memset(longname, 'n', 255);
	longname[255] = '\0';
	char final[300];
	snprintf(final, sizeof(final), "/data/out/%s", longname);
	char *a = ferry_tmp_name(final), *b = ferry_tmp_name(final);
	CHECK(a && b);
	CHECK(strncmp(a, "/data/out/.ferry-", 17) == 0);
	CHECK(strlen(a) == strlen("/data/out/") + 28);
	CHECK(strcmp(a, b) != 0);
	CHECK(ferry_is_tmp_name(strrchr(a, '/') + 1));
	free(a);
	free(b);
	char *c = ferry_tmp_name("plain.bin"); /* no folder: the current one */
	CHECK(c && strlen(c) == 28 && ferry_is_tmp_name(c));
	free(c);
	CHECK(!ferry_is_tmp_name(".ferry-0123456789abcdef.part.x"));
	CHECK(!ferry_is_tmp_name(".ferry-0123456789abcdeg.part"));
	CHECK(!ferry_is_tmp_name(".ferry-0123.part"));
	CHECK(!ferry_is_tmp_name("x.ferry-0123456789abcdef.part"));
	CHECK(ferry_is_tmp_name(".ferry-0123456789abcdef.part"));
	return CHECK_DONE();
}
