/*
 * test_aztoken.c — the token cache and its inputs (aztoken.h), with a user
 * token file as the source so no server is needed: a JWT's `exp` is read; the
 * cache fetches once however many threads ask at once (run under TSan by
 * `make tsan-unit`); a refused token is forgotten and the file read again; an
 * expired token is an error naming the source and the fix, never the token;
 * identity types parse as Azure ML spells them; tokens are redacted wherever
 * they appear, registered or not.
 */
#include "check.h"
#include "core/redact.h"
#include "store/aztoken.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void b64url(const char *in, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
	for (int i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
}

/* A JWT with the given exp and a distinguishing claim. */
static void make_jwt(char *out, size_t cap, long long exp, const char *uti)
{
	char payload[256], h[128], p[512];
	snprintf(payload, sizeof(payload), "{\"aud\":\"https://storage.azure.com\",\"exp\":%lld,\"uti\":\"%s\"}", exp,
		 uti);
	b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", h);
	b64url(payload, p);
	snprintf(out, cap, "%s.%s.c2lnbmF0dXJlc2lnbmF0dXJl", h, p);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

struct worker {
	struct ferry_aztoken *t;
	int failures;
	char first[2048];
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 200; i++) {
		char *b;
		ferry_err err;
		if (ferry_aztoken_get(w->t, &b, &err) < 0) {
			w->failures++;
			continue;
		}
		if (!w->first[0])
			snprintf(w->first, sizeof(w->first), "%s", b);
		else if (strcmp(w->first, b))
			w->failures++;
		free(b);
	}
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/ferry-aztoken-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char file[128], jwt[1024], jwt2[1024];
	snprintf(file, sizeof(file), "%s/token", dir);
	time_t now = time(NULL);

	make_jwt(jwt, sizeof(jwt), (long long)now + 3600, "first");
	CHECK(ferry_jwt_exp(jwt) == now + 3600);
	CHECK(ferry_jwt_exp("not.a-jwt") == 0);
	CHECK(ferry_jwt_exp("nodots") == 0);

	enum ferry_identity_kind k;
	CHECK(ferry_identity_parse("user_identity", &k) == 0 && k == FERRY_ID_USER);
	CHECK(ferry_identity_parse("managed", &k) == 0 && k == FERRY_ID_MANAGED);
	CHECK(ferry_identity_parse("managed_identity", &k) == 0 && k == FERRY_ID_MANAGED);
	CHECK(ferry_identity_parse("aml_token", &k) == 0 && k == FERRY_ID_MANAGED);
	CHECK(ferry_identity_parse("root", &k) == -1);

	struct ferry_settings s;
	ferry_err err;
	struct ferry_stats stats;
	memset(&stats, 0, sizeof(stats));
	ferry_settings_load(&s, NULL, NULL, &err);
	unsetenv("AZURE_ACCESS_TOKEN");
	setenv("AZURE_ACCESS_TOKEN_FILE", file, 1);
	struct ferry_identity id = { .kind = FERRY_ID_USER };

	/* many threads, one fetch */
	write_file(file, jwt);
	struct ferry_aztoken *t = ferry_aztoken_new(&id, NULL, &s, &stats, &err);
	CHECK(t != NULL);
	if (!t)
		return CHECK_DONE();
	struct worker w[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].t = t;
		pthread_create(&th[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].failures == 0);
		CHECK(strncmp(w[i].first, "Bearer ", 7) == 0 && strcmp(w[i].first + 7, jwt) == 0);
	}
	CHECK(ferry_aztoken_fetches(t) == 1);

	/* a refused token is forgotten; the next get reads the file again */
	char *b = NULL;
	CHECK(ferry_aztoken_get(t, &b, &err) == 0);
	make_jwt(jwt2, sizeof(jwt2), (long long)now + 3600, "second");
	write_file(file, jwt2);
	ferry_aztoken_invalidate(t, "Bearer something-else"); /* not the cached one: kept */
	char *b2 = NULL;
	CHECK(ferry_aztoken_get(t, &b2, &err) == 0 && b2 && !strcmp(b2 + 7, jwt));
	free(b2);
	ferry_aztoken_invalidate(t, b);
	free(b);
	CHECK(ferry_aztoken_get(t, &b2, &err) == 0 && b2 && !strcmp(b2 + 7, jwt2));
	free(b2);
	CHECK(ferry_aztoken_fetches(t) == 2);

	/* an expired token: the error names the source and the fix, not the token */
	char old[1024];
	make_jwt(old, sizeof(old), (long long)now - 60, "expired");
	write_file(file, old);
	ferry_aztoken_invalidate(t, "Bearer ");
	ferry_aztoken_free(t);
	t = ferry_aztoken_new(&id, NULL, &s, &stats, &err);
	CHECK(ferry_aztoken_get(t, &b2, &err) == -1 && err.code == FERRY_E_AUTH);
	CHECK(strstr(err.msg, "AZURE_ACCESS_TOKEN_FILE") && strstr(err.msg, "expired at"));
	CHECK(strstr(err.msg, "eyJ") == NULL);
	ferry_aztoken_free(t);

	/* a user identity with no source at all fails at once, listing the fixes */
	unsetenv("AZURE_ACCESS_TOKEN_FILE");
	setenv("AZURE_CONFIG_DIR", dir, 1);
	CHECK(ferry_aztoken_new(&id, NULL, &s, &stats, &err) == NULL);
	CHECK(strstr(err.msg, "AZURE_ACCESS_TOKEN") && strstr(err.msg, "az login"));

	/* a service principal needs all three fields, and https off this machine */
	struct ferry_identity sp_id = { .kind = FERRY_ID_SERVICE_PRINCIPAL };
	struct ferry_sp_credentials sp = { .tenant_id = "t", .client_id = "c", .client_secret = NULL };
	CHECK(ferry_aztoken_new(&sp_id, &sp, &s, &stats, &err) == NULL);
	sp.client_secret = "s3cr3t-client-value";
	sp.authority = "http://login.example.com";
	CHECK(ferry_aztoken_new(&sp_id, &sp, &s, &stats, &err) == NULL && strstr(err.msg, "https://"));
	sp.authority = "http://127.0.0.1:1";
	t = ferry_aztoken_new(&sp_id, &sp, &s, &stats, &err);
	CHECK(t != NULL);
	ferry_aztoken_free(t);

	/* tokens are masked wherever they appear, registered or not */
	char buf[4096]; /* three tokens of up to 1 KiB fit: nothing is cut */
	make_jwt(jwt2, sizeof(jwt2), (long long)now + 10, "unregistered");
	snprintf(buf, sizeof(buf), "GET x failed; Authorization: Bearer %s\nbody {\"access_token\":\"%s\"} and %s end",
		 jwt2, jwt2, jwt2);
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "c2lnbmF0dXJl") == NULL);
	CHECK(strstr(buf, " end") != NULL);
	snprintf(buf, sizeof(buf), "grant_type=client_credentials&client_secret=abc%%2Bdef&scope=x");
	ferry_redact(buf, sizeof(buf));
	CHECK(strstr(buf, "abc") == NULL && strstr(buf, "&scope=x"));

	unlink(file);
	rmdir(dir);
	return CHECK_DONE();
}
