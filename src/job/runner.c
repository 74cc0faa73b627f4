/*
 * runner.c — a command job from its inputs to its recorded end.
 *
 * The order matters and follows Azure ML's data runtime: every input is
 * materialized before the command starts, outputs are uploaded only after
 * it ended well, downloaded inputs are deleted at the end. All checks that
 * need no data (datastore names) run before the job folder exists, so a
 * job that cannot start leaves nothing behind.
 *
 * The command's output is read through one pipe (stdout and stderr merged,
 * as Azure's std_log.txt merges them) and copied to our stdout and to the
 * log file. The child leads its own process group so that a forwarded
 * SIGINT/SIGTERM reaches everything the shell started.
 */
#include "job/runner.h"
#include "job/amlenv.h"
#include "job/jobclaim.h"
#include "job/sandbox.h"
#include "job/shell.h"
#include "job/workdir.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/settings.h"
#include "core/uri.h"
#include "fs/fs.h"
#include "mltable/mltable.h"
#include "store/azblob.h"
#include "store/httpc.h"
#include "store/resolve.h"
#include "transfer/transfer.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct io_state {
	char *local;        /* INPUT_<n> / OUTPUT_<n> folder, or NULL */
	char *value;        /* what ${{inputs.x}} / ${{outputs.x}} expands to */
	char *uri;          /* input path (resolved) / output URI */
	struct ferry_xfer_result res;
	int done, failed;
	double ms;
	char error[1024];
	pid_t mount_pid;    /* ro_mount, rw_mount: the process serving the mount at `local` */
	char *cache;        /* ro_mount, rw_mount: its cache folder */
	char mount_summary[512]; /* ro_mount, rw_mount: the server's summary line */
	struct ferry_fs_counters mount; /* ro_mount: what the mount did, */
	int have_mount;                 /* … once the server reported it */
	char *asset;        /* input: the asset it came from ("name:version");
	                       output: the asset it was registered as */
};

struct run {
	struct ferry_jobspec *s;
	struct ferry_ctx ctx;
	char *jobdir, *wd;
	FILE *dcap;                 /* data-capability.log */
	struct io_state *in, *out;
	struct ferry_job_record rec;
};

/* The identity storage is reached with, in the runtime log (never a token). */
static void log_identity(const struct ferry_identity *id)
{
	ferry_info("identity: %s%s%s (used for datastores without credentials and Blob URIs without keys)",
		   ferry_identity_name(id->kind), id->client_id[0] ? ", client id " : "", id->client_id);
}

