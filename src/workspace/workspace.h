/*
 * workspace.h — the local workspace: a folder ($FERRY_HOME, default ~/.ferry)
 * holding the SQLite registry (datastores, jobs), the job folders, the
 * secrets of datastores (0600 files, never in the registry) and the local
 * folder that backs the default datastore `workspaceblobstore`.
 *
 * Threads: a ferry_ws is used from one thread at a time.
 */
#ifndef FERRY_WORKSPACE_H
#define FERRY_WORKSPACE_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

struct ferry_ws;

struct ferry_datastore {
	char *name;
	char *type;        /* "local" (workspaceblobstore), "azure_blob", "azure_data_lake_gen2" */
	char *account;     /* account_name */
	char *container;   /* container_name or filesystem */
	char *endpoint;    /* "core.windows.net" (suffix) or a full URL such as
	                      http://127.0.0.1:10000/devstoreaccount1 (emulator) */
	char *protocol;    /* https | wasbs | abfss | http */
	char *local_path;  /* type local: the folder */
	char *cred_type;   /* "account_key", "sas_token", "none" */
	char *secret;      /* the key or SAS token (loaded from the 0600 file), or NULL */
	char *description;
	char *tags_json;   /* tags as a JSON object text, or NULL (added) */
};

/* Open (creating if needed) the workspace in `home`, or when NULL in
 * $FERRY_HOME, else ~/.ferry. Creates the default datastore
 * workspaceblobstore (type local, <home>/datastores/workspaceblobstore).
 * On success *out is owned by the caller (ferry_ws_close). */
int ferry_ws_open(const char *home, struct ferry_ws **out, ferry_err *err);
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
	char *status;        /* Queued, Running, Completed, Failed */
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

#endif
