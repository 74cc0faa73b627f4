/*
 * azblob.c — Azure Blob backend (see azblob.h).
 *
 * Every request is described by a `struct azreq` (blob or container level,
 * query parameters, extra headers); az_prepare turns it into a URL and signed
 * headers for each attempt, because a Shared Key signature covers the date
 * and the range, both of which change between retries. Listing responses and
 * error bodies are parsed with libxml2 with network access and entity
 * expansion disabled; anything malformed is an error naming the container.
 */
#include "store/azblob.h"
#include "store/flatns.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/uri.h"
#include "store/azauth.h"
#include "store/aztoken.h"
#include "store/httpc.h"
#include "store/wire.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AZ_VERSION "2021-08-06"
#define MAX_QUERY 8
#define MAX_XMS 6

struct azblob {
	struct ferry_store base;
	char *origin;      /* scheme://host[:port] */
	char *path_prefix; /* "" or "/devstoreaccount1" (path-style) */
	char *account, *container;
	enum ferry_az_auth auth;
	char *secret;      /* key or SAS (no leading '?') */
	struct ferry_aztoken *token; /* BEARER: owned */
};

struct azreq {
	struct azblob *az;
	const char *blob;  /* NULL: container-level request */
	struct ferry_kv query[MAX_QUERY];
	size_t nq;
	struct ferry_kv xms[MAX_XMS]; /* extra x-ms-* headers */
	size_t nx;
	const char *content_type, *content_md5;
	char *bearer;      /* BEARER: the token the last attempt carried (malloc'd) */
	char what[512];
};

static void q_add(struct azreq *r, const char *name, const char *value)
{
	if (value && *value && r->nq < MAX_QUERY)
		r->query[r->nq++] = (struct ferry_kv){ name, value };
}

static char *escape_component(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *w = out;
	static const char hx[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~')
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

static void http_date(char *buf, size_t cap)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}


static void drop_bearer(struct azreq *r)
{
	if (r->bearer) {
		explicit_bzero(r->bearer, strlen(r->bearer));
		free(r->bearer);
		r->bearer = NULL;
	}
}

static int az_prepare(void *ctx, const struct ferry_http_call *call, uint64_t off, uint64_t len,
		      struct ferry_http_attempt *a, ferry_err *err)
{
	struct azreq *r = ctx;
	struct azblob *az = r->az;
	char date[64], range[64] = "", clen[32] = "";
	http_date(date, sizeof(date));

	/* path as sent */
	char *ecnt = escape_component(az->container);
	char *eblob = r->blob ? ferry_uri_escape_path(r->blob) : NULL;
	size_t plen = strlen(az->path_prefix) + strlen(ecnt) + (eblob ? strlen(eblob) : 0) + 4;
	char *path = malloc(plen);
	snprintf(path, plen, "%s/%s%s%s", az->path_prefix, ecnt, eblob ? "/" : "", eblob ? eblob : "");
	free(ecnt);
	free(eblob);

	/* query string */
	size_t cap = strlen(az->origin) + strlen(path) + 64 + (az->auth == FERRY_AZ_SAS ? strlen(az->secret) : 0);
	for (size_t i = 0; i < r->nq; i++)
		cap += strlen(r->query[i].name) + strlen(r->query[i].value) * 3 + 2;
	char *url = malloc(cap);
	size_t at = (size_t)snprintf(url, cap, "%s%s", az->origin, path);
	char sep = '?';
	for (size_t i = 0; i < r->nq; i++) {
		char *v = escape_component(r->query[i].value);
		at += (size_t)snprintf(url + at, cap - at, "%c%s=%s", sep, r->query[i].name, v);
		free(v);
		sep = '&';
	}
	if (az->auth == FERRY_AZ_SAS)
		at += (size_t)snprintf(url + at, cap - at, "%c%s", sep, az->secret);

	struct ferry_kv xms[MAX_XMS + 3];
	size_t nx = 0;
	for (size_t i = 0; i < r->nx; i++)
		xms[nx++] = r->xms[i];
	xms[nx++] = (struct ferry_kv){ "x-ms-date", date };
	xms[nx++] = (struct ferry_kv){ "x-ms-version", AZ_VERSION };
	if (call->ranged && (off > 0 || len != UINT64_MAX)) {
		if (len == UINT64_MAX)
			snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)off);
		else
			snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		xms[nx++] = (struct ferry_kv){ "x-ms-range", range };
	}
	if (!strcmp(call->method, "PUT"))
		snprintf(clen, sizeof(clen), "%llu", (unsigned long long)call->body_len);

	struct curl_slist *h = NULL;
	for (size_t i = 0; i < nx; i++)
		h = ferry_wire_header(h, xms[i].name, xms[i].value);
	if (r->content_type)
		h = ferry_wire_header(h, "Content-Type", r->content_type);
	if (r->content_md5)
		h = ferry_wire_header(h, "Content-MD5", r->content_md5);
	if (az->auth == FERRY_AZ_KEY) {
		struct ferry_az_sign_input in = {
			.verb = call->method, .account = az->account, .key_b64 = az->secret,
			.content_length = clen, .content_md5 = r->content_md5,
			.content_type = r->content_type, .xms = xms, .nxms = nx,
			.resource_path = path, .query = r->query, .nquery = r->nq,
		};
		char auth[256];
		if (ferry_az_sharedkey(&in, auth, sizeof(auth), err) < 0) {
			curl_slist_free_all(h);
			free(path);
			free(url);
			return -1;
		}
		h = ferry_wire_header(h, "Authorization", auth);
	} else if (az->auth == FERRY_AZ_BEARER) {
		char *bearer;
		if (ferry_aztoken_get(az->token, &bearer, err) < 0) {
			curl_slist_free_all(h);
			free(path);
			free(url);
			return ferry_err_wrap(err, "%s", r->what);
		}
		h = ferry_wire_header(h, "Authorization", bearer);
		drop_bearer(r);
		r->bearer = bearer;
	}
	free(path);
	a->url = url;
	a->headers = h;
	return 0;
}




