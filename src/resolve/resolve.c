/*
 * resolve.c — from a path string to a store (see resolve.h).
 *
 * Credentials for direct Blob URIs, in the order Azure's tools use them:
 *  1. AZURE_STORAGE_CONNECTION_STRING (AccountName/AccountKey,
 *     SharedAccessSignature, BlobEndpoint, DefaultEndpointsProtocol,
 *     EndpointSuffix; UseDevelopmentStorage=true means Azurite's well-known
 *     account on 127.0.0.1:10000 — its key is read from Azurite's package,
 *     never written in ferry) — used when its account is the URI's account;
 *     its BlobEndpoint then also says where a host-style URI's account is
 *     served (wasbs://c@acct.blob.core.windows.net/... reaches an emulator);
 *  2. AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY (same account);
 *  3. AZURE_STORAGE_SAS_TOKEN;
 *  4. the identity of the job or command (ctx->identity): OAuth tokens;
 *  5. none: anonymous (public containers).
 * s3://bucket/path: AWS_* variables or the shared credentials file (s3.h).
 */
#include "resolve/resolve.h"
#include "core/redact.h"
#include "core/strbuf.h"
#include "core/uri.h"
#include "store/azblob.h"
#include "store/http.h"
#include "store/local.h"
#include "store/s3.h"
#include "workspace/workspace.h"

#include <jansson.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct creds {
	char account[256];
	char key[256];
	char sas[2048];
	char endpoint[512];
	char protocol[16];
	char suffix[128];
	int dev;
};

/* Value of `name=` in a ';'-separated connection string, into out. */
static int cs_get(const char *cs, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = cs; p && *p;) {
		while (*p == ';' || *p == ' ')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nl && p[nl] == '=' && !strncasecmp(p, name, nl)) {
			size_t vl = len - nl - 1;
			if (vl >= cap)
				vl = cap - 1;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

/* Azurite's well-known key, from the installed azurite package. */
static int azurite_key(char *out, size_t cap)
{
	const char *candidates[] = { getenv("FERRY_AZURITE_CONSTANTS"),
				     "tools/node_modules/azurite/dist/src/common/utils/constants.js",
				     "/usr/local/lib/node_modules/azurite/dist/src/common/utils/constants.js",
				     "/usr/lib/node_modules/azurite/dist/src/common/utils/constants.js" };
	char exe[PATH_MAX], alt[PATH_MAX + 80];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) + 1; i++) {
		const char *path = i < sizeof(candidates) / sizeof(candidates[0]) ? candidates[i] : NULL;
		if (!path && n > 0) { /* <repo>/build/ferry -> <repo>/tools/... */
			exe[n] = '\0';
			char *slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
			slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
			snprintf(alt, sizeof(alt), "%s/tools/node_modules/azurite/dist/src/common/utils/constants.js", exe);
			path = alt;
		}
		FILE *f = path ? fopen(path, "re") : NULL;
		if (!f)
			continue;
		char line[4096];
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, "EMULATOR_ACCOUNT_KEY = Buffer.from(\"");
			if (!p)
				continue;
			p = strchr(p, '"') + 1;
			char *q = strchr(p, '"');
			if (q && (size_t)(q - p) < cap) {
				memcpy(out, p, (size_t)(q - p));
				out[q - p] = '\0';
				fclose(f);
				return 0;
			}
		}
		fclose(f);
	}
	return -1;
}

