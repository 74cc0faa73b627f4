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

#endif
