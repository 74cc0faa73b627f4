/*
 * s3.c — Amazon S3 backend (see s3.h).
 *
 * Like azblob.c, every request is a `struct s3req` (object or bucket level,
 * query parameters, a few headers) that s3_prepare turns into a URL and SigV4-
 * signed headers for each attempt: the signature covers x-amz-date and the
 * Range, both of which change between retries. Request bodies read from files
 * are sent as UNSIGNED-PAYLOAD with a Content-MD5 that S3 verifies; small XML
 * bodies are hashed. Listing and error XML is parsed with libxml2, network
 * access off.
 *
 * Multipart upload: store.h's put_block/commit carry no upload id, and the
 * transfer engine stages a file's blocks from many workers in any order. The
 * first block of an object to arrive creates the upload (CreateMultipartUpload)
 * under that object's own lock, so the others wait for its id, not for other
 * objects; each part's ETag is kept in the object's entry (part n = block n-1)
 * for CompleteMultipartUpload. An upload whose commit fails is aborted at
 * once; one never committed (a block failed, the transfer was stopped) is
 * aborted when the store is destroyed, so no invisible parts stay billed —
 * also after Ctrl-C (the abort is an httpc "cleanup" call, which an interrupt
 * does not stop).
 */
#include "store/s3.h"
#include "store/flatns.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/strbuf.h"
#include "core/uri.h"
#include "store/httpc.h"
#include "store/wire.h"
#include "store/sigv4.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUERY 8
#define S3_MAX_PARTS 10000u
#define S3_MIN_PART (5ull << 20)

/* One multipart upload in progress, keyed by object path. */
struct mpu {
	struct mpu *next;
	char *path;
	pthread_mutex_t lock; /* guards upload_id and etags */
	char *upload_id;      /* NULL until created */
	char **etags;         /* etags[i]: ETag of part i+1, NULL until staged */
	unsigned cap;
};

struct s3 {
	struct ferry_store base;
	char *origin;    /* scheme://host[:port] */
	char *host;      /* host[:port], the Host header */
	char *base_path; /* "" (virtual-hosted) or "[/endpoint-path]/<bucket>" */
	char *bucket, *region;
	char *ak, *sk, *token; /* ak NULL: anonymous */
	char *cred_source;
	pthread_mutex_t mpus_lock; /* guards the list `mpus` (not the entries' fields) */
	struct mpu *mpus;
};

struct s3req {
	struct s3 *s3;
	const char *key; /* NULL: bucket-level request */
	struct ferry_kv query[MAX_QUERY];
	size_t nq;
	const char *content_md5, *content_type;
	const char *payload_hash; /* NULL: the empty body's hash */
	const char *copy_source;  /* x-amz-copy-source of a CopyObject, or NULL */
	unsigned slow_answer_s;   /* the call's slow_answer_s (see store/httpc.h) */
	char what[512];
};

static void q_add(struct s3req *r, const char *name, const char *value)
{
	if (value && r->nq < MAX_QUERY)
		r->query[r->nq++] = (struct ferry_kv){ name, value };
}

static void req_init(struct s3req *r, struct s3 *s3, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->s3 = s3;
	r->key = key;
	if (key)
		snprintf(r->what, sizeof(r->what), "object '%s' in bucket '%s'", key, s3->bucket);
	else
		snprintf(r->what, sizeof(r->what), "bucket '%s'", s3->bucket);
}


static int s3_prepare(void *ctx, const struct ferry_http_call *call, uint64_t off, uint64_t len,
		      struct ferry_http_attempt *a, ferry_err *err)
{
	struct s3req *r = ctx;
	struct s3 *s3 = r->s3;