static int env_creds(struct creds *c, ferry_err *err)
{
	memset(c, 0, sizeof(*c));
	const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");
	if (cs && *cs) {
		char dev[16] = "";
		if (cs_get(cs, "UseDevelopmentStorage", dev, sizeof(dev)) && !strcasecmp(dev, "true")) {
			c->dev = 1;
			snprintf(c->account, sizeof(c->account), "devstoreaccount1");
			snprintf(c->endpoint, sizeof(c->endpoint), "http://127.0.0.1:10000/devstoreaccount1");
			if (azurite_key(c->key, sizeof(c->key)) < 0)
				return ferry_err_set(err, FERRY_E_AUTH,
						     "UseDevelopmentStorage=true: cannot find Azurite's account key "
						     "(install azurite, or set FERRY_AZURITE_CONSTANTS)");
		}
		cs_get(cs, "AccountName", c->account, sizeof(c->account));
		cs_get(cs, "AccountKey", c->key, sizeof(c->key));
		cs_get(cs, "SharedAccessSignature", c->sas, sizeof(c->sas));
		cs_get(cs, "BlobEndpoint", c->endpoint, sizeof(c->endpoint));
		cs_get(cs, "DefaultEndpointsProtocol", c->protocol, sizeof(c->protocol));
		cs_get(cs, "EndpointSuffix", c->suffix, sizeof(c->suffix));
		ferry_redact_register(c->key);
		ferry_redact_register(c->sas);
		return 0;
	}
	const char *acct = getenv("AZURE_STORAGE_ACCOUNT"), *key = getenv("AZURE_STORAGE_KEY");
	if (acct && key) {
		snprintf(c->account, sizeof(c->account), "%s", acct);
		snprintf(c->key, sizeof(c->key), "%s", key);
		ferry_redact_register(key);
	}
	const char *sas = getenv("AZURE_STORAGE_SAS_TOKEN");
	if (sas && *sas) {
		snprintf(c->sas, sizeof(c->sas), "%s", sas);
		ferry_redact_register(sas);
	}
	return 0;
}

static struct ferry_store *open_blob_direct(struct ferry_ctx *ctx, struct ferry_uri *u, ferry_err *err)
{
	struct creds c;
	if (env_creds(&c, err) < 0)
		return NULL;
	struct ferry_azblob_config cfg = { .endpoint = u->endpoint, .account = u->account,
					   .container = u->container, .auth = FERRY_AZ_ANON };
	int same = c.account[0] && !strcmp(c.account, u->account);
	/* An explicit path-style URL (http://host:port/<account>/...) goes where it
	 * says; a host-style name (wasbs://, <acct>.blob.<suffix>) is served by the
	 * BlobEndpoint the connection string gives for that account. */
	const char *host = strstr(u->endpoint, "://");
	int path_style = host && strchr(host + 3, '/') != NULL;
	if (same && c.endpoint[0] && !path_style)
		cfg.endpoint = c.endpoint;
	if (same && c.key[0]) {
		cfg.auth = FERRY_AZ_KEY;
		cfg.secret = c.key;
	} else if (c.sas[0] && (same || !c.account[0])) {
		cfg.auth = FERRY_AZ_SAS;
		cfg.secret = c.sas;
	} else if (ctx->identity.kind != FERRY_ID_NONE) {
		cfg.auth = FERRY_AZ_BEARER;
		cfg.token = ferry_aztoken_new(&ctx->identity, NULL, &ctx->settings, &ctx->stats, err);
		if (!cfg.token) {
			ferry_err_wrap(err, "account '%s'", u->account);
			return NULL;
		}
	}
	return ferry_azblob_open(&cfg, &ctx->settings, &ctx->stats, err);
}

/* The token cache of an identity-based datastore: its own service principal,
 * else the identity of the job or command. */
static struct ferry_aztoken *datastore_token(struct ferry_ctx *ctx, const struct ferry_datastore *ds, ferry_err *err)
{
	if (strcmp(ds->cred_type, "service_principal") != 0)
		return ferry_aztoken_new(&ctx->identity, NULL, &ctx->settings, &ctx->stats, err);
	json_t *o = ds->options_json ? json_loads(ds->options_json, 0, NULL) : NULL;
	struct ferry_identity id = { .kind = FERRY_ID_SERVICE_PRINCIPAL };
	struct ferry_sp_credentials sp = {
		.tenant_id = json_string_value(json_object_get(o, "tenant_id")),
		.client_id = json_string_value(json_object_get(o, "client_id")),
		.authority = json_string_value(json_object_get(o, "authority_url")),
		.resource = json_string_value(json_object_get(o, "resource_url")),
		.client_secret = ds->secret,
	};
	struct ferry_aztoken *t = ferry_aztoken_new(&id, &sp, &ctx->settings, &ctx->stats, err);
	json_decref(o);
	return t;
}

