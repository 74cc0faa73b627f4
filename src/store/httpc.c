/*
 * httpc.c — the retrying HTTP request (see httpc.h).
 *
 * Retry backoff: attempt i (from 0) waits a uniformly random time in
 * [0, min(30 s, base × 2^i)] ("full jitter", so that many workers that failed
 * together do not come back together), or exactly what Retry-After asks
 * (capped at 60 s) when the server says.
 *
 * Stalls: libcurl's low-speed limit aborts a transfer that moved less than
 * 1 byte/s for FERRY_STALL_TIMEOUT_SECONDS (or the call's slow_answer_s, when
 * longer); the abort is retried like a reset.
 *
 * Names that do not resolve: one retry, then an error naming the host
 * (retrying for the whole budget took ~18 s to say the same).
 *
 * Deadline: a thread may bound its calls in total time (ferry_http_deadline,
 * for the mount's reads): each attempt gets the time left as libcurl's total
 * timeout, the wait before a retry is cut to it, and past it the call fails.
 *
 * Resumption: for ranged calls, bytes already handed to the sink are not asked
 * for again; the next attempt starts at the first missing byte.
 */
#include "store/httpc.h"
#include "core/strbuf.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/sys.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_MEM_BODY (64u << 20)

static pthread_key_t easy_key;
static pthread_once_t easy_once = PTHREAD_ONCE_INIT;
/* CA certificates to trust instead of the system's: CURL_CA_BUNDLE, else
 * SSL_CERT_FILE (libcurl itself reads neither; the curl tool and OpenSSL's
 * users do, and a test's own HTTPS Azurite needs them). Set once, before
 * threads start. */
static const char *ca_bundle;

/*
 * Handles of threads that ended, with their open connections, for the next
 * thread that needs one: a thread made for one file (the mount's whole-file
 * downloads, read-ahead) would otherwise open a new connection for every file
 * and close it when it ends (a mount walking 300 small files opened 257 TCP
 * connections, `ferry download` 16; on Azure each is a TLS handshake). A handle
 * is used by one thread at a time; it moves between threads only through here.
 */
#define SPARE_MAX 64
static CURL *spare[SPARE_MAX];
static size_t nspare;
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;

static void easy_free(void *h)
{
	curl_easy_reset(h); /* no option may point into the ended thread's memory; connections stay */
	pthread_mutex_lock(&spare_lock);
	if (nspare < SPARE_MAX) {
		spare[nspare++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&spare_lock);
	if (h)
		curl_easy_cleanup(h);
}

static CURL *easy_spare(void)
{
	pthread_mutex_lock(&spare_lock);
	CURL *h = nspare ? spare[--nspare] : NULL;
	pthread_mutex_unlock(&spare_lock);
	return h;
}

/*
 * In the child of a fork (a PyTorch DataLoader worker, a job's command before
 * exec) the forking thread's easy handle is the parent's: its connection cache
 * holds the parent's sockets, and a request on them would mix the two
 * processes' bytes on one stream. The child drops the handle without cleaning
 * it up (a cleanup would end TLS sessions the parent still uses) and opens its
 * own connections; the few bytes and sockets of the old one stay until the child
 * exits. Other threads' handles did not come along (only the forking thread
 * exists in the child), nor do the spare handles of ended threads (below).
 * Runs in the forking thread of the child.
 */
static void easy_after_fork(void)
{
	pthread_setspecific(easy_key, NULL);
	nspare = 0; /* the parent's, left alone like the thread's own */
	pthread_mutex_init(&spare_lock, NULL); /* another thread may have held it at the fork */
}

static void easy_key_init(void)
{
	pthread_key_create(&easy_key, easy_free);
	pthread_atfork(NULL, NULL, easy_after_fork);
	const char *ca = getenv("CURL_CA_BUNDLE");
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	ca_bundle = ca && *ca ? ca : NULL;
}

void ferry_http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_once(&easy_once, easy_key_init);
}

void ferry_http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Every connection's socket is close-on-exec from its creation: no program
 * ferry starts (the job's command, fusermount3) inherits it. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The calling thread's easy handle: kept for the thread's life so that its
 * connections are reused by every request the thread makes, and then handed
 * to a later thread (easy_free). */
static CURL *thread_easy(void)
{
	pthread_once(&easy_once, easy_key_init);
	CURL *h = pthread_getspecific(easy_key);
	if (!h && (h = easy_spare()) != NULL)
		pthread_setspecific(easy_key, h);
	if (!h) {
		h = curl_easy_init();
		pthread_setspecific(easy_key, h);
	} else
		curl_easy_reset(h);
	return h;
}

void ferry_http_call_init(struct ferry_http_call *c, const char *method, const char *what)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->what = what;
	c->body_fd = -1;
	c->len = UINT64_MAX;
}

