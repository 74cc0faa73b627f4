/*
 * aztoken.c — OAuth token sources and the renewing token cache (aztoken.h).
 *
 * Design: one cache per store. A token is renewed when less than
 * min(5 minutes, half its lifetime) is left, so a one-hour token is renewed
 * at 55 minutes and a test's four-second token at two seconds — early enough
 * that a request never leaves with a token about to lapse, late enough that
 * renewals stay rare. Renewal is done by one thread at a time (`renewing`);
 * the others keep using the current token while it has at least one second
 * left, else wait on `renewed`. A failed renewal is reported to everyone who
 * waited for it (generation counter), so N workers do not each retry a dead
 * endpoint in turn; while the current token lasts, a failed renewal is
 * tried again after a quarter of its remaining life (at most 30 s), not at
 * every request.
 *
 * The token endpoints are reached through httpc.c (retries on connection
 * failures, 429 and 5xx; for IMDS also 404/410, which it answers while an
 * identity just assigned is not ready) with at most TOKEN_RETRIES retries, so
 * a machine without a managed identity fails in seconds rather than minutes.
 *
 * One cache per store, not per process: a mount process is forked with its
 * store, and a cache shared with the parent's other threads could be forked
 * in the middle of a renewal (`renewing` set forever in the child).
 *
 * The environment is read once, in ferry_aztoken_new: the variables Azure's
 * own SDKs read (they are not ferry settings, so they are not in the
 * settings table; docs/architecture.md lists them).
 */
#include "store/aztoken.h"
#include "core/uri.h"
#include "core/log.h"
#include "core/redact.h"
#include "store/httpc.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define STORAGE_RESOURCE "https://storage.azure.com/"
#define TOKEN_RETRIES 3
#define MAX_TOKEN_FILE (256 * 1024)

enum source {
	SRC_IDENTITY_ENDPOINT, /* IDENTITY_ENDPOINT + IDENTITY_HEADER */
	SRC_MSI,               /* MSI_ENDPOINT + MSI_SECRET */
	SRC_IMDS,              /* instance metadata service */
	SRC_USER_ENV,          /* AZURE_ACCESS_TOKEN */
	SRC_USER_FILE,         /* AZURE_ACCESS_TOKEN_FILE */
	SRC_AZ_CLI,            /* ~/.azure/msal_token_cache.json */
	SRC_SP,                /* client credentials */
};

struct ferry_aztoken {
	struct ferry_identity id;
	enum source src;
	char url[2048];        /* token endpoint (without the query for SP) */
	char *header_secret;   /* IDENTITY_HEADER / MSI_SECRET value */
	char *user_token;      /* AZURE_ACCESS_TOKEN value */
	char path[4096];       /* token file / CLI cache */
	char *form;            /* SP: the urlencoded POST body (holds the secret) */
	char describe[512];
	char hint[768];
	struct ferry_settings settings; /* copy, with a small retry count */
	struct ferry_stats *stats;

	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t renewed; /* signalled when a renewal ends */
	char *bearer;           /* "Bearer <token>", or NULL */
	time_t expires_at, obtained_at;
	int renewing;
	time_t retry_at;        /* after a failed renewal: next try, while the token lasts */
	unsigned gen;           /* renewals attempted */
	int last_failed;
	ferry_err last_err;
	unsigned fetches;
};

const char *ferry_identity_name(enum ferry_identity_kind k)
{
	switch (k) {
	case FERRY_ID_USER:
		return "user_identity";
	case FERRY_ID_MANAGED:
		return "managed";
	case FERRY_ID_SERVICE_PRINCIPAL:
		return "service principal";
	default:
		return "none";
	}
}

int ferry_identity_parse(const char *type, enum ferry_identity_kind *out)
{
	if (!strcmp(type, "user_identity"))
		*out = FERRY_ID_USER;
	else if (!strcmp(type, "managed") || !strcmp(type, "managed_identity") || !strcmp(type, "aml_token"))
		*out = FERRY_ID_MANAGED;
	else if (!strcmp(type, "none"))
		*out = FERRY_ID_NONE;
	else
		return -1;
	return 0;
}