/* type s3: bucket (container), endpoint, region (options), keys from the
 * datastore's secret, else from the environment like s3:// URIs. */
static struct ferry_store *open_s3_datastore(struct ferry_ctx *ctx, const struct ferry_datastore *ds, ferry_err *err)
{
	struct ferry_s3_env env;
	/* the environment's keys only matter when the datastore has none */
	if (ferry_s3_env_load(&env, err) < 0) {
		if (!ds->secret)
			return NULL;
		memset(&env, 0, sizeof(env));
	}
	json_t *o = ds->options_json ? json_loads(ds->options_json, 0, NULL) : NULL;
	json_t *k = ds->secret ? json_loads(ds->secret, 0, NULL) : NULL;
	const char *region = json_string_value(json_object_get(o, "region"));
	struct ferry_s3_config cfg = {
		.endpoint = ds->endpoint && *ds->endpoint ? ds->endpoint : env.endpoint,
		.region = region && *region ? region : env.region,
		.bucket = ds->container,
		.access_key = env.access_key, .secret_key = env.secret_key,
		.session_token = env.session_token, .cred_source = env.source,
	};
	char source[300];
	if (k) {
		cfg.access_key = json_string_value(json_object_get(k, "access_key_id"));
		cfg.secret_key = json_string_value(json_object_get(k, "secret_access_key"));
		cfg.session_token = NULL;
		ferry_redact_register(cfg.secret_key);
		snprintf(source, sizeof(source), "the credentials of datastore '%s'", ds->name);
		cfg.cred_source = source;
	}
	struct ferry_store *s = ferry_s3_open(&cfg, &ctx->settings, &ctx->stats, err);
	json_decref(o);
	json_decref(k);
	return s;
}

/* "<prefix>/<s>" with s's leading and trailing '/' left out. */
static char *tree_join(const char *prefix, const char *s)
{
	if (!s)
		s = "";
	while (*s == '/')
		s++;
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		n--;
	char *t;
	return asprintf(&t, "%s/%.*s", prefix ? prefix : "", (int)n, s) < 0 ? NULL : t;
}

/* A datastore's store; *tree (may be NULL) gets its naming tree:
 * local/<folder> for a local datastore, s3/<bucket> for an s3 one, else
 * <account>/<container>. */
