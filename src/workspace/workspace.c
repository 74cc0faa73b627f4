/*
 * workspace.c — the local workspace: SQLite registry, secrets, default datastore.
 *
 * Layout of <home>:
 *   ferry.db                      registry (tables datastores, jobs, data_assets, data_assets_archived,
 *                                 computes: compute.c)
 *   secrets/<datastore>           one secret per file, 0600, folder 0700
 *   datastores/workspaceblobstore the folder backing the default datastore
 *   jobs/<name>/                  job folders (created by the job runner)
 *
 * Secrets never enter the database: a copied or shared ferry.db leaks nothing.
 * The registry is opened with a busy timeout so that two ferry processes (two
 * jobs at once) wait for each other instead of failing.
 */
#include "workspace/workspace.h"
#include "core/log.h"
#include "core/strbuf.h"
#include "core/files.h"
#include "core/redact.h"
#include "workspace/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DS "workspaceblobstore"

struct ferry_ws {
	char *home;
	sqlite3 *db;
};

static int db_fail(struct ferry_ws *ws, ferry_err *err, const char *what)
{
	return ferry_err_set(err, FERRY_E_IO, "workspace registry %s/ferry.db: %s: %s", ws->home,
			     what, sqlite3_errmsg(ws->db));
}

/* Step the prepared SELECT `st` to its end and finalize it: each row read by
 * `from_row` into the next element (`size` bytes) of a malloc'd array, given
 * to *out and *n. On failure what was read is freed by `free_rows` (*out and
 * *n are left NULL and 0) and err names `what`. */