static const char *job_lookup(void *arg, const char *name)
{
	const char *v = ferry_jobspec_env(arg, name);
	return v ? v : getenv(name);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int mkdirs(const char *path, ferry_err *err)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return ferry_err_set(err, FERRY_E_IO, "cannot create folder %s: %s",
						     buf, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void activity(struct run *r, const char *what, const char *io, const char *name,
		     int started, int ok, double ms, const char *error)
{
	if (!r->dcap)
		return;
	char ts[40];
	ferry_log_timestamp(ts, sizeof(ts));
	if (started)
		fprintf(r->dcap, "%s INFO - ActivityStarted, %s (%s '%s')\n", ts, what, io, name);
	else if (ok)
		fprintf(r->dcap,
			"%s INFO - ActivityCompleted: Activity=%s, HowEnded=Success, "
			"Duration=%.2f [ms] (%s '%s')\n",
			ts, what, ms, io, name);
	else
		fprintf(r->dcap,
			"%s ERROR - ActivityCompleted: Activity=%s, HowEnded=Failure, "
			"Duration=%.2f [ms] (%s '%s'), Error=%s\n",
			ts, what, ms, io, name, error ? error : "");
	fflush(r->dcap);
}

/* An input given as a data asset (azureml:<name>:<version> | @latest): look
 * it up, check its type against the input's, and use its storage path from
 * here on (st->uri), so that @latest is read once and every mode — download,
 * ro_mount, direct — sees the same version. direct gets that storage path:
 * the command cannot open an azureml: name itself. Returns 1 when the input
 * is an asset, 0 when not, -1 with err. */
static int resolve_asset_input(struct run *r, const struct ferry_job_input *in,
			       struct io_state *st, ferry_err *err)
{
	struct ferry_uri u;
	if (ferry_uri_parse(in->path, &u, err) < 0)
		return ferry_err_wrap(err, "input '%s'", in->name);
	if (u.kind == FERRY_URI_JOB) { /* an earlier job's output, checked before anything runs */
		int jrc = ferry_ws_job_output_uri(r->ctx.ws, u.job, u.job_output, u.path, u.trailing_slash,
						  &st->uri, err);
		ferry_uri_free(&u);
		if (jrc == 0)
			ferry_info("input '%s': %s is at %s", in->name, in->path, st->uri);
		return jrc < 0 ? ferry_err_wrap(err, "input '%s'", in->name) : 1;
	}
	if (u.kind != FERRY_URI_ASSET) {
		ferry_uri_free(&u);
		return 0;
	}
	struct ferry_data_asset a;
	int rc = ferry_ws_asset_get(r->ctx.ws, u.asset_name, u.asset_version, &a, err);
	ferry_uri_free(&u);
	if (rc < 0)
		return ferry_err_wrap(err, "input '%s'", in->name);
	const char *declared = in->type_name ? in->type_name : ferry_io_type_name(in->type);
	if (strcmp(a.type, declared) != 0)
		rc = ferry_err_set(err, FERRY_E_INVALID,
				   "input '%s': data asset %s:%s is of type %s, but the input is "
				   "declared type %s (declare type: %s)",
				   in->name, a.name, a.version, a.type, declared, a.type);
	else if (asprintf(&st->asset, "%s:%s", a.name, a.version) < 0 ||
		 !(st->uri = strdup(a.path))) {
		st->asset = NULL;
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	} else {
		ferry_info("input '%s': %s is data asset %s:%s at %s", in->name, in->path, a.name,
			   a.version, a.path);
		rc = 1;
	}
	ferry_data_asset_free(&a);
	return rc;
}

/* Every datastore an input or output names must exist before anything runs. */
static int check_datastores(struct run *r, ferry_err *err)
{
	for (size_t k = 0; k < r->s->n_inputs + r->s->n_outputs; k++) {
		char *uri = NULL;
		if (k < r->s->n_inputs) {
			const struct ferry_job_input *in = &r->s->inputs[k];
			if (in->literal || !in->path)
				continue;
			int arc = resolve_asset_input(r, in, &r->in[k], err);
			if (arc < 0)
				return -1;
			if (in->mode == FERRY_MODE_DIRECT)
				continue;
			uri = strdup(arc ? r->in[k].uri : in->path);
		} else if (ferry_jobspec_output_uri(r->s, k - r->s->n_inputs, &uri, err) < 0)
			return -1;
		if (!uri)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		struct ferry_uri u;
		int rc = ferry_uri_parse(uri, &u, err);
		free(uri);
		if (rc < 0)
			return -1;
		if (u.kind == FERRY_URI_DATASTORE) {
			struct ferry_datastore ds;
			const char *io = k < r->s->n_inputs ? "input" : "output";
			const char *nm = k < r->s->n_inputs ? r->s->inputs[k].name
							   : r->s->outputs[k - r->s->n_inputs].name;
			if (ferry_ws_datastore_get(r->ctx.ws, u.datastore, &ds, err) < 0) {
				ferry_uri_free(&u);
				return ferry_err_wrap(err, "%s '%s'", io, nm);
			}
			ferry_datastore_free(&ds);
		}
		ferry_uri_free(&u);
	}
	/* An output registered with an explicit version must be a new version. */
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct ferry_data_asset a;
		if (!o->asset_name || !o->asset_version)
			continue;
		/* A not-found here is the good case: it must not stay in err. */
		ferry_err e;
		ferry_err_clear(&e);
		int got = ferry_ws_asset_get(r->ctx.ws, o->asset_name, o->asset_version, &a, &e);
		if (got < 0 && e.code != FERRY_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		if (got == 0) {
			ferry_data_asset_free(&a);
			return ferry_err_set(err, FERRY_E_INVALID,
					     "output '%s': data asset '%s' version '%s' already exists "
					     "and versions are immutable; give another version, or none "
					     "for the next number",
					     o->name, o->asset_name, o->asset_version);
		}
	}
	return 0;
}

/* ro_mount: mount the input's folder (a uri_file's parent folder) read-only
 * at wd/INPUT_<name>, served by a child process that dies with us. */
static int mount_input(struct run *r, const struct ferry_job_input *in, struct io_state *st,
		       ferry_err *err)
{
	if (asprintf(&st->local, "%s/INPUT_%s", r->wd, in->name) < 0) {
		st->local = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (asprintf(&st->cache, "%s/cap/data-capability/cache/%s", r->jobdir, in->name) < 0) {
		st->cache = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (mkdirs(st->local, err) < 0)
		return -1;
	char parent[4400];
	snprintf(parent, sizeof(parent), "%s/cap/data-capability/cache", r->jobdir);
	if (mkdirs(parent, err) < 0)
		return -1;
	activity(r, "mount", "input", in->name, 1, 0, 0, NULL);
	double t0 = now_ms();
	struct ferry_store *store = NULL;
	char *path = NULL;
	struct ferry_entry e = { 0 };
	int rc = ferry_resolve(&r->ctx, st->uri, 0, &store, &path, NULL, err);
	if (rc == 0)
		rc = ferry_store_stat(store, path, &e, err);
	const char *base = NULL;
	if (rc == 0 && !e.is_dir && in->type == FERRY_IO_URI_FOLDER)
		rc = ferry_err_set(err, FERRY_E_INVALID,
				   "%s names a file, but the input is of type uri_folder (use type: uri_file)",
				   st->uri);
	else if (rc == 0 && e.is_dir && in->type == FERRY_IO_URI_FILE)
		rc = ferry_err_set(err, FERRY_E_INVALID,
				   "%s names a folder, but the input is of type uri_file (use type: uri_folder)",
				   st->uri);
	else if (rc == 0 && !e.is_dir) {
		/* A file: mount its folder, the command gets the file inside. */
		char *slash = strrchr(path, '/');
		base = slash ? slash + 1 : path;
		if (slash)
			*slash = '\0';
	}
	ferry_entry_clear(&e);
	if (rc == 0) {
		ferry_info("input '%s': mounting %s read-only at %s", in->name, st->uri, st->local);
		char summary[4400];
		snprintf(summary, sizeof(summary), "%s.summary", st->cache);
		rc = ferry_mount_spawn(store, base && base == path ? "" : path, &r->ctx.settings,
				       &r->ctx.stats, st->local, st->cache, ferry_ws_home(r->ctx.ws), 1, summary,
				       &st->mount_pid, err);
	}
	if (rc == 0) {
		if (base && asprintf(&st->value, "%s/%s", st->local, base) < 0)
			st->value = NULL;
		else if (!base)
			st->value = strdup(st->local);
		if (!st->value)
			rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	free(path);
	ferry_store_destroy(store);
	st->ms = now_ms() - t0;
	if (rc < 0) {
		st->failed = 1;
		snprintf(st->error, sizeof(st->error), "%s", err->msg);
		activity(r, "mount", "input", in->name, 0, 0, st->ms, err->msg);
		return ferry_err_wrap(err, "input '%s'", in->name);
	}
	st->done = 1;
	activity(r, "mount", "input", in->name, 0, 1, st->ms, NULL);
	return 0;
}

/* The lines after the summary line (ferry_mount_serve): NAME=VALUE counters
 * into st->mount, and "NOT UPLOADED <path>" (rw mounts), each logged and
 * listed in `list` ("'a', 'b'", "..." when cut). Returns how many were not uploaded. */
static size_t read_mount_counters(FILE *f, struct io_state *st, const char *kind, const char *name, char *list,
				  size_t cap)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "opens", offsetof(struct ferry_fs_counters, opens) },
		{ "bytes_read", offsetof(struct ferry_fs_counters, bytes_read) },
		{ "cache_hits", offsetof(struct ferry_fs_counters, cache_hits) },
		{ "cache_misses", offsetof(struct ferry_fs_counters, cache_misses) },
		{ "storage_bytes", offsetof(struct ferry_fs_counters, storage_bytes) },
		{ "requests", offsetof(struct ferry_fs_counters, requests) },
		{ "retries", offsetof(struct ferry_fs_counters, retries) },
		{ "read_errors", offsetof(struct ferry_fs_counters, read_errors) },
		{ "storage_wait_us", offsetof(struct ferry_fs_counters, wait_us) },
	};
	char line[4400];
	size_t missing = 0, at = 0;
	if (cap)
		list[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "NOT UPLOADED ", 13)) {
			ferry_log(FERRY_LOG_ERROR, "%s '%s': '%s' was written but is not in storage", kind, name,
				  line + 13);
			if (at < cap)
				at += (size_t)snprintf(list + at, cap - at, "%s'%s'", missing ? ", " : "", line + 13);
			if (at >= cap && cap > 4)
				memcpy(list + cap - 4, "...", 4);
			missing++;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(line, fields[i].name)) {
				*(uint64_t *)((char *)&st->mount + fields[i].off) = strtoull(eq + 1, NULL, 10);
				st->have_mount = 1;
			}
	}
	return missing;
}

