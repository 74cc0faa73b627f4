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
#include "job/distrun.h"
#include "job/ranks.h"
#include "job/metrics.h"
#include "job/series.h"
#include "job/watchdog.h"
#include "core/files.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/settings.h"
#include "core/sys.h"
#include "core/uri.h"
#include "fs/fs.h"
#include "mltable/mltable.h"
#include "resolve/resolve.h"
#include "transfer/progress.h"
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
	int slot;           /* its index in the time series, or -1 */
};

struct run {
	struct ferry_jobspec *s;
	const struct ferry_node_opts *node; /* one node of a distributed job, or NULL */
	struct ferry_ctx ctx;
	char *jobdir, *wd;
	char *cap;                  /* <jobdir>/cap/data-capability (a node: cap/node_<K>/…) */
	int failed_rank;            /* the first rank that exited non-zero, or -1 */
	int canceled;               /* the signal that stopped the command, or 0 */
	int timed_out;              /* limits.timeout stopped the command */
	FILE *dcap;                 /* data-capability.log */
	struct io_state *in, *out;
	struct ferry_job_record rec;
	struct ferry_series *series;   /* the time series (series.h), or NULL: FERRY_SAMPLE off */
	struct ferry_series_io *sio;   /* what it describes */
	struct ferry_job_metrics *metrics; /* /metrics over the series (FERRY_METRICS_ADDR), or NULL */
	struct ferry_watchdog dog;  /* stops the ranks if this process dies (watchdog.h) */
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

static void activity(struct run *r, const char *what, const char *io, const char *name,
		     int started, int ok, double ms, const char *error)
{
	if (started) { /* the progress line says what is being staged */
		char label[300];
		snprintf(label, sizeof(label), "%s '%s'", io, name);
		ferry_progress_set_label(label);
	}
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

/* A mount server counts in its own process and reports its counters at the
 * end; the fork would hand it this process's counters so far (an earlier
 * download's bytes), so it starts from zeroed ones: zero_stats before
 * spawning, restore_stats after (no transfer runs in between). */
static struct ferry_stats zero_stats(struct run *r)
{
	struct ferry_stats saved = r->ctx.stats;
	memset(&r->ctx.stats, 0, sizeof(r->ctx.stats));
	return saved;
}

static void restore_stats(struct run *r, const struct ferry_stats *saved)
{
	r->ctx.stats = *saved;
}

/* Fork the server of mount `o` for st: from zeroed counters, with no
 * sampler thread running across the fork, publishing its counters to st's
 * slot of the time series. */
static int spawn_mount(struct run *r, struct ferry_mount_opts *o, struct io_state *st, ferry_err *err)
{
	o->live = st->slot >= 0 ? ferry_series_mount_slot(r->series, (size_t)st->slot) : NULL;
	ferry_series_pause(r->series);
	ferry_job_metrics_pause(r->metrics);
	struct ferry_stats saved = zero_stats(r);
	int rc = ferry_mount_spawn(o, &st->mount_pid, err);
	restore_stats(r, &saved);
	ferry_job_metrics_resume(r->metrics);
	ferry_series_resume(r->series);
	return rc;
}

/* Start the job's time series (FERRY_SAMPLE) at <job>/series.jsonl, or a
 * node's at <job>/nodes/<K>.series.jsonl: one entry per input with data and
 * per output. A series that cannot start is a warning, not a failure. */
static void start_series(struct run *r)
{
	const struct ferry_jobspec *s = r->s;
	if (!ferry_setting_int(&r->ctx.settings, FS_SAMPLE)) {
		if (r->ctx.settings.from_user[FS_METRICS_ADDR] && !r->node)
			ferry_warn("job %s: FERRY_METRICS_ADDR is set but FERRY_SAMPLE is off: no /metrics",
				   s->name);
		return;
	}
	if (!(r->sio = calloc(s->n_inputs + s->n_outputs + 1, sizeof(*r->sio))))
		return;
	size_t n = 0;
	for (size_t i = 0; i < s->n_inputs; i++) {
		const struct ferry_job_input *in = &s->inputs[i];
		r->in[i].slot = -1;
		if (in->literal || !in->path || in->mode == FERRY_MODE_DIRECT)
			continue;
		r->in[i].slot = (int)n;
		r->sio[n++] = (struct ferry_series_io){ .name = in->name, .mode = ferry_io_mode_name(in->mode),
							.where = in->path };
	}
	for (size_t i = 0; i < s->n_outputs; i++) {
		r->out[i].slot = (int)n;
		r->sio[n++] = (struct ferry_series_io){ .name = s->outputs[i].name, .output = 1,
							.mode = ferry_io_mode_name(s->outputs[i].mode),
							.where = s->outputs[i].path_tmpl };
	}
	char path[4400];
	if (r->node)
		snprintf(path, sizeof(path), "%s/nodes/%d.series.jsonl", r->jobdir, r->node->node_rank);
	else
		snprintf(path, sizeof(path), "%s/series.jsonl", r->jobdir);
	struct ferry_series_opts o = { .path = path,
				       .interval_ms = (unsigned)ferry_setting_int(&r->ctx.settings, FS_SAMPLE_INTERVAL),
				       .max_points = (unsigned)ferry_setting_int(&r->ctx.settings, FS_SAMPLE_MAX_POINTS),
				       .cache_dir = r->cap, .xfer = &r->ctx.stats, .io = r->sio, .nio = n,
				       .settings = &r->ctx.settings };
	ferry_err e;
	if (r->node)
		ferry_mkdir_parents(path);
	if (ferry_series_start(&o, &r->series, &e) < 0)
		ferry_warn("job %s: no time series: %s", s->name, e.msg);
	else if (!r->node && ferry_job_metrics_start(&r->ctx.settings, s->name, path, &r->metrics, &e) < 0)
		ferry_warn("job %s: no /metrics: %s", s->name, e.msg);
}

static void stop_series(struct run *r)
{
	ferry_job_metrics_stop(r->metrics);
	r->metrics = NULL;
	ferry_series_free(r->series);
	r->series = NULL;
	free(r->sio);
	r->sio = NULL;
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
	if (asprintf(&st->cache, "%s/cache/%s", r->cap, in->name) < 0) {
		st->cache = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (ferry_mkdir_p(st->local, 0755, err) < 0)
		return -1;
	char parent[4400];
	snprintf(parent, sizeof(parent), "%s/cache", r->cap);
	if (ferry_mkdir_p(parent, 0755, err) < 0)
		return -1;
	activity(r, "mount", "input", in->name, 1, 0, 0, NULL);
	double t0 = ferry_now_ms();
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
		struct ferry_mount_opts o = { .store = store, .root = base && base == path ? "" : path,
					      .settings = &r->ctx.settings, .stats = &r->ctx.stats, .dir = st->local,
					      .cache_dir = st->cache, .home = ferry_ws_home(r->ctx.ws),
					      .die_with_parent = 1, .summary_file = summary };
		rc = spawn_mount(r, &o, st, err);
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
	st->ms = ferry_now_ms() - t0;
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
	*t0 = ferry_now_ms();
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
		activity(r, "unmount", "input", name, 0, !e.msg[0], ferry_now_ms() - t0, e.msg[0] ? e.msg : NULL);
		if (st->cache)
			ferry_rm_rf(st->cache);
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
		if (asprintf(&st->cache, "%s/cache/%s", r->cap, in->name) < 0) {
			st->cache = NULL;
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		snprintf(summary, sizeof(summary), "%s/cache", r->cap);
		if (ferry_mkdir_p(st->local, 0755, err) < 0 || ferry_mkdir_p(summary, 0755, err) < 0)
			return -1;
		snprintf(summary, sizeof(summary), "%s.summary", st->cache);
	}
	activity(r, what, "input", in->name, 1, 0, 0, NULL);
	double t0 = ferry_now_ms();
	struct ferry_store *store = NULL;
	size_t n = 0;
	int rc = ferry_mltable_fileset(&r->ctx, st->uri, &store, &n, err);
	if (rc == 0) {
		ferry_info("input '%s': %s the %zu files MLTable %s evaluates to at %s", in->name,
			   mount ? "mounting" : "downloading", n, st->uri, st->local);
		struct ferry_mount_opts o = { .store = store, .root = "", .settings = &r->ctx.settings,
					      .stats = &r->ctx.stats, .dir = st->local, .cache_dir = st->cache,
					      .home = ferry_ws_home(r->ctx.ws), .die_with_parent = 1, .summary_file = summary };
		if (mount)
			rc = spawn_mount(r, &o, st, err);
		else {
			ferry_series_xfer_begin(r->series, (size_t)st->slot);
			rc = ferry_download_store(&r->ctx, store, "", 1, st->uri, st->local, &st->res, NULL, err);
			ferry_series_xfer_end(r->series, (size_t)st->slot);
		}
	}
	ferry_store_destroy(store);
	st->ms = ferry_now_ms() - t0;
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
		double t0 = ferry_now_ms();
		char *single = NULL;
		ferry_series_xfer_begin(r->series, (size_t)st->slot);
		int rc = ferry_download(&r->ctx, st->uri, st->local, &st->res, &single, err);
		ferry_series_xfer_end(r->series, (size_t)st->slot);
		st->ms = ferry_now_ms() - t0;
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
	snprintf(parent, sizeof(parent), "%s/cache", r->cap);
	if (asprintf(&st->cache, "%s/OUTPUT_%s", parent, o->name) < 0) {
		st->cache = NULL;
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	if (ferry_mkdir_p(parent, 0755, err) < 0)
		return -1;
	activity(r, "mount", "output", o->name, 1, 0, 0, NULL);
	double t0 = ferry_now_ms();
	struct ferry_store *store = NULL;
	char *path = NULL;
	int rc = ferry_resolve(&r->ctx, st->uri, 1, &store, &path, NULL, err);
	if (rc == 0)
		ferry_store_ensure_container(store);
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
		struct ferry_mount_opts o = { .store = store, .root = path, .settings = &r->ctx.settings,
					      .stats = &r->ctx.stats, .dir = st->local, .cache_dir = st->cache, .rw = 1,
					      .home = ferry_ws_home(r->ctx.ws), .die_with_parent = 1, .summary_file = summary };
		rc = spawn_mount(r, &o, st, err);
	}
	free(path);
	ferry_store_destroy(store);
	st->ms = ferry_now_ms() - t0;
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
		activity(r, "unmount", "output", name, 0, !st->failed, ferry_now_ms() - t0, st->failed ? st->error : NULL);
		ferry_rm_rf(st->cache);
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
		if (ferry_mkdir_p(st->local, 0755, err) < 0)
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
		if (st->failed) { /* its MLTable could not be written (describe_outputs): kept, not uploaded */
			rc = -1;
			continue;
		}
		ferry_err e;
		ferry_err_clear(&e);
		activity(r, "upload", "output", o->name, 1, 0, 0, NULL);
		double t0 = ferry_now_ms();
		struct stat sb;
		int orc;
		if (o->type == FERRY_IO_URI_FILE && stat(st->value, &sb) < 0)
			orc = ferry_err_set(&e, FERRY_E_NOTFOUND,
					    "the command did not write %s (output of type uri_file)",
					    st->value);
		else {
			ferry_info("output '%s': uploading %s to %s", o->name, st->value, st->uri);
			ferry_series_xfer_begin(r->series, (size_t)st->slot);
			orc = ferry_upload(&r->ctx, st->value, st->uri, &st->res, &e);
			ferry_series_xfer_end(r->series, (size_t)st->slot);
		}
		st->ms = ferry_now_ms() - t0;
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
		ferry_rm_rf(st->local);
	}
	return rc;
}

/* type: mltable outputs: the MLTable file naming what the command wrote,
 * written into the output folder (or its read-write mount) before it is
 * uploaded (unmounted). A failure fails the output. */
static int describe_outputs(struct run *r, ferry_err *err)
{
	int rc = 0;
	for (size_t i = 0; r->out && i < r->s->n_outputs; i++) {
		const struct ferry_job_output *o = &r->s->outputs[i];
		struct io_state *st = &r->out[i];
		if (o->type != FERRY_IO_MLTABLE || r->node || !st->value)
			continue;
		ferry_err e;
		ferry_err_clear(&e);
		size_t n = 0;
		if (ferry_mltable_describe(st->value, &n, &e) < 0) {
			st->failed = 1;
			snprintf(st->error, sizeof(st->error), "%s", e.msg);
			if (rc == 0) {
				*err = e;
				ferry_err_wrap(err, "output '%s'", o->name);
			}
			rc = -1;
			continue;
		}
		ferry_info("output '%s': wrote an MLTable naming its %zu files", o->name, n);
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

static volatile sig_atomic_t got_signal;

static void note_signal(int sig)
{
	got_signal = sig;
}

/* Variables that carry storage credentials (core/proc.h), and FERRY_HOME
 * (the way to the workspace's secrets): never passed to the command. */
int ferry_job_secret_var(const char *kv, size_t keylen)
{
	return ferry_secret_env(kv, keylen) || (keylen == 10 && !strncmp(kv, "FERRY_HOME", 10));
}

/* ferry's environment minus credentials and minus what the job overrides,
 * plus the job's variables, the run's identity, and `extra` (a rank's
 * framework variables, ranks.h; they win over both). */
static char **build_env(struct run *r, char *const *extra)
{
	size_t n = 0, nx = 0;
	for (char **e = environ; *e; e++)
		n++;
	while (extra && extra[nx])
		nx++;
	char **env = calloc(n + r->s->n_env + nx + 4, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t kl = eq ? (size_t)(eq - *e) : strlen(*e);
		if (ferry_job_secret_var(*e, kl) || (kl == 14 && !strncmp(*e, "AZUREML_RUN_ID", 14)) ||
		    (kl == 14 && !strncmp(*e, "FERRY_JOB_NAME", 14)) || ferry_rank_env_has(extra, *e))
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
		if (ferry_job_secret_var(key, strlen(key))) {
			ferry_warn("environment variable %s is not passed to the command: the "
				   "command never sees storage credentials",
				   key);
			continue;
		}
		if (ferry_rank_env_has(extra, key))
			continue;
		if (asprintf(&env[k], "%s=%s", key, r->s->env[j].value) < 0) {
			env[k] = NULL;
			goto oom;
		}
		k++;
	}
	for (size_t j = 0; j < nx; j++)
		if (!(env[k++] = strdup(extra[j])))
			goto oom;
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
	ferry_rank_env_free(env);
	return NULL;
}

/* Linux refuses to start a program with one argument or environment string
 * of MAX_ARG_STRLEN (32 pages) or more, or with all of them over ARG_MAX. */
#define MAX_ARG_STRLEN_BYTES (32 * 4096)

/* Why `sh -c cmd` with `env` cannot start, in err (-1), or 0 when it can. */
static int check_exec_size(const char *cmd, char *const *env, ferry_err *err)
{
	size_t n = strlen(cmd);
	if (n + 1 > MAX_ARG_STRLEN_BYTES)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "the command is %zu bytes once expanded; Linux starts no program with an "
				     "argument of %d bytes or more: put it in a script under code: and run that",
				     n, MAX_ARG_STRLEN_BYTES);
	size_t total = n + 1 + sizeof("sh") + sizeof("-c") + 4 * sizeof(char *);
	for (size_t i = 0; env[i]; i++) {
		size_t l = strlen(env[i]);
		if (l + 1 > MAX_ARG_STRLEN_BYTES)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "environment variable %.*s is %zu bytes; Linux starts no program with "
					     "one of %d bytes or more",
					     (int)(strchr(env[i], '=') ? strchr(env[i], '=') - env[i] : 40), env[i], l,
					     MAX_ARG_STRLEN_BYTES);
		total += l + 1 + sizeof(char *);
	}
	long max = sysconf(_SC_ARG_MAX);
	if (max > 0 && total > (size_t)max)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "the command and its environment are %zu bytes; this system starts no "
				     "program with more than %ld (ARG_MAX)",
				     total, max);
	return 0;
}

/* In the child after execve failed: say why on the command's stderr, with
 * async-signal-safe calls only, and exit 127. */
static void exec_failed(int e)
{
	const char *why = e == E2BIG    ? "the command and its environment are too long (E2BIG)"
			  : e == ENOENT  ? "/bin/sh does not exist (ENOENT)"
			  : e == EACCES  ? "/bin/sh may not be run (EACCES)"
			  : e == ENOMEM  ? "out of memory (ENOMEM)"
					 : "execve failed";
	static const char pre[] = "ferry: cannot start the command: ";
	ssize_t w = write(2, pre, sizeof(pre) - 1);
	w = write(2, why, strlen(why));
	w = write(2, "\n", 1);
	(void)w;
	_exit(127);
}

/* One process of the command: `/bin/bash -c cmd` (shell.h) in the code folder, leading
 * its own process group, stdin /dev/null, stdout+stderr into `outfd`.
 * Returns its pid, or -1 with errno. */
static pid_t spawn_command(struct run *r, const char *cmd, char **env, int outfd)
{
	const char *shell = ferry_job_shell(); /* bash, sh without it (shell.h) */
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
		dup2(outfd, 1);
		dup2(outfd, 2);
		if (chdir(r->s->code) < 0)
			_exit(126);
		ferry_sandbox_child(&sb);
		execve(shell, argv, env);
		exec_failed(errno);
	}
	int fork_errno = errno;
	ferry_sandbox_parent(&sb, pid);
	if (pid > 0)
		setpgid(pid, pid);
	errno = fork_errno;
	return pid;
}