static void az_describe(void *ctx, const struct ferry_http_call *call, const struct ferry_http_resp *r,
			ferry_err *err)
{
	const struct azblob *az = ((const struct azreq *)ctx)->az;
	char tokhint[1024] = "";
	char code[96] = "", msg[256] = "";
	snprintf(code, sizeof(code), "%s", r->error_code);
	xmlDoc *doc = ferry_wire_parse_xml(r->body, r->body_len);
	if (doc) {
		xmlNode *root = xmlDocGetRootElement(doc);
		char *c = ferry_wire_text(ferry_wire_child(root, "Code")), *m = ferry_wire_text(ferry_wire_child(root, "Message"));
		if (c && !code[0])
			snprintf(code, sizeof(code), "%s", c);
		if (m) {
			snprintf(msg, sizeof(msg), "%s", m);
			msg[strcspn(msg, "\r\n")] = '\0'; /* first line: later ones carry request ids */
		}
		xmlFree(c);
		xmlFree(m);
		xmlFreeDoc(doc);
	}
	int ecode = FERRY_E_NET;
	const char *hint = "";
	if (r->status == 404) {
		ecode = FERRY_E_NOTFOUND;
	} else if (r->status == 401 || r->status == 403) {
		ecode = FERRY_E_AUTH;
		if (az->auth == FERRY_AZ_BEARER) {
			snprintf(tokhint, sizeof(tokhint),
				 " (the token of %s was refused or lacks a role that allows this operation, "
				 "such as Storage Blob Data Reader/Contributor; %s)",
				 ferry_aztoken_describe(az->token), ferry_aztoken_hint(az->token));
			hint = tokhint;
		} else if (az->auth == FERRY_AZ_ANON)
			hint = " (no credentials and no identity were used: give the datastore credentials, or run "
			       "with an identity: `identity: {type: user_identity}` or `{type: managed}` in the "
			       "job, FERRY_IDENTITY for ferry's own commands)";
		else
			hint = " (check the account key or SAS token, and that it allows this operation)";
	} else if (r->status == 400 || r->status == 409 || r->status == 412 || r->status == 416)
		ecode = FERRY_E_INVALID;
	ferry_err_set(err, ecode, "%s: HTTP %ld%s%s%s%s%s", call->what, r->status, code[0] ? " " : "",
		      code, msg[0] ? ": " : "", msg, hint);
}