static int collect_rows(struct ferry_ws *ws, sqlite3_stmt *st, size_t size, void (*from_row)(sqlite3_stmt *, void *),
			void (*free_rows)(void *, size_t), const char *what, void **out, size_t *n, ferry_err *err)
{
	char *v = NULL;
	size_t cap = 0, k = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char *nv = realloc(v, ncap * size);
			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		from_row(st, v + k++ * size);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free_rows(v, k);
		return rc == SQLITE_NOMEM ? ferry_err_set(err, FERRY_E_IO, "%s: out of memory", what)
					  : db_fail(ws, err, what);
	}
	*out = v;
	*n = k;
	return 0;
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS datastores ("
	" name TEXT PRIMARY KEY, type TEXT NOT NULL, account TEXT, container TEXT,"
	" endpoint TEXT, protocol TEXT, local_path TEXT, cred_type TEXT NOT NULL,"
	" description TEXT, tags TEXT, updated TEXT, options TEXT);"
	"CREATE TABLE IF NOT EXISTS jobs ("
	" name TEXT PRIMARY KEY, display_name TEXT, experiment_name TEXT, description TEXT,"
	" status TEXT NOT NULL, exit_code INTEGER, start_time TEXT, end_time TEXT,"
	" job_file TEXT, folder TEXT, azure_json TEXT, tags_json TEXT, inputs_json TEXT,"
	" outputs_json TEXT, bytes_moved INTEGER NOT NULL DEFAULT 0,"
	" seq INTEGER);"
	/* Data assets: rows are only ever inserted (versions are immutable);
	 * seq orders them by creation for @latest. */
	"CREATE TABLE IF NOT EXISTS data_assets ("
	" name TEXT NOT NULL, version TEXT NOT NULL, type TEXT NOT NULL, path TEXT NOT NULL,"
	" description TEXT, tags_json TEXT, created TEXT NOT NULL, job TEXT,"
	" seq INTEGER NOT NULL, archived INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(name, version));"
	"CREATE INDEX IF NOT EXISTS data_assets_job ON data_assets(job);"
	/* Names archived as a whole (`ferry data archive NAME`): every version,
	 * also one created later, is hidden; the versions' own flags are kept. */
	"CREATE TABLE IF NOT EXISTS data_assets_archived (name TEXT PRIMARY KEY);"
	/* Compute targets (compute.c): a Slurm partition and how to submit to it. */
	"CREATE TABLE IF NOT EXISTS computes ("
	" name TEXT PRIMARY KEY, type TEXT NOT NULL, partition TEXT, account TEXT, qos TEXT,"
	" time_limit TEXT, sbatch_args TEXT, description TEXT, updated TEXT);";

/* Columns added after a registry may have been made: each is added when a
 * probe for it fails (SQLite has no ADD COLUMN IF NOT EXISTS). */
static const struct {
	const char *probe, *add;
} migrations[] = {
	{ "SELECT options FROM datastores LIMIT 0", "ALTER TABLE datastores ADD COLUMN options TEXT" },
	{ "SELECT archived FROM data_assets LIMIT 0",
	  "ALTER TABLE data_assets ADD COLUMN archived INTEGER NOT NULL DEFAULT 0" },
};

const char *ferry_ws_home_path(const char *home, struct ferry_strbuf *sb)
{
	if (!home || !*home)
		home = getenv("FERRY_HOME");
	if (home && *home)
		return home;
	const char *h = getenv("HOME");
	if (!h || !*h)
		return NULL;
	ferry_strbuf_reset(sb);
	return ferry_strbuf_addf(sb, "%s/.ferry", h) < 0 ? NULL : sb->buf;
}

/* Open (creating) the registry at `path` and the default datastore's folder
 * `dspath`; ws->db is set even on failure (ferry_ws_close frees it). */
static int ws_init(struct ferry_ws *ws, const char *path, const char *dspath, ferry_err *err)
{
	/* The registry holds job records and data assets: 0600, and so its
	 * journals (SQLite gives them the database file's mode); a registry made
	 * 0644 by an older ferry is fixed here. */
	int dbfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dbfd >= 0) {
		if (fchmod(dbfd, 0600) < 0)
			ferry_warn("cannot make %s private (mode 0600): %s", path, strerror(errno));
		close(dbfd);
	}
	if (sqlite3_open_v2(path, &ws->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		ferry_err_set(err, FERRY_E_IO, "cannot open workspace registry %s: %s", path,
			      ws->db ? sqlite3_errmsg(ws->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(ws->db, 10000);
	char *emsg = NULL;
	if (sqlite3_exec(ws->db, schema, NULL, NULL, &emsg) != SQLITE_OK) {
		ferry_err_set(err, FERRY_E_IO, "workspace registry %s: %s", path,
			      emsg ? emsg : "schema");
		sqlite3_free(emsg);
		return -1;
	}
	/* Older registries gain the columns added since (datastores.options,
	 * data_assets.archived). */
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		if (sqlite3_exec(ws->db, migrations[i].probe, NULL, NULL, NULL) == SQLITE_OK)
			continue;
		if (sqlite3_exec(ws->db, migrations[i].add, NULL, NULL, &emsg) != SQLITE_OK) {
			ferry_err_set(err, FERRY_E_IO, "workspace registry %s: %s", path,
				      emsg ? emsg : "schema");
			sqlite3_free(emsg);
			return -1;
		}
	}
	/* The default datastore: always present, always local. */
	if (ferry_mkdir_p(dspath, 0755, err) < 0)
		return -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db,
			       "INSERT OR IGNORE INTO datastores(name, type, local_path, cred_type,"
			       " description, updated) VALUES(?, 'local', ?, 'none',"
			       " 'default datastore, a folder of the workspace', datetime('now'))",
			       -1, &st, NULL) != SQLITE_OK) {
		db_fail(ws, err, "preparing");
		return -1;
	}
	sqlite3_bind_text(st, 1, DEFAULT_DS, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dspath, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(ws, err, "creating the default datastore");
		return -1;
	}
	return 0;
}

int ferry_ws_open_readonly(const char *home, struct ferry_ws **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_strbuf hb = FERRY_STRBUF_INIT, path = FERRY_STRBUF_INIT;
	struct ferry_ws *ws = NULL;
	int rc = -1;
	if (!(home = ferry_ws_home_path(home, &hb))) {
		rc = hb.failed ? ferry_err_set(err, FERRY_E_IO, "out of memory")
			       : ferry_err_set(err, FERRY_E_INVALID, "no workspace folder: set FERRY_HOME or HOME");
		goto done;
	}
	if (ferry_strbuf_addf(&path, "%s/ferry.db", home) < 0) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	if (access(path.buf, R_OK) < 0) {
		ferry_err_set(err, FERRY_E_NOTFOUND,
			      "no workspace registry at %s (%s): every node must see the workspace folder "
			      "at the same path (a shared filesystem)",
			      path.buf, strerror(errno));
		goto done;
	}
	if (!(ws = calloc(1, sizeof(*ws))) || !(ws->home = strdup(home))) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	if (sqlite3_open_v2(path.buf, &ws->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ferry_err_set(err, FERRY_E_IO, "cannot open workspace registry %s: %s", path.buf,
			      ws->db ? sqlite3_errmsg(ws->db) : "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(ws->db, 10000);
	*out = ws;
	ws = NULL;
	rc = 0;
done:
	ferry_ws_close(ws);
	ferry_strbuf_release(&hb);
	ferry_strbuf_release(&path);
	return rc;
}

int ferry_ws_open(const char *home, struct ferry_ws **out, ferry_err *err)
{
	*out = NULL;
	struct ferry_strbuf hb = FERRY_STRBUF_INIT, path = FERRY_STRBUF_INIT, dspath = FERRY_STRBUF_INIT;
	struct ferry_ws *ws = NULL;
	int rc = -1;
	if (!(home = ferry_ws_home_path(home, &hb))) {
		rc = hb.failed ? ferry_err_set(err, FERRY_E_IO, "out of memory")
			       : ferry_err_set(err, FERRY_E_INVALID, "no workspace folder: set FERRY_HOME or HOME");
		goto done;
	}
	if (ferry_mkdir_p(home, 0755, err) < 0) {
		ferry_err_wrap(err, "opening workspace");
		goto done;
	}
	ferry_strbuf_addf(&path, "%s/ferry.db", home);
	ferry_strbuf_addf(&dspath, "%s/datastores/" DEFAULT_DS, home);
	if (!(ws = calloc(1, sizeof(*ws))) || !(ws->home = strdup(home)) || path.failed || dspath.failed) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	if ((rc = ws_init(ws, path.buf, dspath.buf, err)) == 0) {
		*out = ws;
		ws = NULL;
	}
done:
	ferry_ws_close(ws);
	ferry_strbuf_release(&hb);
	ferry_strbuf_release(&path);
	ferry_strbuf_release(&dspath);
	return rc;
}

void ferry_ws_close(struct ferry_ws *ws)
{
	if (!ws)
		return;
	if (ws->db)
		sqlite3_close(ws->db);
	free(ws->home);
	free(ws);
}

const char *ferry_ws_home(const struct ferry_ws *ws)
{
	return ws->home;
}

sqlite3 *ferry_ws_db(struct ferry_ws *ws)
{
	return ws->db;
}

int ferry_ws_datastore_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 255)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

void ferry_datastore_free(struct ferry_datastore *ds)
{
	if (!ds)
		return;
	free(ds->name);
	free(ds->type);
	free(ds->account);
	free(ds->container);
	free(ds->endpoint);
	free(ds->protocol);
	free(ds->local_path);
	free(ds->cred_type);
	if (ds->secret) {
		explicit_bzero(ds->secret, strlen(ds->secret));
		free(ds->secret);
	}
	free(ds->description);
	free(ds->tags_json);
	free(ds->options_json);
	memset(ds, 0, sizeof(*ds));
}

static void ds_list_free(void *v, size_t n)
{
	ferry_datastore_list_free(v, n);
}

void ferry_datastore_list_free(struct ferry_datastore *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry_datastore_free(&v[i]);
	free(v);
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

#define DS_COLS "name, type, account, container, endpoint, protocol, local_path, cred_type," \
		" description, tags, options"

static void ds_from_row(sqlite3_stmt *st, void *elem)
{
	struct ferry_datastore *ds = elem;
	memset(ds, 0, sizeof(*ds));
	ds->name = col_text(st, 0);
	ds->type = col_text(st, 1);
	ds->account = col_text(st, 2);
	ds->container = col_text(st, 3);
	ds->endpoint = col_text(st, 4);
	ds->protocol = col_text(st, 5);
	ds->local_path = col_text(st, 6);
	ds->cred_type = col_text(st, 7);
	ds->description = col_text(st, 8);
	ds->tags_json = col_text(st, 9);
	ds->options_json = col_text(st, 10);
}

static void secret_path(const struct ferry_ws *ws, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/secrets/%s", ws->home, name);
}

static int secret_read(struct ferry_ws *ws, const char *name, char **out, ferry_err *err)
{
	char path[4400];
	secret_path(ws, name, path, sizeof(path));
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "datastore '%s': its secret file %s cannot be read: %s "
				     "(re-create the datastore)",
				     name, path, strerror(errno));
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!*out)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	return 0;
}

static int secret_write(struct ferry_ws *ws, const char *name, const char *secret,
			ferry_err *err)
{
	char dir[4200], path[4400], tmp[4500];
	snprintf(dir, sizeof(dir), "%s/secrets", ws->home);
	if (ferry_mkdir_p(dir, 0700, err) < 0)
		return -1;
	chmod(dir, 0700);
	secret_path(ws, name, path, sizeof(path));
	if (!secret) {
		if (unlink(path) < 0 && errno != ENOENT)
			return ferry_err_set(err, FERRY_E_IO, "cannot remove %s: %s", path,
					     strerror(errno));
		return 0;
	}
	/* Write under a temporary name created 0600, then rename: the secret is
	 * never readable by others, not even for a moment. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", tmp, strerror(errno));
	fchmod(fd, 0600);
	if (ferry_write_all(fd, secret, strlen(secret)) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return ferry_err_set(err, FERRY_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static void known_names(struct ferry_ws *ws, char *buf, size_t cap)
{
	buf[0] = '\0';
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT name FROM datastores ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	size_t used = 0;
	while (sqlite3_step(st) == SQLITE_ROW && used + 2 < cap) {
		int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
				 (const char *)sqlite3_column_text(st, 0));
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += n;
	}
	sqlite3_finalize(st);
}

int ferry_ws_datastore_get(struct ferry_ws *ws, const char *name, struct ferry_datastore *out,
			   ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT " DS_COLS " FROM datastores WHERE name = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading datastores");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ds_from_row(st, out);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			return db_fail(ws, err, "reading datastores");
		char names[800];
		known_names(ws, names, sizeof(names));
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "datastore '%s' not found (known: %s); create it with "
				     "`ferry datastore create --file DS.yml`",
				     name, names);
	}
	if (out->cred_type && strcmp(out->cred_type, "none") != 0) {
		if (secret_read(ws, name, &out->secret, err) < 0) {
			ferry_datastore_free(out);
			return -1;
		}
		ferry_redact_register(out->secret);
		/* A SAS token is also registered without its leading '?', the
		 * form in which it appears inside URLs. */
		if (out->secret[0] == '?')
			ferry_redact_register(out->secret + 1);
	}
	return 0;
}

int ferry_ws_datastore_put(struct ferry_ws *ws, const struct ferry_datastore *ds,
			   ferry_err *err)
{
	if (!ferry_ws_datastore_name_ok(ds->name))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "datastore name '%s' is not valid: use 1-255 letters, digits, "
				     "'_' or '-'",
				     ds->name ? ds->name : "");
	if (!strcmp(ds->name, DEFAULT_DS))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "datastore '" DEFAULT_DS "' is the workspace's default "
				     "datastore and cannot be replaced; choose another name");
	if (!ds->type || !ds->cred_type)
		return ferry_err_set(err, FERRY_E_INVALID, "datastore '%s': type missing",
				     ds->name);
	const char *cred = ds->secret ? ds->cred_type : "none";
	/* Secret first: a registry row never points at a missing secret. */
	if (secret_write(ws, ds->name, ds->secret, err) < 0)
		return ferry_err_wrap(err, "datastore '%s'", ds->name);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db,
			       "INSERT OR REPLACE INTO datastores(" DS_COLS ", updated)"
			       " VALUES(?,?,?,?,?,?,?,?,?,?,?, datetime('now'))",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "writing datastores");
	const char *vals[] = { ds->name,     ds->type,       ds->account,    ds->container,
			       ds->endpoint, ds->protocol,   ds->local_path, cred,
			       ds->description, ds->tags_json, ds->options_json };
	for (int i = 0; i < 11; i++)
		sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "writing datastores");
	return 0;
}