/* A process of the command: global rank, its pipe and log. */
struct rank_proc {
	int rank;
	pid_t pid;
	int fd, logfd, echo;
	int exited, status;
};

/* Milliseconds between SIGTERM and SIGKILL when ranks are stopped. */
static double grace_ms(struct run *r)
{
	return (double)ferry_setting_int(&r->ctx.settings, FS_KILL_GRACE) * 1000.0;
}

/* Start the ranks of this process: one without distribution (its output to
 * the terminal, user_logs/std_log.txt and std_log_process_0.txt, one file),
 * or this node's per_node ranks with their framework environment (each
 * into user_logs/std_log_process_<rank>.txt, rank 0 also to the terminal). */
static int start_ranks(struct run *r, const char *cmd, struct rank_proc *rp, size_t n, ferry_err *err)
{
	for (size_t l = 0; l < n; l++) {
		struct rank_proc *p = &rp[l];
		struct ferry_rank_place pl = { 0 };
		char **extra = NULL;
		if (r->node) {
			pl = (struct ferry_rank_place){ .node_rank = r->node->node_rank, .local_rank = (int)l,
							.master_addr = r->node->master_addr,
							.master_port = r->node->master_port,
							.node_addrs = r->node->node_addrs };
			if (!(extra = ferry_rank_env(&r->s->dist, &pl)))
				return ferry_err_set(err, FERRY_E_IO, "out of memory");
		}
		p->rank = r->node ? ferry_rank_global(&r->s->dist, &pl) : 0;
		p->echo = p->rank == 0;
		char log[4400], log0[4400];
		snprintf(log, sizeof(log), "%s/user_logs/std_log_process_%d.txt", r->jobdir, p->rank);
		if (!r->node) {
			snprintf(log0, sizeof(log0), "%s", log);
			snprintf(log, sizeof(log), "%s/user_logs/std_log.txt", r->jobdir);
		}
		p->logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (p->logfd < 0) {
			ferry_rank_env_free(extra);
			return ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", log, strerror(errno));
		}
		if (!r->node && link(log, log0) < 0 && errno != EEXIST)
			ferry_debug("cannot link %s: %s", log0, strerror(errno));
		char **env = build_env(r, extra);
		ferry_rank_env_free(extra);
		if (!env)
			return ferry_err_set(err, FERRY_E_IO, "out of memory");
		if (check_exec_size(cmd, env, err) < 0) {
			ferry_rank_env_free(env);
			return -1;
		}
		int pp[2];
		if (pipe2(pp, O_CLOEXEC) < 0) {
			ferry_rank_env_free(env);
			return ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(errno));
		}
		p->pid = spawn_command(r, cmd, env, pp[1]);
		int fork_errno = errno;
		ferry_watchdog_watch(&r->dog, p->pid); /* its process group */
		close(pp[1]);
		ferry_rank_env_free(env);
		p->fd = pp[0];
		if (p->pid < 0)
			return ferry_err_set(err, FERRY_E_IO, "fork: %s", strerror(fork_errno));
		if (r->node) {
			ferry_info("rank %d (node %d, local rank %zu) started as process %d", p->rank,
				   r->node->node_rank, l, (int)p->pid);
			if (r->node->pids_file) {
				FILE *f = fopen(r->node->pids_file, "ae");
				if (f) {
					fprintf(f, "%d\n", (int)p->pid);
					fclose(f);
				}
			}
		}
	}
	return 0;
}