static void req_init(struct azreq *r, struct azblob *az, const char *blob)
{
	memset(r, 0, sizeof(*r));
	r->az = az;
	r->blob = blob;
	if (blob)
		snprintf(r->what, sizeof(r->what), "blob '%s' in container '%s'", blob, az->container);
	else
		snprintf(r->what, sizeof(r->what), "container '%s' of account '%s'", az->container, az->account);
}

static int az_do(struct azblob *az, struct azreq *r, struct ferry_http_call *c, struct ferry_http_resp *resp,
		 ferry_err *err)
{
	c->prepare = az_prepare;
	c->ctx = r;
	c->describe = az_describe;
	c->what = r->what;
	int rc = ferry_http_perform(az->base.settings, az->base.stats, c, resp, err);
	/* An expired or revoked token: forget it and try once more with a new one. */
	if (rc < 0 && az->auth == FERRY_AZ_BEARER && r->bearer &&
	    (resp->status == 401 || (resp->status == 403 && (!strcmp(resp->error_code, "AuthenticationFailed") ||
							      !strcmp(resp->error_code, "InvalidAuthenticationInfo"))))) {
		ferry_info("%s: HTTP %ld %s with the token of %s; retrying once with a new token", r->what,
			   resp->status, resp->error_code, ferry_aztoken_describe(az->token));
		ferry_aztoken_invalidate(az->token, r->bearer);
		ferry_http_resp_clear(resp);
		rc = ferry_http_perform(az->base.settings, az->base.stats, c, resp, err);
	}
	drop_bearer(r);
	return rc;
}

static void fill_entry_md5(struct ferry_entry *e, const char *md5)
{
	if (md5 && strlen(md5) == 24)
		snprintf(e->md5, sizeof(e->md5), "%s", md5);
}

/* One List Blobs call. */
static int list_page(struct ferry_store *s, const char *prefix, int recursive, const char *marker, long long max,
		     struct ferry_list_page *page, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, NULL);
	char *pfx = ferry_flatns_prefix(prefix);
	if (!pfx)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	q_add(&r, "restype", "container");
	q_add(&r, "comp", "list");
	q_add(&r, "prefix", pfx);
	if (!recursive)
		q_add(&r, "delimiter", "/");
	char maxresults[16];
	snprintf(maxresults, sizeof(maxresults), "%lld", max);
	q_add(&r, "maxresults", maxresults);
	q_add(&r, "marker", marker);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", r.what);
	int rc = az_do(az, &r, &c, &resp, err);
	if (rc < 0) {
		free(pfx);
		ferry_http_resp_clear(&resp);
		return -1;
	}
	rc = ferry_azblob_parse_list(resp.body, resp.body_len, pfx, r.what, page, err);
	free(pfx);
	ferry_http_resp_clear(&resp);
	return rc;
}

int ferry_azblob_parse_list(const char *body, size_t len, const char *pfx, const char *what,
			    struct ferry_list_page *page, ferry_err *err)
{
	int rc = 0;
	xmlDoc *doc = ferry_wire_parse_xml(body, len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "EnumerationResults")) {
		rc = ferry_err_set(err, FERRY_E_NET, "listing %s: the server's answer is not a valid List Blobs response",
				   what);
		goto out;
	}
	for (xmlNode *n = ferry_wire_child(root, "Blobs") ? ferry_wire_child(root, "Blobs")->children : NULL; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		int is_prefix = !strcmp((const char *)n->name, "BlobPrefix");
		if (!is_prefix && strcmp((const char *)n->name, "Blob"))
			continue;
		char *name = ferry_wire_text(ferry_wire_child(n, "Name"));
		struct ferry_entry *e = ferry_flatns_add(page, pfx, name, is_prefix, what, &rc, err);
		xmlFree(name);
		if (rc < 0)
			goto out;
		if (e && !is_prefix) {
			xmlNode *props = ferry_wire_child(n, "Properties");
			char *size = ferry_wire_text(ferry_wire_child(props, "Content-Length"));
			char *md5 = ferry_wire_text(ferry_wire_child(props, "Content-MD5"));
			char *etag = ferry_wire_text(ferry_wire_child(props, "Etag"));
			char *lm = ferry_wire_text(ferry_wire_child(props, "Last-Modified"));
			e->size = size ? strtoull(size, NULL, 10) : 0;
			fill_entry_md5(e, md5);
			if (etag)
				snprintf(e->etag, sizeof(e->etag), "%s", etag);
			if (lm)
				e->mtime = curl_getdate(lm, NULL);
			xmlFree(size);
			xmlFree(md5);
			xmlFree(etag);
			xmlFree(lm);
		}
	}
	char *next = ferry_wire_text(ferry_wire_child(root, "NextMarker"));
	if (next && *next)
		page->next_marker = strdup(next);
	xmlFree(next);
