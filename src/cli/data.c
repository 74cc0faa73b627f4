/*
 * data.c — `ferry data create | list | show`: the workspace's data assets.
 *
 * create takes Azure ML's data YAML (`$schema`, `name`, `version`, `type`,
 * `path`, `description`, `tags`; anything else is an error naming the file,
 * the line and the field) and/or flags that override it. A local `path`
 * (relative to the YAML's folder, or to the current folder for --path) is
 * uploaded first, as Azure's CLI does, to the default datastore at
 * azureml://datastores/workspaceblobstore/paths/LocalUpload/<uuid>/<basename>
 * (a folder: .../<basename>/ with its contents below), and the asset points
 * there; a fresh uuid per create keeps every version's bytes apart, so an
 * asset version never changes under a job that uses it. A storage path is
 * registered as given (not contacted: it may need credentials only a job has).
 * The registry (workspace.c) owns versions, immutability and @latest.
 *
 * archive / restore hide a version, or a whole asset, from `list` and
 * @latest without deleting it (Azure ML's `az ml data archive|restore`);
 * `list --include-archived` and `show NAME:VERSION` still see it.
 */
#include "cli/cli.h"
#include "core/strbuf.h"
#include "core/sys.h"
#include "core/uri.h"
#include "core/yaml.h"
#include "transfer/transfer.h"
#include "workspace/workspace.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"ferry data create --file ASSET.yml [--name N] [--version V] [--path P] [--type T]"
	" [--description D]\n"
	"       ferry data create --name N --path P [--version V] [--type T] [--description D]\n"
	"       ferry data list [--name N] [--include-archived]\n"
	"       ferry data show NAME[:VERSION|@latest]\n"
	"       ferry data archive NAME[:VERSION]\n"
	"       ferry data restore NAME[:VERSION]";

static const char *const types[] = { "uri_folder", "uri_file", "mltable" };

static int scalar(struct ferry_yaml_doc *c, const struct ferry_yaml_node *n, const char *field, char **out)
{
	if (n->kind != FERRY_YAML_SCALAR || ferry_yaml_is_null(n) || !*n->text)
		return ferry_yaml_err(c, n->line, field, "expected a string, found %s",
			    n->kind == FERRY_YAML_SCALAR ? "nothing" : ferry_yaml_kind_name(n));
	free(*out);
	*out = strdup(n->text);
	return *out ? 0 : ferry_err_set(c->err, FERRY_E_IO, "out of memory");
}

static int type_ok(const char *t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(t, types[i]))
			return 1;
	return 0;
}

/* ASSET.yml into *a (cli.h). */
int cli_data_asset_parse(const char *file, struct ferry_data_asset *a, ferry_err *err)
{
	struct ferry_yaml_doc c = { file, err };
	struct ferry_yaml_node *root;
	if (ferry_yaml_load(file, &root, err) < 0)
		return -1;
	int rc = -1;
	if (root->kind != FERRY_YAML_MAP) {
		ferry_err_set(err, FERRY_E_INVALID, "%s:%d: a data asset file is a map of fields, found %s",
			      file, root->line, ferry_yaml_kind_name(root));
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i];
		const struct ferry_yaml_node *v = root->vals[i];
		if (!strcmp(k, "$schema")) {
			if (v->kind != FERRY_YAML_SCALAR) {
				ferry_yaml_err(&c, v->line, k, "expected a string, found %s", ferry_yaml_kind_name(v));
				goto out;
			}
		} else if (!strcmp(k, "name")) {
			if (scalar(&c, v, k, &a->name) < 0)
				goto out;
			if (!ferry_ws_asset_name_ok(a->name)) {
				ferry_yaml_err(&c, v->line, k,
				     "'%s' is not a valid name (letters, digits, '_', '-', '.', starting "
				     "with a letter or digit)",
				     a->name);
				goto out;
			}
		} else if (!strcmp(k, "version")) {
			if (ferry_yaml_is_null(v))
				continue;
			if (scalar(&c, v, k, &a->version) < 0)
				goto out;
			if (!ferry_ws_asset_version_ok(a->version)) {
				ferry_yaml_err(&c, v->line, k,
				     "'%s' is not a valid version (letters, digits, '_', '-', '.', not "
				     "'latest')",
				     a->version);
				goto out;
			}
		} else if (!strcmp(k, "type")) {
			if (scalar(&c, v, k, &a->type) < 0)
				goto out;
			if (!type_ok(a->type)) {
				ferry_yaml_err(&c, v->line, k, "unknown type '%s' (expected one of: uri_folder, uri_file, mltable)",
				     a->type);
				goto out;
			}
		} else if (!strcmp(k, "path")) {
			if (scalar(&c, v, k, &a->path) < 0)
				goto out;
		} else if (!strcmp(k, "description")) {
			if (!ferry_yaml_is_null(v) && scalar(&c, v, k, &a->description) < 0)
				goto out;
		} else if (!strcmp(k, "tags")) {
			if (cli_yaml_tags(&c, v, k, &a->tags_json) < 0)
				goto out;
		} else {
			ferry_yaml_err(&c, root->key_lines[i], k,
			     "unknown field of a data asset (known: $schema, name, version, type, path, "
			     "description, tags)");
			goto out;
		}
	}
	if (!a->name) {
		ferry_yaml_err(&c, root->line, "name", "required");
		goto out;
	}
	if (!a->path) {
		ferry_yaml_err(&c, root->line, "path", "required (a local file or folder, or a storage URI)");
		goto out;
	}
	rc = 0;
