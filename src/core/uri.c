/*
 * uri.c — parsing ferry's path forms (see uri.h).
 *
 * Recognition order matters: azureml:// datastore forms, azureml: assets,
 * wasbs/wasb/abfss/abfs, s3, then http(s) — where a host of the form
 * <acct>.blob.<suffix> or <acct>.dfs.<suffix> is Blob storage, and the
 * Azurite form http://127.0.0.1:10000/<acct>/... (a loopback host on port
 * 10000, or any host whose first path segment is "devstoreaccount1") is
 * path-style Blob storage — and finally local paths.
 */
#include "core/uri.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dupn(const char *s, size_t n)
{
	char *r = malloc(n + 1);
	if (r) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %XX in place; a malformed escape or %00 is an error. */
static int pct_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int h = hexval((unsigned char)r[1]), l = h < 0 ? -1 : hexval((unsigned char)r[2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			*w++ = (char)(h * 16 + l);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return 0;
}

char *ferry_uri_escape_path(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n * 3 + 1), *w = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (isalnum(*p) || strchr("-._~/", *p))
			*w++ = (char)*p;
		else {
			static const char hx[] = "0123456789ABCDEF";
			*w++ = '%';
			*w++ = hx[*p >> 4];
			*w++ = hx[*p & 15];
		}
	}
	*w = '\0';
	return out;
}

/* Strip leading '/' and note a trailing one; returns malloc'd path without
 * trailing slashes. */
static char *clean_path(const char *p, int *trailing)
{
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	*trailing = n > 0 && p[n - 1] == '/';
	while (n > 0 && p[n - 1] == '/')
		n--;
	return dupn(p, n);
}

static int bad(ferry_err *err, const char *text, const char *why)
{
	return ferry_err_set(err, FERRY_E_INVALID, "invalid path '%s': %s", text, why);
}