int ferry_identity_from_env(struct ferry_identity *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	const char *v = getenv("FERRY_IDENTITY");
	if (v && *v && ferry_identity_parse(v, &out->kind) < 0)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "FERRY_IDENTITY='%s' is not an identity (use none, user_identity or managed)", v);
	const char *cid = getenv("FERRY_IDENTITY_CLIENT_ID");
	if (cid)
		snprintf(out->client_id, sizeof(out->client_id), "%s", cid);
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *url_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *w = out;
	static const char hx[] = "0123456789ABCDEF";
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			*w++ = (char)*p;
		else {
			*w++ = '%';
			*w++ = hx[*p >> 4];
			*w++ = hx[*p & 15];
		}
	}
	*w = '\0';
	return out;
}

/* http://127.0.0.1..., http://localhost...: plain HTTP is allowed there only. */
static int loopback_or_https(const char *url)
{
	enum ferry_scheme s = ferry_uri_scheme(url, NULL);
	if (s == FERRY_SCHEME_HTTPS)
		return 1;
	if (s != FERRY_SCHEME_HTTP)
		return 0;
	const char *h = url + 7;
	return !strncmp(h, "127.0.0.1", 9) || !strncasecmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/* ---- the HTTP side: one GET or POST to a token endpoint ---------------- */

struct tokreq {
	const char *url;
	const char *hname, *hvalue; /* one extra header, or NULL */
	int form;                   /* POST body is a form */
	struct ferry_aztoken *t;
};

static int tok_prepare(void *ctx, const struct ferry_http_call *call, uint64_t off, uint64_t len,
		       struct ferry_http_attempt *a, ferry_err *err)
{
	(void)call;
	(void)off;
	(void)len;
	(void)err;
	struct tokreq *q = ctx;
	a->url = strdup(q->url);
	a->headers = curl_slist_append(NULL, "Accept: application/json");
	if (q->hname) {
		char *h = NULL;
		if (asprintf(&h, "%s: %s", q->hname, q->hvalue) >= 0) {
			a->headers = curl_slist_append(a->headers, h);
			explicit_bzero(h, strlen(h));
			free(h);
		}
	}
	if (q->form)
		a->headers = curl_slist_append(a->headers, "Content-Type: application/x-www-form-urlencoded");
	return 0;
}

/* AAD: {"error":"invalid_client","error_description":"AADSTS...\r\nTrace ID..."};
 * managed identity endpoints: the same, or {"error":{"code":..,"message":..}}. */
static void tok_describe(void *ctx, const struct ferry_http_call *call, const struct ferry_http_resp *r,
			 ferry_err *err)
{
	struct tokreq *q = ctx;
	char code[128] = "", msg[400] = "";
	json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	if (j) {
		json_t *e = json_object_get(j, "error");
		const char *c = json_is_string(e) ? json_string_value(e)
			      : json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(j, "error_description"));
		if (!m)
			m = json_string_value(json_object_get(e, "message"));
		if (!m)
			m = json_string_value(json_object_get(j, "message"));
		if (c)
			snprintf(code, sizeof(code), " %s", c);
		if (m) {
			snprintf(msg, sizeof(msg), ": %s", m);
			msg[strcspn(msg, "\r\n")] = '\0';
		}
		json_decref(j);
	}
	ferry_err_set(err, FERRY_E_AUTH, "%s: the token endpoint refused: HTTP %ld%s%s; %s", call->what,
		      r->status, code, msg, q->t->hint);
}

/* expires_on, expires_in, exp: seconds, as a number or a string of digits;
 * 0 when absent, unreadable or past year 9999, so that a huge value neither
 * overflows now + expires_in nor converts from a double out of range (both
 * undefined behaviour, found by tests/fuzz/aztoken.c). */
static time_t json_time(json_t *v)
{
	const long long max = 253402300799LL; /* 9999-12-31T23:59:59Z */
	if (json_is_integer(v))
		return json_integer_value(v) <= max ? (time_t)json_integer_value(v) : 0;
	if (json_is_real(v)) {
		double d = json_real_value(v);
		return d > -(double)max && d <= (double)max ? (time_t)d : 0;
	}
	const char *s = json_string_value(v);
	if (s && *s) {
		char *end;
		long long n = strtoll(s, &end, 10);
		if (*end == '\0' && n > 0 && n <= max)
			return (time_t)n;
	}
	return 0;
}

