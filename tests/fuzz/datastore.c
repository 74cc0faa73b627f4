/* datastore.c — fuzz target: datastore YAML files (cli/datastore.c:
 * azure_blob, azure_data_lake_gen2, s3; every credential form). */
#include "fuzz.h"

#include "cli/cli.h"
#include "workspace/workspace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_datastore ds;
	ferry_err err;
	if (cli_datastore_parse(fuzz_file(data, size), &ds, &err) == 0)
		ferry_datastore_free(&ds);
	return 0;
}