static void signal_ranks(struct rank_proc *rp, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++)
		if (rp[i].pid > 0 && !rp[i].exited)
			kill(-rp[i].pid, sig);
}

/* Run `cmd` as this process's ranks and wait for all of them: output copied
 * to the logs (and the terminal), limits.timeout enforced, SIGINT/SIGTERM/
 * SIGHUP forwarded; the first rank that exits non-zero stops the others
 * (SIGTERM, SIGKILL after FERRY_KILL_GRACE_SECONDS) and is kept in
 * r->failed_rank. Returns 0 with *status = the failed rank's exit code (128+N
 * for signal N), else the first non-zero one, else 0; or -1 when nothing
 * could start (ranks already started are killed and reaped). */
static int run_command(struct run *r, const char *cmd, int *status, ferry_err *err)
{
	size_t n = r->node ? (size_t)r->s->dist.per_node : 1;
	struct rank_proc *rp = calloc(n, sizeof(*rp));
	if (!rp)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	for (size_t i = 0; i < n; i++)
		rp[i].fd = rp[i].logfd = -1;
	struct sigaction sa = { 0 }, old_int, old_term, old_hup, old_pipe;
	sa.sa_handler = note_signal;
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	r->failed_rank = -1;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	struct sigaction ign = { 0 };
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old_pipe);

	ferry_series_pause(r->series); /* no sampler or metrics thread across the forks */
	ferry_job_metrics_pause(r->metrics);
	if (ferry_watchdog_start(&r->dog, (unsigned)grace_ms(r)) < 0)
		ferry_warn("cannot start the watchdog (%s): the command would outlive a kill -9 of ferry",
			   strerror(errno));
	int rc = start_ranks(r, cmd, rp, n, err);
	if (rc < 0)
		signal_ranks(rp, n, SIGKILL);
	if (r->series) {
		pid_t pids[64];
		size_t np = n < 64 ? n : 64;
		for (size_t i = 0; i < np; i++)
			pids[i] = rp[i].pid;
		ferry_series_pids(r->series, pids, np);
	}
	ferry_job_metrics_resume(r->metrics);
	ferry_series_resume(r->series);
	if (r->node && ferry_interrupted() && !got_signal)
		got_signal = ferry_interrupted(); /* asked to stop while staging */

	double deadline = r->s->timeout_s > 0 ? ferry_now_ms() + r->s->timeout_s * 1000.0 : 0;
	int stopping = 0, killed = 0, timed_out = 0;
	double kill_at = 0, last_exit = 0;
	size_t live = 0, open_fds = 0;
	for (size_t i = 0; i < n; i++) {
		live += rp[i].pid > 0;
		open_fds += rp[i].fd >= 0;
	}
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	size_t *idx = calloc(n, sizeof(*idx));
	char buf[65536];
	while (pfd && idx && (live > 0 || open_fds > 0)) {
		size_t nf = 0;
		for (size_t i = 0; i < n; i++)
			if (rp[i].fd >= 0) {
				pfd[nf] = (struct pollfd){ .fd = rp[i].fd, .events = POLLIN };
				idx[nf++] = i;
			}
		if (poll(pfd, nf, 200) > 0)
			for (size_t j = 0; j < nf; j++) {
				struct rank_proc *p = &rp[idx[j]];
				if (!pfd[j].revents)
					continue;
				ssize_t got = read(p->fd, buf, sizeof(buf));
				if (got > 0) {
					if (p->echo)
						(void)ferry_write_all(1, buf, (size_t)got);
					(void)ferry_write_all(p->logfd, buf, (size_t)got);
				} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
					close(p->fd); /* EOF: every writer is gone */
					p->fd = -1;
					open_fds--;
				}
			}
		double t = ferry_now_ms();
		for (size_t i = 0; i < n; i++) {
			struct rank_proc *p = &rp[i];
			int ws;
			if (p->pid <= 0 || p->exited || waitpid(p->pid, &ws, WNOHANG) != p->pid)
				continue;
			p->exited = 1;
			p->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
			live--;
			/* reaped: its number may be reused (a background process
			 * it left is not stopped, as at a normal end) */
			ferry_watchdog_forget(&r->dog, p->pid);
			last_exit = t;
			if (r->node)
				ferry_info("rank %d exited with %d", p->rank, p->status);
			if (p->status != 0 && r->failed_rank < 0 && !stopping && !timed_out) {
				r->failed_rank = p->rank;
				if (live > 0) {
					ferry_warn("rank %d failed (exit code %d): stopping the other ranks of this node",
						   p->rank, p->status);
					stopping = SIGTERM;
					signal_ranks(rp, n, SIGTERM);
					kill_at = t + grace_ms(r);
				}
			}
		}
		/* A background process of the command may hold a pipe open:
		 * once every shell is gone, stop reading after a short grace. */
		if (live == 0 && t - last_exit > 500)
			break;
		if (got_signal && !stopping) {
			stopping = got_signal;
			signal_ranks(rp, n, got_signal);
			kill_at = t + grace_ms(r);
		}
		if (live > 0 && deadline > 0 && t > deadline && !timed_out && !stopping) {
			timed_out = 1;
			ferry_warn("job %s: limits.timeout of %ld s reached; stopping the command",
				   r->s->name, r->s->timeout_s);
			stopping = SIGTERM;
			signal_ranks(rp, n, SIGTERM);
			kill_at = t + 10000;
		}
		if (stopping && !killed && live > 0 && t > kill_at) {
			killed = 1;
			signal_ranks(rp, n, SIGKILL);
		}
	}
	free(pfd);
	free(idx);
	*status = 0;
	for (size_t i = 0; i < n; i++) {
		struct rank_proc *p = &rp[i];
		if (p->fd >= 0)
			close(p->fd);
		if (p->logfd >= 0)
			close(p->logfd);
		if (p->pid > 0 && !p->exited) {
			int ws = 0;
			while (waitpid(p->pid, &ws, 0) < 0 && errno == EINTR)
				;
			p->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
		}
		if (p->rank == r->failed_rank || (*status == 0 && r->failed_rank < 0))
			*status = p->status;
	}
	free(rp);
	ferry_watchdog_stop(&r->dog);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	r->timed_out = timed_out;
	if (timed_out)
		ferry_info("command stopped after limits.timeout (%ld s)", r->s->timeout_s);
	if (got_signal) {
		ferry_info("signal %d forwarded to the command", (int)got_signal);
		r->canceled = got_signal;
	}
	return rc;
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