/* Stop the process serving st->local (bounded by
 * DATASET_UNMOUNT_TIMEOUT_SECONDS) and read the summary file it wrote on its
 * way out (ferry_mount_serve) into st; `e` gets the stop's error, if any
 * (it is logged). Returns 1 when that file was there
 * (*missing: files not uploaded, named in `list`), 0 when it was not (the
 * server did not finish). */
static int stop_mount(struct run *r, struct io_state *st, const char *kind, const char *name, double *t0,
		      ferry_err *e, size_t *missing, char *list, size_t cap)
{
	int64_t t = ferry_setting_int(&r->ctx.settings, FS_UNMOUNT_TIMEOUT);
	activity(r, "unmount", kind, name, 1, 0, 0, NULL);
	*t0 = now_ms();
	ferry_err_clear(e);
	if (ferry_mount_stop(st->mount_pid, st->local, t < 0 ? 30 : (unsigned)t, e) < 0)
		ferry_warn("%s '%s': %s", kind, name, e->msg);
	st->mount_pid = 0;
	*missing = 0;
	if (!st->cache)
		return 0;
	char summary[4400];
	snprintf(summary, sizeof(summary), "%s.summary", st->cache);
	FILE *f = fopen(summary, "re");
	if (!f)
		return 0;
	if (fgets(st->mount_summary, sizeof(st->mount_summary), f))
		st->mount_summary[strcspn(st->mount_summary, "\n")] = '\0';
	*missing = read_mount_counters(f, st, kind, name, list, cap);
	fclose(f);
	unlink(summary);
	return 1;
}

/* Unmount every ro_mount input (also after a failure or a signal), each
 * bounded by DATASET_UNMOUNT_TIMEOUT_SECONDS. */
static void unmount_inputs(struct run *r)
{
	for (size_t i = 0; r->in && i < r->s->n_inputs; i++) {
		struct io_state *st = &r->in[i];
		if (st->mount_pid <= 0)
			continue;
		const char *name = r->s->inputs[i].name;
		double t0;
		size_t missing;
		char none[1];
		ferry_err e;
		stop_mount(r, st, "input", name, &t0, &e, &missing, none, sizeof(none));
		if (!e.msg[0])
			ferry_info("input '%s': unmounted %s", name, st->local);
		activity(r, "unmount", "input", name, 0, !e.msg[0], now_ms() - t0, e.msg[0] ? e.msg : NULL);
		if (st->cache)
			rm_rf(st->cache);
	}
}

/* eval_mount / eval_download (type mltable): evaluate the MLTable and mount
 * or download the files it names at wd/INPUT_<name>, laid out as
 * <account>/<container>/<path> (mltable.h); the command gets that folder. */
