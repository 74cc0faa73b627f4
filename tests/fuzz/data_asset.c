/* data_asset.c — fuzz target: data asset YAML files (cli/data.c), and the
 * asset's path through the URI parser as `data create` does. */
#include "fuzz.h"

#include "cli/cli.h"
#include "core/uri.h"
#include "workspace/workspace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_data_asset a;
	memset(&a, 0, sizeof(a));
	ferry_err err;
	if (cli_data_asset_parse(fuzz_file(data, size), &a, &err) == 0 && a.path) {
		struct ferry_uri u;
		if (ferry_uri_parse(a.path, &u, &err) == 0)
			ferry_uri_free(&u);
	}
	ferry_data_asset_free(&a);
	return 0;
}
