/*
 * resolve.h — from a path string (README.md, "Paths") to a store and a path
 * inside it.
 *
 * This is where names meet credentials: datastores come from the workspace;
 * direct Blob URIs find credentials the way Azure's tools do
 * (AZURE_STORAGE_CONNECTION_STRING, incl. UseDevelopmentStorage=true;
 * AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY; AZURE_STORAGE_SAS_TOKEN), and
 * public containers need none.
 *
 * Layer resolve may include: core, store*, workspace. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_RESOLVE_H
#define FERRY_RESOLVE_H

#include "core/err.h"
#include "core/settings.h"
#include "core/stats.h"
#include "store/aztoken.h"
#include "store/store.h"

struct ferry_ws;

/* What every data operation runs with. Owned by the caller (the CLI or the
 * job runner); stores borrow `settings` and `stats`. */
struct ferry_ctx {
	struct ferry_ws *ws;            /* may be NULL: then datastore URIs fail */
	struct ferry_settings settings;
	struct ferry_stats stats;
	int progress;                   /* draw a progress line on stderr */
	/* The identity that reaches Blob storage when a datastore has no
	 * credentials, or a direct Blob URI finds none in the environment
	 * (zeroed = none: anonymous, for public data). */
	struct ferry_identity identity;
};

/* Resolve `uri`. On success *store (destroy with ferry_store_destroy) and
 * *path (malloc'd, no leading/trailing '/') are set; *folder_hint is 1 when
 * the text ended in '/'. for_write=1 refuses read-only forms (http) with a
 * clear error. A data asset (azureml:<name>:<version>, azureml:<name>@latest)
 * resolves to the store and path of the storage URI it was registered with
 * (read-only: for_write refuses it; a uri_folder/mltable asset sets
 * *folder_hint); s3:// opens the S3 backend with AWS credentials from the
 * environment (s3.h).
 * Identity: a datastore without credentials, or a Blob URI without
 * credentials in the environment, uses ctx->identity's OAuth tokens
 * (aztoken.h) when one is set, else goes anonymously; a service-principal
 * datastore always uses its own client credentials; an s3 datastore signs
 * with its keys, or with the AWS keys of the environment when it has none. */
int ferry_resolve(struct ferry_ctx *ctx, const char *uri, int for_write,
		  struct ferry_store **store, char **path, int *folder_hint, ferry_err *err);

/* ferry_resolve, and *tree (malloc'd; tree may be NULL) set to the naming
 * tree the store's files get, the first part of `<tree>/<path>` names that
 * stay the same whichever form named the data: <account>/<container> for
 * Blob URIs and Blob datastores, s3/<bucket> for s3:// and s3 datastores,
 * http/<host[:port]> for http(s), `local` for local paths and
 * local/<folder> for a local datastore; a data asset has its storage
 * path's tree. On error *tree is untouched. */
int ferry_resolve_named(struct ferry_ctx *ctx, const char *uri, int for_write, struct ferry_store **store,
			char **path, int *folder_hint, char **tree, ferry_err *err);

#endif
