/*
 * azblob.h — the Azure Blob Storage backend (also ADLS Gen2 through its Blob
 * endpoint, and Azurite). Speaks the Blob REST API over libcurl (httpc.h):
 * List Blobs (paged, with or without delimiter), Get Blob with ranges, Get
 * Blob Properties, Put Blob, Put Block / Put Block List.
 */
#ifndef FERRY_AZBLOB_H
#define FERRY_AZBLOB_H

#include "store/store.h"

struct ferry_aztoken;

enum ferry_az_auth { FERRY_AZ_ANON, FERRY_AZ_KEY, FERRY_AZ_SAS, FERRY_AZ_BEARER };

struct ferry_azblob_config {
	const char *endpoint;  /* account base URL: https://acct.blob.core.windows.net
	                          or http://127.0.0.1:10000/devstoreaccount1 */
	const char *account;
	const char *container;
	enum ferry_az_auth auth;
	const char *secret;    /* key (base64) or SAS token (with or without '?');
	                          NULL for ANON and BEARER. Copied. */
	struct ferry_aztoken *token; /* BEARER: the identity's token cache (aztoken.h).
	                          Owned by the store from the call on, also when
	                          the open fails. Bearer tokens go over https only. */
};

/* Open a store over one container. Returns NULL with err on bad config.
 * With BEARER, every request carries a token from the cache; a request
 * refused with 401, or 403 AuthenticationFailed/InvalidAuthenticationInfo
 * (an expired or revoked token), is sent once more with a new token, and a
 * final refusal names the identity and how to fix it.
 * settings and stats are borrowed for the store's life. */
struct ferry_store *ferry_azblob_open(const struct ferry_azblob_config *cfg,
				      const struct ferry_settings *settings,
				      struct ferry_stats *stats, ferry_err *err);


#endif
