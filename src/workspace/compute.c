/*
 * compute.c — the registry's `computes` table (schema in workspace.c): create
 * or replace, get, list and delete compute targets.
 */
#include "workspace/compute.h"
#include "workspace/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "name, type, partition, account, qos, time_limit, sbatch_args, description"
#define NCOLS 8

static int db_fail(struct ferry_ws *ws, ferry_err *err, const char *what)
{
	return ferry_err_set(err, FERRY_E_IO, "workspace registry %s/ferry.db: %s: %s",
			     ferry_ws_home(ws), what, sqlite3_errmsg(ferry_ws_db(ws)));
}

int ferry_ws_compute_name_ok(const char *name)
{
	return ferry_ws_datastore_name_ok(name);
}

/* The string fields of c in COLS order, so that rows, binds and frees agree. */
static void fields(struct ferry_compute *c, char **v[NCOLS])
{
	char **f[NCOLS] = { &c->name, &c->type,       &c->partition,   &c->account,
			    &c->qos,  &c->time_limit, &c->sbatch_args, &c->description };
	memcpy(v, f, sizeof(f));
}

void ferry_compute_free(struct ferry_compute *c)
{
	if (!c)
		return;
	char **v[NCOLS];
	fields(c, v);
	for (int i = 0; i < NCOLS; i++)
		free(*v[i]);
	memset(c, 0, sizeof(*c));
}

void ferry_compute_list_free(struct ferry_compute *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry_compute_free(&v[i]);
	free(v);
}

static void from_row(sqlite3_stmt *st, struct ferry_compute *c)
{
	memset(c, 0, sizeof(*c));
	char **v[NCOLS];
	fields(c, v);
	for (int i = 0; i < NCOLS; i++) {
		const unsigned char *t = sqlite3_column_text(st, i);
		*v[i] = t ? strdup((const char *)t) : NULL;
	}
}

int ferry_ws_compute_put(struct ferry_ws *ws, const struct ferry_compute *c, ferry_err *err)
{
	if (!ferry_ws_compute_name_ok(c->name))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "compute name '%s' is not valid: use 1-255 letters, digits, '_' or '-'",
				     c->name ? c->name : "");
	if (!c->type)
		return ferry_err_set(err, FERRY_E_INVALID, "compute '%s': type missing", c->name);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ferry_ws_db(ws),
			       "INSERT OR REPLACE INTO computes(" COLS ", updated)"
			       " VALUES(?,?,?,?,?,?,?,?, datetime('now'))",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "writing computes");
	char **v[NCOLS];
	fields((struct ferry_compute *)c, v);
	for (int i = 0; i < NCOLS; i++)
		sqlite3_bind_text(st, i + 1, *v[i], -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(ws, err, "writing computes");
}

/* Run a prepared SELECT of COLS into a malloc'd array (finalizes st). */
static int rows(struct ferry_ws *ws, sqlite3_stmt *st, struct ferry_compute **out, size_t *n,
		ferry_err *err)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			struct ferry_compute *v = realloc(*out, cap * sizeof(**out));
			if (!v) {
				rc = SQLITE_NOMEM;
				break;
			}
			*out = v;
		}
		from_row(st, &(*out)[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ferry_compute_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_fail(ws, err, "reading computes");
	}
	return 0;
}

int ferry_ws_compute_list(struct ferry_ws *ws, struct ferry_compute **out, size_t *n,
			  ferry_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ferry_ws_db(ws), "SELECT " COLS " FROM computes ORDER BY name", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading computes");
	return rows(ws, st, out, n, err);
}

static int not_found(struct ferry_ws *ws, const char *name, ferry_err *err)
{
	struct ferry_compute *v;
	size_t n;
	char known[600] = "";
	if (ferry_ws_compute_list(ws, &v, &n, err) < 0)
		return -1;
	size_t used = 0;
	for (size_t i = 0; i < n && used + 2 < sizeof(known); i++) {
		int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", v[i].name);
		if (w < 0 || (size_t)w >= sizeof(known) - used)
			break;
		used += (size_t)w;
	}
	ferry_compute_list_free(v, n);
	return ferry_err_set(err, FERRY_E_NOTFOUND,
			     "compute '%s' not found (known: %s); create it with `ferry compute "
			     "create --file cluster.yml`",
			     name, known[0] ? known : "none");
}

int ferry_ws_compute_get(struct ferry_ws *ws, const char *name, struct ferry_compute *out,
			 ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ferry_ws_db(ws), "SELECT " COLS " FROM computes WHERE name = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading computes");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	struct ferry_compute *v;
	size_t n;
	if (rows(ws, st, &v, &n, err) < 0)
		return -1;
	if (n == 0) {
		free(v);
		return not_found(ws, name, err);
	}
	*out = v[0];
	free(v);
	return 0;
}

int ferry_ws_compute_delete(struct ferry_ws *ws, const char *name, ferry_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ferry_ws_db(ws), "DELETE FROM computes WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ws, err, "deleting a compute");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "deleting a compute");
	if (sqlite3_changes(ferry_ws_db(ws)) == 0)
		return not_found(ws, name, err);
	return 0;
}