	char *ekey = r->key ? ferry_uri_escape_path(r->key) : NULL;
	size_t plen = strlen(s3->base_path) + (ekey ? strlen(ekey) : 0) + 4;
	char *path = malloc(plen);
	if (!path) {
		free(ekey);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (ekey)
		snprintf(path, plen, "%s/%s", s3->base_path, ekey);
	else
		snprintf(path, plen, "%s%s", s3->base_path, *s3->base_path ? "" : "/");
	free(ekey);

	size_t cap = strlen(s3->origin) + strlen(path) + 16;
	for (size_t i = 0; i < r->nq; i++)
		cap += strlen(r->query[i].name) * 3 + strlen(r->query[i].value) * 3 + 2;
	char *url = malloc(cap);
	size_t at = (size_t)snprintf(url, cap, "%s%s", s3->origin, path);
	for (size_t i = 0; i < r->nq; i++) {
		char *n = ferry_sigv4_encode(r->query[i].name), *v = ferry_sigv4_encode(r->query[i].value);
		at += (size_t)snprintf(url + at, cap - at, "%c%s%s%s", i ? '&' : '?', n, *v ? "=" : "", v);
		free(n);
		free(v);
	}

	char date[17], range[64] = "";
	ferry_sigv4_date((long long)time(NULL), date);
	const char *payload = r->payload_hash ? r->payload_hash : FERRY_SIGV4_EMPTY_SHA256;
	struct ferry_kv h[9];
	size_t nh = 0;
	h[nh++] = (struct ferry_kv){ "host", s3->host };
	h[nh++] = (struct ferry_kv){ "x-amz-date", date };
	h[nh++] = (struct ferry_kv){ "x-amz-content-sha256", payload };
	if (s3->token)
		h[nh++] = (struct ferry_kv){ "x-amz-security-token", s3->token };
	if (call->ranged && (off > 0 || len != UINT64_MAX)) {
		if (len == UINT64_MAX)
			snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)off);
		else
			snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		h[nh++] = (struct ferry_kv){ "range", range };
	}
	if (r->content_md5)
		h[nh++] = (struct ferry_kv){ "content-md5", r->content_md5 };
	if (r->content_type)
		h[nh++] = (struct ferry_kv){ "content-type", r->content_type };
	if (r->copy_source)
		h[nh++] = (struct ferry_kv){ "x-amz-copy-source", r->copy_source };

	struct curl_slist *l = NULL;
	for (size_t i = 0; i < nh; i++)
		l = ferry_wire_header(l, h[i].name, h[i].value);
	if (s3->ak) {
		struct ferry_sigv4_input in = {
			.method = call->method, .canonical_uri = path, .query = r->query, .nquery = r->nq,
			.headers = h, .nheaders = nh, .payload_hash = payload, .access_key = s3->ak,
			.secret_key = s3->sk, .region = s3->region, .service = "s3", .amz_date = date,
		};
		char auth[1024];
		if (ferry_sigv4_authorization(&in, auth, sizeof(auth), err) < 0) {
			curl_slist_free_all(l);
			free(path);
			free(url);
			return -1;
		}
		l = ferry_wire_header(l, "Authorization", auth);
	}
	free(path);
	a->url = url;
	a->headers = l;
	return 0;
}




/* Code and first line of the message of an S3 <Error> document; 0 if the
 * body is one, else -1. */
static int error_xml(const char *body, size_t len, char *code, size_t ccap, char *msg, size_t mcap)
{
	xmlDoc *doc = ferry_wire_parse_xml(body, len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "Error")) {
		if (doc)
			xmlFreeDoc(doc);
		return -1;
	}
	char *c = ferry_wire_text(ferry_wire_child(root, "Code")), *m = ferry_wire_text(ferry_wire_child(root, "Message"));
	snprintf(code, ccap, "%s", c ? c : "");
	snprintf(msg, mcap, "%s", m ? m : "");
	msg[strcspn(msg, "\r\n")] = '\0';
	xmlFree(c);
	xmlFree(m);
	xmlFreeDoc(doc);
	return 0;
}

static void s3_describe(void *ctx, const struct ferry_http_call *call, const struct ferry_http_resp *r,
			ferry_err *err)
{
	struct s3req *rq = ctx;
	struct s3 *s3 = rq->s3;
	char code[96] = "", msg[256] = "", hint[700] = "";
	error_xml(r->body, r->body_len, code, sizeof(code), msg, sizeof(msg));
	int ecode = FERRY_E_NET;
	if (r->status == 404) {
		ecode = FERRY_E_NOTFOUND;
		if (!strcmp(code, "NoSuchBucket"))
			snprintf(hint, sizeof(hint), " (bucket '%s' does not exist%s)", s3->bucket,
				 strstr(s3->origin, "amazonaws.com") ? "" : " on this endpoint");
	} else if (r->status == 401 || r->status == 403) {
		ecode = FERRY_E_AUTH;
		if (!s3->ak)
			snprintf(hint, sizeof(hint), " (no AWS credentials were found, so the request was anonymous: set "
				 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)");
		else if (!strcmp(code, "SignatureDoesNotMatch"))
			snprintf(hint, sizeof(hint), " (the secret access key from %s does not match its key id)",
				 s3->cred_source);
		else if (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "InvalidToken") ||
			 !strcmp(code, "ExpiredToken"))
			snprintf(hint, sizeof(hint), " (check the credentials from %s)", s3->cred_source);
		else
			snprintf(hint, sizeof(hint), " (credentials from %s; check that they allow this operation)",
				 s3->cred_source);
	} else if (r->status == 301 || !strcmp(code, "AuthorizationHeaderMalformed") ||
		   !strcmp(code, "PermanentRedirect")) {
		ecode = FERRY_E_INVALID;
		snprintf(hint, sizeof(hint), " (the bucket is in another region than '%s': set AWS_REGION)", s3->region);
	} else if (r->status == 400 || r->status == 409 || r->status == 412 || r->status == 416)
		ecode = FERRY_E_INVALID;
	if (!code[0] && !strcmp(call->method, "HEAD"))
		snprintf(code, sizeof(code), "%s", r->status == 404 ? "NotFound" : r->status == 403 ? "Forbidden" : "");
	ferry_err_set(err, ecode, "%s: HTTP %ld%s%s%s%s%s", call->what, r->status, code[0] ? " " : "", code,
		      msg[0] ? ": " : "", msg, hint);
}

