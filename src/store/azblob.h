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

/* Parse one List Blobs answer (`len` bytes of XML at `body`) of a listing of
 * `pfx` ("" or "dir/", as ferry_flatns_prefix makes it) into `page`, by the
 * rules of store/flatns.h: BlobPrefix entries as folders, Blob entries as files
 * with Content-Length, Content-MD5, Etag and Last-Modified; NextMarker as
 * page->next_marker. A body that is not EnumerationResults XML, or a name the
 * rules refuse, is -1 with FERRY_E_NET naming `what` (the request). Pure: no
 * network; exposed for the fuzz target (tests/fuzz/azblob_list.c). */
int ferry_azblob_parse_list(const char *body, size_t len, const char *pfx, const char *what,
			    struct ferry_list_page *page, ferry_err *err);

#endif