/* Token and expiry out of a token response (or a token file's JSON). */
static int parse_token_json(json_t *j, char **token, time_t *exp)
{
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "accessToken"));
	if (!tok || !*tok)
		return -1;
	time_t e = json_time(json_object_get(j, "expires_on"));
	if (!e) {
		time_t in = json_time(json_object_get(j, "expires_in"));
		if (in)
			e = time(NULL) + in;
	}
	if (!e)
		e = ferry_jwt_exp(tok);
	*token = strdup(tok);
	*exp = e;
	return *token ? 0 : -1;
}

int ferry_aztoken_parse_response(const char *body, size_t len, char **token, time_t *exp)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	int rc = j ? parse_token_json(j, token, exp) : -1;
	json_decref(j);
	return rc;
}

static int http_token(struct ferry_aztoken *t, const char *url, const char *hname, const char *hvalue,
		      char **token, time_t *exp, ferry_err *err)
{
	struct tokreq q = { .url = url, .hname = hname, .hvalue = hvalue, .form = t->form != NULL, .t = t };
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, t->form ? "POST" : "GET", t->describe);
	c.prepare = tok_prepare;
	c.ctx = &q;
	c.describe = tok_describe;
	if (t->form) {
		c.body_mem = t->form;
		c.body_len = strlen(t->form);
	}
	int rc0;
	/* IMDS answers 404 (and 410 while it starts) until an identity just
	 * assigned is ready: asked again, like 429 and 5xx, a few times. */
	for (int attempt = 0;; attempt++) {
		rc0 = ferry_http_perform(&t->settings, t->stats, &c, &resp, err);
		if (rc0 == 0 || t->src != SRC_IMDS || (resp.status != 404 && resp.status != 410) ||
		    attempt >= TOKEN_RETRIES)
			break;
		ferry_info("%s: HTTP %ld; asking again in %d s", t->describe, resp.status, attempt + 1);
		ferry_http_resp_clear(&resp);
		sleep((unsigned)attempt + 1);
	}
	if (rc0 < 0) {
		ferry_http_resp_clear(&resp);
		if (err->code != FERRY_E_AUTH) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			ferry_err_set(err, FERRY_E_AUTH, "%s; %s", why, t->hint);
		}
		return -1;
	}
	int rc = resp.body ? ferry_aztoken_parse_response(resp.body, resp.body_len, token, exp) : -1;
	if (resp.body)
		explicit_bzero(resp.body, resp.body_len);
	ferry_http_resp_clear(&resp);
	if (rc < 0)
		return ferry_err_set(err, FERRY_E_AUTH, "%s: the token endpoint's answer has no access_token; %s",
				     t->describe, t->hint);
	return 0;
}

/* ---- user tokens: a variable, a file, the Azure CLI's cache ------------ */

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_TOKEN_FILE + 1);
	size_t n = buf ? fread(buf, 1, MAX_TOKEN_FILE, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t k = strspn(s, " \t\r\n");
	memmove(s, s + k, n - k + 1);
}

static int user_file_token(struct ferry_aztoken *t, char **token, time_t *exp, ferry_err *err)
{
	char *buf = read_small_file(t->path);
	if (!buf)
		return ferry_err_set(err, FERRY_E_AUTH, "%s: cannot read %s; %s", t->describe, t->path, t->hint);
	trim(buf);
	int rc = -1;
	if (buf[0] == '{') {
		json_t *j = json_loads(buf, 0, NULL);
		if (j && parse_token_json(j, token, exp) == 0)
			rc = 0;
		json_decref(j);
	} else if (buf[0] && !strpbrk(buf, " \t\r\n")) {
		*token = strdup(buf);
		*exp = ferry_jwt_exp(buf);
		rc = *token ? 0 : -1;
	}
	explicit_bzero(buf, strlen(buf));
	free(buf);
	if (rc < 0)
		return ferry_err_set(err, FERRY_E_AUTH,
				     "%s: %s holds neither a token nor token JSON (access_token/accessToken); %s",
				     t->describe, t->path, t->hint);
	return 0;
}

/* MSAL's cache: {"AccessToken": {"<key>": {"secret", "target", "expires_on"}}}.
 * The storage token that lasts longest wins. */