static int s3_do(struct s3 *s3, struct s3req *r, struct ferry_http_call *c, struct ferry_http_resp *resp,
		 ferry_err *err)
{
	c->prepare = s3_prepare;
	c->ctx = r;
	c->describe = s3_describe;
	c->what = r->what;
	c->slow_answer_s = r->slow_answer_s;
	return ferry_http_perform(s3->base.settings, s3->base.stats, c, resp, err);
}

/* "2013-05-24T00:00:00.000Z" -> seconds since the epoch, 0 if malformed
 * (a year outside 1-9999 or a month outside 1-12 too: year - 1900 overflowed
 * for a year near INT_MIN: tests/fuzz/regressions/s3_list/). */
static int64_t iso8601(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec) != 6 || tm.tm_year < 1 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* One ListObjectsV2 call of at most `max_keys` entries. */
static int list_page(struct s3 *s3, const char *prefix, int recursive, const char *marker, long long max_keys,
		     struct ferry_list_page *page, ferry_err *err)
{
	struct s3req r;
	req_init(&r, s3, NULL);
	char *pfx = ferry_flatns_prefix(prefix);
	if (!pfx)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	char mk[24];
	snprintf(mk, sizeof(mk), "%lld", max_keys > 1000 ? 1000 : max_keys);
	q_add(&r, "list-type", "2");
	q_add(&r, "prefix", pfx);
	if (!recursive)
		q_add(&r, "delimiter", "/");
	q_add(&r, "max-keys", mk);
	q_add(&r, "continuation-token", marker);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", r.what);
	int rc = s3_do(s3, &r, &c, &resp, err);
	if (rc == 0)
		rc = ferry_s3_parse_list(resp.body, resp.body_len, pfx, r.what, page, err);
	free(pfx);
	ferry_http_resp_clear(&resp);
	return rc;
}

int ferry_s3_parse_list(const char *body, size_t len, const char *pfx, const char *what,
			struct ferry_list_page *page, ferry_err *err)
{
	int rc = 0;
	xmlDoc *doc = ferry_wire_parse_xml(body, len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "ListBucketResult")) {
		rc = ferry_err_set(err, FERRY_E_NET, "listing %s: the server's answer is not a ListObjectsV2 response",
				   what);
		goto out;
	}
	for (xmlNode *n = root->children; n && rc == 0; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		int is_prefix = !strcmp((const char *)n->name, "CommonPrefixes");
		if (!is_prefix && strcmp((const char *)n->name, "Contents"))
			continue;
		char *name = ferry_wire_text(ferry_wire_child(n, is_prefix ? "Prefix" : "Key"));
		struct ferry_entry *e = ferry_flatns_add(page, pfx, name, is_prefix, what, &rc, err);
		xmlFree(name);
		if (e && !is_prefix) {
			char *size = ferry_wire_text(ferry_wire_child(n, "Size"));
			char *etag = ferry_wire_text(ferry_wire_child(n, "ETag"));
			char *lm = ferry_wire_text(ferry_wire_child(n, "LastModified"));
			e->size = size ? strtoull(size, NULL, 10) : 0;
			if (etag)
				snprintf(e->etag, sizeof(e->etag), "%s", etag);
			e->mtime = iso8601(lm);
			xmlFree(size);
			xmlFree(etag);
			xmlFree(lm);
		}
	}
	if (rc == 0) {
		char *trunc = ferry_wire_text(ferry_wire_child(root, "IsTruncated"));
		char *next = ferry_wire_text(ferry_wire_child(root, "NextContinuationToken"));
		if (trunc && !strcmp(trunc, "true")) {
			if (next && *next)
				page->next_marker = strdup(next);
			else
				rc = ferry_err_set(err, FERRY_E_NET,
						   "listing %s: truncated answer without a NextContinuationToken", what);
		}
		xmlFree(trunc);
		xmlFree(next);
	}
out:
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

static int s3_list(struct ferry_store *s, const char *prefix, int recursive, const char *marker,
		   struct ferry_list_page *page, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	return list_page(s3, prefix, recursive, marker, ferry_setting_int(s->settings, FS_LIST_PAGE_SIZE), page, err);
}

/* One name below `path`/ is enough to know a folder exists. */
static int s3_has_below(struct ferry_store *s, const char *path, ferry_err *err)
{
	struct ferry_list_page page = { 0 };
	int rc = list_page((struct s3 *)s, path, 0, NULL, 1, &page, err);
	int found = page.n > 0;
	ferry_page_clear(&page);
	return rc < 0 ? -1 : found;
}