/* An ro_mount input's figures in its job record: bytes read, cache hit rate, time
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

/* What the mount servers fetched: they counted in their own processes. */
static uint64_t mount_bytes(struct run *r)
{
	uint64_t n = 0;
	for (size_t i = 0; r->in && i < r->s->n_inputs; i++)
		n += r->in[i].mount.storage_bytes;
	return n;
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
	rec->bytes_moved = ferry_stats_get(&r->ctx.stats.bytes) + mount_bytes(r);
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
	free(r->cap);
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

/* Settings (the job's environment_variables first), the workspace, and the
 * checks that need no data: a free job name (not for a node: the job is the
 * submitter's), datastores, data assets. Creates nothing. */
static int run_check(struct run *r, const char *home, ferry_err *err)
{
	struct ferry_jobspec *s = r->s;
	r->in = calloc(s->n_inputs + 1, sizeof(*r->in));
	r->out = calloc(s->n_outputs + 1, sizeof(*r->out));
	if (!r->in || !r->out)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	if (ferry_settings_load(&r->ctx.settings, job_lookup, s, err) < 0)
		return -1;
	r->ctx.progress = !r->node && isatty(2);
	r->ctx.identity = s->identity;
	/* A node only reads the workspace: the submitter owns ferry.db. */
	if ((r->node ? ferry_ws_open_readonly(home, &r->ctx.ws, err) : ferry_ws_open(home, &r->ctx.ws, err)) < 0)
		return -1;
	if (!r->node) {
		int ex = ferry_ws_job_exists(r->ctx.ws, s->name, err);
		if (ex < 0)
			return -1;
		if (ex)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "a job named '%s' already exists in %s; choose another with --name",
					     s->name, ferry_ws_home(r->ctx.ws));
	}
	return check_datastores(r, err);
}