static int az_cli_token(struct ferry_aztoken *t, char **token, time_t *exp, ferry_err *err)
{
	json_t *j = json_load_file(t->path, 0, NULL);
	json_t *ats = json_object_get(j, "AccessToken");
	const char *key;
	json_t *v;
	const char *best = NULL;
	time_t best_exp = 0;
	json_object_foreach(ats, key, v) {
		const char *target = json_string_value(json_object_get(v, "target"));
		const char *secret = json_string_value(json_object_get(v, "secret"));
		time_t e = json_time(json_object_get(v, "expires_on"));
		if (target && secret && strstr(target, "storage.azure.com") && e > best_exp) {
			best = secret;
			best_exp = e;
		}
	}
	int rc = 0;
	if (!best || best_exp <= time(NULL) + 1)
		rc = ferry_err_set(err, FERRY_E_AUTH, "%s: %s", t->describe,
				   best ? "the cached storage token has expired; run `az account get-access-token "
					  "--resource https://storage.azure.com/` to renew it"
					: "it holds no token for storage; run `az account get-access-token "
					  "--resource https://storage.azure.com/` once");
	else {
		*token = strdup(best);
		*exp = best_exp;
	}
	json_decref(j);
	return rc;
}

/* One fetch from the source, without the cache. */
static int fetch(struct ferry_aztoken *t, char **token, time_t *exp, ferry_err *err)
{
	*token = NULL;
	*exp = 0;
	switch (t->src) {
	case SRC_IDENTITY_ENDPOINT:
		return http_token(t, t->url, "X-IDENTITY-HEADER", t->header_secret, token, exp, err);
	case SRC_MSI:
		return http_token(t, t->url, "secret", t->header_secret, token, exp, err);
	case SRC_IMDS:
		return http_token(t, t->url, "Metadata", "true", token, exp, err);
	case SRC_SP:
		return http_token(t, t->url, NULL, NULL, token, exp, err);
	case SRC_USER_ENV:
		*token = strdup(t->user_token);
		*exp = ferry_jwt_exp(t->user_token);
		return 0;
	case SRC_USER_FILE:
		return user_file_token(t, token, exp, err);
	case SRC_AZ_CLI:
		return az_cli_token(t, token, exp, err);
	}
	return ferry_err_set(err, FERRY_E_AUTH, "%s: no source", t->describe);
}

/* ---- setup -------------------------------------------------------------- */

static int setup_managed(struct ferry_aztoken *t, ferry_err *err)
{
	const char *cid = t->id.client_id[0] ? t->id.client_id : env("DEFAULT_IDENTITY_CLIENT_ID");
	char *ecid = cid ? url_escape(cid) : NULL;
	char *res = url_escape(STORAGE_RESOURCE);
	const char *ie = env("IDENTITY_ENDPOINT"), *ih = env("IDENTITY_HEADER");
	const char *me = env("MSI_ENDPOINT"), *ms = env("MSI_SECRET");
	char who[200] = "";
	if (cid)
		snprintf(who, sizeof(who), ", client id %s", cid);
	if (ie && ih) {
		t->src = SRC_IDENTITY_ENDPOINT;
		snprintf(t->url, sizeof(t->url), "%s%capi-version=2019-08-01&resource=%s%s%s", ie,
			 strchr(ie, '?') ? '&' : '?', res, ecid ? "&client_id=" : "", ecid ? ecid : "");
		t->header_secret = strdup(ih);
		snprintf(t->describe, sizeof(t->describe), "managed identity (IDENTITY_ENDPOINT %s%s)", ie, who);
		snprintf(t->hint, sizeof(t->hint),
			 "check IDENTITY_ENDPOINT/IDENTITY_HEADER and that an identity%s is assigned to this "
			 "compute, or run the job with `identity: {type: user_identity}`",
			 cid ? " with that client id" : "");
	} else if (me && ms) {
		t->src = SRC_MSI;
		snprintf(t->url, sizeof(t->url), "%s%capi-version=2017-09-01&resource=%s%s%s", me,
			 strchr(me, '?') ? '&' : '?', res, ecid ? "&clientid=" : "", ecid ? ecid : "");
		t->header_secret = strdup(ms);
		snprintf(t->describe, sizeof(t->describe), "managed identity (MSI_ENDPOINT %s%s)", me, who);
		snprintf(t->hint, sizeof(t->hint),
			 "check MSI_ENDPOINT/MSI_SECRET and that an identity%s is assigned to this compute, "
			 "or run the job with `identity: {type: user_identity}`",
			 cid ? " with that client id" : "");
	} else {
		const char *imds = env("FERRY_IMDS_ENDPOINT");
		if (!imds)
			imds = "http://169.254.169.254";
		size_t n = strlen(imds);
		while (n && imds[n - 1] == '/')
			n--;
		t->src = SRC_IMDS;
		snprintf(t->url, sizeof(t->url),
			 "%.*s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%s%s%s", (int)n, imds,
			 res, ecid ? "&client_id=" : "", ecid ? ecid : "");
		snprintf(t->describe, sizeof(t->describe), "managed identity (instance metadata service %.*s%s)",
			 (int)n, imds, who);
		snprintf(t->hint, sizeof(t->hint),
			 "IDENTITY_ENDPOINT and MSI_ENDPOINT are unset, so the instance metadata service was "
			 "asked; run on Azure compute with a managed identity%s assigned (or set MSI_ENDPOINT "
			 "and MSI_SECRET, or FERRY_IMDS_ENDPOINT), or run the job with "
			 "`identity: {type: user_identity}`",
			 cid ? " with that client id" : "");
	}
	free(ecid);
	free(res);
	if (t->header_secret)
		ferry_redact_register(t->header_secret);
	(void)err;
	return 0;
}

