/*
 * uri.h — parsing the path forms (README.md, "Paths") into one structure.
 *
 * Pure string work: no lookups, no network. Resolution of a datastore name
 * or of credentials happens in store/resolve.c.
 */
#ifndef FERRY_URI_H
#define FERRY_URI_H

#include "core/err.h"

#include <stddef.h>

enum ferry_uri_kind {
	FERRY_URI_LOCAL,     /* /abs/path, ./rel, file:///abs */
	FERRY_URI_HTTP,      /* http(s)://host/path that is not a Blob endpoint */
	FERRY_URI_BLOB,      /* wasbs://, abfss://, https://<acct>.blob.<sfx>/<c>/<p>,
	                        http://127.0.0.1:10000/<acct>/<c>/<p> (emulator) */
	FERRY_URI_DATASTORE, /* azureml://datastores/<name>/paths/<p> (short or long form) */
	FERRY_URI_ASSET,     /* azureml:<name>:<version> | azureml:<name>@latest */
	FERRY_URI_S3,        /* s3://bucket/path */
	FERRY_URI_JOB,       /* azureml://jobs/<job>/outputs/<output>[/paths/<p>]: an
	                        earlier job's output (resolved through its record) */
};

/* The scheme a path text starts with, found case-insensitively: the one
 * scheme check of ferry (every other "is this a file:/azureml:/https URL"
 * question goes through ferry_uri_scheme). */
enum ferry_scheme {
	FERRY_SCHEME_NONE,    /* no scheme: a local path */
	FERRY_SCHEME_FILE,    /* file: (file:///abs) */
	FERRY_SCHEME_HTTP,    /* http:// */
	FERRY_SCHEME_HTTPS,   /* https:// */
	FERRY_SCHEME_WASB,    /* wasb:// */
	FERRY_SCHEME_WASBS,   /* wasbs:// */
	FERRY_SCHEME_ABFS,    /* abfs:// */
	FERRY_SCHEME_ABFSS,   /* abfss:// */
	FERRY_SCHEME_S3,      /* s3:// */
	FERRY_SCHEME_AZUREML, /* azureml:// (datastore paths) */
	FERRY_SCHEME_ASSET,   /* azureml:<name>... (data assets) */
	FERRY_SCHEME_UNKNOWN, /* <letters>:// that ferry does not know */
};

struct ferry_uri {
	enum ferry_uri_kind kind;
	char *text;      /* the original string */
	char *path;      /* LOCAL: file system path; others: path inside the
	                    container/datastore/bucket, no leading '/', may be "" */
	char *account;   /* BLOB */
	char *container; /* BLOB (container or ADLS filesystem), S3 bucket */
	char *endpoint;  /* BLOB: base URL up to and including the account for
	                    path-style (http://127.0.0.1:10000/devstoreaccount1) or
	                    https://<acct>.blob.<sfx>; HTTP: scheme://host[:port] */
	char *datastore; /* DATASTORE */
	char *asset_name, *asset_version; /* ASSET; version "latest" for @latest */
	char *job, *job_output;           /* JOB ("artifacts": the job's ./outputs, ./logs) */
	int trailing_slash; /* the text ended in '/': names a folder */
};

/* Parse `text`. On success fills *u (free with ferry_uri_free) and returns 0.
 * On failure returns -1 with an error naming the text and what is wrong.
 * Percent-escapes in the path of http(s)/blob URLs are decoded.
 * Refused (FERRY_E_INVALID, before any lookup or request): a "." or ".."
 * segment, raw or percent-encoded (%2e%2e, %2E., .%2e; '\\' counts as a
 * separator), anywhere in a storage, web, datastore or file: URI — paths
 * never climb out of their container, datastore or bucket; a query or
 * fragment ('?', '#') in http(s), wasb(s) and abfs(s) URLs (a SAS token goes
 * in a datastore or AZURE_STORAGE_SAS_TOKEN, never in a path). A plain
 * local path (no scheme) is the user's own file system and may hold "..". */
int ferry_uri_parse(const char *text, struct ferry_uri *u, ferry_err *err);

void ferry_uri_free(struct ferry_uri *u);

/* The scheme `text` starts with, whatever its case (FILE:///x is file:).
 * When `len` is not NULL it gets the length of the prefix that names the
 * scheme ("wasbs://" 8, "azureml:" 8, "file:" 5; 0 for NONE). Pure. */
enum ferry_scheme ferry_uri_scheme(const char *text, size_t *len);

/* 1 when `text` names something in storage or on the web (any scheme but
 * file: and none), 0 for a local path. */
int ferry_uri_is_remote(const char *text);

/* The first "." or ".." segment of s[0, n): '/' and '\\' separate segments
 * (Azure folds '\\' into '/'), "%2e" in any case is a '.'. Returns 1 and
 * points *seg / *seglen at it as written, or 0. Pure. */
int ferry_uri_dot_segment(const char *s, size_t n, const char **seg, size_t *seglen);

/* 1 when `text` is an http:// or https:// URL (any case), else 0. */
int ferry_uri_is_http(const char *text);

/* Percent-encode a blob path for a URL: keeps [A-Za-z0-9-._~/]. malloc'd. */
char *ferry_uri_escape_path(const char *path);

#endif