out:
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

static int az_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		   struct ferry_list_page *page, ferry_err *err)
{
	return list_page(s, prefix, recursive, marker, ferry_setting_int(s->settings, FS_LIST_PAGE_SIZE), page, err);
}

/* One name below `path`/ is enough to know a folder exists (a full page of
 * a big folder cost 0.4 s of Azurite's time per stat). */
static int az_has_below(struct ferry_store *s, const char *path, ferry_err *err)
{
	struct ferry_list_page page = { 0 };
	int rc = list_page(s, path, 0, NULL, 1, &page, err);
	int found = page.n > 0;
	ferry_page_clear(&page);
	return rc < 0 ? -1 : found;
}

/* HEAD of one blob (flatns.h): a folder entry (hdi_isfolder) is no file. */
static int az_head(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "HEAD", r.what);
	int rc = az_do(az, &r, &c, &resp, err);
	if (rc == 0 && resp.is_folder) {
		rc = ferry_err_set(err, FERRY_E_NOTFOUND, "%s is a folder entry", r.what);
	} else if (rc == 0) {
		out->name = strdup(path);
		out->size = resp.content_length > 0 ? (uint64_t)resp.content_length : 0;
		out->mtime = resp.last_modified;
		fill_entry_md5(out, resp.content_md5);
		snprintf(out->etag, sizeof(out->etag), "%s", resp.etag);
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static int az_list1(struct ferry_store *s, const char *folder, long long max, struct ferry_list_page *page,
		    ferry_err *err)
{
	return list_page(s, folder, 0, NULL, max, page, err);
}

static const struct ferry_flatns_ops az_flatns = {
	.head = az_head, .list = az_list1, .object = "blob", .container = "container", .notfound = "BlobNotFound",
};

static int az_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	return ferry_flatns_stat(s, &az_flatns, ((struct azblob *)s)->container, path, out, err);
}

static int az_get(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		  void *arg, struct ferry_entry *out, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", r.what);
	c.ranged = 1;
	c.off = off;
	c.len = len;
	c.sink = sink;
	c.sink_arg = arg;
	int rc = az_do(az, &r, &c, &resp, err);
	rc = ferry_http_read_done(s, rc, r.what, path, &c, &resp, out, err);
	ferry_http_resp_clear(&resp);
	return rc;
}

static int az_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		   void *arg, ferry_err *err)
{
	return az_get(s, path, off, len, sink, arg, NULL, err);
}

static int az_read_info(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
			void *arg, struct ferry_entry *out, ferry_err *err)
{
	return az_get(s, path, off, len, sink, arg, out, err);
}

static int az_put_common(struct azblob *az, struct azreq *r, int fd, const char *mem, uint64_t off,
			 uint64_t len, ferry_err *err)
{
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "PUT", r->what);
	c.body_fd = fd;
	c.body_mem = mem;
	c.body_off = off;
	c.body_len = len;
	int rc = az_do(az, r, &c, &resp, err);
	ferry_http_resp_clear(&resp);
	return rc;
}


static int az_put(struct ferry_store *s, const char *path, int fd, uint64_t size, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	char md5[25];
	if (ferry_wire_md5_range(fd, 0, size, md5) < 0)
		return ferry_err_set(err, FERRY_E_IO, "reading the data for %s failed", r.what);
	r.xms[r.nx++] = (struct ferry_kv){ "x-ms-blob-type", "BlockBlob" };
	r.content_md5 = md5;
	r.content_type = "application/octet-stream";
	return az_put_common(az, &r, fd, NULL, 0, size, err);
}