static const char user_fix[] =
	"set AZURE_ACCESS_TOKEN or AZURE_ACCESS_TOKEN_FILE to a storage token (`az account "
	"get-access-token --resource https://storage.azure.com/`), or `az login`, or run the job "
	"with `identity: {type: managed}`";

static int setup_user(struct ferry_aztoken *t, ferry_err *err)
{
	const char *tok = env("AZURE_ACCESS_TOKEN"), *file = env("AZURE_ACCESS_TOKEN_FILE");
	snprintf(t->hint, sizeof(t->hint), "%s", user_fix);
	if (tok) {
		t->src = SRC_USER_ENV;
		t->user_token = strdup(tok);
		ferry_redact_register(tok);
		snprintf(t->describe, sizeof(t->describe), "user identity (AZURE_ACCESS_TOKEN)");
		snprintf(t->hint, sizeof(t->hint),
			 "AZURE_ACCESS_TOKEN must be a current token for https://storage.azure.com/ (`az "
			 "account get-access-token --resource https://storage.azure.com/`); a variable cannot "
			 "be renewed, so for long jobs use AZURE_ACCESS_TOKEN_FILE, or `identity: {type: managed}`");
		return 0;
	}
	if (file) {
		t->src = SRC_USER_FILE;
		snprintf(t->path, sizeof(t->path), "%s", file);
		snprintf(t->describe, sizeof(t->describe), "user identity (AZURE_ACCESS_TOKEN_FILE %s)", file);
		snprintf(t->hint, sizeof(t->hint),
			 "write a current token for https://storage.azure.com/ to %s (it is read again at "
			 "each renewal), or run the job with `identity: {type: managed}`",
			 file);
		return 0;
	}
	const char *dir = env("AZURE_CONFIG_DIR"), *home = env("HOME");
	if (dir)
		snprintf(t->path, sizeof(t->path), "%s/msal_token_cache.json", dir);
	else if (home)
		snprintf(t->path, sizeof(t->path), "%s/.azure/msal_token_cache.json", home);
	if (t->path[0] && access(t->path, R_OK) == 0) {
		t->src = SRC_AZ_CLI;
		snprintf(t->describe, sizeof(t->describe), "user identity (Azure CLI login, %.400s)", t->path);
		return 0;
	}
	return ferry_err_set(err, FERRY_E_AUTH,
			     "user identity: no token: AZURE_ACCESS_TOKEN and AZURE_ACCESS_TOKEN_FILE are unset "
			     "and there is no Azure CLI login (%s); %s",
			     t->path[0] ? t->path : "no HOME", user_fix);
}