int ferry_ws_datastore_list(struct ferry_ws *ws, struct ferry_datastore **out, size_t *n,
			    ferry_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT " DS_COLS " FROM datastores ORDER BY name", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading datastores");
	void *v;
	int rc = collect_rows(ws, st, sizeof(**out), ds_from_row, ds_list_free, "reading datastores", &v, n, err);
	*out = v;
	return rc;
}

/* ---- jobs ---- */

#define JOB_COLS "name, display_name, experiment_name, description, status, exit_code," \
		 " start_time, end_time, job_file, folder, azure_json, tags_json," \
		 " inputs_json, outputs_json, bytes_moved"

void ferry_job_record_free(struct ferry_job_record *r)
{
	if (!r)
		return;
	char **s[] = { &r->name,       &r->display_name, &r->experiment_name, &r->description,
		       &r->status,     &r->start_time,   &r->end_time,        &r->job_file,
		       &r->folder,     &r->azure_json,   &r->tags_json,       &r->inputs_json,
		       &r->outputs_json };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(r, 0, sizeof(*r));
}

void ferry_job_record_list_free(struct ferry_job_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry_job_record_free(&v[i]);
	free(v);
}

static void job_list_free(void *v, size_t n)
{
	ferry_job_record_list_free(v, n);
}