static struct ferry_store *open_datastore(struct ferry_ctx *ctx, struct ferry_uri *u, char **tree, ferry_err *err)
{
	if (!ctx->ws) {
		ferry_err_set(err, FERRY_E_INVALID, "datastore '%s': no workspace is open", u->datastore);
		return NULL;
	}
	struct ferry_datastore ds;
	if (ferry_ws_datastore_get(ctx->ws, u->datastore, &ds, err) < 0)
		return NULL;
	struct ferry_store *s = NULL;
	if (!strcmp(ds.type, "local")) {
		s = ferry_local_open(ds.local_path, 1, &ctx->settings, &ctx->stats, err);
	} else if (!strcmp(ds.type, "s3")) {
		s = open_s3_datastore(ctx, &ds, err);
	} else {
		struct ferry_strbuf endpoint = FERRY_STRBUF_INIT;
		const char *ep = ds.endpoint && *ds.endpoint ? ds.endpoint : "core.windows.net";
		if (strstr(ep, "://"))
			ferry_strbuf_adds(&endpoint, ep);
		else
			ferry_strbuf_addf(&endpoint, "https://%s.blob.%s", ds.account, ep);
		struct ferry_azblob_config cfg = { .endpoint = endpoint.buf, .account = ds.account,
						   .container = ds.container, .auth = FERRY_AZ_ANON,
						   .secret = ds.secret };
		if (ds.cred_type && !strcmp(ds.cred_type, "account_key"))
			cfg.auth = FERRY_AZ_KEY;
		else if (ds.cred_type && !strcmp(ds.cred_type, "sas_token"))
			cfg.auth = FERRY_AZ_SAS;
		else if (ds.cred_type && !strcmp(ds.cred_type, "service_principal"))
			cfg.auth = FERRY_AZ_BEARER;
		else if (ctx->identity.kind != FERRY_ID_NONE)
			cfg.auth = FERRY_AZ_BEARER;
		if (cfg.auth == FERRY_AZ_BEARER) {
			cfg.secret = NULL;
			cfg.token = datastore_token(ctx, &ds, err);
		}
		if (cfg.auth == FERRY_AZ_BEARER && !cfg.token) {
			/* err says why */
		} else if (endpoint.failed) {
			ferry_aztoken_free(cfg.token);
			ferry_err_set(err, FERRY_E_IO, "out of memory");
		} else {
			s = ferry_azblob_open(&cfg, &ctx->settings, &ctx->stats, err);
		}
		ferry_strbuf_release(&endpoint);
	}
	if (s && tree) {
		if (!strcmp(ds.type, "local"))
			*tree = tree_join("local", ds.local_path);
		else if (!strcmp(ds.type, "s3")) /* an s3 datastore names its bucket as s3:// does */
			*tree = tree_join("s3", ds.container);
		else
			*tree = tree_join(ds.account, ds.container);
		if (!*tree) {
			ferry_store_destroy(s);
			s = NULL;
			ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
	}
	if (!s)
		ferry_err_wrap(err, "datastore '%s'", u->datastore);
	ferry_datastore_free(&ds);
	return s;
}

/* s3://bucket/path: keys, region and endpoint the way AWS's tools find them
 * (ferry_s3_env_load). */
static struct ferry_store *open_s3(struct ferry_ctx *ctx, struct ferry_uri *u, ferry_err *err)
{
	struct ferry_s3_env env;
	if (ferry_s3_env_load(&env, err) < 0)
		return NULL;
	struct ferry_s3_config cfg = { .endpoint = env.endpoint, .region = env.region, .bucket = u->container,
				       .access_key = env.access_key, .secret_key = env.secret_key,
				       .session_token = env.session_token, .cred_source = env.source };
	return ferry_s3_open(&cfg, &ctx->settings, &ctx->stats, err);
}

/* Absolute form of a local path (the file need not exist). malloc'd. */
static char *absolute(const char *p)
{
	char *r = realpath(p, NULL);
	if (r || p[0] == '/')
		return r ? r : strdup(p);
	char *cwd = getcwd(NULL, 0);
	r = cwd ? ferry_path_join(cwd, p) : NULL;
	free(cwd);
	return r;
}

/* azureml:<name>:<version> | azureml:<name>@latest: the asset's registered
 * path, resolved like any other. An asset never points at another asset
 * (data.c refuses it at creation), so this recurses once. */
static int resolve_asset(struct ferry_ctx *ctx, const struct ferry_uri *u, int for_write,
			 struct ferry_store **store, char **path, int *folder_hint, char **tree, ferry_err *err)
{
	if (for_write)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "'%s': a data asset is read-only; write to a storage path (an "
				     "output with `name` registers a new asset version)",
				     u->text);
	if (!ctx->ws)
		return ferry_err_set(err, FERRY_E_INVALID, "'%s': no workspace is open", u->text);
	struct ferry_data_asset a;
	if (ferry_ws_asset_get(ctx->ws, u->asset_name, u->asset_version, &a, err) < 0)
		return -1;
	int rc;
	if (ferry_uri_scheme(a.path, NULL) == FERRY_SCHEME_ASSET)
		rc = ferry_err_set(err, FERRY_E_INVALID, "data asset %s:%s points at another asset (%s)",
				   a.name, a.version, a.path);
	else
		rc = ferry_resolve_named(ctx, a.path, 0, store, path, folder_hint, tree, err);
	if (rc < 0)
		ferry_err_wrap(err, "data asset %s:%s", a.name, a.version);
	else if (folder_hint && strcmp(a.type, "uri_file") != 0)
		*folder_hint = 1; /* a uri_folder / mltable asset names a folder */
	ferry_data_asset_free(&a);
	return rc;
}