out:
	ferry_yaml_free(root);
	return rc;
}

static void new_uuid(char *buf, size_t cap)
{
	unsigned char r[16];
	ferry_random_bytes(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40; /* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, cap,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
}

/* upload_local's work once the path is known: `abs` (its real path) exists
 * or the error names `joined` (where it was looked for). */
static int upload_found(struct ferry_data_asset *a, const char *local, const char *joined, const char *abs,
			ferry_err *err)
{
	struct stat sb;
	if (!abs || stat(abs, &sb) < 0)
		return ferry_err_set(err, FERRY_E_NOTFOUND,
				     "data asset '%s': local path '%s' does not exist (looked for %s)",
				     a->name, local, joined);
	int is_dir = S_ISDIR(sb.st_mode);
	if (!is_dir && !S_ISREG(sb.st_mode))
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s': '%s' is neither a file nor a folder", a->name, abs);
	if (!strcmp(a->type, "uri_file") && is_dir)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s': '%s' is a folder, but the type is uri_file "
				     "(use type: uri_folder)",
				     a->name, local);
	if (strcmp(a->type, "uri_file") != 0 && !is_dir)
		return ferry_err_set(err, FERRY_E_INVALID,
				     "data asset '%s': '%s' is a file, but the type is %s (use type: "
				     "uri_file)",
				     a->name, local, a->type);
	if (!strcmp(a->type, "mltable")) {
		struct ferry_strbuf mlt = FERRY_STRBUF_INIT;
		ferry_strbuf_addf(&mlt, "%s/MLTable", abs);
		int missing = mlt.failed || access(mlt.buf, R_OK) < 0;
		ferry_strbuf_release(&mlt);
		if (missing)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "data asset '%s': folder '%s' has no MLTable file (type mltable)",
					     a->name, local);
	}
	const char *bn = strrchr(abs, '/');
	bn = bn && bn[1] ? bn + 1 : "root";
	char uuid[40];
	new_uuid(uuid, sizeof(uuid));
	char *uri = NULL;
	if (asprintf(&uri, "azureml://datastores/workspaceblobstore/paths/LocalUpload/%s/%s%s", uuid,
		     bn, is_dir ? "/" : "") < 0)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	struct ferry_ctx ctx;
	int rc = cli_ctx_open(&ctx, err);
	struct ferry_xfer_result res;
	if (rc == 0)
		rc = ferry_upload(&ctx, abs, uri, &res, err);
	if (rc == 0) {
		char line[256];
		ferry_xfer_summary(&res, line, sizeof(line));
		fprintf(stderr, "uploaded %s -> %s: %s\n", abs, uri, line);
		free(a->path);
		a->path = uri;
		uri = NULL;
	} else
		ferry_err_wrap(err, "data asset '%s': uploading %s", a->name, abs);
	free(uri);
	cli_ctx_close(&ctx);
	return rc;
}