/* A text column with secrets masked (records written before they were
 * masked on the way in). */
static char *col_masked(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? ferry_redact_dup((const char *)t) : NULL;
}

static void job_from_row(sqlite3_stmt *st, void *elem)
{
	struct ferry_job_record *r = elem;
	memset(r, 0, sizeof(*r));
	r->name = col_text(st, 0);
	r->display_name = col_text(st, 1);
	r->experiment_name = col_text(st, 2);
	r->description = col_masked(st, 3);
	r->status = col_text(st, 4);
	r->has_exit_code = sqlite3_column_type(st, 5) != SQLITE_NULL;
	r->exit_code = sqlite3_column_int(st, 5);
	r->start_time = col_text(st, 6);
	r->end_time = col_text(st, 7);
	r->job_file = col_text(st, 8);
	r->folder = col_text(st, 9);
	r->azure_json = col_masked(st, 10);
	r->tags_json = col_masked(st, 11);
	r->inputs_json = col_masked(st, 12);
	r->outputs_json = col_masked(st, 13);
	r->bytes_moved = (uint64_t)sqlite3_column_int64(st, 14);
}

int ferry_ws_job_put(struct ferry_ws *ws, const struct ferry_job_record *r, ferry_err *err)
{
	if (!r->name || !r->status)
		return ferry_err_set(err, FERRY_E_INVALID, "job record without name or status");
	sqlite3_stmt *st;
	/* seq keeps the insertion order across updates (list shows oldest first). */
	if (sqlite3_prepare_v2(
		    ws->db,
		    "INSERT INTO jobs(" JOB_COLS ", seq) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		    " (SELECT IFNULL(MAX(seq), 0) + 1 FROM jobs))"
		    " ON CONFLICT(name) DO UPDATE SET display_name=excluded.display_name,"
		    " experiment_name=excluded.experiment_name, description=excluded.description,"
		    " status=excluded.status, exit_code=excluded.exit_code,"
		    " start_time=excluded.start_time, end_time=excluded.end_time,"
		    " job_file=excluded.job_file, folder=excluded.folder,"
		    " azure_json=excluded.azure_json, tags_json=excluded.tags_json,"
		    " inputs_json=excluded.inputs_json, outputs_json=excluded.outputs_json,"
		    " bytes_moved=excluded.bytes_moved",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "writing jobs");
	/* a job record is history: it is stored with secrets masked (a literal
	 * input or a tag holding a SAS), and nothing runs from it */
	const char *t1[] = { r->name, r->display_name, r->experiment_name, r->description,
			     r->status };
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, i + 1, ferry_redact_dup(t1[i]), -1, free);
	if (r->has_exit_code)
		sqlite3_bind_int(st, 6, r->exit_code);
	else
		sqlite3_bind_null(st, 6);
	const char *t2[] = { r->start_time, r->end_time,  r->job_file,   r->folder,
			     r->azure_json, r->tags_json, r->inputs_json, r->outputs_json };
	for (int i = 0; i < 8; i++)
		sqlite3_bind_text(st, i + 7, ferry_redact_dup(t2[i]), -1, free);
	sqlite3_bind_int64(st, 15, (sqlite3_int64)r->bytes_moved);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "writing jobs");
	return 0;
}