int ferry_resolve(struct ferry_ctx *ctx, const char *text, int for_write, struct ferry_store **store,
		  char **path, int *folder_hint, ferry_err *err)
{
	return ferry_resolve_named(ctx, text, for_write, store, path, folder_hint, NULL, err);
}

int ferry_resolve_named(struct ferry_ctx *ctx, const char *text, int for_write, struct ferry_store **store,
			char **path, int *folder_hint, char **tree, ferry_err *err)
{
	struct ferry_uri u;
	if (ferry_uri_parse(text, &u, err) < 0)
		return -1;
	struct ferry_store *s = NULL;
	char *p = NULL, *t = NULL;
	switch (u.kind) {
	case FERRY_URI_LOCAL: {
		char *abs = absolute(u.path);
		if (!abs) {
			ferry_err_set(err, FERRY_E_IO, "cannot resolve local path '%s'", u.path);
			break;
		}
		s = ferry_local_open("/", 1, &ctx->settings, &ctx->stats, err);
		p = strdup(abs + 1);
		free(abs);
		t = strdup("local");
		size_t n = strlen(p);
		while (n > 0 && p[n - 1] == '/')
			p[--n] = '\0';
		break;
	}
	case FERRY_URI_HTTP:
		if (for_write) {
			ferry_err_set(err, FERRY_E_INVALID, "'%s': http(s) paths are read-only; write to a datastore or a Blob URI", text);
			break;
		}
		s = ferry_http_open(u.endpoint, &ctx->settings, &ctx->stats, err);
		p = strdup(u.path);
		t = tree_join("http", strstr(u.endpoint, "://") ? strstr(u.endpoint, "://") + 3 : u.endpoint);
		break;
	case FERRY_URI_BLOB:
		s = open_blob_direct(ctx, &u, err);
		p = strdup(u.path);
		t = tree_join(u.account, u.container);
		break;
	case FERRY_URI_DATASTORE:
		s = open_datastore(ctx, &u, &t, err);
		p = strdup(u.path);
		break;
	case FERRY_URI_ASSET: {
		int rc = resolve_asset(ctx, &u, for_write, store, path, folder_hint, tree, err);
		ferry_uri_free(&u);
		return rc;
	}
	case FERRY_URI_S3:
		s = open_s3(ctx, &u, err);
		p = strdup(u.path);
		t = tree_join("s3", u.container);
		break;
	case FERRY_URI_JOB: { /* an earlier job's output: where its record says */
		char *uri = NULL;
		int rc = -1;
		if (for_write)
			ferry_err_set(err, FERRY_E_INVALID, "'%s': an earlier job's output is read-only", u.text);
		else if (!ctx->ws)
			ferry_err_set(err, FERRY_E_INVALID, "'%s': no workspace is open", u.text);
		else if (ferry_ws_job_output_uri(ctx->ws, u.job, u.job_output, u.path, u.trailing_slash, &uri,
						 err) == 0)
			rc = ferry_resolve(ctx, uri, 0, store, path, folder_hint, err);
		free(uri);
		ferry_uri_free(&u);
		return rc;
	}
	}
	if (folder_hint)
		*folder_hint = u.trailing_slash;
	ferry_uri_free(&u);
	if (s && (!p || !t)) {
		ferry_store_destroy(s);
		s = NULL;
		ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (!s) {
		free(p);
		free(t);
		return -1;
	}
	*store = s;
	*path = p;
	if (tree)
		*tree = t;
	else
		free(t);
	return 0;
}