int ferry_http_read_done(const struct ferry_store *s, int rc, const char *what, const char *path,
			 const struct ferry_http_call *c, const struct ferry_http_resp *r, struct ferry_entry *out,
			 ferry_err *err)
{
	if (rc < 0 && out && c->off == 0 && r->status == 416 && r->range_known && r->range_total == 0)
		ferry_err_clear(err); /* an empty object: nothing at byte 0, but it exists */
	else if (rc < 0)
		return rc;
	if (s->pin_etag[0] && r->etag[0] && strcmp(s->pin_etag, r->etag))
		return ferry_err_set(err, FERRY_E_INTEGRITY,
				     "%s changed since it was opened (ETag %s, opened as %s): open it again", what,
				     r->etag, s->pin_etag);
	if (r->is_folder)
		return ferry_err_set(err, FERRY_E_INVALID, "%s is a folder", what);
	if (!out)
		return 0;
	if (!(out->name = strdup(path)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (r->range_known)
		out->size = r->range_total;
	else if (r->status == 200 && c->off == 0 && r->content_length >= 0)
		out->size = (uint64_t)r->content_length; /* the whole object came back */
	else
		out->size_unknown = 1;
	out->mtime = r->last_modified;
	ferry_strlcpy(out->etag, r->etag, sizeof(out->etag));
	ferry_strlcpy(out->md5, r->blob_md5, sizeof(out->md5));
	return 0;
}

void ferry_http_resp_clear(struct ferry_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after_ms = -1;
}

/* State of one attempt, shared with libcurl's callbacks. */
struct attempt_state {
	struct ferry_http_call *call;
	struct ferry_http_resp *resp;
	struct ferry_stats *stats;
	uint64_t sink_pos;     /* object offset of the next byte for the sink */
	uint64_t delivered;    /* bytes handed to the sink this attempt */
	int sink_failed;
	int range_ignored;
	int too_big;
	/* request body */
	uint64_t body_sent;
};

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && *v == ' ') {
		v++;
		n--;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct attempt_state *st = arg;
	struct ferry_http_resp *r = st->resp;
	size_t n = size * nitems;
	char val[256];
	if (n > 5 && !strncmp(buf, "HTTP/", 5)) {
		const char *sp = memchr(buf, ' ', n);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return n;
	size_t klen = (size_t)(colon - buf);
	copy_value(val, sizeof(val), colon + 1, n - klen - 1);
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(buf, name, klen))
	if (IS("Content-Length"))
		r->content_length = strtoll(val, NULL, 10);
	else if (IS("Content-Range")) {
		const char *slash = strchr(val, '/');
		if (slash && slash[1] >= '0' && slash[1] <= '9') {
			r->range_total = strtoull(slash + 1, NULL, 10);
			r->range_known = 1;
		}
	} else if (IS("Content-MD5"))
		ferry_strlcpy(r->content_md5, val, sizeof(r->content_md5));
	else if (IS("ETag"))
		ferry_strlcpy(r->etag, val, sizeof(r->etag));
	else if (IS("Content-Type"))
		ferry_strlcpy(r->content_type, val, sizeof(r->content_type));
	else if (IS("x-ms-error-code"))
		ferry_strlcpy(r->error_code, val, sizeof(r->error_code));
	else if (IS("x-ms-blob-content-md5"))
		ferry_strlcpy(r->blob_md5, val, sizeof(r->blob_md5));
	else if (IS("x-ms-blob-type"))
		ferry_strlcpy(r->blob_type, val, sizeof(r->blob_type));
	else if (IS("x-ms-copy-status"))
		ferry_strlcpy(r->copy_status, val, sizeof(r->copy_status));
	else if (IS("x-ms-meta-hdi_isfolder"))
		r->is_folder = !strcasecmp(val, "true");
	else if (IS("Accept-Ranges"))
		r->accept_ranges = !strcasecmp(val, "bytes");
	else if (IS("Last-Modified"))
		r->last_modified = curl_getdate(val, NULL);
	else if (IS("Retry-After")) {
		char *end;
		long secs = strtol(val, &end, 10);
		if (end != val && *end == '\0')
			r->retry_after_ms = secs * 1000;
		else {
			time_t when = curl_getdate(val, NULL);
			if (when > 0)
				r->retry_after_ms = (long)(when - time(NULL)) * 1000;
		}
		if (r->retry_after_ms < 0)
			r->retry_after_ms = 0;
	}
#undef IS
	return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct attempt_state *st = arg;
	struct ferry_http_resp *r = st->resp;
	size_t n = size * nmemb;
	int ok = r->status >= 200 && r->status < 300;
	if (ok && st->call->sink) {
		if (st->call->ranged && r->status == 200 &&
		    (st->call->off > 0 || st->call->len != UINT64_MAX)) {
			st->range_ignored = 1;
			return 0;
		}
		if (st->call->sink(st->call->sink_arg, st->sink_pos, buf, n) < 0) {
			st->sink_failed = 1;
			return 0; /* abort the transfer */
		}
		st->sink_pos += n;
		st->delivered += n;
		ferry_stats_add(&st->stats->bytes, n);
		return n;
	}
	if (r->body_len + n > MAX_MEM_BODY) {
		st->too_big = 1;
		return 0;
	}
	char *b = realloc(r->body, r->body_len + n + 1);
	if (!b)
		return 0;
	memcpy(b + r->body_len, buf, n);
	r->body = b;
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct attempt_state *st = arg;
	struct ferry_http_call *c = st->call;
	size_t want = size * nitems;
	uint64_t left = c->body_len - st->body_sent;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (c->body_mem) {
		memcpy(buf, c->body_mem + st->body_sent, want);
	} else {
		ssize_t got = pread(c->body_fd, buf, want, (off_t)(c->body_off + st->body_sent));
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	}
	st->body_sent += want;
	ferry_stats_add(&st->stats->bytes, want);
	return want;
}

/* libcurl sends a request again by itself when a kept-alive connection it
 * reused turns out dead (the server closed it as the request went out), and
 * must then rewind the body. The body is a buffer or a file range read with
 * pread, so any offset can be read again: move the cursor back. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
	struct attempt_state *st = arg;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > st->call->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	st->body_sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const struct attempt_state *st = arg;
	if (st->call->cleanup)
		return 0;
	return ferry_interrupted() ? 1 : 0; /* non-zero aborts the transfer */
}