/* The job folder (a node's part of it) and its logs: the runtime log
 * rslex.log (opened process-wide: *log_open) and data-capability.log. */
static int run_folder(struct run *r, int *log_open, ferry_err *err)
{
	struct ferry_jobspec *s = r->s;
	char dcap_dir[4300], path[4400], node[32] = "";
	if (r->node)
		snprintf(node, sizeof(node), "node_%d", r->node->node_rank);
	if ((r->node ? !(r->jobdir = strdup(r->node->jobdir))
		     : asprintf(&r->jobdir, "%s/jobs/%s", ferry_ws_home(r->ctx.ws), s->name) < 0) ||
	    asprintf(&r->cap, "%s/cap/%s%sdata-capability", r->jobdir, node, *node ? "/" : "") < 0 ||
	    asprintf(&r->wd, "%s/wd", r->cap) < 0)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	snprintf(dcap_dir, sizeof(dcap_dir), "%s/logs/system_logs/data_capability%s%s", r->jobdir,
		 *node ? "/" : "", node);
	snprintf(path, sizeof(path), "%s/user_logs", r->jobdir);
	if (ferry_mkdir_p(dcap_dir, 0755, err) < 0 || ferry_mkdir_p(path, 0755, err) < 0 || ferry_mkdir_p(r->wd, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/rslex.log", dcap_dir);
	if (ferry_log_open(path) < 0)
		return ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", path, strerror(errno));
	*log_open = 1;
	snprintf(path, sizeof(path), "%s/data-capability.log", dcap_dir);
	if (!(r->dcap = fopen(path, "ae")))
		return ferry_err_set(err, FERRY_E_IO, "cannot open %s: %s", path, strerror(errno));
	if (r->node)
		ferry_info("job %s: node %d of %d, %d rank%s, file %s, code %s", s->name, r->node->node_rank,
			   s->dist.nodes, s->dist.per_node, s->dist.per_node == 1 ? "" : "s", s->file, s->code);
	else
		ferry_info("job %s: file %s, code %s", s->name, s->file, s->code);
	if (s->dist.ignored[0])
		ferry_info("resources: %s read but not used by ferry", s->dist.ignored);
	ferry_settings_log(&r->ctx.settings);
	log_identity(&r->ctx.identity);
	return 0;
}

/* A node's upload outputs: every file it is about to upload, one line
 * "<output>\t<path>" in <jobdir>/nodes/<K>.outputs, so that the submitter can
 * say which names more than one node wrote (the last upload wins). */
static FILE *listing;
static size_t listing_skip;
static const char *listing_name;

static int list_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F && strlen(path) > listing_skip)
		fprintf(listing, "%s\t%s\n", listing_name, path + listing_skip);
	return 0;
}

