/*
 * aztoken.h — OAuth bearer tokens for Azure Storage: where they come from
 * (identities) and a cache that renews them before they expire.
 *
 * Identities (docs/architecture.md "Identities and tokens", REFERENCE-azure.md "Tokens"):
 *  - managed: the compute's identity, from the first token endpoint present:
 *      IDENTITY_ENDPOINT + IDENTITY_HEADER  (App Service form, api 2019-08-01)
 *      MSI_ENDPOINT + MSI_SECRET            (what Azure ML compute sets, 2017-09-01)
 *      the instance metadata service (IMDS) at FERRY_IMDS_ENDPOINT, default
 *      http://169.254.169.254 (2018-02-01, header Metadata: true)
 *    with an optional client id (a user-assigned identity): the job's
 *    `identity.client_id`, else DEFAULT_IDENTITY_CLIENT_ID.
 *  - user: a token the user already has: AZURE_ACCESS_TOKEN, else the file
 *    named by AZURE_ACCESS_TOKEN_FILE (a raw token, or the JSON printed by
 *    `az account get-access-token`), else the Azure CLI's cached login
 *    ($AZURE_CONFIG_DIR or ~/.azure, msal_token_cache.json) when it holds an
 *    unexpired token for storage. Files are read again at each renewal, so
 *    whatever keeps them fresh is followed.
 *  - service principal (a datastore's tenant_id/client_id/client_secret):
 *    the client-credentials flow, POST <authority>/<tenant>/oauth2/v2.0/token;
 *    authority from the datastore, else AZURE_AUTHORITY_HOST, else
 *    https://login.microsoftonline.com.
 *
 * Every token is masked by the redactor from the moment it arrives (JWTs by
 * their shape, other tokens by registration); tokens
 * live only in the cache (and briefly in the request headers built from it).
 *
 * Errors are FERRY_E_AUTH and name the identity and the source tried, then
 * say how to fix it; no error carries a token or a secret.
 */
#ifndef FERRY_AZTOKEN_H
#define FERRY_AZTOKEN_H

#include "core/err.h"
#include "core/settings.h"
#include "core/stats.h"

#include <time.h>

enum ferry_identity_kind {
	FERRY_ID_NONE = 0,          /* no identity: anonymous unless credentials */
	FERRY_ID_USER,              /* user_identity */
	FERRY_ID_MANAGED,           /* managed / managed_identity */
	FERRY_ID_SERVICE_PRINCIPAL, /* a datastore's credentials (never a job's) */
};

/* An identity as a job or the CLI chose it. Plain value (no allocation); a
 * zeroed one is "none". */
struct ferry_identity {
	enum ferry_identity_kind kind;
	char client_id[128];        /* managed: user-assigned identity's client id, or "" */
};

/* "user_identity", "managed", "service principal", "none". */
const char *ferry_identity_name(enum ferry_identity_kind k);

/* Parse a job's identity.type: user_identity | managed | managed_identity |
 * aml_token (treated as managed: on a local machine the compute's identity is
 * the only one ferry can obtain). -1 when unknown. */
int ferry_identity_parse(const char *type, enum ferry_identity_kind *out);

/* The identity of a CLI command or a process a job started: FERRY_IDENTITY
 * (none | user_identity | managed) and FERRY_IDENTITY_CLIENT_ID. Unset is
 * none. -1 with FERRY_E_INVALID on a value that does not parse. */
int ferry_identity_from_env(struct ferry_identity *out, ferry_err *err);

/* Service principal inputs (all borrowed by ferry_aztoken_new, which copies). */
struct ferry_sp_credentials {
	const char *tenant_id, *client_id, *client_secret;
	const char *authority;      /* NULL or "": AZURE_AUTHORITY_HOST, else AAD */
	const char *resource;       /* NULL or "": https://storage.azure.com/ */
};

struct ferry_aztoken;

/* A token cache for one identity. `sp` is required for a service principal
 * and ignored otherwise. The environment (endpoints, secrets) is read here,
 * once; settings and stats are borrowed for the cache's life. NULL with
 * FERRY_E_AUTH when the identity has no source at all (a user identity with
 * no token variable, file or CLI login; a service principal missing a field
 * or with a plain-http authority that is not loopback). A managed identity
 * always has a source (IMDS last), so its failures come from _get.
 * new and free are called by one thread; everything else is thread-safe.
 * Free with ferry_aztoken_free. */
struct ferry_aztoken *ferry_aztoken_new(const struct ferry_identity *id,
					const struct ferry_sp_credentials *sp,
					const struct ferry_settings *settings,
					struct ferry_stats *stats, ferry_err *err);

/* A valid token, as a malloc'd "Bearer <token>" the caller frees (and
 * should wipe). Renewed when less than min(5 min, half its life) is left;
 * while one thread renews, the others keep using the current token if it is
 * still valid, else wait for the new one — one renewal at a time.
 * Thread-safe. -1 with err (FERRY_E_AUTH) when no token can be had. */
int ferry_aztoken_get(struct ferry_aztoken *t, char **bearer, ferry_err *err);

/* The server refused `bearer` (from ferry_aztoken_get): forget it if it is
 * still the cached one, so that the next get fetches another. Thread-safe. */
void ferry_aztoken_invalidate(struct ferry_aztoken *t, const char *bearer);

/* Who this cache speaks for, for messages: "managed identity (MSI_ENDPOINT)". */
const char *ferry_aztoken_describe(const struct ferry_aztoken *t);

/* How to fix a refusal of this identity's tokens, one sentence. */
const char *ferry_aztoken_hint(const struct ferry_aztoken *t);

/* Tokens fetched so far by this cache (for the runtime log). Thread-safe. */
unsigned ferry_aztoken_fetches(struct ferry_aztoken *t);

void ferry_aztoken_free(struct ferry_aztoken *t);

/* The token and its expiry out of a token endpoint's JSON answer (`len`
 * bytes at `body`): access_token (or accessToken), expiry from expires_on,
 * else now + expires_in, else the JWT's exp claim, else 0. 0 with *token
 * malloc'd (the caller wipes and frees it), or -1 when the body is not JSON
 * or has no token. Pure; any thread (exposed for tests/fuzz/aztoken.c). */
int ferry_aztoken_parse_response(const char *body, size_t len, char **token, time_t *exp);

/* Seconds-since-epoch `exp` claim of a JWT, or 0 when it has none (for tests
 * and tokens given without an expiry). */
time_t ferry_jwt_exp(const char *jwt);

#endif