static int starts(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* azureml://jobs/<job>/outputs/<output>[/paths/<p>] */
static int parse_job(const char *text, const char *p, struct ferry_uri *u, ferry_err *err)
{
	static const char form[] = "expected azureml://jobs/<job name>/outputs/<output name>/paths/<path>";
	p += strlen("jobs/");
	const char *slash = strchr(p, '/');
	if (!slash || slash == p || strncmp(slash, "/outputs/", 9) != 0)
		return bad(err, text, form);
	const char *o = slash + 9;
	size_t olen = strcspn(o, "/");
	if (olen == 0 || (o[olen] && strncmp(o + olen, "/paths/", 7) != 0 && strcmp(o + olen, "/paths") &&
			  strcmp(o + olen, "/")))
		return bad(err, text, form);
	u->kind = FERRY_URI_JOB;
	u->job = dupn(p, (size_t)(slash - p));
	u->job_output = dupn(o, olen);
	const char *rest = !strncmp(o + olen, "/paths/", 7) ? o + olen + 7 : "";
	u->path = clean_path(rest, &u->trailing_slash);
	if (!*rest)
		u->trailing_slash = 1; /* the whole output: a folder */
	if (pct_decode(u->path) < 0)
		return bad(err, text, "bad percent-escape");
	return 0;
}

/* azureml://datastores/<name>/paths/<p> and the long form. */
static int parse_datastore(const char *text, struct ferry_uri *u, ferry_err *err)
{
	const char *p = text + strlen("azureml://");
	if (starts(p, "jobs/"))
		return parse_job(text, p, u, err);
	if (starts(p, "subscriptions/")) {
		/* subscriptions/<s>/resource[gG]roups/<rg>/workspaces/<w>/datastores/... */
		const char *ds = strstr(p, "/datastores/");
		const char *rg = strcasestr(p, "/resourcegroups/");
		const char *ws = strstr(p, "/workspaces/");
		if (!ds || !rg || !ws || !(rg < ws && ws < ds))
			return bad(err, text, "expected azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<w>/datastores/<name>/paths/<path>");
		p = ds + 1;
	}
	if (!starts(p, "datastores/"))
		return bad(err, text, "expected azureml://datastores/<name>/paths/<path>");
	p += strlen("datastores/");
	const char *slash = strchr(p, '/');
	if (!slash || slash == p)
		return bad(err, text, "missing datastore name");
	if (strncmp(slash, "/paths/", 7) != 0 && strcmp(slash, "/paths") != 0)
		return bad(err, text, "expected '/paths/' after the datastore name");
	u->kind = FERRY_URI_DATASTORE;
	u->datastore = dupn(p, (size_t)(slash - p));
	const char *rest = slash[6] ? slash + 7 : "";
	u->path = clean_path(rest, &u->trailing_slash);
	if (pct_decode(u->path) < 0)
		return bad(err, text, "bad percent-escape");
	return 0;
}

/* azureml:<name>:<version> | azureml:<name>@latest */
static int parse_asset(const char *text, struct ferry_uri *u, ferry_err *err)
{
	const char *p = text + strlen("azureml:");
	const char *at = strchr(p, '@'), *colon = strchr(p, ':');
	u->kind = FERRY_URI_ASSET;
	if (at && !colon) {
		if (at == p || strcmp(at + 1, "latest"))
			return bad(err, text, "expected azureml:<name>@latest");
		u->asset_name = dupn(p, (size_t)(at - p));
		u->asset_version = strdup("latest");
	} else if (colon && !at) {
		if (colon == p || !colon[1] || strchr(colon + 1, ':'))
			return bad(err, text, "expected azureml:<name>:<version>");
		u->asset_name = dupn(p, (size_t)(colon - p));
		u->asset_version = strdup(colon + 1);
	} else
		return bad(err, text, "expected azureml:<name>:<version> or azureml:<name>@latest");
	u->path = strdup("");
	return 0;
}

/* wasbs://<container>@<account>.blob.<sfx>/<path>, abfss://<fs>@<account>.dfs.<sfx>/<path> */
static int parse_wasb(const char *text, const char *after_scheme, int secure, struct ferry_uri *u,
		      ferry_err *err)
{
	const char *at = strchr(after_scheme, '@');
	const char *slash = strchr(after_scheme, '/');
	const char *host, *cont = after_scheme;
	size_t clen;
	if (!at || (slash && slash < at)) {
		/* the account-host form: <scheme>://<account>.blob.<sfx>/<container>/<path> */
		host = after_scheme;
		cont = slash ? slash + 1 : "";
		clen = strcspn(cont, "/");
		if (clen == 0)
			return bad(err, text, "expected <scheme>://<container>@<account>.blob.core.windows.net/<path> "
					      "or <scheme>://<account>.blob.core.windows.net/<container>/<path>");
	} else {
		if (at == after_scheme)
			return bad(err, text, "expected <scheme>://<container>@<account>.blob.core.windows.net/<path>");
		host = at + 1;
		clen = (size_t)(at - after_scheme);
	}
	size_t hlen = slash ? (size_t)(slash - host) : strlen(host);
	const char *dot = memchr(host, '.', hlen);
	if (!dot || dot == host)
		return bad(err, text, "missing account host name");
	const char *svc = dot + 1;
	const char *sfx = memchr(svc, '.', hlen - (size_t)(svc - host));
	if (!sfx || !(starts(svc, "blob.") || starts(svc, "dfs.")))
		return bad(err, text, "host must be <account>.blob.<suffix> or <account>.dfs.<suffix>");
	u->kind = FERRY_URI_BLOB;
	u->container = dupn(cont, clen);
	u->account = dupn(host, (size_t)(dot - host));
	char *suffix = dupn(sfx + 1, hlen - (size_t)(sfx + 1 - host));
	size_t elen = strlen(u->account) + strlen(suffix) + 32;
	u->endpoint = malloc(elen);
	snprintf(u->endpoint, elen, "%s://%s.blob.%s", secure ? "https" : "http", u->account, suffix);
	free(suffix);
	if (cont != after_scheme) /* account-host form: the path follows the container */
		slash = cont[clen] ? cont + clen : NULL;
	u->path = clean_path(slash ? slash : "", &u->trailing_slash);
	if (pct_decode(u->path) < 0)
		return bad(err, text, "bad percent-escape");
	return 0;
}

static int is_loopback(const char *host, size_t n)
{
	return (n == 9 && !strncmp(host, "localhost", 9)) || (n >= 4 && !strncmp(host, "127.", 4)) ||
	       (n == 5 && !strncmp(host, "[::1]", 5));
}

static int parse_http(const char *text, struct ferry_uri *u, ferry_err *err)
{
	const char *hs = strstr(text, "://") + 3;
	const char *slash = strchr(hs, '/');
	size_t hlen = slash ? (size_t)(slash - hs) : strlen(hs);
	if (hlen == 0)
		return bad(err, text, "missing host");
	if (memchr(hs, '@', hlen))
		return bad(err, text, "user names in URLs are not supported; use a datastore or a SAS token");
	const char *colon = memchr(hs, ':', hlen);
	size_t namelen = colon ? (size_t)(colon - hs) : hlen;
	const char *dot = memchr(hs, '.', namelen);
	int blob_host = dot && (starts(dot + 1, "blob.") || starts(dot + 1, "dfs.")) &&
			(size_t)(dot + 1 - hs) < namelen;
	const char *path = slash ? slash : "";
	int emulator = is_loopback(hs, namelen) && colon && !strncmp(colon, ":10000", 6) &&
		       (colon + 6 == hs + hlen);
	if (!emulator && slash && !strncmp(slash, "/devstoreaccount1", 17) &&
	    (slash[17] == '/' || !slash[17]))
		emulator = 1;
	if (blob_host) {
		u->kind = FERRY_URI_BLOB;
		u->account = dupn(hs, (size_t)(dot - hs));
		/* scheme://<account>.blob.<rest>: a dfs host is served through the Blob endpoint */
		const char *svc_end = strchr(dot + 1, '.');
		size_t elen = (size_t)(hs + hlen - text) + 2;
		u->endpoint = malloc(elen);
		snprintf(u->endpoint, elen, "%.*sblob%.*s", (int)(dot + 1 - text), text,
			 (int)(hs + hlen - svc_end), svc_end);
	} else if (emulator) {
		/* path-style: /<account>/<container>/<path> */
		const char *a = path + (*path == '/');
		const char *aend = strchr(a, '/');
		if (!*a)
			return bad(err, text, "missing account name in emulator URL");
		u->kind = FERRY_URI_BLOB;
		u->account = aend ? dupn(a, (size_t)(aend - a)) : strdup(a);
		u->endpoint = dupn(text, (size_t)((aend ? aend : a + strlen(a)) - text));
		path = aend ? aend : "";
	} else {
		u->kind = FERRY_URI_HTTP;
		u->endpoint = dupn(text, (size_t)(hs + hlen - text));
		u->path = clean_path(path, &u->trailing_slash);
		if (pct_decode(u->path) < 0)
			return bad(err, text, "bad percent-escape");
		return 0;
	}
	/* Blob: split container / path */
	const char *c = path + (*path == '/');
	const char *cend = strchr(c, '/');
	if (!*c)
		return bad(err, text, "missing container name");
	u->container = cend ? dupn(c, (size_t)(cend - c)) : strdup(c);
	u->path = clean_path(cend ? cend : "", &u->trailing_slash);
	u->trailing_slash = text[strlen(text) - 1] == '/';
	if (pct_decode(u->path) < 0 || pct_decode(u->container) < 0)
		return bad(err, text, "bad percent-escape");
	return 0;
}

static int parse_s3(const char *text, struct ferry_uri *u, ferry_err *err)
{
	const char *b = text + 5;
	const char *slash = strchr(b, '/');
	if (b[0] == '\0' || slash == b)
		return bad(err, text, "expected s3://<bucket>/<path>");
	u->kind = FERRY_URI_S3;
	u->container = slash ? dupn(b, (size_t)(slash - b)) : strdup(b);
	u->path = clean_path(slash ? slash : "", &u->trailing_slash);
	return 0;
}

static int valid_container(const char *c)
{
	/* Azure: 3-63 chars, lowercase letters, digits, '-'; also "$root"/"$web". */
	size_t n = strlen(c);
	if (!strcmp(c, "$root") || !strcmp(c, "$web") || !strcmp(c, "$logs"))
		return 1;
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)c[i]) || isdigit((unsigned char)c[i]) || c[i] == '-'))
			return 0;
	return 1;
}