int ferry_ws_job_get(struct ferry_ws *ws, const char *name, struct ferry_job_record *out,
		     ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT " JOB_COLS " FROM jobs WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading jobs");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		job_from_row(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "reading jobs");
	return ferry_err_set(err, FERRY_E_NOTFOUND, "job '%s' not found (see `ferry job list`)",
			     name);
}

int ferry_ws_job_exists(struct ferry_ws *ws, const char *name, ferry_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT 1 FROM jobs WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(ws, err, "reading jobs");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(ws, err, "reading jobs");
}

int ferry_ws_job_list(struct ferry_ws *ws, struct ferry_job_record **out, size_t *n,
		      ferry_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT " JOB_COLS " FROM jobs ORDER BY seq, name", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading jobs");
	void *v;
	int rc = collect_rows(ws, st, sizeof(**out), job_from_row, job_list_free, "reading jobs", &v, n, err);
	*out = v;
	return rc;
}

/* ---- data assets ---- */

#define ASSET_COLS "name, version, type, path, description, tags_json, created, job"
/* A version is archived when it is, or when its whole name is. */
#define ASSET_ARCHIVED "(archived OR name IN (SELECT name FROM data_assets_archived))"
#define ASSET_SEL ASSET_COLS ", " ASSET_ARCHIVED