static void list_node_outputs(struct run *r)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/nodes/%d.outputs", r->jobdir, r->node->node_rank);
	if (!(listing = fopen(path, "we")))
		return;
	for (size_t i = 0; i < r->s->n_outputs; i++) {
		if (r->s->outputs[i].mode != FERRY_MODE_UPLOAD || !r->out[i].local)
			continue;
		listing_name = r->s->outputs[i].name;
		listing_skip = strlen(r->out[i].local) + 1;
		nftw(r->out[i].local, list_entry, 16, FTW_PHYS);
	}
	fclose(listing);
	listing = NULL;
}

/* Inputs, outputs, the command, unmounts, then (when the command succeeded)
 * uploads and (not on a node: the submitter registers) data assets. Returns
 * -1 with err when the command could not run; else 0 with *status (the
 * command's) and *outputs_ok. */
static int run_body(struct run *r, int *status, int *outputs_ok, ferry_err *err)
{
	struct ferry_jobspec *s = r->s;
	*outputs_ok = 1;
	start_series(r);
	if (do_inputs(r, err) < 0 || prepare_outputs(r, err) < 0)
		return -1;
	/* The command runs in a snapshot of its code (workdir.h). */
	char *exe_wd = NULL;
	if (ferry_workdir_snapshot(s->code, r->node ? r->cap : r->jobdir, ferry_ws_home(r->ctx.ws), &exe_wd,
				   err) < 0)
		return -1;
	free(s->code);
	s->code = exe_wd;
	const char **iv = calloc(s->n_inputs + 1, sizeof(char *));
	const char **ov = calloc(s->n_outputs + 1, sizeof(char *));
	char *cmd = NULL;
	if (!iv || !ov) {
		free(iv);
		free(ov);
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	}
	for (size_t i = 0; i < s->n_inputs; i++)
		iv[i] = r->in[i].value;
	for (size_t i = 0; i < s->n_outputs; i++)
		ov[i] = r->out[i].value;
	int erc = ferry_job_aml_env(s, iv, ov, err);
	if (erc == 0)
		erc = ferry_jobspec_command(s, iv, ov, &cmd, err);
	free(iv);
	free(ov);
	if (erc < 0)
		return -1;
	ferry_info("command: %s", cmd);
	ferry_series_phase(r->series, "command");
	int crc = run_command(r, cmd, status, err);
	ferry_series_phase(r->series, "outputs");
	free(cmd);
	if (crc < 0)
		return -1;
	ferry_info("command exited with %d", *status);
	unmount_inputs(r); /* the inputs are done with; again at the end for early exits */
	if (*status == 0 && !r->canceled && !ferry_interrupted() && describe_outputs(r, err) < 0)
		*outputs_ok = 0;
	unmount_outputs(r);
	int canceled = r->canceled || ferry_interrupted();
	if (canceled && s->n_outputs > 0) {
		if (!r->node)
			outputs_not_finished(r, "job canceled");
	} else if (*status == 0) {
		if (r->node)
			list_node_outputs(r);
		if (finish_outputs(r, err) < 0 || (!r->node && register_outputs(r, err) < 0))
			*outputs_ok = 0;
	} else if (s->n_outputs > 0 && !r->node)
		outputs_not_finished(r, "command failed");
	ferry_err ae; /* ./outputs and ./logs, whatever the exit status (workdir.h) */
	ferry_err_clear(&ae);
	if (ferry_workdir_finish(&r->ctx, s->code, s->name, &ae) < 0) {
		ferry_warn("job %s: artifacts not uploaded: %s", s->name, ae.msg);
		if (*outputs_ok && *status == 0 && !canceled)
			*err = ae;
		*outputs_ok = 0;
	}
	return 0;
}

