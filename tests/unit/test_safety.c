/* test_safety.c — names from storage that would leave the destination are refused;
 * secrets are redacted from every message. */
#include "check.h"
#include <stdlib.h>
#include "core/err.h"
#include "core/redact.h"
#include "store/store.h"

static void unsafe(const char *name)
{
	ferry_err err;
	CHECK(ferry_path_check_safe(name, &err) == -1);
	CHECK(err.code == FERRY_E_UNSAFE);
}

int main(void)
{
	ferry_err err;
	CHECK(ferry_path_check_safe("a.txt", &err) == 0);
	CHECK(ferry_path_check_safe("dir/sub/a..b", &err) == 0);
	CHECK(ferry_path_check_safe("..a/b", &err) == 0);
	unsafe("../../evil.txt");
	unsafe("a/../../x");
	unsafe("a/..");
	unsafe("..");
	unsafe("/etc/passwd");
	unsafe("a\\..\\b");
	unsafe("a//b");
	unsafe("./a");
	unsafe("a/");
	unsafe("");
	CHECK(ferry_path_check_safe("../../evil.txt", &err) == -1 && strstr(err.msg, "../../evil.txt"));

	char buf[512];
	snprintf(buf, sizeof(buf), "GET https://a.blob.core.windows.net/c/x?sv=2021&sig=abc%%2Bdef&se=1 failed");
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "abc") == NULL);
	CHECK(strstr(buf, "sig=REDACTED&se=1") != NULL);
	snprintf(buf, sizeof(buf), "AccountName=x;AccountKey=c2VjcmV0a2V5;BlobEndpoint=y");
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "c2VjcmV0a2V5") == NULL && strstr(buf, "BlobEndpoint=y"));
	snprintf(buf, sizeof(buf), "Authorization: SharedKey acct:Zm9vYmFy\nnext line");
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "Zm9vYmFy") == NULL && strstr(buf, "next line"));
	ferry_redact_register("TOPSECRETVALUE");
	ferry_err_set(&err, FERRY_E_AUTH, "key TOPSECRETVALUE was refused (TOPSECRETVALUE)");
	CHECK(strstr(err.msg, "TOPSECRETVALUE") == NULL);
	ferry_redact_register("?sv=2020&sig=zzzzzz");
	snprintf(buf, sizeof(buf), "url sv=2020&sig=zzzzzz end");
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "zzzzzz") == NULL);
	/* a secret that fills the buffer is cut out, never left half there */
	char small[20];
	snprintf(small, sizeof(small), "xTOPSECRETVALUEyy");
	ferry_redact(small, sizeof(small));
	CHECK(strstr(small, "TOPSECRET") == NULL);
	ferry_redact_reset();

	/* issue 10 item 6: copies for what is recorded or printed */
	char *m = ferry_redact_dup("[{\"literal\":\"https://a/c/x?sv=1&sig=s&se=2\"}]");
	CHECK_STR(m, "[{\"literal\":\"https://a/c/x?sv=1&sig=REDACTED&se=2\"}]");
	free(m);
	m = ferry_redact_dup("k?X-Amz-Signature=abc&X-Amz-Security-Token=def&x=1");
	CHECK_STR(m, "k?X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&x=1");
	free(m);
	m = ferry_redact_dup("sig=a&sig=b&sig=c&sig=d"); /* each value grows: the copy has room */
	CHECK_STR(m, "sig=REDACTED&sig=REDACTED&sig=REDACTED&sig=REDACTED");
	free(m);
	CHECK(ferry_redact_dup(NULL) == NULL);
	CHECK(ferry_redact_holds_secret("wasbs://c@a.blob.core.windows.net/x?sig=abc"));
	CHECK(!ferry_redact_holds_secret("azureml://datastores/d/paths/signature.csv"));
	CHECK(!ferry_redact_holds_secret(NULL));
	return CHECK_DONE();
}