static int eval_input(struct run *r, const struct ferry_job_input *in, struct io_state *st, ferry_err *err)
{
	int mount = in->mode == FERRY_MODE_EVAL_MOUNT;
	const char *what = mount ? "mount" : "download";
	if (asprintf(&st->local, "%s/INPUT_%s", r->wd, in->name) < 0) {
		st->local = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	char summary[4400];
	if (mount) {
		if (asprintf(&st->cache, "%s/cap/data-capability/cache/%s", r->jobdir, in->name) < 0) {
			st->cache = NULL;
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		snprintf(summary, sizeof(summary), "%s/cap/data-capability/cache", r->jobdir);
		if (mkdirs(st->local, err) < 0 || mkdirs(summary, err) < 0)
			return -1;
		snprintf(summary, sizeof(summary), "%s.summary", st->cache);
	}
	activity(r, what, "input", in->name, 1, 0, 0, NULL);
	double t0 = now_ms();
	struct ferry_store *store = NULL;
	size_t n = 0;
	int rc = ferry_mltable_fileset(&r->ctx, st->uri, &store, &n, err);
	if (rc == 0) {
		ferry_info("input '%s': %s the %zu files MLTable %s evaluates to at %s", in->name,
			   mount ? "mounting" : "downloading", n, st->uri, st->local);
		if (mount)
			rc = ferry_mount_spawn(store, "", &r->ctx.settings, &r->ctx.stats, st->local, st->cache,
					       ferry_ws_home(r->ctx.ws), 1, summary, &st->mount_pid, err);
		else
			rc = ferry_download_store(&r->ctx, store, "", 1, st->uri, st->local, &st->res, NULL, err);
	}
	ferry_store_destroy(store);
	st->ms = now_ms() - t0;
	if (rc == 0 && !(st->value = strdup(st->local)))
		rc = ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (rc < 0) {
		st->failed = 1;
		snprintf(st->error, sizeof(st->error), "%s", err->msg);
		activity(r, what, "input", in->name, 0, 0, st->ms, err->msg);
		return ferry_err_wrap(err, "input '%s'", in->name);
	}
	st->done = 1;
	activity(r, what, "input", in->name, 0, 1, st->ms, NULL);
	return 0;
}

static int do_inputs(struct run *r, ferry_err *err)
{
	for (size_t i = 0; i < r->s->n_inputs; i++) {
		const struct ferry_job_input *in = &r->s->inputs[i];
		struct io_state *st = &r->in[i];
		if (in->literal) {
			st->value = strdup(in->value);
			continue;
		}
		if (!in->path)
			continue; /* absent optional input */
		if (!st->uri) /* else a data asset's path (resolve_asset_input) */
			st->uri = ferry_jobspec_input_path(r->s, in);
		if (!st->uri)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (in->mode == FERRY_MODE_DIRECT) {
			st->value = strdup(st->uri);
			ferry_info("input '%s': direct, the command gets %s", in->name, st->value);
			continue;
		}
		if (in->mode == FERRY_MODE_EVAL_MOUNT || in->mode == FERRY_MODE_EVAL_DOWNLOAD) {
			if (eval_input(r, in, st, err) < 0)
				return -1;
			continue;
		}
		if (in->mode == FERRY_MODE_RO_MOUNT) {
			if (mount_input(r, in, st, err) < 0)
				return -1;
			continue;
		}
		/* download */
		if (asprintf(&st->local, "%s/INPUT_%s", r->wd, in->name) < 0) {
			st->local = NULL;
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		activity(r, "download", "input", in->name, 1, 0, 0, NULL);
		ferry_info("input '%s': downloading %s to %s", in->name, st->uri, st->local);
		double t0 = now_ms();
		char *single = NULL;
		int rc = ferry_download(&r->ctx, st->uri, st->local, &st->res, &single, err);
		st->ms = now_ms() - t0;
		if (rc == 0 && in->type == FERRY_IO_URI_FILE && !single) {
			rc = ferry_err_set(err, FERRY_E_INVALID,
					   "%s names a folder, but the input is of type uri_file "
					   "(use type: uri_folder)",
					   st->uri);
		}
		if (rc < 0) {
			free(single);
			st->failed = 1;
			snprintf(st->error, sizeof(st->error), "%s", err->msg);
			activity(r, "download", "input", in->name, 0, 0, st->ms, err->msg);
			return ferry_err_wrap(err, "input '%s'", in->name);
		}
		st->done = 1;
		activity(r, "download", "input", in->name, 0, 1, st->ms, NULL);
		if (in->type == FERRY_IO_URI_FILE)
			st->value = single;
		else {
			free(single);
			st->value = strdup(st->local);
		}
		if (!st->value)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	return 0;
}

/* An rw_mount output: a read-write mount of the output's folder (of the
 * file's folder for uri_file) at OUTPUT_<name>, served by a child process
 * like ro_mount inputs. */
static int mount_output(struct run *r, const struct ferry_job_output *o, struct io_state *st, ferry_err *err)
{
	char parent[4400];
	snprintf(parent, sizeof(parent), "%s/cap/data-capability/cache", r->jobdir);
	if (asprintf(&st->cache, "%s/OUTPUT_%s", parent, o->name) < 0) {
		st->cache = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (mkdirs(parent, err) < 0)
		return -1;
	activity(r, "mount", "output", o->name, 1, 0, 0, NULL);
	double t0 = now_ms();
	struct ferry_store *store = NULL;
	char *path = NULL;
	int rc = ferry_resolve(&r->ctx, st->uri, 1, &store, &path, NULL, err);
	if (rc == 0 && !strcmp(store->ops->kind, "azblob")) {
		ferry_err ignore; /* as uploads do: create the container on first write */
		if (ferry_azblob_create_container(store, &ignore) < 0)
			ferry_debug("creating the container: %s", ignore.msg);
	}
	if (rc == 0 && o->type == FERRY_IO_URI_FILE) {
		char *slash = strrchr(path, '/');
		if (slash)
			*slash = '\0';
		else
			path[0] = '\0';
	}
	if (rc == 0) {
		ferry_info("output '%s': mounting %s read-write at %s", o->name, st->uri, st->local);
		char summary[4400];
		snprintf(summary, sizeof(summary), "%s.summary", st->cache);
		unlink(summary);
		rc = ferry_mount_spawn_rw(store, path, &r->ctx.settings, &r->ctx.stats, st->local, st->cache,
					  ferry_ws_home(r->ctx.ws), 1, summary, &st->mount_pid, err);
	}
	free(path);
	ferry_store_destroy(store);
	st->ms = now_ms() - t0;
	if (rc < 0) {
		st->failed = 1;
		snprintf(st->error, sizeof(st->error), "%s", err->msg);
		activity(r, "mount", "output", o->name, 0, 0, st->ms, err->msg);
		return ferry_err_wrap(err, "output '%s'", o->name);
	}
	activity(r, "mount", "output", o->name, 0, 1, st->ms, NULL);
	return 0;
}

/* 1 when storage has no file at a uri_file output's path (as upload mode,
 * an output the command did not write fails the job). */
static int uri_file_missing(struct run *r, const char *uri)
{
	struct ferry_store *store = NULL;
	char *path = NULL;
	struct ferry_entry e = { 0 };
	ferry_err err;
	ferry_err_clear(&err);
	int rc = ferry_resolve(&r->ctx, uri, 1, &store, &path, NULL, &err);
	if (rc == 0)
		rc = ferry_store_stat(store, path, &e, &err);
	int missing = rc < 0 ? err.code == FERRY_E_NOTFOUND : e.is_dir;
	ferry_entry_clear(&e);
	free(path);
	ferry_store_destroy(store);
	return missing;
}

/* Unmount every rw_mount output, each bounded by
 * DATASET_UNMOUNT_TIMEOUT_SECONDS: the server uploads what is still pending
 * and writes its summary file, which names every file that did not land. An
 * output is done only when that file says nothing is missing. */
static void unmount_outputs(struct run *r)
{
	int64_t t = ferry_setting_int(&r->ctx.settings, FS_UNMOUNT_TIMEOUT);
	for (size_t i = 0; r->out && i < r->s->n_outputs; i++) {
		struct io_state *st = &r->out[i];
		if (st->mount_pid <= 0)
			continue;
		const char *name = r->s->outputs[i].name;
		double t0;
		size_t missing;
		char list[700];
		ferry_err e;
		int f = stop_mount(r, st, "output", name, &t0, &e, &missing, list, sizeof(list));
		if (!f)
			snprintf(st->error, sizeof(st->error),
				 "the mount did not finish uploading within %lld s (DATASET_UNMOUNT_TIMEOUT_SECONDS); "
				 "files written may be missing from storage",
				 (long long)(t < 0 ? 30 : t));
		else if (missing)
			snprintf(st->error, sizeof(st->error),
				 "%zu file%s written but not in storage: %s (what was written is kept in %s.not-uploaded)",
				 missing, missing == 1 ? "" : "s", list, st->cache);
		if (f && !missing && r->s->outputs[i].type == FERRY_IO_URI_FILE && uri_file_missing(r, st->uri))
			snprintf(st->error, sizeof(st->error), "the command did not write %s (output of type uri_file)",
				 st->value);
		st->failed = !f || missing || st->error[0] != '\0';
		st->done = !st->failed;
		if (st->failed)
			ferry_log(FERRY_LOG_ERROR, "output '%s': %s", name, st->error);
		else
			ferry_info("output '%s': unmounted %s, everything written is in storage", name, st->local);
		activity(r, "unmount", "output", name, 0, !st->failed, now_ms() - t0, st->failed ? st->error : NULL);
		rm_rf(st->cache);
		rmdir(st->local);
	}
}

static int prepare_outputs(struct run *r, ferry_err *err)
{
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (ferry_jobspec_output_uri(r->s, i, &st->uri, err) < 0)
			return -1;
		if (asprintf(&st->local, "%s/OUTPUT_%s", r->wd, o->name) < 0) {
			st->local = NULL;
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		if (mkdirs(st->local, err) < 0)
			return -1;
		if (o->type == FERRY_IO_URI_FILE) {
			size_t n = strlen(st->uri);
			while (n > 0 && st->uri[n - 1] == '/')
				n--;
			size_t b = n;
			while (b > 0 && st->uri[b - 1] != '/')
				b--;
			if (asprintf(&st->value, "%s/%.*s", st->local, (int)(n - b), st->uri + b) < 0)
				st->value = NULL;
		} else
			st->value = strdup(st->local);
		if (!st->value)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (o->mode == FERRY_MODE_RW_MOUNT && mount_output(r, o, st, err) < 0)
			return -1;
	}
	return 0;
}

static int finish_outputs(struct run *r, ferry_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (o->mode == FERRY_MODE_RW_MOUNT) { /* landed while mounted: see unmount_outputs */
			if (st->failed && rc == 0) {
				ferry_err_set(err, FERRY_E_IO, "output '%s' (rw_mount to %s): %s", o->name, st->uri,
					      st->error);
				rc = -1;
			} else if (st->failed)
				rc = -1;
			continue;
		}
		ferry_err e;
		ferry_err_clear(&e);
		activity(r, "upload", "output", o->name, 1, 0, 0, NULL);
		double t0 = now_ms();
		struct stat sb;
		int orc;
		if (o->type == FERRY_IO_URI_FILE && stat(st->value, &sb) < 0)
			orc = ferry_err_set(&e, FERRY_E_NOTFOUND,
					    "the command did not write %s (output of type uri_file)",
					    st->value);
		else {
			ferry_info("output '%s': uploading %s to %s", o->name, st->value, st->uri);
			orc = ferry_upload(&r->ctx, st->value, st->uri, &st->res, &e);
		}
		st->ms = now_ms() - t0;
		if (orc < 0) {
			st->failed = 1;
			snprintf(st->error, sizeof(st->error), "%s", e.msg);
			activity(r, "upload", "output", o->name, 0, 0, st->ms, e.msg);
			if (rc == 0) {
				*err = e;
				ferry_err_wrap(err, "output '%s' (kept in %s)", o->name, st->local);
			}
			rc = -1;
			continue;
		}
		st->done = 1;
		activity(r, "upload", "output", o->name, 0, 1, st->ms, NULL);
		rm_rf(st->local);
	}
	return rc;
}

/* Outputs with `name` become data assets once every output has landed,
 * pointing at the output's URI; no `version` means the next free number.
 * A version taken since the pre-run check (another job) fails the job. */
static int register_outputs(struct run *r, ferry_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (!o->asset_name || !st->done)
			continue;
		struct ferry_data_asset a = { .name = o->asset_name, .version = o->asset_version,
					      .type = o->type_name ? o->type_name : (char *)ferry_io_type_name(o->type),
					      .path = st->uri, .description = o->description,
					      .job = r->s->name };
		char *version = NULL;
		ferry_err e;
		ferry_err_clear(&e);
		if (ferry_ws_asset_create(r->ctx.ws, &a, &version, &e) < 0) {
			snprintf(st->error, sizeof(st->error), "%s", e.msg);
			if (rc == 0) {
				*err = e;
				ferry_err_wrap(err, "output '%s' landed in %s but was not registered",
					       o->name, st->uri);
			}
			rc = -1;
			continue;
		}
		if (asprintf(&st->asset, "%s:%s", o->asset_name, version) < 0)
			st->asset = NULL;
		ferry_info("output '%s': registered as data asset %s:%s (%s)", o->name, o->asset_name,
			   version, st->uri);
		free(version);
	}
	return rc;
}

/* ---- the command ---- */

static volatile sig_atomic_t child_pgid;
static volatile sig_atomic_t got_signal;

static void forward_signal(int sig)
{
	got_signal = sig;
	if (child_pgid > 0)
		kill(-(pid_t)child_pgid, sig);
}

/* Variables that carry storage credentials (core/proc.h), and FERRY_HOME
 * (the way to the workspace's secrets): never passed to the command. */
static int is_secret_var(const char *kv, size_t keylen)
{
	return ferry_secret_env(kv, keylen) || (keylen == 10 && !strncmp(kv, "FERRY_HOME", 10));
}

/* ferry's environment minus credentials and minus what the job overrides,
 * plus the job's variables and the run's identity. */
static char **build_env(struct run *r)
{
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = calloc(n + r->s->n_env + 4, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t kl = eq ? (size_t)(eq - *e) : strlen(*e);
		if (is_secret_var(*e, kl) || (kl == 14 && !strncmp(*e, "AZUREML_RUN_ID", 14)) ||
		    (kl == 14 && !strncmp(*e, "FERRY_JOB_NAME", 14)))
			continue;
		int overridden = 0;
		for (size_t j = 0; j < r->s->n_env; j++)
			if (strlen(r->s->env[j].key) == kl && !strncmp(*e, r->s->env[j].key, kl))
				overridden = 1;
		if (!overridden && !(env[k++] = strdup(*e)))
			goto oom;
	}
	for (size_t j = 0; j < r->s->n_env; j++) {
		const char *key = r->s->env[j].key;
		if (is_secret_var(key, strlen(key))) {
			ferry_warn("environment variable %s is not passed to the command: the "
				   "command never sees storage credentials",
				   key);
			continue;
		}
		if (asprintf(&env[k], "%s=%s", key, r->s->env[j].value) < 0) {
			env[k] = NULL;
			goto oom;
		}
		k++;
	}
	if (asprintf(&env[k], "AZUREML_RUN_ID=%s", r->s->name) < 0) {
		env[k] = NULL;
		goto oom;
	}
	k++;
	if (asprintf(&env[k], "FERRY_JOB_NAME=%s", r->s->name) < 0) {
		env[k] = NULL;
		goto oom;
	}
	return env;
oom:
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Run `cmd`; returns 0 with *status = exit code (128+N for signal N), or -1. */
static int run_command(struct run *r, const char *cmd, const char *stdlog, int *status,
		       ferry_err *err)
{
	int logfd = open(stdlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", stdlog, strerror(errno));
	char **env = build_env(r);
	if (!env) {
		close(logfd);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;
		close(logfd);
		for (size_t i = 0; env[i]; i++)
			free(env[i]);
		free(env);
		return ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(e));
	}
	struct sigaction sa = { 0 }, old_int, old_term, old_hup, old_pipe;
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	child_pgid = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	struct sigaction ign = { 0 };
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old_pipe);

	const char *shell = ferry_job_shell();
	char *argv[] = { strrchr(shell, '/') + 1, "-c", (char *)cmd, NULL };
	struct ferry_sandbox sb;
	ferry_sandbox_prepare(&sb, ferry_ws_home(r->ctx.ws));
	pid_t pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only until execve. */
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (chdir(r->s->code) < 0)
			_exit(126);
		ferry_sandbox_child(&sb);
		execve(shell, argv, env);
		_exit(127);
	}
	int fork_errno = errno;
	ferry_sandbox_parent(&sb, pid);
	close(p[1]);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	if (pid < 0) {
		close(p[0]);
		close(logfd);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGPIPE, &old_pipe, NULL);
		return ferry_err_set(err, FERRY_E_IO, "fork: %s", strerror(fork_errno));
	}
	setpgid(pid, pid);
	child_pgid = pid;
	if (got_signal)
		kill(-pid, got_signal);

	double deadline = r->s->timeout_s > 0 ? now_ms() + r->s->timeout_s * 1000.0 : 0;
	int timed_out = 0, exited = 0, wstatus = 0;
	double exited_at = 0, kill_at = 0;
	char buf[65536];
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int pr = poll(&pfd, 1, 200);
		if (pr > 0) {
			ssize_t n = read(p[0], buf, sizeof(buf));
			if (n > 0) {
				write_all(1, buf, (size_t)n);
				write_all(logfd, buf, (size_t)n);
				continue;
			}
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break; /* EOF: every writer is gone */
		}
		double t = now_ms();
		if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid) {
			exited = 1;
			exited_at = t;
		}
		/* A background process of the command may hold the pipe open:
		 * once the shell is gone, stop reading after a short grace. */
		if (exited && t - exited_at > 500)
			break;
		if (!exited && deadline > 0 && t > deadline && !timed_out) {
			timed_out = 1;
			ferry_warn("job %s: limits.timeout of %ld s reached; stopping the command",
				   r->s->name, r->s->timeout_s);
			kill(-pid, SIGTERM);
			kill_at = t + 10000;
		}
		if (timed_out && !exited && t > kill_at)
			kill(-pid, SIGKILL);
	}
	close(p[0]);
	if (!exited)
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	child_pgid = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(logfd);
	if (WIFEXITED(wstatus))
		*status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		*status = 128 + WTERMSIG(wstatus);
	else
		*status = 1;
	if (timed_out)
		ferry_info("command stopped after limits.timeout (%ld s)", r->s->timeout_s);
	if (got_signal)
		ferry_info("signal %d forwarded to the command", (int)got_signal);
	return 0;
}