/* A local `path` (relative to `base`): check it against the type, upload it
 * to LocalUpload/<uuid>/ on the default datastore and point a->path there. */
static int upload_local(struct ferry_data_asset *a, const char *local, const char *base,
			ferry_err *err)
{
	struct ferry_strbuf joined = FERRY_STRBUF_INIT;
	if (local[0] == '/' || !base)
		ferry_strbuf_adds(&joined, local);
	else
		ferry_strbuf_addf(&joined, "%s/%s", base, local);
	if (joined.failed)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	char *abs = realpath(joined.buf, NULL);
	int rc = upload_found(a, local, joined.buf, abs, err);
	free(abs);
	ferry_strbuf_release(&joined);
	return rc;
}

static int set_flag(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

static int data_create(int argc, char **argv)
{
	const char *file = NULL;
	struct ferry_data_asset flags = { 0 }, a = { 0 };
	int rc = 1; /* out of memory unless set otherwise */
	struct ferry_strbuf base = FERRY_STRBUF_INIT; /* the folder relative paths start from */
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		char **dst = !strcmp(o, "--name")	 ? &flags.name
			     : !strcmp(o, "--version")	 ? &flags.version
			     : !strcmp(o, "--path")	 ? &flags.path
			     : !strcmp(o, "--type")	 ? &flags.type
			     : !strcmp(o, "--description") ? &flags.description
						       : NULL;
		if ((!strcmp(o, "--file") || !strcmp(o, "-f")) && i + 1 < argc)
			file = argv[++i];
		else if (dst && i + 1 < argc) {
			if (set_flag(dst, argv[++i]) < 0)
				goto out;
		} else {
			rc = cli_usage(usage, "unexpected argument '%s'", o);
			goto out;
		}
	}
	ferry_err err;
	ferry_strbuf_adds(&base, ".");
	if (file) {
		if (cli_data_asset_parse(file, &a, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		ferry_strbuf_reset(&base);
		ferry_strbuf_adds(&base, file);
		char *slash = strrchr(base.buf, '/');
		if (slash == base.buf)
			ferry_strbuf_setlen(&base, 1);
		else if (slash)
			ferry_strbuf_setlen(&base, (size_t)(slash - base.buf));
		else {
			ferry_strbuf_reset(&base);
			ferry_strbuf_adds(&base, ".");
		}
	}
	/* Flags override the file, as `az ml data create --set` does. */
	char **from[] = { &flags.name, &flags.version, &flags.path, &flags.type, &flags.description };
	char **to[] = { &a.name, &a.version, &a.path, &a.type, &a.description };
	for (size_t i = 0; i < 5; i++)
		if (*from[i]) {
			free(*to[i]);
			*to[i] = *from[i];
			*from[i] = NULL;
			if (i == 2) { /* a --path is relative to the current folder */
				ferry_strbuf_reset(&base);
				ferry_strbuf_adds(&base, ".");
			}
		}
	if (!a.name || !a.path) {
		rc = cli_usage(usage, "data create needs --file ASSET.yml, or --name and --path");
		goto out;
	}
	if (!a.type && !(a.type = strdup("uri_folder")))
		goto out;
	if (!type_ok(a.type)) {
		rc = cli_usage(usage, "unknown type '%s' (expected one of: uri_folder, uri_file, mltable)",
			       a.type);
		goto out;
	}
	if (!ferry_ws_asset_name_ok(a.name) || (a.version && !ferry_ws_asset_version_ok(a.version))) {
		ferry_err_set(&err, FERRY_E_INVALID,
			      "data asset name '%s' or version '%s' is not valid (letters, digits, "
			      "'_', '-', '.', starting with a letter or digit; version not 'latest')",
			      a.name, a.version ? a.version : "");
		rc = cli_fail(&err);
		goto out;
	}
	struct ferry_uri u;
	if (ferry_uri_parse(a.path, &u, &err) < 0) {
		ferry_err_wrap(&err, "data asset '%s': path", a.name);
		rc = cli_fail(&err);
		goto out;
	}
	int kind = u.kind;
	char *local = kind == FERRY_URI_LOCAL && u.path ? strdup(u.path) : NULL;
	ferry_uri_free(&u);
	if (kind == FERRY_URI_ASSET) {
		ferry_err_set(&err, FERRY_E_INVALID,
			      "data asset '%s': path '%s' is another data asset; give its storage path "
			      "(see `ferry data show`)",
			      a.name, a.path);
		rc = cli_fail(&err);
		goto out;
	}
	struct ferry_ws *ws;
	if (ferry_ws_open(NULL, &ws, &err) < 0) {
		free(local);
		rc = cli_fail(&err);
		goto out;
	}
	/* A version given explicitly must be new: say so before uploading anything. */
	struct ferry_data_asset old;
	if (a.version && ferry_ws_asset_get(ws, a.name, a.version, &old, &err) == 0) {
		ferry_data_asset_free(&old);
		ferry_err_set(&err, FERRY_E_INVALID,
			      "data asset '%s' version '%s' already exists and versions are immutable; "
			      "give a new version, or none for the next number",
			      a.name, a.version);
		rc = cli_fail(&err);
	} else if (kind == FERRY_URI_LOCAL && base.failed) {
		rc = cli_fail(&(ferry_err){ .code = FERRY_E_IO, .msg = "out of memory" });
	} else if (kind == FERRY_URI_LOCAL && upload_local(&a, local, base.buf, &err) < 0) {
		rc = cli_fail(&err);
	} else {
		char *version = NULL;
		if (ferry_ws_asset_create(ws, &a, &version, &err) < 0)
			rc = cli_fail(&err);
		else {
			printf("data asset %s version %s created (%s, %s); use it as azureml:%s:%s\n",
			       a.name, version, a.type, a.path, a.name, version);
			rc = 0;
		}
		free(version);
	}
	free(local);
	ferry_ws_close(ws);
out:
	ferry_strbuf_release(&base);
	ferry_data_asset_free(&flags);
	ferry_data_asset_free(&a);
	return rc;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int data_list(int argc, char **argv)
{
	const char *name = NULL;
	int include_archived = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc && !name)
			name = argv[++i];
		else if (!strcmp(argv[i], "--include-archived"))
			include_archived = 1;
		else
			return cli_usage(usage, "data list takes --name NAME and --include-archived, "
						"not '%s'",
					 argv[i]);
	}
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0)
		return cli_fail(&err);
	struct ferry_data_asset *v;
	size_t n;
	int rc = ferry_ws_asset_list(ws, name, include_archived, &v, &n, &err);
	size_t n_all = n;
	if (rc == 0 && name && n == 0 && !include_archived) {
		struct ferry_data_asset *all;
		if (ferry_ws_asset_list(ws, name, 1, &all, &n_all, &err) == 0)
			ferry_data_asset_list_free(all, n_all);
	}
	ferry_ws_close(ws);
	if (rc < 0)
		return cli_fail(&err);
	if (name && n_all == 0) {
		ferry_err_set(&err, FERRY_E_NOTFOUND, "data asset '%s' not found", name);
		return cli_fail(&err);
	}
	if (name && n == 0)
		fprintf(stderr, "ferry: every version of data asset '%s' is archived (%zu); "
				"see them with --include-archived\n",
			name, n_all);
	printf("%-32s %-10s %-10s %-24s %s\n", "NAME", name ? "VERSION" : "LATEST", "TYPE", "CREATED",
	       "PATH");
	for (size_t i = 0; i < n; i++) {
		cli_mask(&v[i].path);
		printf("%-32s %-10s %-10s %-24s %s%s\n", v[i].name, v[i].version, v[i].type,
		       or_dash(v[i].created), v[i].path, v[i].archived ? "  (archived)" : "");
	}
	ferry_data_asset_list_free(v, n);
	return 0;
}