static const struct {
	const char *name;
	enum ferry_scheme scheme;
} known_schemes[] = {
	{ "file", FERRY_SCHEME_FILE },   { "http", FERRY_SCHEME_HTTP },   { "https", FERRY_SCHEME_HTTPS },
	{ "wasb", FERRY_SCHEME_WASB },   { "wasbs", FERRY_SCHEME_WASBS }, { "abfs", FERRY_SCHEME_ABFS },
	{ "abfss", FERRY_SCHEME_ABFSS }, { "s3", FERRY_SCHEME_S3 },       { "azureml", FERRY_SCHEME_AZUREML },
};

enum ferry_scheme ferry_uri_scheme(const char *text, size_t *len)
{
	size_t n = 0, dummy;
	if (!len)
		len = &dummy;
	*len = 0;
	if (!text || !isalpha((unsigned char)text[0]))
		return FERRY_SCHEME_NONE;
	while (isalnum((unsigned char)text[n]) || text[n] == '+' || text[n] == '-' || text[n] == '.')
		n++;
	if (text[n] != ':')
		return FERRY_SCHEME_NONE;
	int slashes = text[n + 1] == '/' && text[n + 2] == '/';
	for (size_t i = 0; i < sizeof(known_schemes) / sizeof(known_schemes[0]); i++) {
		if (strlen(known_schemes[i].name) != n || strncasecmp(text, known_schemes[i].name, n) != 0)
			continue;
		enum ferry_scheme s = known_schemes[i].scheme;
		if (s == FERRY_SCHEME_FILE || (s == FERRY_SCHEME_AZUREML && !slashes)) {
			*len = n + 1; /* file:..., azureml:<asset> */
			return s == FERRY_SCHEME_FILE ? s : FERRY_SCHEME_ASSET;
		}
		if (!slashes)
			return FERRY_SCHEME_NONE; /* "http:x" is a file name */
		*len = n + 3;
		return s;
	}
	if (!slashes)
		return FERRY_SCHEME_NONE;
	*len = n + 3;
	return FERRY_SCHEME_UNKNOWN;
}