static int asset_chars_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
			return 0;
	}
	return 1;
}

int ferry_ws_asset_name_ok(const char *name)
{
	return asset_chars_ok(name, 255);
}

int ferry_ws_asset_version_ok(const char *version)
{
	return asset_chars_ok(version, 64) && strcmp(version, "latest") != 0;
}

void ferry_data_asset_free(struct ferry_data_asset *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->version);
	free(a->type);
	free(a->path);
	free(a->description);
	free(a->tags_json);
	free(a->created);
	free(a->job);
	memset(a, 0, sizeof(*a));
}

void ferry_data_asset_list_free(struct ferry_data_asset *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry_data_asset_free(&v[i]);
	free(v);
}

static void asset_list_free(void *v, size_t n)
{
	ferry_data_asset_list_free(v, n);
}

static void asset_from_row(sqlite3_stmt *st, void *elem)
{
	struct ferry_data_asset *a = elem;
	memset(a, 0, sizeof(*a));
	a->name = col_text(st, 0);
	a->version = col_text(st, 1);
	a->type = col_text(st, 2);
	a->path = col_text(st, 3);
	a->description = col_text(st, 4);
	a->tags_json = col_text(st, 5);
	a->created = col_text(st, 6);
	a->job = col_text(st, 7);
	a->archived = sqlite3_column_int(st, 8) != 0;
}

/* Run a prepared SELECT of ASSET_COLS into a malloc'd array (finalizes st). */
static int asset_rows(struct ferry_ws *ws, sqlite3_stmt *st, struct ferry_data_asset **out,
		      size_t *n, ferry_err *err)
{
	void *v;
	int rc = collect_rows(ws, st, sizeof(**out), asset_from_row, asset_list_free, "reading data assets", &v, n, err);
	*out = v;
	return rc;
}

/* Comma-separated values of a one-column query with one text parameter. */
static void joined(struct ferry_ws *ws, const char *sql, const char *arg, char *buf, size_t cap)
{
	buf[0] = '\0';
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	size_t used = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
				 (const char *)sqlite3_column_text(st, 0));
		if (w < 0 || (size_t)w >= cap - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	sqlite3_finalize(st);
}

