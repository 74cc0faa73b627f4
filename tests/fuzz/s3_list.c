/* s3_list.c — fuzz target: ListObjectsV2 XML answers (store/s3.c), read
 * as the answer to a listing of the root and of folder "dir/". */
#include "fuzz.h"

#include "store/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pfx[] = { "", "dir/" };
	for (int i = 0; i < 2; i++) {
		struct ferry_list_page page;
		memset(&page, 0, sizeof(page));
		ferry_err err;
		ferry_s3_parse_list((const char *)data, size, pfx[i], "fuzz", &page, &err);
		ferry_page_clear(&page);
	}
	return 0;
}