/* "[azureml:]NAME[:VERSION|@latest]" into a malloc'd *name and a *version
 * pointing into it (NULL: none, or @latest). 0, or a usage error's exit code. */
static int parse_ref(const char *arg, int allow_latest, char **name, const char **version)
{
	*version = NULL;
	size_t skip;
	*name = strdup(ferry_uri_scheme(arg, &skip) == FERRY_SCHEME_ASSET ? arg + skip : arg);
	if (!*name)
		return 1;
	char *sep = strchr(*name, ':');
	char *at = strchr(*name, '@');
	if (sep) {
		*sep = '\0';
		*version = sep + 1;
	} else if (at) {
		*at = '\0';
		if (!allow_latest || strcmp(at + 1, "latest") != 0) {
			free(*name);
			*name = NULL;
			return cli_usage(usage, allow_latest ? "'%s': after '@' only 'latest' is known"
							     : "'%s': give NAME or NAME:VERSION",
					 arg);
		}
	}
	if (!**name || (*version && !**version)) {
		free(*name);
		*name = NULL;
		return cli_usage(usage, "'%s': the name or version is empty", arg);
	}
	return 0;
}

/* archive / restore NAME[:VERSION] */
static int data_archive(int argc, char **argv, int archived)
{
	if (argc != 3)
		return cli_usage(usage, "data %s takes one NAME[:VERSION]", argv[1]);
	char *name;
	const char *version;
	int urc = parse_ref(argv[2], 0, &name, &version);
	if (urc)
		return urc;
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0) {
		free(name);
		return cli_fail(&err);
	}
	int rc = ferry_ws_asset_set_archived(ws, name, version, archived, &err);
	ferry_ws_close(ws);
	if (rc == 0) {
		if (version)
			printf("data asset %s version %s %s\n", name, version,
			       archived ? "archived: hidden from `ferry data list` and @latest; "
					  "still usable as azureml:NAME:VERSION"
					: "restored");
		else
			printf("data asset %s %s\n", name,
			       archived ? "archived (every version, also ones created later): hidden "
					  "from `ferry data list` and @latest; versions still usable "
					  "by number"
					: "restored (versions archived on their own stay archived)");
	}
	free(name);
	return rc == 0 ? 0 : cli_fail(&err);
}