static int transient_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_READ_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_SEND_FAIL_REWIND: /* cannot happen with on_seek; a new attempt starts the body afresh */
		return 1;
	default:
		return 0;
	}
}

/* The host part of `url` ("scheme://[user@]host[:port]/..."), into buf. */
static void url_host(const char *url, char *buf, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t h = p[0] == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":/?#");
	if (h > n)
		h = n;
	snprintf(buf, cap, "%.*s", (int)h, p);
}

static long backoff_ms(const struct ferry_settings *s, int attempt, long retry_after_ms)
{
	if (retry_after_ms >= 0)
		return retry_after_ms > 60000 ? 60000 : retry_after_ms;
	double cap = ferry_setting_f64(s, FS_RETRY_BASE_MS);
	for (int i = 0; i < attempt && cap < 30000; i++)
		cap *= 2;
	if (cap > 30000)
		cap = 30000;
	unsigned seed = (unsigned)(uintptr_t)&cap ^ (unsigned)time(NULL) ^ (unsigned)attempt * 2654435761u;
	return (long)(cap * ((double)rand_r(&seed) / RAND_MAX));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !ferry_interrupted())
		;
}

static __thread int64_t deadline_us; /* ferry_http_deadline; 0 = none */

int64_t ferry_http_deadline(int64_t d)
{
	int64_t prev = deadline_us;
	deadline_us = d;
	return prev;
}

int ferry_http_perform(const struct ferry_settings *s, struct ferry_stats *stats,
		       struct ferry_http_call *call, struct ferry_http_resp *resp, ferry_err *err)
{
	int retries = (int)ferry_setting_int(s, FS_HTTP_RETRY_COUNT);
	long stall = (long)ferry_setting_int(s, FS_STALL_SECONDS);
	if ((long)call->slow_answer_s > stall)
		stall = (long)call->slow_answer_s;
	uint64_t off = call->off, len = call->len;
	char why[CURL_ERROR_SIZE + 128];