static int setup_sp(struct ferry_aztoken *t, const struct ferry_sp_credentials *sp, ferry_err *err)
{
	if (!sp || !sp->tenant_id || !*sp->tenant_id || !sp->client_id || !*sp->client_id || !sp->client_secret ||
	    !*sp->client_secret)
		return ferry_err_set(err, FERRY_E_AUTH,
				     "service principal: tenant_id, client_id and client_secret are all required");
	const char *auth = sp->authority && *sp->authority ? sp->authority : env("AZURE_AUTHORITY_HOST");
	if (!auth)
		auth = "https://login.microsoftonline.com";
	if (!loopback_or_https(auth))
		return ferry_err_set(err, FERRY_E_AUTH,
				     "service principal %s: authority '%s' must be an https:// URL (a client secret "
				     "is never sent in the clear)",
				     sp->client_id, auth);
	size_t n = strlen(auth);
	while (n && auth[n - 1] == '/')
		n--;
	const char *resource = sp->resource && *sp->resource ? sp->resource : STORAGE_RESOURCE;
	size_t rn = strlen(resource);
	while (rn && resource[rn - 1] == '/')
		rn--;
	char scope[600];
	snprintf(scope, sizeof(scope), "%.*s/.default", (int)rn, resource);
	t->src = SRC_SP;
	char *et = url_escape(sp->tenant_id);
	snprintf(t->url, sizeof(t->url), "%.*s/%s/oauth2/v2.0/token", (int)n, auth, et);
	free(et);
	char *ecid = url_escape(sp->client_id), *esec = url_escape(sp->client_secret), *esc = url_escape(scope);
	if (asprintf(&t->form, "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", ecid, esec,
		     esc) < 0)
		t->form = NULL;
	ferry_redact_register(sp->client_secret);
	ferry_redact_register(esec);
	explicit_bzero(esec, strlen(esec));
	free(ecid);
	free(esec);
	free(esc);
	if (!t->form)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	snprintf(t->describe, sizeof(t->describe), "service principal %s (tenant %s, authority %.*s)", sp->client_id,
		 sp->tenant_id, (int)n, auth);
	snprintf(t->hint, sizeof(t->hint),
		 "check the datastore's tenant_id, client_id and client_secret (an expired secret must be "
		 "replaced: `ferry datastore create --file` again) and its authority_url");
	return 0;
}

struct ferry_aztoken *ferry_aztoken_new(const struct ferry_identity *id, const struct ferry_sp_credentials *sp,
					const struct ferry_settings *settings, struct ferry_stats *stats,
					ferry_err *err)
{
	struct ferry_aztoken *t = calloc(1, sizeof(*t));
	if (!t) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	t->id = *id;
	t->settings = *settings;
	if (ferry_setting_int(settings, FS_HTTP_RETRY_COUNT) > TOKEN_RETRIES)
		t->settings.v[FS_HTTP_RETRY_COUNT] = TOKEN_RETRIES;
	t->stats = stats;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->renewed, NULL);
	int rc;
	switch (id->kind) {
	case FERRY_ID_MANAGED:
		rc = setup_managed(t, err);
		break;
	case FERRY_ID_USER:
		rc = setup_user(t, err);
		break;
	case FERRY_ID_SERVICE_PRINCIPAL:
		rc = setup_sp(t, sp, err);
		break;
	default:
		rc = ferry_err_set(err, FERRY_E_AUTH, "no identity to obtain a token for");
	}
	if (rc < 0) {
		ferry_aztoken_free(t);
		return NULL;
	}
	return t;
}

/* Seconds before expiry at which a token is renewed. */
static time_t margin(const struct ferry_aztoken *t)
{
	time_t life = t->expires_at - t->obtained_at, m = life / 2;
	return m > 300 ? 300 : m;
}

static void drop_bearer(struct ferry_aztoken *t)
{
	if (t->bearer) {
		explicit_bzero(t->bearer, strlen(t->bearer));
		free(t->bearer);
		t->bearer = NULL;
	}
}