int ferry_uri_is_remote(const char *text)
{
	enum ferry_scheme s = ferry_uri_scheme(text, NULL);
	return s != FERRY_SCHEME_NONE && s != FERRY_SCHEME_FILE;
}

int ferry_uri_is_http(const char *text)
{
	enum ferry_scheme s = ferry_uri_scheme(text, NULL);
	return s == FERRY_SCHEME_HTTP || s == FERRY_SCHEME_HTTPS;
}

int ferry_uri_dot_segment(const char *s, size_t n, const char **seg, size_t *seglen)
{
	const char *end = s + n;
	for (const char *p = s; p <= end;) {
		const char *q = p;
		int dots = 0, other = 0;
		while (q < end && *q != '/' && *q != '\\') {
			if (*q == '.') {
				dots++;
				q++;
			} else if (*q == '%' && end - q >= 3 && q[1] == '2' && (q[2] == 'e' || q[2] == 'E')) {
				dots++;
				q += 3;
			} else {
				other = 1;
				q++;
			}
		}
		if (!other && (dots == 1 || dots == 2)) {
			*seg = p;
			*seglen = (size_t)(q - p);
			return 1;
		}
		p = q + 1;
	}
	return 0;
}

/* Refuse a dot segment in the text after its scheme, or in a decoded part. */
static int check_dot_segments(const char *text, size_t skip, const struct ferry_uri *u, ferry_err *err)
{
	const char *parts[] = { text + skip, u->path, u->container, u->datastore };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *seg;
		size_t n;
		if (!parts[i] || !ferry_uri_dot_segment(parts[i], strlen(parts[i]), &seg, &n))
			continue;
		char why[160];
		snprintf(why, sizeof(why),
			 "'%.*s' is a '.' or '..' path segment%s; a path may not climb out of its container, "
			 "datastore or bucket",
			 (int)(n > 40 ? 40 : n), seg, i ? " (once percent-decoded)" : "");
		return bad(err, text, why);
	}
	return 0;
}

