/* test_assets.c — the data asset registry (workspace.c): auto versions 1, 2, 3,
 * immutable versions, @latest as the most recently created version, lookups by
 * job, name/version rules, archive/restore of versions and whole names, and
 * errors that name what is missing. */
#include "check.h"
#include "workspace/workspace.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int create(struct ferry_ws *ws, const char *name, const char *version, const char *path,
		  const char *job, char **got, ferry_err *err)
{
	struct ferry_data_asset a = { .name = (char *)name, .version = (char *)version,
				      .type = "uri_folder", .path = (char *)path,
				      .job = (char *)job };
	return ferry_ws_asset_create(ws, &a, got, err);
}

int main(void)
{
	char home[] = "/tmp/ferry-test-assets.XXXXXX";
	if (!mkdtemp(home))
		return 1;
	struct ferry_ws *ws;
	ferry_err err;
	CHECK(ferry_ws_open(home, &ws, &err) == 0);
	char *v = NULL;

	/* auto versions count up from 1 */
	for (int i = 1; i <= 3; i++) {
		char want[12]; /* any int fits */
		snprintf(want, sizeof(want), "%d", i);
		CHECK(create(ws, "cifar", NULL, "azureml://datastores/workspaceblobstore/paths/c/", NULL, &v,
			     &err) == 0);
		CHECK(v && !strcmp(v, want));
		free(v);
		v = NULL;
	}
	/* a named version, then auto continues after the highest number */
	CHECK(create(ws, "cifar", "v2-rc", "s3://b/x/", NULL, NULL, &err) == 0);
	CHECK(create(ws, "cifar", "10", "s3://b/ten/", "job_a", NULL, &err) == 0);
	CHECK(create(ws, "cifar", NULL, "s3://b/eleven/", NULL, &v, &err) == 0);
	CHECK_STR(v, "11");
	free(v);

	/* versions are immutable: the error names asset and version */
	CHECK(create(ws, "cifar", "2", "s3://b/other/", NULL, NULL, &err) == -1);
	CHECK(err.code == FERRY_E_INVALID);
	CHECK(strstr(err.msg, "'cifar' version '2' already exists") != NULL);

	/* @latest is the most recently created, not the highest number */
	CHECK(create(ws, "cifar", "5", "s3://b/five/", NULL, NULL, &err) == 0);
	struct ferry_data_asset a;
	CHECK(ferry_ws_asset_get(ws, "cifar", "latest", &a, &err) == 0);
	CHECK_STR(a.version, "5");
	CHECK_STR(a.path, "s3://b/five/");
	CHECK(a.created && strlen(a.created) == 24 && a.created[23] == 'Z');
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_get(ws, "cifar", NULL, &a, &err) == 0);
	CHECK_STR(a.version, "5");
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_get(ws, "cifar", "10", &a, &err) == 0);
	CHECK_STR(a.job, "job_a");
	CHECK_STR(a.type, "uri_folder");
	ferry_data_asset_free(&a);

	/* not found: a missing version lists the versions, a missing name the names */
	CHECK(ferry_ws_asset_get(ws, "cifar", "99", &a, &err) == -1);
	CHECK(err.code == FERRY_E_NOTFOUND);
	CHECK(strstr(err.msg, "versions: 1, 2, 3, v2-rc, 10, 11, 5") != NULL);
	CHECK(ferry_ws_asset_get(ws, "nosuch", "1", &a, &err) == -1);
	CHECK(strstr(err.msg, "'nosuch' not found (known: cifar)") != NULL);

	/* list: latest of each name; all versions of one name, newest first */
	CHECK(create(ws, "alpha", NULL, "s3://b/a/", "job_a", NULL, &err) == 0);
	struct ferry_data_asset *l;
	size_t n;
	CHECK(ferry_ws_asset_list(ws, NULL, 0, &l, &n, &err) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(l[0].name, "alpha");
		CHECK_STR(l[1].name, "cifar");
		CHECK_STR(l[1].version, "5");
	}
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_list(ws, "cifar", 0, &l, &n, &err) == 0);
	CHECK(n == 7 && !strcmp(l[0].version, "5") && !strcmp(l[6].version, "1"));
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_list_by_job(ws, "job_a", &l, &n, &err) == 0);
	CHECK(n == 2 && !strcmp(l[0].name, "cifar") && !strcmp(l[1].name, "alpha"));
	ferry_data_asset_list_free(l, n);

	/* archive one version: gone from lists and @latest, still there by number */
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "5", 1, &err) == 0);
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "5", 1, &err) == 0); /* idempotent */
	CHECK(ferry_ws_asset_get(ws, "cifar", "latest", &a, &err) == 0);
	CHECK_STR(a.version, "11");
	CHECK(a.archived == 0);
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_get(ws, "cifar", "5", &a, &err) == 0);
	CHECK(a.archived == 1);
	CHECK_STR(a.path, "s3://b/five/");
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_list(ws, "cifar", 0, &l, &n, &err) == 0);
	CHECK(n == 6 && !strcmp(l[0].version, "11"));
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_list(ws, "cifar", 1, &l, &n, &err) == 0);
	CHECK(n == 7 && !strcmp(l[0].version, "5") && l[0].archived);
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_list(ws, NULL, 0, &l, &n, &err) == 0);
	CHECK(n == 2 && !strcmp(l[1].version, "11"));
	ferry_data_asset_list_free(l, n);
	/* auto versions still count archived ones: numbers are never reused */
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "11", 1, &err) == 0);
	CHECK(create(ws, "cifar", NULL, "s3://b/twelve/", NULL, &v, &err) == 0);
	CHECK_STR(v, "12");
	free(v);
	v = NULL;

	/* archive the whole name: nothing for @latest or list, also new versions */
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", NULL, 1, &err) == 0);
	CHECK(ferry_ws_asset_get(ws, "cifar", NULL, &a, &err) == -1);
	CHECK(err.code == FERRY_E_NOTFOUND);
	CHECK(strstr(err.msg, "every version is archived") != NULL);
	CHECK(create(ws, "cifar", "13", "s3://b/13/", NULL, NULL, &err) == 0);
	CHECK(ferry_ws_asset_get(ws, "cifar", "13", &a, &err) == 0);
	CHECK(a.archived == 1);
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_list(ws, NULL, 0, &l, &n, &err) == 0);
	CHECK(n == 1 && !strcmp(l[0].name, "alpha"));
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_list(ws, NULL, 1, &l, &n, &err) == 0);
	CHECK(n == 2 && !strcmp(l[1].version, "13") && l[1].archived);
	ferry_data_asset_list_free(l, n);
	/* one version cannot be restored while the name is archived */
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "5", 0, &err) == -1);
	CHECK(err.code == FERRY_E_INVALID);
	CHECK(strstr(err.msg, "ferry data restore cifar") != NULL);
	/* restoring the name brings back what was not archived on its own */
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", NULL, 0, &err) == 0);
	CHECK(ferry_ws_asset_get(ws, "cifar", "latest", &a, &err) == 0);
	CHECK_STR(a.version, "13");
	ferry_data_asset_free(&a);
	CHECK(ferry_ws_asset_list(ws, "cifar", 0, &l, &n, &err) == 0);
	CHECK(n == 7); /* 5 and 11 stay archived */
	ferry_data_asset_list_free(l, n);
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "5", 0, &err) == 0);
	CHECK(ferry_ws_asset_get(ws, "cifar", "5", &a, &err) == 0);
	CHECK(a.archived == 0);
	ferry_data_asset_free(&a);
	/* unknown names and versions */
	CHECK(ferry_ws_asset_set_archived(ws, "nosuch", NULL, 1, &err) == -1);
	CHECK(err.code == FERRY_E_NOTFOUND);
	CHECK(strstr(err.msg, "'nosuch' not found (known: alpha, cifar)") != NULL);
	CHECK(ferry_ws_asset_set_archived(ws, "cifar", "99", 1, &err) == -1);
	CHECK(err.code == FERRY_E_NOTFOUND);
	CHECK(strstr(err.msg, "no version '99'") != NULL);

	/* names and versions */
	CHECK(ferry_ws_asset_name_ok("my-data_1.v2"));
	CHECK(!ferry_ws_asset_name_ok("-x"));
	CHECK(!ferry_ws_asset_name_ok("a:b"));
	CHECK(!ferry_ws_asset_name_ok("a@b"));
	CHECK(!ferry_ws_asset_name_ok(""));
	CHECK(ferry_ws_asset_version_ok("2024.01.1"));
	CHECK(!ferry_ws_asset_version_ok("latest"));
	CHECK(!ferry_ws_asset_version_ok("1/2"));
	CHECK(create(ws, "bad name", NULL, "s3://b/", NULL, NULL, &err) == -1);
	CHECK(create(ws, "ok", "latest", "s3://b/", NULL, NULL, &err) == -1);

	ferry_ws_close(ws);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