/* ---- record and summary ---- */

/* After a failed or canceled command, what truly became of each output (as
 * on Azure ML, upload outputs are not uploaded; an rw_mount output's files
 * closed before the end were written through to storage). */
static void outputs_not_finished(struct run *r, const char *why)
{
	ferry_info("%s: outputs are not uploaded (as on Azure ML)", why);
	fprintf(stderr, "ferry: %s: outputs not uploaded (as on Azure ML):\n", why);
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (o->mode == FERRY_MODE_RW_MOUNT && st->done)
			fprintf(stderr, "  output '%s' (rw_mount): the files the command closed are already "
				"in storage at %s\n", o->name, st->uri);
		else if (o->mode == FERRY_MODE_RW_MOUNT)
			fprintf(stderr, "  output '%s' (rw_mount): %s\n", o->name,
				st->error[0] ? st->error : "not mounted");
		else
			fprintf(stderr, "  output '%s' (%s): what the command wrote is kept in %s\n", o->name,
				ferry_io_mode_name(o->mode), st->local ? st->local : r->wd);
	}
}

/* An ro_mount input's SPEC §7 figures: bytes read, cache hit rate, time
 * waiting for storage (and what explains them). */
static json_t *mount_json(const struct ferry_fs_counters *c)
{
	uint64_t lookups = c->cache_hits + c->cache_misses;
	return json_pack("{s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:f}", "opens", (json_int_t)c->opens,
			 "bytes_read", (json_int_t)c->bytes_read, "cache_hits", (json_int_t)c->cache_hits,
			 "cache_misses", (json_int_t)c->cache_misses, "cache_hit_rate",
			 lookups ? (double)c->cache_hits / (double)lookups : 0.0, "storage_bytes",
			 (json_int_t)c->storage_bytes, "requests", (json_int_t)c->requests, "retries",
			 (json_int_t)c->retries, "read_errors", (json_int_t)c->read_errors,
			 "storage_wait_seconds", (double)c->wait_us / 1e6);
}

