/* test_settings.c — the settings table: defaults, sizes with suffixes, bad values named. */
#include "check.h"
#include "core/settings.h"

#include <stdlib.h>

static const char *const *vars;

static const char *lookup(void *arg, const char *name)
{
	(void)arg;
	for (const char *const *v = vars; *v; v += 2)
		if (!strcmp(*v, name))
			return v[1];
	return NULL;
}

int main(void)
{
	struct ferry_settings s;
	ferry_err err;
	static const char *none[] = { NULL };
	vars = none;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == 0);
	CHECK(ferry_setting_int(&s, FS_HTTP_RETRY_COUNT) == 7);
	CHECK(ferry_setting_int(&s, FS_DOWNLOADER_THREADS) >= 4);
	CHECK(ferry_setting_int(&s, FS_READ_BLOCK_SIZE) == 2 * 1024 * 1024);
	CHECK(ferry_setting_int(&s, FS_RESERVED_FREE_DISK) == 150000000);
	CHECK(ferry_setting_f64(&s, FS_PRUNE_TARGET) == 0.7);

	static const char *set[] = { "RSLEX_DOWNLOADER_THREADS", "64", "DATASET_MOUNT_CACHE_SIZE", "-10GB",
				     "DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED", "true",
				     "DATASET_MOUNT_READ_BLOCK_SIZE", "4MiB", NULL };
	vars = set;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == 0);
	CHECK(ferry_setting_int(&s, FS_DOWNLOADER_THREADS) == 64);
	CHECK(ferry_setting_int(&s, FS_MOUNT_CACHE_SIZE) == -10000000000LL);
	CHECK(ferry_setting_int(&s, FS_BLOCK_CACHE_ENABLED) == 1);
	CHECK(ferry_setting_int(&s, FS_READ_BLOCK_SIZE) == 4 * 1024 * 1024);

	static const char *bad1[] = { "AZUREML_DATASET_HTTP_RETRY_COUNT", "-1", NULL };
	vars = bad1;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == -1);
	CHECK(strstr(err.msg, "AZUREML_DATASET_HTTP_RETRY_COUNT") != NULL);
	static const char *bad2[] = { "DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED", "maybe", NULL };
	vars = bad2;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == -1 && strstr(err.msg, "true or false"));
	static const char *bad3[] = { "RSLEX_DOWNLOADER_THREADS", "0", NULL };
	vars = bad3;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == -1 && strstr(err.msg, "out of range"));
	static const char *bad4[] = { "DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", "0.9",
				      "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", "0.5", NULL };
	vars = bad4;
	CHECK(ferry_settings_load(&s, lookup, NULL, &err) == -1 && strstr(err.msg, "must not exceed"));

	int64_t v;
	CHECK(ferry_parse_size("150MB", &v) == 0 && v == 150000000);
	CHECK(ferry_parse_size("2 GiB", &v) == 0 && v == 2147483648LL);
	CHECK(ferry_parse_size("12parsecs", &v) == -1);
	CHECK(ferry_parse_size("", &v) == -1);
	return CHECK_DONE();
}