static int data_show(int argc, char **argv)
{
	if (argc != 3)
		return cli_usage(usage, "data show takes one NAME[:VERSION|@latest]");
	char *ref;
	const char *version;
	int urc = parse_ref(argv[2], 1, &ref, &version);
	if (urc)
		return urc;
	struct ferry_ws *ws;
	ferry_err err;
	if (ferry_ws_open(NULL, &ws, &err) < 0) {
		free(ref);
		return cli_fail(&err);
	}
	struct ferry_data_asset a;
	int rc = ferry_ws_asset_get(ws, ref, version, &a, &err);
	struct ferry_job_record job;
	int have_job = 0;
	if (rc == 0 && a.job) {
		ferry_err jerr;
		have_job = ferry_ws_job_get(ws, a.job, &job, &jerr) == 0;
	}
	ferry_ws_close(ws);
	free(ref);
	if (rc < 0)
		return cli_fail(&err);
	cli_mask(&a.path);
	cli_mask(&a.description);
	cli_mask(&a.tags_json);
	printf("name:        %s\n", a.name);
	printf("version:     %s\n", a.version);
	printf("type:        %s\n", a.type);
	printf("path:        %s\n", a.path);
	printf("description: %s\n", or_dash(a.description));
	if (a.tags_json)
		printf("tags:        %s\n", a.tags_json);
	printf("created:     %s\n", or_dash(a.created));
	printf("archived:    %s\n", a.archived ? "yes" : "no");
	if (a.job)
		printf("job:         %s%s%s%s\n", a.job, have_job ? " (" : " (no longer recorded",
		       have_job ? or_dash(job.status) : "", ")");
	else
		printf("job:         -\n");
	printf("uri:         azureml:%s:%s\n", a.name, a.version);
	if (have_job)
		ferry_job_record_free(&job);
	ferry_data_asset_free(&a);
	return 0;
}

int cmd_data(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage, "data needs a subcommand");
	if (!strcmp(argv[1], "create"))
		return data_create(argc, argv);
	if (!strcmp(argv[1], "list"))
		return data_list(argc, argv);
	if (!strcmp(argv[1], "show"))
		return data_show(argc, argv);
	if (!strcmp(argv[1], "archive"))
		return data_archive(argc, argv, 1);
	if (!strcmp(argv[1], "restore"))
		return data_archive(argc, argv, 0);
	return cli_usage(usage, "unknown data subcommand '%s'", argv[1]);
}
