/*
 * compute.h — compute targets of the workspace (Azure ML's `compute:`), kept in
 * the registry's `computes` table: today one kind, `slurm`, a partition of a
 * Slurm cluster that ferry submits distributed jobs to (job/slurm.h).
 *
 * Threads: as the ferry_ws they are used with (one thread at a time).
 */
#ifndef FERRY_WORKSPACE_COMPUTE_H
#define FERRY_WORKSPACE_COMPUTE_H

#include "core/err.h"
#include "workspace/workspace.h"

#include <stddef.h>

struct ferry_compute {
	char *name;
	char *type;        /* "slurm" */
	char *partition;   /* NULL: the cluster's default partition */
	char *account;     /* sbatch --account, or NULL */
	char *qos;         /* sbatch --qos, or NULL */
	char *time_limit;  /* sbatch --time (Slurm's forms: MM, HH:MM:SS, D-HH...), or NULL */
	char *sbatch_args; /* extra sbatch arguments as a JSON array of strings, or NULL */
	char *description;
};

/* Compute names follow datastore names: 1-255 of [A-Za-z0-9_-]. */
int ferry_ws_compute_name_ok(const char *name);

/* Create or replace compute `c->name` (fields borrowed). FERRY_E_INVALID for a
 * bad name or a missing type. */
int ferry_ws_compute_put(struct ferry_ws *ws, const struct ferry_compute *c, ferry_err *err);

/* Fetch compute `name` into *out (free with ferry_compute_free).
 * FERRY_E_NOTFOUND names it, lists the known ones and says how to create one. */
int ferry_ws_compute_get(struct ferry_ws *ws, const char *name, struct ferry_compute *out,
			 ferry_err *err);

/* All computes sorted by name; *out malloc'd (ferry_compute_list_free). */
int ferry_ws_compute_list(struct ferry_ws *ws, struct ferry_compute **out, size_t *n,
			  ferry_err *err);

/* Delete compute `name`; FERRY_E_NOTFOUND when there is none. Jobs that ran on
 * it keep their records. */
int ferry_ws_compute_delete(struct ferry_ws *ws, const char *name, ferry_err *err);

void ferry_compute_free(struct ferry_compute *c);
void ferry_compute_list_free(struct ferry_compute *v, size_t n);

#endif