/* Unmount whatever is still mounted, delete downloaded inputs (unless
 * FERRY_KEEP_INPUTS), close the log, free r. */
static void run_close(struct run *r, int log_open)
{
	unmount_inputs(r);
	unmount_outputs(r);
	stop_series(r); /* its last sample: after the servers' last figures */
	if (!keep_inputs(r))
		for (size_t i = 0; r->in && i < r->s->n_inputs; i++)
			if (r->in[i].local)
				ferry_rm_rf(r->in[i].local);
	if (log_open)
		ferry_log_close();
	run_free(r);
}

int ferry_job_check(struct ferry_jobspec *s, const char *home, ferry_err *err)
{
	struct run r = { .s = s };
	int rc = run_check(&r, home, err);
	run_free(&r);
	return rc;
}

void ferry_job_record_start(struct ferry_job_record *rec, const struct ferry_jobspec *s, const char *jobdir)
{
	char ts[40], jf[4096];
	ferry_log_timestamp(ts, sizeof(ts));
	memset(rec, 0, sizeof(*rec));
	rec->name = strdup(s->name);
	rec->display_name = s->display_name ? strdup(s->display_name) : NULL;
	rec->experiment_name = s->experiment_name ? strdup(s->experiment_name) : NULL;
	rec->description = s->description ? strdup(s->description) : NULL;
	rec->start_time = strdup(ts);
	rec->job_file = strdup(realpath(s->file, jf) ? jf : s->file);
	rec->folder = strdup(jobdir);
	rec->azure_json = s->azure_json ? strdup(s->azure_json) : NULL;
	rec->tags_json = s->tags_json ? strdup(s->tags_json) : NULL;
}