/* Block ids: base64 of a fixed-width decimal index, so all ids of a blob have
 * the same length (a Put Block List requirement). */
static void block_id(unsigned index, char out[32])
{
	char raw[16];
	snprintf(raw, sizeof(raw), "ferry%010u", index);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, 15);
}

static int az_put_block(struct ferry_store *s, const char *path, unsigned index, int fd, uint64_t off,
			uint64_t len, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	char id[32], md5[25];
	block_id(index, id);
	if (ferry_wire_md5_range(fd, off, len, md5) < 0)
		return ferry_err_set(err, FERRY_E_IO, "reading the data for %s failed", r.what);
	q_add(&r, "comp", "block");
	q_add(&r, "blockid", id);
	r.content_md5 = md5;
	return az_put_common(az, &r, fd, NULL, off, len, err);
}

static int az_commit(struct ferry_store *s, const char *path, unsigned nblocks, const char *md5, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	size_t cap = 64 + (size_t)nblocks * 48;
	char *xml = malloc(cap);
	size_t at = (size_t)snprintf(xml, cap, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (unsigned i = 0; i < nblocks; i++) {
		char id[32];
		block_id(i, id);
		at += (size_t)snprintf(xml + at, cap - at, "<Latest>%s</Latest>", id);
	}
	at += (size_t)snprintf(xml + at, cap - at, "</BlockList>");
	q_add(&r, "comp", "blocklist");
	r.content_type = "application/xml";
	if (md5 && *md5) /* the blob's Content-MD5, as a Put Blob would have it */
		r.xms[r.nx++] = (struct ferry_kv){ "x-ms-blob-content-md5", md5 };
	int rc = az_put_common(az, &r, -1, xml, 0, at, err);
	free(xml);
	return rc;
}

/* Delete Blob. */
static int az_remove(struct ferry_store *s, const char *path, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "DELETE", r.what);
	int rc = az_do(az, &r, &c, &resp, err);
	ferry_http_resp_clear(&resp);
	return rc;
}

/* The URL of a blob of this container, as a copy source: with the SAS when
 * that is the credential (it then travels in a signed x-ms- header, never in
 * a message). malloc'd. */
static char *source_url(struct azblob *az, const char *blob)
{
	char *ecnt = escape_component(az->container);
	char *eblob = ferry_uri_escape_path(blob);
	size_t cap = strlen(az->origin) + strlen(az->path_prefix) + strlen(ecnt) + strlen(eblob) + 8 +
		     (az->auth == FERRY_AZ_SAS ? strlen(az->secret) : 0);
	char *url = malloc(cap);
	if (url)
		snprintf(url, cap, "%s%s/%s/%s%s%s", az->origin, az->path_prefix, ecnt, eblob,
			 az->auth == FERRY_AZ_SAS ? "?" : "", az->auth == FERRY_AZ_SAS ? az->secret : "");
	free(ecnt);
	free(eblob);
	return url;
}

/* Copy Blob within the account. Azure may answer "pending" (Azurite never
 * does for a same-account copy): then the destination's x-ms-copy-status is
 * polled until it settles, so the copy is complete when this returns. */
static int az_copy(struct ferry_store *s, const char *from, const char *to, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	char *src = source_url(az, from);
	if (!src)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	struct azreq r;
	req_init(&r, az, to);
	snprintf(r.what, sizeof(r.what), "copy of blob '%s' to '%s' in container '%s'", from, to, az->container);
	r.xms[r.nx++] = (struct ferry_kv){ "x-ms-copy-source", src };
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "PUT", r.what);
	c.body_mem = "";
	int rc = az_do(az, &r, &c, &resp, err);
	char status[16];
	snprintf(status, sizeof(status), "%s", resp.copy_status);
	ferry_http_resp_clear(&resp);
	free(src);
	for (int polls = 0; rc == 0 && !strcmp(status, "pending"); polls++) {
		if (polls >= 600)
			return ferry_err_set(err, FERRY_E_NET, "copy of blob '%s' to '%s' still pending after 10 minutes",
					     from, to);
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
		struct azreq h;
		req_init(&h, az, to);
		ferry_http_call_init(&c, "HEAD", h.what);
		rc = az_do(az, &h, &c, &resp, err);
		snprintf(status, sizeof(status), "%s", resp.copy_status);
		ferry_http_resp_clear(&resp);
	}
	if (rc == 0 && status[0] && strcmp(status, "success"))
		rc = ferry_err_set(err, FERRY_E_NET, "copy of blob '%s' to '%s' in container '%s' ended with status '%s'",
				   from, to, az->container, status);
	return rc;
}

