/*
 * httpc.h — one HTTP request, done well: libcurl easy handles kept per
 * thread (so connections are reused), retries with exponential backoff and
 * full jitter that honour Retry-After, stall detection, resumption of a
 * ranged body from the byte it reached, and counters.
 *
 * Storage backends (azblob.c, http.c) describe a request as a
 * ferry_http_call; `prepare` builds the URL and headers of each attempt
 * (signatures carry a date and the current range, so they are rebuilt).
 *
 * Retried: connection failures, resets, timeouts, stalls (no byte for
 * FERRY_STALL_TIMEOUT_SECONDS), truncated bodies, and statuses 408, 429, 500,
 * 502, 503, 504 — up to AZUREML_DATASET_HTTP_RETRY_COUNT times. Other
 * statuses fail at once through `describe`.
 *
 * TLS: the system's CA certificates, or the file named by CURL_CA_BUNDLE
 * (else SSL_CERT_FILE), read once at the first use.
 *
 * Threads: ferry_http_perform may be called from any number of threads.
 * Fork: the child of a fork never uses the parent's connections (the forking
 * thread's handle is dropped there), so forked workers (PyTorch's DataLoader)
 * may go on calling it.
 */
#ifndef FERRY_HTTPC_H
#define FERRY_HTTPC_H

#include "core/err.h"
#include "core/settings.h"
#include "core/stats.h"
#include "store/store.h"

#include <curl/curl.h>
#include <stdint.h>
#include <time.h>

struct ferry_http_resp {
	long status;
	char *body;          /* error bodies and small bodies (no sink): malloc'd */
	size_t body_len;
	int64_t content_length; /* -1 if absent */
	uint64_t range_total;   /* from Content-Range "bytes a-b/TOTAL" (or "bytes \*\/TOTAL"), 0 if absent */
	int range_known;        /* range_total was given (it may be 0: an empty object) */
	char content_md5[25];
	char blob_md5[25];      /* x-ms-blob-content-md5: the whole blob's, on a ranged GET too */
	char etag[72];
	char content_type[128];
	char error_code[96];    /* x-ms-error-code */
	char blob_type[32];     /* x-ms-blob-type */
	char copy_status[16];   /* x-ms-copy-status: success, pending, aborted, failed */
	int is_folder;          /* x-ms-meta-hdi_isfolder: true (ADLS folder marker) */
	int accept_ranges;      /* Accept-Ranges: bytes */
	time_t last_modified;
	long retry_after_ms;    /* -1 if absent */
};

struct ferry_http_attempt {
	char *url;                  /* malloc'd by prepare; freed by perform */
	struct curl_slist *headers; /* built by prepare; freed by perform */
};

struct ferry_http_call {
	const char *method;  /* GET, HEAD, PUT, POST, DELETE */
	const char *what;    /* names the object in messages: "blob 'a.txt' in container 'c'" */
	/* Build one attempt. For ranged calls `off`/`len` are the bytes still
	 * wanted (len UINT64_MAX = to the end). */
	int (*prepare)(void *ctx, const struct ferry_http_call *call, uint64_t off, uint64_t len,
		       struct ferry_http_attempt *a, ferry_err *err);
	void *ctx;
	int ranged;
	uint64_t off, len;
	/* 2xx response bodies go to sink when set (offsets from `off`), else are
	 * kept in resp->body (up to 64 MiB). */
	ferry_sink_fn sink;
	void *sink_arg;
	/* Request body: bytes [body_off, body_off+body_len) of body_fd, or body_mem. */
	int body_fd;
	uint64_t body_off, body_len;
	const char *body_mem;
	/* A cleanup request (S3 AbortMultipartUpload when a transfer stops): sent
	 * even after SIGINT/SIGTERM, once, with a 10 s limit, never retried. */
	int cleanup;
	/* The server does its work before it answers and is silent meanwhile (S3's
	 * CompleteMultipartUpload of many parts: minutes on a busy server that sends
	 * no whitespace while it works): a silence shorter than this many seconds is
	 * not a stall. 0: FERRY_STALL_TIMEOUT_SECONDS alone decides. */
	unsigned slow_answer_s;
	/* Turn a final non-2xx response (status, body, error code) into err. */
	void (*describe)(void *ctx, const struct ferry_http_call *call, const struct ferry_http_resp *r,
			 ferry_err *err);
};

/* Initialise a call with no body (body_fd = -1). */
void ferry_http_call_init(struct ferry_http_call *c, const char *method, const char *what);

/* Perform `call` with retries. resp (caller-owned, cleared here first) holds
 * the final response; free with ferry_http_resp_clear. Returns 0 for a 2xx
 * final response, -1 otherwise with err filled. */
int ferry_http_perform(const struct ferry_settings *s, struct ferry_stats *st,
		       struct ferry_http_call *call, struct ferry_http_resp *resp, ferry_err *err);

/* Bound every ferry_http_perform this thread makes from now on: attempts,
 * retries and the waits between them all end by `deadline_us`
 * (ferry_now_us of core/sys.h, as an integer; 0 = no bound), after which the call fails
 * with FERRY_E_NET naming FERRY_READ_TIMEOUT_SECONDS (the only bound set this
 * way; see ferry_store_read_within). Returns the previous bound. */
int64_t ferry_http_deadline(int64_t deadline_us);

void ferry_http_resp_clear(struct ferry_http_resp *r);

/* After a ranged GET of `path` on store `s` (rc: ferry_http_perform's): the
 * pin check (store.h pin_etag: another ETag fails FERRY_E_INTEGRITY), a
 * folder entry (x-ms-meta-hdi_isfolder: FERRY_E_INVALID "is a folder"), and
 * when `out` is not NULL its size, mtime, etag from r (size_unknown=1 when
 * neither Content-Range nor a whole-body 200 told the size). A 416 to a
 * range from byte 0 whose Content-Range gives the total ("bytes *\/0") is an
 * empty object that exists: with `out`, rc 0, size 0, err cleared (so one
 * GET opens an empty blob; Azure's 416 carries no ETag or mtime: then ""
 * and 0). Returns rc, or -1 with err. Any thread. */
int ferry_http_read_done(const struct ferry_store *s, int rc, const char *what, const char *path,
			 const struct ferry_http_call *c, const struct ferry_http_resp *r, struct ferry_entry *out,
			 ferry_err *err);

/* Process-wide libcurl setup; call once from main before threads start. */
void ferry_http_global_init(void);
/* libcurl's global cleanup; at exit (ferry_store_global_cleanup). */
void ferry_http_global_cleanup(void);

#endif
