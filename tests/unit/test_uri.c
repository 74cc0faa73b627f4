/* test_uri.c — every path form (README.md, "Paths") parses to the right parts; bad ones are refused. */
#include "check.h"
#include "core/uri.h"

static void blob(const char *text, const char *endpoint, const char *account, const char *container,
		 const char *path, int trailing)
{
	struct ferry_uri u;
	ferry_err err;
	int rc = ferry_uri_parse(text, &u, &err);
	CHECK(rc == 0);
	if (rc)
		return;
	CHECK(u.kind == FERRY_URI_BLOB);
	CHECK_STR(u.endpoint, endpoint);
	CHECK_STR(u.account, account);
	CHECK_STR(u.container, container);
	CHECK_STR(u.path, path);
	CHECK(u.trailing_slash == trailing);
	ferry_uri_free(&u);
}

static void invalid(const char *text, const char *why)
{
	struct ferry_uri u;
	ferry_err err;
	CHECK(ferry_uri_parse(text, &u, &err) == -1);
	CHECK(err.code == FERRY_E_INVALID);
	CHECK(strstr(err.msg, why) != NULL);
}

int main(void)
{
	blob("wasbs://data@azuremlexampledata.blob.core.windows.net/titanic.csv",
	     "https://azuremlexampledata.blob.core.windows.net", "azuremlexampledata", "data", "titanic.csv", 0);
	blob("abfss://fs1@acct.dfs.core.windows.net/a/b/", "https://acct.blob.core.windows.net", "acct", "fs1", "a/b", 1);
	blob("https://acct.blob.core.windows.net/con1/x%20y.txt", "https://acct.blob.core.windows.net", "acct", "con1",
	     "x y.txt", 0);
	blob("https://acct.dfs.core.windows.net/con1/d/", "https://acct.blob.core.windows.net", "acct", "con1", "d", 1);
	blob("http://127.0.0.1:10000/devstoreaccount1/cont/a/b.bin", "http://127.0.0.1:10000/devstoreaccount1",
	     "devstoreaccount1", "cont", "a/b.bin", 0);
	blob("http://127.0.0.1:10000/devstoreaccount1/cont/", "http://127.0.0.1:10000/devstoreaccount1",
	     "devstoreaccount1", "cont", "", 1);
	blob("http://127.0.0.1:4567/devstoreaccount1/cont/f", "http://127.0.0.1:4567/devstoreaccount1",
	     "devstoreaccount1", "cont", "f", 0);

	/* the account-host forms of Azure's examples: the container is the first segment */
	blob("wasbs://azuremlexampledata.blob.core.windows.net/data/titanic.csv",
	     "https://azuremlexampledata.blob.core.windows.net", "azuremlexampledata", "data", "titanic.csv", 0);
	blob("wasb://acct.blob.core.windows.net/con1/a/b/", "http://acct.blob.core.windows.net", "acct", "con1", "a/b", 1);
	blob("abfss://acct.dfs.core.windows.net/fs1/d/", "https://acct.blob.core.windows.net", "acct", "fs1", "d", 1);
	blob("abfs://acct.dfs.core.windows.net/fs1", "http://acct.blob.core.windows.net", "acct", "fs1", "", 0);

	struct ferry_uri u;
	ferry_err err;
	CHECK(ferry_uri_parse("azureml://jobs/train_1/outputs/model/paths/sub/m.pt", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_JOB);
	CHECK_STR(u.job, "train_1");
	CHECK_STR(u.job_output, "model");
	CHECK_STR(u.path, "sub/m.pt");
	CHECK(!u.trailing_slash);
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml://jobs/train_1/outputs/artifacts/paths/", &u, &err) == 0);
	CHECK_STR(u.job_output, "artifacts");
	CHECK_STR(u.path, "");
	CHECK(u.trailing_slash);
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml://jobs/j/outputs/o", &u, &err) == 0);
	CHECK_STR(u.job_output, "o");
	CHECK(u.trailing_slash);
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml://datastores/workspaceblobstore/paths/azureml/job1/out/", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_DATASTORE);
	CHECK_STR(u.datastore, "workspaceblobstore");
	CHECK_STR(u.path, "azureml/job1/out");
	CHECK(u.trailing_slash);
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml://subscriptions/s1/resourcegroups/rg/workspaces/w/datastores/ds2/paths/x.csv",
			      &u, &err) == 0);
	CHECK_STR(u.datastore, "ds2");
	CHECK_STR(u.path, "x.csv");
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml://subscriptions/s1/resourceGroups/rg/workspaces/w/datastores/ds2/paths/x", &u,
			      &err) == 0);
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml:titanic:3", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_ASSET);
	CHECK_STR(u.asset_name, "titanic");
	CHECK_STR(u.asset_version, "3");
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("azureml:titanic@latest", &u, &err) == 0);
	CHECK_STR(u.asset_version, "latest");
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("https://example.com/data/titanic.csv", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_HTTP);
	CHECK_STR(u.endpoint, "https://example.com");
	CHECK_STR(u.path, "data/titanic.csv");
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("./data/titanic.csv", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_LOCAL);
	CHECK_STR(u.path, "./data/titanic.csv");
	ferry_uri_free(&u);
	CHECK(ferry_uri_parse("s3://bucket/a/b", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_S3);
	ferry_uri_free(&u);

	invalid("", "empty");
	invalid("ftp://host/x", "unknown scheme");
	invalid("wasbs://acct.blob.core.windows.net/", "expected");
	invalid("wasbs://acct.blob.core.windows.net", "expected");
	invalid("azureml://jobs/j1/outputs/", "expected azureml://jobs/");
	invalid("azureml://jobs/j1/out/x/paths/", "expected azureml://jobs/");
	invalid("azureml://jobs//outputs/o/paths/", "expected azureml://jobs/");
	invalid("wasbs://c@acct.example.com/x", "host must be");
	invalid("azureml://datastores/ds/x", "'/paths/'");
	invalid("azureml://datastores//paths/x", "missing datastore name");
	invalid("azureml:name", "expected azureml:");
	invalid("https://acct.blob.core.windows.net/Bad_Container/x", "container names");
	invalid("https://acct.blob.core.windows.net/con1/x?sig=abc", "query strings");
	invalid("https://acct.blob.core.windows.net/con1/%zz", "percent-escape");
	invalid("https://acct.blob.core.windows.net/con1/a%00b", "percent-escape");
	invalid("http://127.0.0.1:10000/devstoreaccount1/", "missing container");

	/* issue 10 item 1: no '.' or '..' segment, raw or percent-encoded, in any URI form */
	static const char *const dots[] = {
		"azureml://datastores/workspaceblobstore/paths/../../secrets/",
		"azureml://datastores/workspaceblobstore/paths/x/../../../../tmp/x/",
		"azureml://datastores/ds/paths/%2e%2e/other/x",
		"azureml://datastores/ds/paths/%2E./other/x",
		"azureml://datastores/ds/paths/.%2e/other/x",
		"azureml://datastores/ds/paths/a/./b",
		"azureml://datastores/ds/paths/a/%2E",
		"azureml://datastores/ds/paths/a%2f..%2fb",
		"azureml://datastores/ds/paths/..\\x",
		"azureml://datastores/../paths/x",
		"azureml://subscriptions/s/resourcegroups/rg/workspaces/w/datastores/ds/paths/../x",
		"azureml://subscriptions/s/resourcegroups/../workspaces/w/datastores/ds/paths/x",
		"wasbs://data@acct.blob.core.windows.net/../other/x",
		"abfss://data@acct.dfs.core.windows.net/a/%2e%2e/%2e%2e/b",
		"https://acct.blob.core.windows.net/data/../other/x",
		"https://acct.blob.core.windows.net/data/a%5c..%5cb",
		"http://127.0.0.1:10000/devstoreaccount1/data/../other/x",
		"http://127.0.0.1:10000/devstoreaccount1/data/%2e%2e/other/x",
		"http://example.com/pub/../etc/passwd",
		"s3://bucket/a/../../b",
		"s3://bucket/%2e%2e/b",
		"file:///srv/data/../../etc/passwd",
		"FILE:///srv/%2e%2e/etc/passwd",
	};
	for (size_t i = 0; i < sizeof(dots) / sizeof(dots[0]); i++) {
		CHECK(ferry_uri_parse(dots[i], &u, &err) == -1);
		CHECK(err.code == FERRY_E_INVALID);
		CHECK(strstr(err.msg, "path segment") != NULL);
		if (!strstr(err.msg, "path segment"))
			fprintf(stderr, "  not refused as a dot segment: %s -> %s\n", dots[i], err.msg);
	}
	invalid("azureml://datastores/ds/paths/a/%2E%2e/b", "'%2E%2e' is a '.' or '..' path segment");
	/* names that merely hold dots are blob names like any other */
	static const char *const fine[] = {
		"azureml://datastores/ds/paths/a/.../b", "azureml://datastores/ds/paths/.hidden/x..y",
		"wasbs://data@acct.blob.core.windows.net/v1.2/..x", "s3://bucket/a./.b",
		"../relative/local/path", "/abs/../local/path",
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		int rc = ferry_uri_parse(fine[i], &u, &err);
		CHECK(rc == 0);
		if (rc == 0)
			ferry_uri_free(&u);
		else
			fprintf(stderr, "  refused: %s -> %s\n", fine[i], err.msg);
	}

	/* issue 10 item 6: a query in wasbs:// and abfss:// is refused like in https:// */
	invalid("wasbs://data@acct.blob.core.windows.net/x?sv=2022&sig=abc", "query strings");
	invalid("abfss://data@acct.dfs.core.windows.net/x?sig=abc", "query strings");
	invalid("WASBS://data@acct.blob.core.windows.net/x#frag", "query strings");

	/* issue 10 item 2: one case-insensitive scheme parser */
	size_t len;
	CHECK(ferry_uri_scheme("FILE:///etc/passwd", &len) == FERRY_SCHEME_FILE && len == 5);
	CHECK(ferry_uri_scheme("File:/etc/passwd", &len) == FERRY_SCHEME_FILE);
	CHECK(ferry_uri_scheme("AzureML://datastores/x/paths/y", &len) == FERRY_SCHEME_AZUREML && len == 10);
	CHECK(ferry_uri_scheme("AZUREML:asset:1", &len) == FERRY_SCHEME_ASSET && len == 8);
	CHECK(ferry_uri_scheme("HTTPS://h/x", &len) == FERRY_SCHEME_HTTPS && len == 8);
	CHECK(ferry_uri_scheme("Wasbs://c@a.blob.x/y", NULL) == FERRY_SCHEME_WASBS);
	CHECK(ferry_uri_scheme("S3://b/k", NULL) == FERRY_SCHEME_S3);
	CHECK(ferry_uri_scheme("gopher://x/y", &len) == FERRY_SCHEME_UNKNOWN && len == 9);
	CHECK(ferry_uri_scheme("./data.csv", &len) == FERRY_SCHEME_NONE && len == 0);
	CHECK(ferry_uri_scheme("http:name", NULL) == FERRY_SCHEME_NONE);
	CHECK(ferry_uri_is_remote("Https://h/x") && !ferry_uri_is_remote("FILE:///x") && !ferry_uri_is_remote("/x"));
	CHECK(ferry_uri_parse("FILE:///etc/passwd", &u, &err) == 0);
	CHECK(u.kind == FERRY_URI_LOCAL);
	CHECK_STR(u.path, "/etc/passwd");
	ferry_uri_free(&u);
	invalid("file:etc/passwd", "file:///");
	invalid("File:/etc/passwd", "file:///");
	return CHECK_DONE();
}