static int exec(struct ferry_ws *ws, const char *sql, ferry_err *err)
{
	if (sqlite3_exec(ws->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(ws, err, sql);
	return 0;
}

int ferry_ws_asset_create(struct ferry_ws *ws, const struct ferry_data_asset *a,
			  char **version_out, ferry_err *err)
{
	if (version_out)
		*version_out = NULL;
	if (!ferry_ws_asset_name_ok(a->name))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset name '%s' is not valid: 1-255 letters, digits, '_', "
				     "'-' or '.', starting with a letter or digit",
				     a->name ? a->name : "");
	if (a->version && !ferry_ws_asset_version_ok(a->version))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s': version '%s' is not valid: 1-64 letters, "
				     "digits, '_', '-' or '.', starting with a letter or digit, not "
				     "'latest'",
				     a->name, a->version);
	if (!a->type || !a->path || !*a->path)
		return ferry_err_set(err, FERRY_E_INVALID, "data asset '%s': type or path missing",
				     a->name);
	if (ferry_redact_holds_secret(a->path) || ferry_redact_holds_secret(a->description) ||
	    ferry_redact_holds_secret(a->tags_json))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s': its path, description or tags hold a secret (a SAS "
				     "signature, a key or a token); register the storage as a datastore "
				     "with credentials and use an azureml://datastores/ path",
				     a->name);
	/* IMMEDIATE takes the write lock now: the next version is read and used
	 * under the same lock, so concurrent creators are serialized (the busy
	 * timeout makes the second one wait). */
	if (exec(ws, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	char version[32];
	const char *v = a->version;
	sqlite3_stmt *st = NULL;
	if (!v) {
		if (sqlite3_prepare_v2(ws->db,
				       "SELECT IFNULL(MAX(CAST(version AS INTEGER)), 0) + 1 FROM data_assets"
				       " WHERE name = ? AND version NOT GLOB '*[^0-9]*'"
				       " AND length(version) < 19",
				       -1, &st, NULL) != SQLITE_OK)
			goto dbfail;
		sqlite3_bind_text(st, 1, a->name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			goto dbfail;
		snprintf(version, sizeof(version), "%lld", (long long)sqlite3_column_int64(st, 0));
		sqlite3_finalize(st);
		st = NULL;
		v = version;
	}
	if (sqlite3_prepare_v2(ws->db,
			       "INSERT INTO data_assets(" ASSET_COLS ", seq) VALUES(?,?,?,?,?,?,"
			       " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?,"
			       " (SELECT IFNULL(MAX(seq), 0) + 1 FROM data_assets))",
			       -1, &st, NULL) != SQLITE_OK)
		goto dbfail;
	const char *vals[] = { a->name, v, a->type, a->path, a->description, a->tags_json };
	for (int i = 0; i < 6; i++)
		sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, a->job, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_CONSTRAINT) {
		exec(ws, "ROLLBACK", NULL);
		char versions[600];
		joined(ws, "SELECT version FROM data_assets WHERE name = ? ORDER BY seq", a->name,
		       versions, sizeof(versions));
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s' version '%s' already exists and versions are "
				     "immutable (existing versions: %s); give a new version, or none "
				     "for the next number",
				     a->name, v, versions);
	}
	if (rc != SQLITE_DONE)
		goto dbfail;
	if (exec(ws, "COMMIT", err) < 0) {
		exec(ws, "ROLLBACK", NULL);
		return -1;
	}
	if (version_out && !(*version_out = strdup(v)))
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	return 0;
dbfail:
	db_fail(ws, err, "writing data assets");
	if (st)
		sqlite3_finalize(st);
	exec(ws, "ROLLBACK", NULL);
	return -1;
}