int ferry_uri_parse(const char *text, struct ferry_uri *u, ferry_err *err)
{
	memset(u, 0, sizeof(*u));
	if (!text || !*text)
		return ferry_err_set(err, FERRY_E_INVALID, "empty path");
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20)
			return bad(err, "(path)", "control characters are not allowed");
	u->text = strdup(text);
	size_t skip;
	enum ferry_scheme scheme = ferry_uri_scheme(text, &skip);
	int rc;
	switch (scheme) {
	case FERRY_SCHEME_HTTP:
	case FERRY_SCHEME_HTTPS:
	case FERRY_SCHEME_WASB:
	case FERRY_SCHEME_WASBS:
	case FERRY_SCHEME_ABFS:
	case FERRY_SCHEME_ABFSS:
		if (strpbrk(text, "?#")) {
			rc = bad(err, text, "query strings are not allowed in paths (pass a SAS token through a "
					    "datastore or AZURE_STORAGE_SAS_TOKEN)");
			break;
		}
		if (scheme == FERRY_SCHEME_HTTP || scheme == FERRY_SCHEME_HTTPS)
			rc = parse_http(text, u, err);
		else
			rc = parse_wasb(text, text + skip, scheme == FERRY_SCHEME_WASBS || scheme == FERRY_SCHEME_ABFSS,
					u, err);
		break;
	case FERRY_SCHEME_AZUREML:
		rc = parse_datastore(text, u, err);
		break;
	case FERRY_SCHEME_ASSET:
		rc = parse_asset(text, u, err);
		break;
	case FERRY_SCHEME_S3:
		rc = parse_s3(text, u, err);
		break;
	case FERRY_SCHEME_FILE:
		if (strncmp(text + skip, "//", 2) != 0)
			rc = bad(err, text, "file: URLs are file:///<absolute path>");
		else if (text[skip + 2] != '/')
			rc = bad(err, text, "file:// URLs must hold an absolute path");
		else {
			u->kind = FERRY_URI_LOCAL;
			u->path = strdup(text + skip + 2);
			rc = pct_decode(u->path) < 0 ? bad(err, text, "bad percent-escape") : 0;
		}
		break;
	case FERRY_SCHEME_UNKNOWN:
		rc = bad(err, text, "unknown scheme (expected a local path, http(s)://, wasbs://, abfss://, s3:// or azureml://)");
		break;
	case FERRY_SCHEME_NONE:
	default:
		if (strstr(text, "://")) {
			rc = bad(err, text, "unknown scheme (expected a local path, http(s)://, wasbs://, abfss://, s3:// or azureml://)");
			break;
		}
		u->kind = FERRY_URI_LOCAL;
		u->path = strdup(text);
		rc = 0;
		break;
	}
	if (rc == 0 && scheme != FERRY_SCHEME_NONE)
		rc = check_dot_segments(text, skip, u, err);
	if (rc == 0 && u->kind == FERRY_URI_LOCAL) {
		size_t n = strlen(u->path);
		u->trailing_slash = n > 1 && u->path[n - 1] == '/';
	}
	if (rc == 0 && u->kind == FERRY_URI_BLOB && !valid_container(u->container))
		rc = bad(err, text, "container names are 3-63 lowercase letters, digits and '-'");
	if (rc < 0)
		ferry_uri_free(u);
	return rc;
}

void ferry_uri_free(struct ferry_uri *u)
{
	free(u->text);
	free(u->path);
	free(u->account);
	free(u->container);
	free(u->endpoint);
	free(u->datastore);
	free(u->asset_name);
	free(u->asset_version);
	free(u->job);
	free(u->job_output);
	memset(u, 0, sizeof(*u));
}
