/*
 * s3.h — the Amazon S3 backend (and S3-compatible services: moto, MinIO,
 * Ceph RGW, ...). Speaks the S3 REST API over libcurl (httpc.h), signed with
 * AWS Signature Version 4 (sigv4.h): ListObjectsV2 (continuation-token
 * paging, delimiter '/' for one level), HeadObject, ranged GetObject,
 * PutObject, and multipart upload (CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload; AbortMultipartUpload for uploads left unfinished).
 *
 * Addressing: with no endpoint, virtual-hosted https://<bucket>.s3.<region>.
 * amazonaws.com (path-style on s3.<region>.amazonaws.com for bucket names with
 * dots, which TLS certificates cannot cover); with an endpoint (another S3
 * service, AWS_ENDPOINT_URL), path-style <endpoint>/<bucket>/<key>.
 *
 * Threads: the store may be used from many threads at once (store.h). The
 * multipart upload of one object is created lazily by the first of its blocks
 * to arrive, under a lock per object, so blocks may be staged in any order
 * from any thread.
 */
#ifndef FERRY_S3_H
#define FERRY_S3_H

#include "store/store.h"

struct ferry_s3_config {
	const char *endpoint;      /* NULL or "": AWS; else e.g. http://127.0.0.1:5000 */
	const char *region;        /* NULL: us-east-1 */
	const char *bucket;
	const char *access_key;    /* NULL or "": anonymous (unsigned) requests */
	const char *secret_key;
	const char *session_token; /* may be NULL */
	const char *cred_source;   /* where the keys came from, for error hints */
};

/* Credentials and addressing found the way AWS's tools find them:
 *  keys: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); else
 *        profile AWS_PROFILE (default "default") of the shared credentials
 *        file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials); else
 *        none (anonymous).
 *  region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in the
 *        config file (AWS_CONFIG_FILE, default ~/.aws/config), us-east-1.
 *  endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS.
 * Secrets found are registered with the redactor. Fills `env` (plain
 * buffers, no allocation). -1 with FERRY_E_AUTH when AWS_PROFILE names a
 * profile that is not there, or a profile lacks its secret. */
struct ferry_s3_env {
	char endpoint[512];
	char region[64];
	char access_key[256];
	char secret_key[256];
	char session_token[4096];
	char source[600]; /* "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", "profile 'x' in PATH", "none" */
};
int ferry_s3_env_load(struct ferry_s3_env *env, ferry_err *err);

/* Parse one ListObjectsV2 answer (`len` bytes of XML at `body`) of a listing
 * of `pfx` ("" or "dir/", as ferry_flatns_prefix makes it) into `page`, by the
 * rules of store/flatns.h: CommonPrefixes as folders, Contents as files with
 * Size, ETag and LastModified; NextContinuationToken as page->next_marker when
 * IsTruncated. A body that is not ListBucketResult XML, a name the rules
 * refuse, or a truncated answer without a token is -1 with FERRY_E_NET naming
 * `what`. Pure: no network; exposed for the fuzz target (tests/fuzz/s3_list.c). */
int ferry_s3_parse_list(const char *body, size_t len, const char *pfx, const char *what,
			struct ferry_list_page *page, ferry_err *err);

/* Open a store over one bucket (strings are copied). NULL with err on a bad
 * config. settings and stats are borrowed for the store's life. The store
 * is writable only with credentials. */
struct ferry_store *ferry_s3_open(const struct ferry_s3_config *cfg, const struct ferry_settings *settings,
				  struct ferry_stats *stats, ferry_err *err);

#endif