static char *io_json(struct run *r, int outputs)
{
	json_t *a = json_array();
	size_t n = outputs ? r->s->n_outputs : r->s->n_inputs;
	for (size_t i = 0; a && i < n; i++) {
		struct io_state *st = outputs ? &r->out[i] : &r->in[i];
		json_t *o = json_object();
		if (!o)
			break;
		if (outputs) {
			const struct ferry_job_output *x = &r->s->outputs[i];
			json_object_set_new(o, "name", json_string(x->name));
			json_object_set_new(o, "type", json_string(ferry_io_type_name(x->type)));
			json_object_set_new(o, "mode", json_string(ferry_io_mode_name(x->mode)));
			if (x->asset_name)
				json_object_set_new(o, "asset_name", json_string(x->asset_name));
		} else {
			const struct ferry_job_input *x = &r->s->inputs[i];
			json_object_set_new(o, "name", json_string(x->name));
			if (x->literal) {
				json_object_set_new(o, "literal", json_string(x->value));
				json_array_append_new(a, o);
				continue;
			}
			json_object_set_new(o, "type", json_string(ferry_io_type_name(x->type)));
			json_object_set_new(o, "mode", json_string(ferry_io_mode_name(x->mode)));
		}
		if (st->uri)
			json_object_set_new(o, outputs ? "uri" : "path", json_string(st->uri));
		if (st->asset)
			json_object_set_new(o, "asset", json_string(st->asset));
		json_object_set_new(o, "status",
				    json_string(st->failed ? "Failed" : st->done ? "Completed" : "NotRun"));
		json_object_set_new(o, "bytes", json_integer((json_int_t)(st->res.bytes + st->mount.storage_bytes)));
		json_object_set_new(o, "files", json_integer((json_int_t)st->res.files));
		json_object_set_new(o, "seconds", json_real(st->ms / 1000.0));
		if (st->error[0])
			json_object_set_new(o, "error", json_string(st->error));
		if (st->have_mount)
			json_object_set_new(o, "mount", mount_json(&st->mount));
		json_array_append_new(a, o);
	}
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static void record(struct run *r, const char *status, int has_code, int code)
{
	char ts[40];
	struct ferry_job_record *rec = &r->rec;
	free(rec->status);
	rec->status = strdup(status);
	rec->has_exit_code = has_code;
	rec->exit_code = code;
	if (strcmp(status, "Running") != 0) {
		ferry_log_timestamp(ts, sizeof(ts));
		free(rec->end_time);
		rec->end_time = strdup(ts);
	}
	free(rec->inputs_json);
	free(rec->outputs_json);
	rec->inputs_json = io_json(r, 0);
	rec->outputs_json = io_json(r, 1);
	/* The mount servers counted in their own processes. */
	rec->bytes_moved = ferry_stats_get(&r->ctx.stats.bytes);
	for (size_t i = 0; r->in && i < r->s->n_inputs; i++)
		rec->bytes_moved += r->in[i].mount.storage_bytes;
	ferry_err e;
	if (ferry_ws_job_put(r->ctx.ws, rec, &e) < 0)
		ferry_warn("could not record job %s: %s", r->s->name, e.msg);
}

static void summary(struct run *r, const char *status, int code)
{
	char line[512];
	fprintf(stderr, "\nferry: job %s %s (exit code %d)\n", r->s->name, status, code);
	for (size_t i = 0; i < r->s->n_inputs; i++) {
		const struct ferry_job_input *in = &r->s->inputs[i];
		struct io_state *st = &r->in[i];
		if (in->literal || !in->path || in->mode == FERRY_MODE_DIRECT)
			continue;
		if (st->asset)
			fprintf(stderr, "  input  %-12s is data asset azureml:%s\n", in->name, st->asset);
		if (st->done && (in->mode == FERRY_MODE_RO_MOUNT || in->mode == FERRY_MODE_EVAL_MOUNT)) {
			fprintf(stderr, "  input  %-12s %s (%s): %s\n", in->name, st->uri, ferry_io_mode_name(in->mode),
				st->mount_summary[0] ? st->mount_summary : "mounted (summary in rslex.log)");
		} else if (st->done) {
			ferry_xfer_summary(&st->res, line, sizeof(line));
			fprintf(stderr, "  input  %-12s %s (%s): %s\n", in->name, st->uri,
				ferry_io_mode_name(in->mode), line);
		} else
			fprintf(stderr, "  input  %-12s %s (%s): %s\n", in->name, st->uri ? st->uri : "",
				ferry_io_mode_name(in->mode), st->failed ? "FAILED" : "not run");
	}
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (st->done) {
			ferry_xfer_summary(&st->res, line, sizeof(line));
			fprintf(stderr, "  output %-12s -> %s (%s): %s\n", o->name, st->uri,
				ferry_io_mode_name(o->mode),
				o->mode == FERRY_MODE_RW_MOUNT && st->mount_summary[0] ? st->mount_summary : line);
			if (st->asset)
				fprintf(stderr, "  output %-12s registered as data asset azureml:%s\n",
					o->name, st->asset);
			else if (o->asset_name)
				fprintf(stderr, "  output %-12s NOT registered as data asset '%s': %s\n",
					o->name, o->asset_name, st->error);
		} else
			fprintf(stderr, "  output %-12s -> %s (%s): %s\n", o->name,
				st->uri ? st->uri : "", ferry_io_mode_name(o->mode),
				o->mode == FERRY_MODE_RW_MOUNT && st->failed ? st->error
				: st->failed ? "FAILED, kept locally" : "not uploaded");
	}
	fprintf(stderr, "  logs: %s/user_logs/std_log.txt, %s/logs/system_logs/data_capability/\n",
		r->jobdir, r->jobdir);
}