int ferry_job_run(struct ferry_jobspec *s, const char *home, int *exit_code, ferry_err *err)
{
	*exit_code = 1;
	if (ferry_jobspec_distributed(s))
		return ferry_dist_run(s, home, exit_code, err);
	struct run r = { .s = s };
	int rc = -1;
	int recorded = 0, log_open = 0, claim = -1;
	ferry_store_global_init();
	if (run_check(&r, home, err) < 0 ||
	    (claim = ferry_job_claim(ferry_ws_home(r.ctx.ws), s->name, err)) < 0 ||
	    run_folder(&r, &log_open, err) < 0)
		goto done;

	ferry_job_record_start(&r.rec, s, r.jobdir);
	recorded = 1;
	record(&r, "Running", 0, 0);

	int status = 0, outputs_ok = 1;
	if (run_body(&r, &status, &outputs_ok, err) < 0)
		goto done;
	int canceled = r.canceled || ferry_interrupted(); /* Ctrl-C, SIGTERM, SIGHUP */
	*exit_code = outputs_ok ? status : 1;
	if (canceled && status == 0)
		*exit_code = 128 + (r.canceled ? r.canceled : ferry_interrupted());
	rc = 0;
	const char *final = canceled ? "Canceled" : status == 0 && outputs_ok ? "Completed" : "Failed";
	record(&r, final, 1, status);
	summary(&r, final, *exit_code);
	recorded = 2;

done:
	if (rc < 0 && recorded == 1) {
		ferry_log(FERRY_LOG_INFO, "job %s failed before its command ran: %s", s->name, err->msg);
		const char *st = ferry_interrupted() ? "Canceled" : "Failed";
		record(&r, st, 0, 0);
		summary(&r, st, 1);
	}
	run_close(&r, log_open);
	ferry_job_release(claim); /* after the last record: see jobclaim.h */
	ferry_store_global_cleanup();
	return rc;
}

int ferry_job_run_node(struct ferry_jobspec *s, const char *home, const struct ferry_node_opts *opts,
		       struct ferry_node_result *res, ferry_err *err)
{
	struct run r = { .s = s, .node = opts, .failed_rank = -1 };
	int log_open = 0, status = 1, outputs_ok = 0;
	*res = (struct ferry_node_result){ .failed_rank = -1, .exit_code = 1 };
	ferry_store_global_init();
	int rc = run_check(&r, home, err);
	if (rc == 0)
		rc = run_folder(&r, &log_open, err);
	if (rc == 0)
		rc = run_body(&r, &status, &outputs_ok, err);
	if (rc == 0) {
		res->exit_code = outputs_ok ? status : 1;
		res->failed_rank = r.failed_rank;
		res->canceled = r.canceled;
		res->timed_out = r.timed_out;
		if (!outputs_ok)
			rc = -1;
	} else
		res->canceled = ferry_interrupted();
	if (rc < 0)
		ferry_log(FERRY_LOG_ERROR, "node %d: %s", opts->node_rank, err->msg);
	/* This node's figures: after the unmounts, which fill the counters. */
	unmount_inputs(&r);
	unmount_outputs(&r);
	char *in = r.in ? io_json(&r, 0) : NULL, *out = r.out ? io_json(&r, 1) : NULL;
	if (in && out && asprintf(&res->figures, "{\"inputs\":%s,\"outputs\":%s,\"bytes_moved\":%llu}", in, out,
				   (unsigned long long)(ferry_stats_get(&r.ctx.stats.bytes) + mount_bytes(&r))) < 0)
		res->figures = NULL;
	free(in);
	free(out);
	run_close(&r, log_open);
	ferry_store_global_cleanup();
	return rc;
}