/* HEAD of one object (flatns.h). */
static int s3_head(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	struct s3req r;
	req_init(&r, s3, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "HEAD", r.what);
	int rc = s3_do(s3, &r, &c, &resp, err);
	if (rc == 0) {
		out->name = strdup(path);
		out->size = resp.content_length > 0 ? (uint64_t)resp.content_length : 0;
		out->mtime = resp.last_modified;
		snprintf(out->etag, sizeof(out->etag), "%s", resp.etag);
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static int s3_list1(struct ferry_store *s, const char *folder, long long max, struct ferry_list_page *page,
		    ferry_err *err)
{
	return list_page((struct s3 *)s, folder, 0, NULL, max, page, err);
}

static const struct ferry_flatns_ops s3_flatns = {
	.head = s3_head, .list = s3_list1, .object = "object", .container = "bucket", .notfound = "NoSuchKey",
};

static int s3_stat(struct ferry_store *s, const char *path, struct ferry_entry *out, ferry_err *err)
{
	return ferry_flatns_stat(s, &s3_flatns, ((struct s3 *)s)->bucket, path, out, err);
}

static int s3_get(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		  void *arg, struct ferry_entry *out, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	struct s3req r;
	req_init(&r, s3, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "GET", r.what);
	c.ranged = 1;
	c.off = off;
	c.len = len;
	c.sink = sink;
	c.sink_arg = arg;
	int rc = s3_do(s3, &r, &c, &resp, err);
	rc = ferry_http_read_done(s, rc, r.what, path, &c, &resp, out, err);
	ferry_http_resp_clear(&resp);
	return rc;
}

static int s3_read(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
		   void *arg, ferry_err *err)
{
	return s3_get(s, path, off, len, sink, arg, NULL, err);
}

static int s3_read_info(struct ferry_store *s, const char *path, uint64_t off, uint64_t len, ferry_sink_fn sink,
			void *arg, struct ferry_entry *out, ferry_err *err)
{
	return s3_get(s, path, off, len, sink, arg, out, err);
}


/* PUT bytes [off, off+len) of fd with their Content-MD5; the response's
 * ETag into etag_out when not NULL. */
static int put_range(struct s3 *s3, struct s3req *r, int fd, uint64_t off, uint64_t len, char *etag_out,
		     size_t ecap, ferry_err *err)
{
	char md5[25];
	if (ferry_wire_md5_range(fd, off, len, md5) < 0)
		return ferry_err_set(err, FERRY_E_IO, "reading the data for %s failed", r->what);
	r->content_md5 = md5;
	r->payload_hash = FERRY_SIGV4_UNSIGNED;
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "PUT", r->what);
	c.body_fd = fd;
	c.body_off = off;
	c.body_len = len;
	int rc = s3_do(s3, r, &c, &resp, err);
	if (rc == 0 && etag_out) {
		if (!resp.etag[0])
			rc = ferry_err_set(err, FERRY_E_NET, "%s: the server's answer has no ETag", r->what);
		snprintf(etag_out, ecap, "%s", resp.etag);
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static int s3_put(struct ferry_store *s, const char *path, int fd, uint64_t size, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	struct s3req r;
	req_init(&r, s3, path);
	r.content_type = "application/octet-stream";
	return put_range(s3, &r, fd, 0, size, NULL, 0, err);
}

/* A POST with an in-memory body (hashed into the signature); the response
 * body stays in resp. A 200 answer that is an <Error> document (S3 does that
 * for CompleteMultipartUpload) is an error. */
static int post(struct s3 *s3, struct s3req *r, const char *body, size_t len, struct ferry_http_resp *resp,
		ferry_err *err)
{
	char hash[65];
	ferry_sha256_hex(body, len, hash);
	r->payload_hash = hash;
	struct ferry_http_call c;
	ferry_http_call_init(&c, "POST", r->what);
	c.body_mem = body;
	c.body_len = len;
	if (s3_do(s3, r, &c, resp, err) < 0)
		return -1;
	char code[96], msg[256];
	if (error_xml(resp->body, resp->body_len, code, sizeof(code), msg, sizeof(msg)) == 0)
		return ferry_err_set(err, FERRY_E_NET, "%s: HTTP %ld %s: %s", r->what, resp->status, code, msg);
	return 0;
}

/* The entry for `path`, created if absent (NULL on ENOMEM). */
static struct mpu *mpu_get(struct s3 *s3, const char *path)
{
	pthread_mutex_lock(&s3->mpus_lock);
	struct mpu *m = s3->mpus;
	while (m && strcmp(m->path, path))
		m = m->next;
	if (!m && (m = calloc(1, sizeof(*m))) != NULL) {
		m->path = strdup(path);
		pthread_mutex_init(&m->lock, NULL);
		m->next = s3->mpus;
		s3->mpus = m;
	}
	pthread_mutex_unlock(&s3->mpus_lock);
	return m;
}

static void mpu_free(struct mpu *m)
{
	for (unsigned i = 0; i < m->cap; i++)
		free(m->etags[i]);
	free(m->etags);
	free(m->upload_id);
	free(m->path);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Remove `m` from the list and free it (no block of it may be in flight). */
static void mpu_drop(struct s3 *s3, struct mpu *m)
{
	pthread_mutex_lock(&s3->mpus_lock);
	for (struct mpu **pp = &s3->mpus; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&s3->mpus_lock);
	mpu_free(m);
}

static int mpu_create(struct s3 *s3, struct mpu *m, ferry_err *err)
{
	struct s3req r;
	req_init(&r, s3, m->path);
	q_add(&r, "uploads", "");
	r.content_type = "application/octet-stream";
	struct ferry_http_resp resp;
	int rc = post(s3, &r, "", 0, &resp, err);
	if (rc == 0) {
		xmlDoc *doc = ferry_wire_parse_xml(resp.body, resp.body_len);
		xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
		char *id = root ? ferry_wire_text(ferry_wire_child(root, "UploadId")) : NULL;
		if (id && *id)
			m->upload_id = strdup(id);
		else
			rc = ferry_err_set(err, FERRY_E_NET, "%s: CreateMultipartUpload answered without an UploadId", r.what);
		xmlFree(id);
		if (doc)
			xmlFreeDoc(doc);
	}
	ferry_http_resp_clear(&resp);
	return rc;
}

static void mpu_abort(struct s3 *s3, struct mpu *m)
{
	if (!m->upload_id)
		return;
	struct s3req r;
	req_init(&r, s3, m->path);
	q_add(&r, "uploadId", m->upload_id);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "DELETE", r.what);
	c.cleanup = 1; /* also after Ctrl-C: parts left behind are billed */
	ferry_err e;
	if (s3_do(s3, &r, &c, &resp, &e) < 0)
		ferry_warn("aborting the unfinished multipart upload of %s failed: %s", r.what, e.msg);
	else
		ferry_debug("aborted the unfinished multipart upload of %s", r.what);
	ferry_http_resp_clear(&resp);
}

static int s3_put_block(struct ferry_store *s, const char *path, unsigned index, int fd, uint64_t off,
			uint64_t len, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	if (index >= S3_MAX_PARTS)
		return ferry_err_set(err, FERRY_E_INVALID, "object '%s' in bucket '%s': S3 allows at most %u parts",
				     path, s3->bucket, S3_MAX_PARTS);
	struct mpu *m = mpu_get(s3, path);
	if (!m)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	pthread_mutex_lock(&m->lock);
	int rc = m->upload_id ? 0 : mpu_create(s3, m, err);
	char *id = rc == 0 ? strdup(m->upload_id) : NULL;
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		return -1;

	struct s3req r;
	req_init(&r, s3, path);
	char part[16], etag[72];
	snprintf(part, sizeof(part), "%u", index + 1);
	q_add(&r, "partNumber", part);
	q_add(&r, "uploadId", id);
	rc = put_range(s3, &r, fd, off, len, etag, sizeof(etag), err);
	free(id);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&m->lock);
	if (index >= m->cap) {
		unsigned cap = m->cap ? m->cap : 64;
		while (cap <= index)
			cap *= 2;
		char **e = realloc(m->etags, cap * sizeof(*e));
		if (e) {
			memset(e + m->cap, 0, (cap - m->cap) * sizeof(*e));
			m->etags = e;
			m->cap = cap;
		}
	}
	if (index < m->cap) {
		free(m->etags[index]);
		m->etags[index] = strdup(etag);
	} else
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* XML-escape an ETag (it is quoted: "&quot;" is fine but S3 takes the raw
 * quotes too; only & < > need escaping). */
static void xml_escape(const char *s, char *out, size_t cap)
{
	size_t at = 0;
	for (; *s && at + 6 < cap; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		if (rep)
			at += (size_t)snprintf(out + at, cap - at, "%s", rep);
		else
			out[at++] = *s;
	}
	out[at] = '\0';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The ETag S3 gives an object completed from the first n parts of m: the
 * MD5 of the parts' binary MD5s, '-' and n. Returns 0, or -1 when a part's
 * ETag is not a plain hex MD5 (then nothing can be told from it). */
static int multipart_etag(const struct mpu *m, unsigned n, char out[48])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 ? 0 : -1;
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		const char *e = m->etags[i];
		e += *e == '"';
		unsigned char bin[16];
		for (int k = 0; rc == 0 && k < 32; k++) {
			int v = hexval(e[k]);
			if (v < 0)
				rc = -1;
			else if (k % 2 == 0)
				bin[k / 2] = (unsigned char)(v << 4);
			else
				bin[k / 2] |= (unsigned char)v;
		}
		if (rc == 0 && e[32] && e[32] != '"')
			rc = -1;
		if (rc == 0 && EVP_DigestUpdate(ctx, bin, sizeof(bin)) != 1)
			rc = -1;
	}
	unsigned char d[16];
	if (rc == 0 && EVP_DigestFinal_ex(ctx, d, NULL) != 1)
		rc = -1;
	EVP_MD_CTX_free(ctx);
	if (rc < 0)
		return -1;
	for (int k = 0; k < 16; k++)
		snprintf(out + 2 * k, 3, "%02x", d[k]);
	snprintf(out + 32, 16, "-%u", n);
	return 0;
}

/* How long a CompleteMultipartUpload may be silent before it counts as stalled. */
#define S3_COMPLETE_WAIT_S 300

/* A CompleteMultipartUpload whose answer was lost is retried, and the retry
 * finds the upload gone (404 NoSuchUpload) or times out behind the first
 * try's work: the object may be complete all the same. 1 when the object's
 * ETag is the one these parts make (the same parts of the same bytes). */
static int completed_anyway(struct s3 *s3, const char *path, const struct mpu *m, unsigned n)
{
	char want[48];
	if (multipart_etag(m, n, want) < 0)
		return 0;
	struct ferry_entry e = { 0 };
	ferry_err ignored;
	if (s3_stat(&s3->base, path, &e, &ignored) < 0)
		return 0;
	const char *have = e.etag + (e.etag[0] == '"');
	size_t len = strlen(want);
	int same = !e.is_dir && strncasecmp(have, want, len) == 0 && (have[len] == '\0' || have[len] == '"');
	ferry_entry_clear(&e);
	return same;
}

/* `md5` is not sent: S3 keeps no whole-object MD5 for a multipart upload
 * (its checksums of one are checksums of the parts' checksums). */
static int s3_commit(struct ferry_store *s, const char *path, unsigned nblocks, const char *md5, ferry_err *err)
{
	(void)md5;
	struct s3 *s3 = (struct s3 *)s;
	struct mpu *m = mpu_get(s3, path);
	if (!m)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	struct s3req r;
	req_init(&r, s3, path);
	int rc = 0;
	if (!m->upload_id || nblocks == 0 || nblocks > m->cap)
		rc = ferry_err_set(err, FERRY_E_INVALID, "%s: commit of %u parts, but they were not all staged", r.what,
				   nblocks);
	size_t cap = 128 + (size_t)nblocks * 200;
	char *xml = rc == 0 ? malloc(cap) : NULL;
	if (rc == 0 && !xml)
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	size_t at = 0;
	if (rc == 0)
		at = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (unsigned i = 0; rc == 0 && i < nblocks; i++) {
		if (!m->etags[i]) {
			rc = ferry_err_set(err, FERRY_E_INVALID, "%s: part %u was never staged", r.what, i + 1);
			break;
		}
		char e[160];
		xml_escape(m->etags[i], e, sizeof(e));
		at += (size_t)snprintf(xml + at, cap - at, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1, e);
	}
	if (rc == 0) {
		at += (size_t)snprintf(xml + at, cap - at, "</CompleteMultipartUpload>");
		q_add(&r, "uploadId", m->upload_id);
		r.content_type = "application/xml";
		/* S3 assembles the object before it answers ("processing ... could take
		 * several minutes"; AWS sends whitespace meanwhile, s3rver and others
		 * send nothing): a silence is waited out, not taken for a stall and
		 * resent behind the work already under way. */
		r.slow_answer_s = S3_COMPLETE_WAIT_S;
		struct ferry_http_resp resp;
		rc = post(s3, &r, xml, at, &resp, err);
		ferry_http_resp_clear(&resp);
		if (rc < 0 && completed_anyway(s3, path, m, nblocks)) {
			ferry_info("%s: completing the multipart upload failed (%s), but the object is there with the "
				   "ETag of its %u parts: an earlier try completed it", r.what, err ? err->msg : "?", nblocks);
			ferry_err_clear(err);
			rc = 0;
		}
	}
	free(xml);
	if (rc < 0)
		mpu_abort(s3, m);
	mpu_drop(s3, m);
	return rc;
}

static void s3_destroy(struct ferry_store *s)
{
	struct s3 *s3 = (struct s3 *)s;
	while (s3->mpus) {
		struct mpu *m = s3->mpus;
		s3->mpus = m->next;
		mpu_abort(s3, m);
		mpu_free(m);
	}
	pthread_mutex_destroy(&s3->mpus_lock);
	free(s3->base.display);
	free(s3->origin);
	free(s3->host);
	free(s3->base_path);
	free(s3->bucket);
	free(s3->region);
	free(s3->ak);
	free(s3->sk);
	free(s3->token);
	free(s3->cred_source);
	free(s3);
}

/* DeleteObject. S3 answers 204 also for a key that does not exist, so a
 * missing key is looked for first to report FERRY_E_NOTFOUND. */
static int s3_remove(struct ferry_store *s, const char *path, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	struct ferry_entry e = { 0 };
	if (s3_stat(s, path, &e, err) < 0)
		return -1;
	int isdir = e.is_dir;
	ferry_entry_clear(&e);
	if (isdir)
		return ferry_err_set(err, FERRY_E_NOTFOUND, "object '%s' not found in bucket '%s' (a folder)", path,
				     s3->bucket);
	struct s3req r;
	req_init(&r, s3, path);
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "DELETE", r.what);
	int rc = s3_do(s3, &r, &c, &resp, err);
	ferry_http_resp_clear(&resp);
	return rc;
}

/* CopyObject (up to 5 GiB, S3's limit for one copy). A 200 answer whose body
 * is an <Error> document failed. */
static int s3_copy(struct ferry_store *s, const char *from, const char *to, ferry_err *err)
{
	struct s3 *s3 = (struct s3 *)s;
	char *ekey = ferry_uri_escape_path(from);
	char *eb = ferry_uri_escape_path(s3->bucket);
	size_t cap = strlen(ekey) + strlen(eb) + 4;
	char *src = malloc(cap);
	if (!src || !ekey || !eb) {
		free(src), free(ekey), free(eb);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	snprintf(src, cap, "/%s/%s", eb, ekey);
	free(ekey);
	free(eb);
	struct s3req r;
	req_init(&r, s3, to);
	snprintf(r.what, sizeof(r.what), "copy of object '%s' to '%s' in bucket '%s'", from, to, s3->bucket);
	r.copy_source = src;
	struct ferry_http_call c;
	struct ferry_http_resp resp;
	ferry_http_call_init(&c, "PUT", r.what);
	c.body_mem = "";
	int rc = s3_do(s3, &r, &c, &resp, err);
	char code[96], msg[256];
	if (rc == 0 && error_xml(resp.body, resp.body_len, code, sizeof(code), msg, sizeof(msg)) == 0)
		rc = ferry_err_set(err, FERRY_E_NET, "%s: %s: %s", r.what, code, msg);
	ferry_http_resp_clear(&resp);
	free(src);
	return rc;
}

static const struct ferry_store_ops s3_ops = {
	.kind = "s3",
	.stat = s3_stat,
	.list = s3_list,
	.has_below = s3_has_below,
	.read = s3_read,
	.read_info = s3_read_info,
	.put = s3_put,
	.put_block = s3_put_block,
	.commit = s3_commit,
	.remove = s3_remove,
	.copy = s3_copy,
	.max_blocks = S3_MAX_PARTS,
	.min_block_size = S3_MIN_PART,
	.destroy = s3_destroy,
};

struct ferry_store *ferry_s3_open(const struct ferry_s3_config *cfg, const struct ferry_settings *settings,
				  struct ferry_stats *stats, ferry_err *err)
{
	const char *region = cfg->region && *cfg->region ? cfg->region : "us-east-1";
	if (!cfg->bucket || !*cfg->bucket) {
		ferry_err_set(err, FERRY_E_INVALID, "an S3 path needs a bucket: s3://<bucket>/<path>");
		return NULL;
	}
	int anon = !cfg->access_key || !*cfg->access_key;
	if (!anon && (!cfg->secret_key || !*cfg->secret_key)) {
		ferry_err_set(err, FERRY_E_AUTH, "AWS access key '%s' has no secret access key (from %s)", cfg->access_key,
			      cfg->cred_source ? cfg->cred_source : "the configuration");
		return NULL;
	}
	char origin[768], base_path[768];
	if (cfg->endpoint && *cfg->endpoint) {
		const char *ep = cfg->endpoint;
		const char *hs = strstr(ep, "://");
		if (!hs || !ferry_uri_is_http(ep)) {
			ferry_err_set(err, FERRY_E_INVALID, "S3 endpoint '%s' (AWS_ENDPOINT_URL) must be an http(s) URL", ep);
			return NULL;
		}
		const char *slash = strchr(hs + 3, '/');
		size_t olen = slash ? (size_t)(slash - ep) : strlen(ep);
		snprintf(origin, sizeof(origin), "%.*s", (int)olen, ep);
		snprintf(base_path, sizeof(base_path), "%s", slash ? slash : "");
		size_t bl = strlen(base_path);
		while (bl > 0 && base_path[bl - 1] == '/')
			base_path[--bl] = '\0';
		char *eb = ferry_uri_escape_path(cfg->bucket);
		snprintf(base_path + bl, sizeof(base_path) - bl, "/%s", eb);
		free(eb);
	} else if (strchr(cfg->bucket, '.')) {
		snprintf(origin, sizeof(origin), "https://s3.%s.amazonaws.com", region);
		snprintf(base_path, sizeof(base_path), "/%s", cfg->bucket);
	} else {
		snprintf(origin, sizeof(origin), "https://%s.s3.%s.amazonaws.com", cfg->bucket, region);
		base_path[0] = '\0';
	}
	struct s3 *s3 = calloc(1, sizeof(*s3));
	if (!s3) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		return NULL;
	}
	s3->origin = strdup(origin);
	s3->host = strdup(strstr(origin, "://") + 3);
	s3->base_path = strdup(base_path);
	s3->bucket = strdup(cfg->bucket);
	s3->region = strdup(region);
	if (!anon) {
		s3->ak = strdup(cfg->access_key);
		s3->sk = strdup(cfg->secret_key);
		ferry_redact_register(s3->sk);
		if (cfg->session_token && *cfg->session_token) {
			s3->token = strdup(cfg->session_token);
			ferry_redact_register(s3->token);
		}
	}
	s3->cred_source = strdup(cfg->cred_source ? cfg->cred_source : "the configuration");
	pthread_mutex_init(&s3->mpus_lock, NULL);
	size_t dl = strlen(cfg->bucket) + 8;
	s3->base.display = malloc(dl);
	snprintf(s3->base.display, dl, "s3://%s", cfg->bucket);
	s3->base.ops = &s3_ops;
	s3->base.settings = settings;
	s3->base.stats = stats;
	s3->base.writable = !anon;
	return &s3->base;
}

/* ---- credentials and addressing from the environment ---- */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Look up `key` in section `section` of an INI file (AWS's shared files:
 * "[name]" headers, "key = value" lines, '#'/';' comments). 1 if found. */
static int ini_get(const char *path, const char *section, const char *key, char *out, size_t cap, int *has_section)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[4608];
	int in = 0, found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '#' || *p == ';' || !*p)
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');
			if (end)
				*end = '\0';
			char *name = p + 1;
			while (*name == ' ')
				name++;
			size_t nl = strlen(name);
			while (nl > 0 && name[nl - 1] == ' ')
				name[--nl] = '\0';
			in = !strcmp(name, section);
			if (in && has_section)
				*has_section = 1;
			continue;
		}
		if (!in)
			continue;
		char *eq = strchr(p, '=');
		if (!eq)
			continue;
		char *k = p, *v = eq + 1;
		*eq = '\0';
		size_t kl = strlen(k);
		while (kl > 0 && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
			k[--kl] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (!strcasecmp(k, key)) {
			snprintf(out, cap, "%s", v);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

int ferry_s3_env_load(struct ferry_s3_env *e, ferry_err *err)
{
	memset(e, 0, sizeof(*e));
	const char *home = env("HOME");
	const char *profile = env("AWS_PROFILE");
	int explicit_profile = profile != NULL;
	if (!profile)
		profile = "default";

	if (env("AWS_ENDPOINT_URL_S3"))
		snprintf(e->endpoint, sizeof(e->endpoint), "%s", env("AWS_ENDPOINT_URL_S3"));
	else if (env("AWS_ENDPOINT_URL"))
		snprintf(e->endpoint, sizeof(e->endpoint), "%s", env("AWS_ENDPOINT_URL"));

	struct ferry_strbuf cfgpath = FERRY_STRBUF_INIT;
	if (env("AWS_CONFIG_FILE"))
		ferry_strbuf_adds(&cfgpath, env("AWS_CONFIG_FILE"));
	else if (home)
		ferry_strbuf_addf(&cfgpath, "%s/.aws/config", home);
	if (env("AWS_REGION"))
		snprintf(e->region, sizeof(e->region), "%s", env("AWS_REGION"));
	else if (env("AWS_DEFAULT_REGION"))
		snprintf(e->region, sizeof(e->region), "%s", env("AWS_DEFAULT_REGION"));
	else {
		char sect[300];
		snprintf(sect, sizeof(sect), !strcmp(profile, "default") ? "%s" : "profile %s", profile);
		if (!cfgpath.len || !ini_get(cfgpath.buf, sect, "region", e->region, sizeof(e->region), NULL))
			snprintf(e->region, sizeof(e->region), "us-east-1");
	}
	ferry_strbuf_release(&cfgpath);

	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		snprintf(e->access_key, sizeof(e->access_key), "%s", env("AWS_ACCESS_KEY_ID"));
		snprintf(e->secret_key, sizeof(e->secret_key), "%s", env("AWS_SECRET_ACCESS_KEY"));
		if (env("AWS_SESSION_TOKEN"))
			snprintf(e->session_token, sizeof(e->session_token), "%s", env("AWS_SESSION_TOKEN"));
		snprintf(e->source, sizeof(e->source), "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
	} else {
		struct ferry_strbuf path = FERRY_STRBUF_INIT;
		if (env("AWS_SHARED_CREDENTIALS_FILE"))
			ferry_strbuf_adds(&path, env("AWS_SHARED_CREDENTIALS_FILE"));
		else if (home)
			ferry_strbuf_addf(&path, "%s/.aws/credentials", home);
		int has = 0, rc = 0;
		if (path.len) {
			ini_get(path.buf, profile, "aws_access_key_id", e->access_key, sizeof(e->access_key), &has);
			ini_get(path.buf, profile, "aws_secret_access_key", e->secret_key, sizeof(e->secret_key), NULL);
			ini_get(path.buf, profile, "aws_session_token", e->session_token, sizeof(e->session_token), NULL);
		}
		snprintf(e->source, sizeof(e->source), "profile '%.200s' in %.380s", profile, path.buf);
		if (!has && explicit_profile)
			rc = ferry_err_set(err, FERRY_E_AUTH,
					   "AWS_PROFILE='%s': no such profile in the shared credentials file '%s' "
					   "(AWS_SHARED_CREDENTIALS_FILE)", profile, path.buf);
		else if (has && (!e->access_key[0] || !e->secret_key[0]))
			rc = ferry_err_set(err, FERRY_E_AUTH,
					   "profile '%s' in '%s' lacks aws_access_key_id or aws_secret_access_key",
					   profile, path.buf);
		else if (!has)
			snprintf(e->source, sizeof(e->source), "none");
		ferry_strbuf_release(&path);
		if (rc < 0)
			return -1;
	}
	ferry_redact_register(e->secret_key);
	ferry_redact_register(e->session_token);
	return 0;
}