static void run_free(struct run *r)
{
	for (size_t i = 0; r->in && i < r->s->n_inputs; i++) {
		free(r->in[i].local);
		free(r->in[i].value);
		free(r->in[i].uri);
		free(r->in[i].cache);
		free(r->in[i].asset);
	}
	for (size_t i = 0; r->out && i < r->s->n_outputs; i++) {
		free(r->out[i].cache);
		free(r->out[i].local);
		free(r->out[i].value);
		free(r->out[i].uri);
		free(r->out[i].asset);
	}
	free(r->in);
	free(r->out);
	free(r->jobdir);
	free(r->wd);
	if (r->dcap)
		fclose(r->dcap);
	ferry_job_record_free(&r->rec);
	if (r->ctx.ws)
		ferry_ws_close(r->ctx.ws);
}

static int keep_inputs(struct run *r)
{
	const char *v = job_lookup(r->s, "FERRY_KEEP_INPUTS");
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
}

int ferry_job_run(struct ferry_jobspec *s, const char *home, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	struct run r = { .s = s };
	int rc = -1;
	int recorded = 0, log_open = 0, claim = -1;
	ferry_http_global_init();
	r.in = calloc(s->n_inputs + 1, sizeof(*r.in));
	r.out = calloc(s->n_outputs + 1, sizeof(*r.out));
	if (!r.in || !r.out) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	if (ferry_settings_load(&r.ctx.settings, job_lookup, s, err) < 0)
		goto done;
	r.ctx.progress = isatty(2);
	r.ctx.identity = s->identity;
	if (ferry_ws_open(home, &r.ctx.ws, err) < 0)
		goto done;
	int ex = ferry_ws_job_exists(r.ctx.ws, s->name, err);
	if (ex < 0)
		goto done;
	if (ex) {
		ferry_err_set(err, FERRY_E_INVALID,
			      "a job named '%s' already exists in %s; choose another with --name",
			      s->name, ferry_ws_home(r.ctx.ws));
		goto done;
	}
	if (check_datastores(&r, err) < 0)
		goto done;

	/* The job folder: claimed atomically, with the liveness lock held until
	 * the job's end is recorded (jobclaim.h). */
	const char *wsh = ferry_ws_home(r.ctx.ws);
	if ((claim = ferry_job_claim(wsh, s->name, err)) < 0)
		goto done;
	char dcap_dir[4300], path[4400];
	if (asprintf(&r.jobdir, "%s/jobs/%s", wsh, s->name) < 0 ||
	    asprintf(&r.wd, "%s/cap/data-capability/wd", r.jobdir) < 0) {
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	snprintf(dcap_dir, sizeof(dcap_dir), "%s/logs/system_logs/data_capability", r.jobdir);
	snprintf(path, sizeof(path), "%s/user_logs", r.jobdir);
	if (mkdirs(dcap_dir, err) < 0 || mkdirs(path, err) < 0 || mkdirs(r.wd, err) < 0)
		goto done;
	snprintf(path, sizeof(path), "%s/rslex.log", dcap_dir);
	if (ferry_log_open(path) < 0) {
		ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	log_open = 1;
	snprintf(path, sizeof(path), "%s/data-capability.log", dcap_dir);
	if (!(r.dcap = fopen(path, "ae"))) {
		ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", path, strerror(errno));
		goto done;
	}
	ferry_info("job %s: file %s, code %s", s->name, s->file, s->code);
	ferry_settings_log(&r.ctx.settings);
	log_identity(&r.ctx.identity);

	char ts[40];
	ferry_log_timestamp(ts, sizeof(ts));
	char jf[4096];
	struct ferry_job_record *rec = &r.rec;
	rec->name = strdup(s->name);
	rec->display_name = s->display_name ? strdup(s->display_name) : NULL;
	rec->experiment_name = s->experiment_name ? strdup(s->experiment_name) : NULL;
	rec->description = s->description ? strdup(s->description) : NULL;
	rec->start_time = strdup(ts);
	rec->job_file = strdup(realpath(s->file, jf) ? jf : s->file);
	rec->folder = strdup(r.jobdir);
	rec->azure_json = s->azure_json ? strdup(s->azure_json) : NULL;
	rec->tags_json = s->tags_json ? strdup(s->tags_json) : NULL;
	recorded = 1;
	record(&r, "Running", 0, 0);

	if (do_inputs(&r, err) < 0 || prepare_outputs(&r, err) < 0)
		goto done;

	/* The command runs in a snapshot of its code (workdir.h). */
	char *exe_wd = NULL;
	if (ferry_workdir_snapshot(s->code, r.jobdir, wsh, &exe_wd, err) < 0)
		goto done;
	free(s->code);
	s->code = exe_wd;

	/* Expand and run. */
	const char **iv = calloc(s->n_inputs + 1, sizeof(char *));
	const char **ov = calloc(s->n_outputs + 1, sizeof(char *));
	char *cmd = NULL;
	if (!iv || !ov) {
		free(iv);
		free(ov);
		ferry_err_set(err, FERRY_E_IO, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->n_inputs; i++)
		iv[i] = r.in[i].value;
	for (size_t i = 0; i < s->n_outputs; i++)
		ov[i] = r.out[i].value;
	int erc = ferry_job_aml_env(s, iv, ov, err);
	if (erc == 0)
		erc = ferry_jobspec_command(s, iv, ov, &cmd, err);
	free(iv);
	free(ov);
	if (erc < 0)
		goto done;
	ferry_info("command: %s", cmd);
	snprintf(path, sizeof(path), "%s/user_logs/std_log.txt", r.jobdir);
	int status = 0;
	int crc = run_command(&r, cmd, path, &status, err);
	free(cmd);
	if (crc < 0)
		goto done;
	ferry_info("command exited with %d", status);
	unmount_inputs(&r); /* the inputs are done with; again at `done` for early exits */
	unmount_outputs(&r);
	*exit_code = status;
	rc = 0;

	int outputs_ok = 1;
	int canceled = got_signal || ferry_interrupted(); /* Ctrl-C, SIGTERM, SIGHUP */
	if (canceled && status == 0)
		*exit_code = 128 + (got_signal ? (int)got_signal : ferry_interrupted());
	if (canceled && s->n_outputs > 0)
		outputs_not_finished(&r, "job canceled");
	else if (status == 0) {
		if (finish_outputs(&r, err) < 0 || register_outputs(&r, err) < 0) {
			outputs_ok = 0;
			*exit_code = 1;
		}
	} else if (s->n_outputs > 0)
		outputs_not_finished(&r, "command failed");
	ferry_err ae; /* ./outputs and ./logs, whatever the exit status (workdir.h) */
	ferry_err_clear(&ae);
	if (ferry_workdir_finish(&r.ctx, s->code, s->name, &ae) < 0) {
		ferry_warn("job %s: artifacts not uploaded: %s", s->name, ae.msg);
		if (outputs_ok && status == 0) {
			*err = ae;
			*exit_code = 1;
		}
		outputs_ok = 0;
	}
	const char *final = canceled ? "Canceled" : status == 0 && outputs_ok ? "Completed" : "Failed";
	record(&r, final, 1, status);
	summary(&r, final, *exit_code);
	recorded = 2;

done:
	unmount_inputs(&r);
	unmount_outputs(&r);
	if (!keep_inputs(&r))
		for (size_t i = 0; r.in && i < s->n_inputs; i++)
			if (r.in[i].local)
				rm_rf(r.in[i].local);
	if (rc < 0 && recorded == 1) {
		ferry_log(FERRY_LOG_INFO, "job %s failed before its command ran: %s", s->name, err->msg);
		const char *st = ferry_interrupted() ? "Canceled" : "Failed";
		record(&r, st, 0, 0);
		summary(&r, st, 1);
	}
	ferry_job_release(claim); /* after the last record: see jobclaim.h */
	if (log_open)
		ferry_log_close();
	run_free(&r);
	curl_global_cleanup();
	return rc;
}
