/*
 * azblob.h — the Azure Blob Storage backend (also ADLS Gen2 through its Blob
 * endpoint, and Azurite). Speaks the Blob REST API over libcurl (httpc.h):
 * List Blobs (paged, with or without delimiter), Get Blob with ranges, Get
 * Blob Properties, Put Blob, Put Block / Put Block List.
 */
#ifndef FERRY_AZBLOB_H
#define FERRY_AZBLOB_H

#include "store/store.h"

enum ferry_az_auth { FERRY_AZ_ANON, FERRY_AZ_KEY, FERRY_AZ_SAS, FERRY_AZ_BEARER };

struct ferry_azblob_config {
	const char *endpoint;  /* account base URL: https://acct.blob.core.windows.net
	                          or http://127.0.0.1:10000/devstoreaccount1 */
	const char *account;
	const char *container;
	enum ferry_az_auth auth;
	const char *secret;    /* key (base64), SAS token (with or without '?'), or
	                          bearer token; NULL for ANON. Copied. */
};

/* Open a store over one container. Returns NULL with err on bad config.
 * settings and stats are borrowed for the store's life. */
struct ferry_store *ferry_azblob_open(const struct ferry_azblob_config *cfg,
				      const struct ferry_settings *settings,
				      struct ferry_stats *stats, ferry_err *err);

/* Create the container if it does not exist (used by tests and upload with
 * --create-container). 0, or -1 with err. */
int ferry_azblob_create_container(struct ferry_store *s, ferry_err *err);

#endif
