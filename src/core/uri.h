/*
 * uri.h — parsing the path forms of SPEC §2 into one structure.
 *
 * Pure string work: no lookups, no network. Resolution of a datastore name
 * or of credentials happens in store/resolve.c.
 */
#ifndef FERRY_URI_H
#define FERRY_URI_H

#include "core/err.h"

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
 * Percent-escapes in the path of http(s)/blob URLs are decoded. */
int ferry_uri_parse(const char *text, struct ferry_uri *u, ferry_err *err);

void ferry_uri_free(struct ferry_uri *u);

/* Percent-encode a blob path for a URL: keeps [A-Za-z0-9-._~/]. malloc'd. */
char *ferry_uri_escape_path(const char *path);

#endif