static int az_ensure_container(struct ferry_store *s, ferry_err *err)
{
	struct azblob *az = (struct azblob *)s;
	struct azreq r;
	req_init(&r, az, NULL);
	q_add(&r, "restype", "container");
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "PUT", r.what);
	c.body_mem = "";
	int rc = az_do(az, &r, &c, &resp, err);
	if (rc < 0 && resp.status == 409)
		rc = 0; /* ContainerAlreadyExists */
	ferry_http_resp_clear(&resp);
	return rc;
}

static void az_destroy(struct ferry_store *s)
{
	struct azblob *az = (struct azblob *)s;
	free(az->base.display);
	free(az->origin);
	free(az->path_prefix);
	free(az->account);
	free(az->container);
	free(az->secret);
	ferry_aztoken_free(az->token);
	free(az);
}

static const struct ferry_store_ops azblob_ops = {
	.kind = "azblob",
	.stat = az_stat,
	.list = az_list,
	.has_below = az_has_below,
	.read = az_read,
	.read_info = az_read_info,
	.put = az_put,
	.put_block = az_put_block,
	.commit = az_commit,
	.remove = az_remove,
	.copy = az_copy,
	.ensure_container = az_ensure_container,
	.destroy = az_destroy,
};

struct ferry_store *ferry_azblob_open(const struct ferry_azblob_config *cfg,
				      const struct ferry_settings *settings,
				      struct ferry_stats *stats, ferry_err *err)
{
	const char *ep = cfg->endpoint;
	const char *hs = strstr(ep, "://");
	if (!hs || !ferry_uri_is_http(ep)) {
		ferry_err_set(err, FERRY_E_INVALID, "Blob endpoint '%s' must be an http(s) URL", ep);
		ferry_aztoken_free(cfg->token);
		return NULL;
	}
	if (cfg->auth == FERRY_AZ_BEARER && (!cfg->token || ferry_uri_scheme(ep, NULL) != FERRY_SCHEME_HTTPS)) {
		ferry_err_set(err, FERRY_E_AUTH,
			      cfg->token ? "account '%s': identity-based access (OAuth tokens) needs an https:// "
					   "endpoint, not %s: tokens are never sent in the clear"
					 : "account '%s': no token source given (%s)",
			      cfg->account, ep);
		ferry_aztoken_free(cfg->token);
		return NULL;
	}
	if (cfg->auth != FERRY_AZ_ANON && cfg->auth != FERRY_AZ_BEARER && (!cfg->secret || !*cfg->secret)) {
		ferry_err_set(err, FERRY_E_AUTH, "no credential given for account '%s'", cfg->account);
		return NULL;
	}
	struct azblob *az = calloc(1, sizeof(*az));
	const char *slash = strchr(hs + 3, '/');
	size_t olen = slash ? (size_t)(slash - ep) : strlen(ep);
	az->origin = strndup(ep, olen);
	az->path_prefix = strdup(slash ? slash : "");
	size_t pl = strlen(az->path_prefix);
	while (pl > 0 && az->path_prefix[pl - 1] == '/')
		az->path_prefix[--pl] = '\0';
	az->account = strdup(cfg->account);
	az->container = strdup(cfg->container);
	az->auth = cfg->auth;
	az->token = cfg->token;
	if (cfg->secret && cfg->auth != FERRY_AZ_BEARER) {
		az->secret = strdup(cfg->secret[0] == '?' ? cfg->secret + 1 : cfg->secret);
		ferry_redact_register(az->secret);
	}
	size_t dl = strlen(ep) + strlen(cfg->container) + 2;
	az->base.display = malloc(dl);
	snprintf(az->base.display, dl, "%s/%s", ep, cfg->container);
	az->base.ops = &azblob_ops;
	az->base.settings = settings;
	az->base.stats = stats;
	az->base.writable = cfg->auth != FERRY_AZ_ANON;
	return &az->base;
}