int ferry_aztoken_get(struct ferry_aztoken *t, char **bearer, ferry_err *err)
{
	*bearer = NULL;
	pthread_mutex_lock(&t->lock);
	unsigned seen = t->gen;
	for (;;) {
		time_t now = time(NULL);
		int usable = t->bearer && now + 1 < t->expires_at;
		if (t->bearer && now < t->expires_at - margin(t))
			goto copy;
		if (usable && (t->renewing || now < t->retry_at))
			goto copy;
		if (!t->renewing) {
			if (t->gen != seen && t->last_failed && !usable) {
				*err = t->last_err; /* the renewal we waited for failed */
				pthread_mutex_unlock(&t->lock);
				return -1;
			}
			break;
		}
		pthread_cond_wait(&t->renewed, &t->lock);
	}
	t->renewing = 1;
	pthread_mutex_unlock(&t->lock);

	char *tok = NULL;
	time_t exp = 0;
	ferry_err e;
	int rc = fetch(t, &tok, &exp, &e);
	time_t now = time(NULL);
	if (rc == 0) {
		/* JWTs are masked by shape (redact.c); registering each renewal would
		 * fill the redactor's table in a long job, so only others are. */
		if (strncmp(tok, "eyJ", 3) != 0)
			ferry_redact_register(tok);
		if (exp && exp <= now) {
			char when[64];
			struct tm tm;
			gmtime_r(&exp, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
			rc = ferry_err_set(&e, FERRY_E_AUTH, "%s: the token expired at %s; %s", t->describe, when,
					   t->hint);
		}
	}
	char *nb = NULL;
	if (rc == 0 && asprintf(&nb, "Bearer %s", tok) < 0) {
		nb = NULL;
		rc = ferry_err_set(&e, FERRY_E_IO, "out of memory");
	}
	if (tok) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}

	pthread_mutex_lock(&t->lock);
	t->renewing = 0;
	t->gen++;
	t->last_failed = rc < 0;
	if (rc == 0) {
		drop_bearer(t);
		t->bearer = nb;
		t->obtained_at = now;
		t->expires_at = exp ? exp : now + 300; /* no expiry given: assume 5 minutes */
		t->fetches++;
		ferry_debug("%s: token %u obtained, valid for %lld s", t->describe, t->fetches,
			    (long long)(t->expires_at - now));
	} else {
		t->last_err = e;
		if (t->bearer && now + 1 < t->expires_at) {
			/* keep the current token; ask again in a while, not at every request */
			time_t wait = (t->expires_at - now) / 4;
			t->retry_at = now + (wait > 30 ? 30 : wait < 1 ? 1 : wait);
			ferry_warn("%s: renewing the token failed (%s); the current one is used until it expires",
				   t->describe, e.msg);
			rc = 0;
		}
	}
	pthread_cond_broadcast(&t->renewed);
	if (rc < 0) {
		pthread_mutex_unlock(&t->lock);
		*err = e;
		return -1;
	}
copy:
	*bearer = strdup(t->bearer);
	pthread_mutex_unlock(&t->lock);
	if (!*bearer)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	return 0;
}

void ferry_aztoken_invalidate(struct ferry_aztoken *t, const char *bearer)
{
	pthread_mutex_lock(&t->lock);
	if (t->bearer && bearer && !strcmp(t->bearer, bearer))
		drop_bearer(t);
	pthread_mutex_unlock(&t->lock);
}

const char *ferry_aztoken_describe(const struct ferry_aztoken *t)
{
	return t->describe;
}

const char *ferry_aztoken_hint(const struct ferry_aztoken *t)
{
	return t->hint;
}

unsigned ferry_aztoken_fetches(struct ferry_aztoken *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->fetches;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void ferry_aztoken_free(struct ferry_aztoken *t)
{
	if (!t)
		return;
	drop_bearer(t);
	if (t->header_secret) {
		explicit_bzero(t->header_secret, strlen(t->header_secret));
		free(t->header_secret);
	}
	if (t->user_token) {
		explicit_bzero(t->user_token, strlen(t->user_token));
		free(t->user_token);
	}
	if (t->form) {
		explicit_bzero(t->form, strlen(t->form));
		free(t->form);
	}
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->renewed);
	free(t);
}

time_t ferry_jwt_exp(const char *jwt)
{
	const char *a = strchr(jwt, '.');
	const char *b = a ? strchr(a + 1, '.') : NULL;
	if (!b || b - a - 1 > 16384)
		return 0;
	size_t n = (size_t)(b - a - 1);
	char *s = malloc(n + 4);
	unsigned char *out = malloc(n + 4);
	time_t exp = 0;
	if (!s || !out)
		goto done;
	/* base64url -> base64, padded */
	for (size_t i = 0; i < n; i++)
		s[i] = a[1 + i] == '-' ? '+' : a[1 + i] == '_' ? '/' : a[1 + i];
	while (n % 4)
		s[n++] = '=';
	s[n] = '\0';
	int len = EVP_DecodeBlock(out, (unsigned char *)s, (int)n);
	if (len < 0)
		goto done;
	while (len > 0 && out[len - 1] == '\0')
		len--; /* padding decodes to zero bytes */
	json_t *j = json_loadb((const char *)out, (size_t)len, 0, NULL);
	exp = json_time(json_object_get(j, "exp"));
	json_decref(j);
done:
	free(s);
	free(out);
	return exp;
}
