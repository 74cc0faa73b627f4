/*
 * workspace.h — the local workspace: a folder ($FERRY_HOME, default ~/.ferry)
 * holding the SQLite registry (datastores, data assets, jobs), the job folders, the
 * secrets of datastores (0600 files, never in the registry) and the local
 * folder that backs the default datastore `workspaceblobstore`.
 *
 * Threads: a ferry_ws is used from one thread at a time.
 *
 * Layer workspace may include: core. (docs/STYLE.md "Layers";
 * tools/check-layers.sh fails on any other #include.)
 */
#ifndef FERRY_WORKSPACE_H
#define FERRY_WORKSPACE_H

#include "core/err.h"
#include "core/strbuf.h"

#include <stddef.h>
#include <stdint.h>

struct ferry_ws;

struct ferry_datastore {
	char *name;
	char *type;        /* "local" (workspaceblobstore), "azure_blob", "azure_data_lake_gen2", "s3" */
	char *account;     /* account_name */
	char *container;   /* container_name, filesystem, or (s3) bucket */
	char *endpoint;    /* "core.windows.net" (suffix) or a full URL such as
	                      http://127.0.0.1:10000/devstoreaccount1 (emulator) */
	char *protocol;    /* https | wasbs | abfss | http */
	char *local_path;  /* type local: the folder */
	char *cred_type;   /* "account_key", "sas_token", "service_principal",
	                      "access_key" (s3), "none" */
	char *secret;      /* the key, SAS token, client secret, or (s3) the JSON
	                      {"access_key_id","secret_access_key"} (loaded from
	                      the 0600 file), or NULL */
	char *description;
	char *tags_json;   /* tags as a JSON object text, or NULL (added) */
	char *options_json; /* the type's other non-secret fields as a JSON object, or
	                      NULL: service_principal {tenant_id, client_id,
	                      authority_url, resource_url}; s3 {region} */
};

/* Open (creating if needed) the workspace in `home`, or when NULL in
 * $FERRY_HOME, else ~/.ferry. Creates the default datastore
 * workspaceblobstore (type local, <home>/datastores/workspaceblobstore).
 * On success *out is owned by the caller (ferry_ws_close). */
int ferry_ws_open(const char *home, struct ferry_ws **out, ferry_err *err);

/* Open an existing workspace read-only: nothing is created, migrated or
 * written (a distributed job's node agents, which share the submitter's
 * workspace, maybe over a network filesystem). FERRY_E_NOTFOUND when `home`
 * has no registry. Writing functions fail on such a handle. */
int ferry_ws_open_readonly(const char *home, struct ferry_ws **out, ferry_err *err);
/* The folder ferry_ws_open(home, ...) would use, without opening or creating
 * anything: `home` when set, else $FERRY_HOME, else ~/.ferry (built in sb,
 * which the caller releases). NULL when neither FERRY_HOME nor HOME is set,
 * or memory ran out (sb->failed). */
const char *ferry_ws_home_path(const char *home, struct ferry_strbuf *sb);
void ferry_ws_close(struct ferry_ws *ws);

/* The workspace folder (borrowed, lives as long as ws). */
const char *ferry_ws_home(const struct ferry_ws *ws);

/* Look up a datastore by name; fills *out (free with ferry_datastore_free),
 * secret included and registered with the redactor. FERRY_E_NOTFOUND names
 * the datastore and lists the known ones. */
int ferry_ws_datastore_get(struct ferry_ws *ws, const char *name, struct ferry_datastore *out,
			   ferry_err *err);
void ferry_datastore_free(struct ferry_datastore *ds);

/* Datastore names: 1-255 of [A-Za-z0-9_-], so they are safe as file names. */
int ferry_ws_datastore_name_ok(const char *name);

/* Create or replace the datastore `ds->name` from its fields (all borrowed).
 * `ds->secret` (may be NULL) goes to <home>/secrets/<name> (0600, folder
 * 0700), never into the registry; a replaced datastore without a secret loses
 * its old secret file. Replacing workspaceblobstore is FERRY_E_INVALID. */
int ferry_ws_datastore_put(struct ferry_ws *ws, const struct ferry_datastore *ds,
			   ferry_err *err);

/* All datastores sorted by name, secrets NOT loaded (secret stays NULL).
 * *out is a malloc'd array of *n entries; free with ferry_datastore_list_free. */
int ferry_ws_datastore_list(struct ferry_ws *ws, struct ferry_datastore **out, size_t *n,
			    ferry_err *err);
void ferry_datastore_list_free(struct ferry_datastore *v, size_t n);

/* One job as the registry keeps it. Strings are malloc'd (NULL = unknown) and
 * freed by ferry_job_record_free; the *_json fields hold JSON text. */
struct ferry_job_record {
	char *name;
	char *display_name;
	char *experiment_name;
	char *description;
	char *status;        /* Queued, Running, Completed, Failed, Canceled */
	int exit_code;       /* valid when has_exit_code */
	int has_exit_code;
	char *start_time;    /* 2024-01-01T10:00:00.000000Z */
	char *end_time;
	char *job_file;      /* absolute path of the job YAML */
	char *folder;        /* <home>/jobs/<name> */
	char *azure_json;    /* recorded Azure-only fields (environment, compute, …) */
	char *tags_json;
	char *inputs_json;   /* [{name, type, mode, path, bytes, files, seconds}, …] */
	char *outputs_json;  /* [{name, type, mode, uri, bytes, files, seconds}, …] */
	uint64_t bytes_moved;
};