	memset(resp, 0, sizeof(*resp));
	ferry_http_resp_clear(resp);
	int64_t deadline = call->cleanup ? 0 : deadline_us;
	why[0] = '\0';
	for (int attempt = 0;; attempt++) {
		long left_ms = 0;
		if (deadline) {
			int64_t left = deadline - (int64_t)ferry_now_us();
			if (left <= 0)
				return ferry_err_set(err, FERRY_E_NET,
						     "%s: no complete answer within FERRY_READ_TIMEOUT_SECONDS (gave up after "
						     "%d %s%s%s)",
						     call->what, attempt, attempt == 1 ? "attempt" : "attempts",
						     why[0] ? "; last: " : "", why);
			left_ms = (long)(left / 1000) + 1;
		}
		struct ferry_http_attempt a = { 0 };
		if (call->prepare(call->ctx, call, off, len, &a, err) < 0)
			return -1;
		CURL *h = thread_easy();
		struct attempt_state st = { .call = call, .resp = resp, .stats = stats, .sink_pos = off };
		char curl_msg[CURL_ERROR_SIZE] = "";
		ferry_http_resp_clear(resp);
		a.headers = curl_slist_append(a.headers, "Expect:");
		curl_easy_setopt(h, CURLOPT_URL, a.url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, a.headers);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall);
		curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry/0.1");
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &st);
		if (call->cleanup)
			curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
		else if (left_ms)
			curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left_ms);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		if (ca_bundle)
			curl_easy_setopt(h, CURLOPT_CAINFO, ca_bundle);
		if (!strcmp(call->method, "HEAD"))
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		else if (!strcmp(call->method, "PUT")) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &st);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, &st);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_len);
		} else if (!strcmp(call->method, "POST")) {
			/* S3 multipart create/complete: a POST whose (maybe empty) body
			 * comes through the same reader as a PUT's */
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &st);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, &st);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
		} else if (strcmp(call->method, "GET"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);

		ferry_stats_add(&stats->requests, 1);
		CURLcode rc = curl_easy_perform(h);
		curl_slist_free_all(a.headers);
		char host[256] = "";
		if (rc == CURLE_COULDNT_RESOLVE_HOST)
			url_host(a.url, host, sizeof(host));
		free(a.url);

		if (rc == CURLE_OK && resp->status >= 200 && resp->status < 300)
			return 0;
		if (st.range_ignored)
			return ferry_err_set(err, FERRY_E_NET, "%s: the server ignored a range request", call->what);
		if (ferry_interrupted() && !call->cleanup)
			return ferry_err_set(err, FERRY_E_INTERRUPTED, "%s: interrupted", call->what);
		if (st.sink_failed)
			return ferry_err_set(err, FERRY_E_IO, "%s: writing the received data failed: %s",
					     call->what, strerror(errno));
		if (st.too_big)
			return ferry_err_set(err, FERRY_E_NET, "%s: response body too large", call->what);

		int transient;
		if (rc != CURLE_OK) {
			transient = transient_curl(rc);
			snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(rc),
				 curl_msg[0] ? ": " : "", curl_msg);
			if (rc == CURLE_OPERATION_TIMEDOUT && deadline && (int64_t)ferry_now_us() >= deadline)
				snprintf(why, sizeof(why), "cut at the deadline (%s)", curl_msg);
			else if (rc == CURLE_OPERATION_TIMEDOUT)
				snprintf(why, sizeof(why), "stalled: no data for %ld s (%s)", stall, curl_msg);
		} else {
			transient = transient_status(resp->status);
			snprintf(why, sizeof(why), "HTTP %ld%s%s", resp->status,
				 resp->error_code[0] ? " " : "", resp->error_code);
		}
		/* resume a ranged body from the first byte not yet delivered */
		if (call->ranged && st.delivered) {
			off += st.delivered;
			if (len != UINT64_MAX)
				len -= st.delivered;
		}
		/* A name that does not resolve rarely starts to within seconds:
		 * one retry (a resolver hiccup), then say which host. */
		if (rc == CURLE_COULDNT_RESOLVE_HOST && attempt >= 1)
			return ferry_err_set(err, FERRY_E_NET,
					     "%s: host '%s' does not resolve (check the account or "
					     "endpoint name; gave up after %d attempts)",
					     call->what, host, attempt + 1);
		if (!transient || attempt >= retries || call->cleanup) {
			if (rc == CURLE_OK && !transient) {
				if (call->describe)
					call->describe(call->ctx, call, resp, err);
				else
					ferry_err_set(err, resp->status == 404 ? FERRY_E_NOTFOUND :
						      (resp->status == 401 || resp->status == 403) ? FERRY_E_AUTH : FERRY_E_NET,
						      "%s: %s", call->what, why);
				return -1;
			}
			return ferry_err_set(err, FERRY_E_NET, "%s: %s (gave up after %d %s)", call->what, why,
					     attempt + 1, attempt ? "attempts" : "attempt");
		}
		long wait = backoff_ms(s, attempt, resp->retry_after_ms);
		if (deadline && (int64_t)ferry_now_us() + (int64_t)wait * 1000 > deadline) /* the next turn gives up */
			wait = deadline > (int64_t)ferry_now_us() ? (long)((deadline - (int64_t)ferry_now_us()) / 1000) : 0;
		ferry_info("%s: %s; retry %d of %d in %ld ms", call->what, why, attempt + 1, retries, wait);
		ferry_stats_add(&stats->retries, 1);
		sleep_ms(wait);
	}
}