int ferry_ws_asset_get(struct ferry_ws *ws, const char *name, const char *version,
		       struct ferry_data_asset *out, ferry_err *err)
{
	memset(out, 0, sizeof(*out));
	int latest = !version || !strcmp(version, "latest");
	sqlite3_stmt *st;
	const char *sql = latest ? "SELECT " ASSET_SEL " FROM data_assets WHERE name = ?"
				   " AND NOT " ASSET_ARCHIVED " ORDER BY seq DESC LIMIT 1"
				 : "SELECT " ASSET_SEL " FROM data_assets WHERE name = ? AND version = ?";
	if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading data assets");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (!latest)
		sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		asset_from_row(st, out);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "reading data assets");
	char list[600];
	joined(ws, "SELECT version FROM data_assets WHERE name = ? ORDER BY seq", name, list,
	       sizeof(list));
	if (list[0] && latest)
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "data asset '%s' has no version for @latest: every version is "
				     "archived (versions: %s); name a version (%s:VERSION), or "
				     "`ferry data restore %s`",
				     name, list, name, name);
	if (list[0])
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "data asset '%s' has no version '%s' (versions: %s)", name,
				     version, list);
	joined(ws, "SELECT DISTINCT name FROM data_assets ORDER BY name", NULL, list, sizeof(list));
	return ferry_err_set(err, FERRY_E_NOTFOUND,
			     "data asset '%s' not found (known: %s); create it with `ferry data "
			     "create`",
			     name, list[0] ? list : "none");
}

int ferry_ws_asset_list(struct ferry_ws *ws, const char *name, int include_archived,
			struct ferry_data_asset **out, size_t *n, ferry_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	/* ?1: include archived versions; ?2: the name */
	const char *sql =
		name ? "SELECT " ASSET_SEL " FROM data_assets WHERE name = ?2"
		       " AND (?1 OR NOT " ASSET_ARCHIVED ") ORDER BY seq DESC"
		     : "SELECT " ASSET_SEL " FROM data_assets a WHERE seq ="
		       " (SELECT MAX(seq) FROM data_assets b WHERE b.name = a.name"
		       "  AND (?1 OR NOT (b.archived OR b.name IN"
		       "   (SELECT name FROM data_assets_archived)))) ORDER BY name";
	if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading data assets");
	sqlite3_bind_int(st, 1, include_archived != 0);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	return asset_rows(ws, st, out, n, err);
}

int ferry_ws_asset_set_archived(struct ferry_ws *ws, const char *name, const char *version,
				int archived, ferry_err *err)
{
	char list[600];
	joined(ws, "SELECT version FROM data_assets WHERE name = ? ORDER BY seq", name, list,
	       sizeof(list));
	if (!list[0]) {
		joined(ws, "SELECT DISTINCT name FROM data_assets ORDER BY name", NULL, list,
		       sizeof(list));
		return ferry_err_set(err, FERRY_E_NOTFOUND, "data asset '%s' not found (known: %s)",
				     name, list[0] ? list : "none");
	}
	sqlite3_stmt *st;
	const char *sql;
	if (!version)
		sql = archived ? "INSERT OR IGNORE INTO data_assets_archived(name) VALUES(?1)"
			       : "DELETE FROM data_assets_archived WHERE name = ?1";
	else {
		int whole = 0;
		char one[300];
		joined(ws, "SELECT name FROM data_assets_archived WHERE name = ?", name, one,
		       sizeof(one));
		whole = one[0] != '\0';
		if (!archived && whole)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "data asset '%s' is archived as a whole, so version '%s' "
					     "cannot be restored alone; restore the asset first: "
					     "`ferry data restore %s`",
					     name, version, name);
		sql = "UPDATE data_assets SET archived = ?3 WHERE name = ?1 AND version = ?2";
	}
	if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "writing data assets");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (version) {
		sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, archived != 0);
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(ws, err, "writing data assets");
	if (version && sqlite3_changes(ws->db) == 0)
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "data asset '%s' has no version '%s' (versions: %s)", name,
				     version, list);
	return 0;
}

int ferry_ws_asset_list_by_job(struct ferry_ws *ws, const char *job,
			       struct ferry_data_asset **out, size_t *n, ferry_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db,
			       "SELECT " ASSET_SEL " FROM data_assets WHERE job = ? ORDER BY seq", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(ws, err, "reading data assets");
	sqlite3_bind_text(st, 1, job, -1, SQLITE_TRANSIENT);
	return asset_rows(ws, st, out, n, err);
}