/* Insert or update (by name) the record; every field is written. */
int ferry_ws_job_put(struct ferry_ws *ws, const struct ferry_job_record *rec, ferry_err *err);

/* The folder of job `job`'s artifacts (what its command left in ./outputs
 * and ./logs): "azureml://datastores/workspaceblobstore/paths/ExperimentRun/dcid.<job>/". */
void ferry_ws_artifacts_uri(const char *job, char *buf, size_t cap);

/* Where `azureml://jobs/<job>/outputs/<output>/paths/<path>` is: the URI the
 * output was stored at, plus `path` (a trailing '/' when `folder`); output
 * "artifacts" is the job's artifacts folder. Errors: FERRY_E_NOTFOUND for
 * no such job or output, FERRY_E_INVALID for a job not Completed or an output
 * not stored; each names the job and output. *out malloc'd. */
int ferry_ws_job_output_uri(struct ferry_ws *ws, const char *job, const char *output, const char *path,
			    int folder, char **out, ferry_err *err);

/* Fetch job `name` into *out (free with ferry_job_record_free).
 * FERRY_E_NOTFOUND when there is no such job. */
int ferry_ws_job_get(struct ferry_ws *ws, const char *name, struct ferry_job_record *out,
		     ferry_err *err);

/* 1 if a job called `name` is recorded, 0 if not, -1 on error. */
int ferry_ws_job_exists(struct ferry_ws *ws, const char *name, ferry_err *err);

/* All jobs, oldest first. *out malloc'd; free with ferry_job_record_list_free. */
int ferry_ws_job_list(struct ferry_ws *ws, struct ferry_job_record **out, size_t *n,
		      ferry_err *err);
void ferry_job_record_free(struct ferry_job_record *rec);
void ferry_job_record_list_free(struct ferry_job_record *v, size_t n);

/* ---- data assets ----
 * A data asset is a name and an immutable version pointing at a storage URI
 * (docs/architecture.md, "Data assets"). Rows are never updated or deleted:
 * (name, version) is the key, and creating an existing pair is an error. `@latest` is the most
 * recently CREATED version of a name (Azure ML's rule), not the highest
 * number: creating "1", "3", then "2" makes "2" the latest.
 *
 * Archiving (Azure ML's `az ml data archive`) hides without deleting: a
 * version is archived on its own, or with its whole name (which also covers
 * versions created later). Archived versions are left out of lists and of
 * @latest, and still resolve when named explicitly (name:version). Auto
 * versions still count them, so a number is never reused. */
struct ferry_data_asset {
	char *name;
	char *version;
	char *type;        /* uri_file | uri_folder | mltable */
	char *path;        /* a storage URI (datastore, blob, s3, http); never local, never an asset */
	char *description; /* NULL = none */
	char *tags_json;   /* JSON object text, or NULL */
	char *created;     /* 2024-01-01T10:00:00.000Z (UTC); set by the registry */
	char *job;         /* the job whose output it is, or NULL */
	int archived;      /* 1: this version, or its whole name, is archived */
};

/* Names: 1-255 of [A-Za-z0-9_.-], starting with a letter or digit.
 * Versions: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit, and not
 * "latest" (it would read like @latest). Return 1 when valid. */
int ferry_ws_asset_name_ok(const char *name);
int ferry_ws_asset_version_ok(const char *version);

/* Register `a` (fields borrowed; `created` ignored). When a->version is NULL
 * the version is the next integer: 1 + the highest all-digit version of the
 * name (1 for a new name), chosen inside the same write transaction as the
 * insert, so two ferry processes never get the same one. An existing
 * (name, version) is FERRY_E_INVALID naming both. On success *version_out (if
 * not NULL) is the malloc'd version given. */
int ferry_ws_asset_create(struct ferry_ws *ws, const struct ferry_data_asset *a,
			  char **version_out, ferry_err *err);

/* Fetch name:version (archived or not), or the latest version that is not
 * archived when `version` is NULL or "latest". Fills *out (free with ferry_data_asset_free). FERRY_E_NOTFOUND
 * names the asset and lists its versions, or the known asset names. */
int ferry_ws_asset_get(struct ferry_ws *ws, const char *name, const char *version,
		       struct ferry_data_asset *out, ferry_err *err);

/* name == NULL: the latest version of every asset, sorted by name.
 * name given: every version of that asset, newest first (none: empty list).
 * Archived versions are left out unless include_archived (then the latest of
 * a name is its latest version, archived or not). *out malloc'd, *n entries;
 * free with ferry_data_asset_list_free. */
int ferry_ws_asset_list(struct ferry_ws *ws, const char *name, int include_archived,
			struct ferry_data_asset **out, size_t *n, ferry_err *err);

/* Archive (archived = 1) or restore (0) version `version` of `name`, or the
 * whole name when version is NULL. Idempotent. FERRY_E_NOTFOUND for an unknown
 * name (listing the known names) or version (listing the versions);
 * FERRY_E_INVALID for restoring one version of a name archived as a whole
 * (restore the name first, as Azure ML requires). */
int ferry_ws_asset_set_archived(struct ferry_ws *ws, const char *name, const char *version,
				int archived, ferry_err *err);

/* The assets job `job` registered, in creation order. Same ownership. */
int ferry_ws_asset_list_by_job(struct ferry_ws *ws, const char *job,
			       struct ferry_data_asset **out, size_t *n, ferry_err *err);

void ferry_data_asset_free(struct ferry_data_asset *a);
void ferry_data_asset_list_free(struct ferry_data_asset *v, size_t n);

#endif
