/*
 * mltable.c — `ferry mltable show | head | export`: an MLTable's file set,
 * schema and rows (src/mltable/).
 *
 *   ferry mltable show PATH                      files (size, tree name) and schema
 *   ferry mltable head PATH [-n N] [--to csv|jsonl]  the first N rows (default 10)
 *   ferry mltable export PATH --to csv|jsonl|parquet [--codec snappy|zstd|gzip|none] OUT
 *                                                    every row to OUT ('-': stdout)
 *
 * PATH is a folder holding an MLTable file, or that file, in any path form (README.md, "Paths").
 * An export that fails removes its partial output file.
 */
#include "cli/cli.h"
#include "core/redact.h"
#include "mltable/mltable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "ferry mltable show PATH | head PATH [-n N] [--to csv|jsonl] | "
			    "export PATH --to csv|jsonl|parquet [--codec snappy|zstd|gzip|none] OUT";

static int show(struct ferry_ctx *ctx, struct ferry_mltable *m, ferry_err *err)
{
	struct ferry_mlt_files f; /* what eval_download gives: after a file set's row filtering too */
	if (ferry_mltable_set_files(ctx, m, &f, err) < 0)
		return -1;
	uint64_t total = 0;
	for (size_t i = 0; i < f.n; i++)
		total += f.v[i].size;
	char label[2048];
	snprintf(label, sizeof(label), "%s", m->label);
	ferry_redact(label, sizeof(label)); /* a SAS signature in the URI given */
	printf("mltable: %s\nfiles: %zu (%llu bytes)\n", label, f.n, (unsigned long long)total);
	for (size_t i = 0; i < f.n; i++)
		printf("  %llu\t%s\n", (unsigned long long)f.v[i].size, f.v[i].name);
	ferry_mlt_files_clear(&f);
	printf("schema:\n");
	for (size_t i = 0; i < m->nsteps; i++)
		if (m->steps[i].op == FERRY_MLT_READ_UNSUPPORTED) {
			printf("  (not evaluated: %s at line %d has no reader in ferry; eval_mount and eval_download "
			       "give the files above)\n", m->steps[i].name, m->steps[i].line);
			return 0;
		}
	fflush(stdout);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	int rc = ferry_mltable_export(ctx, m, FERRY_MLT_SCHEMA, mem, UINT64_MAX, NULL, err);
	fclose(mem);
	for (char *line = buf, *nl; rc == 0 && line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		printf("  %.*s\n", (int)(nl - line), line);
	}
	free(buf);
	return rc;
}

static int parse_format(const char *s, enum ferry_mlt_format *f)
{
	if (!strcmp(s, "csv"))
		*f = FERRY_MLT_CSV;
	else if (!strcmp(s, "jsonl") || !strcmp(s, "json_lines"))
		*f = FERRY_MLT_JSONL;
	else if (!strcmp(s, "parquet"))
		*f = FERRY_MLT_PARQUET;
	else
		return -1;
	return 0;
}

int cmd_mltable(int argc, char **argv)
{
	if (argc < 3)
		return cli_usage(usage, "mltable takes a subcommand and a PATH");
	const char *sub = argv[1], *path = NULL, *out = NULL;
	enum ferry_mlt_format fmt = FERRY_MLT_CSV;
	int have_fmt = 0;
	const char *codec = NULL;
	uint64_t n = 10;
	if (strcmp(sub, "show") && strcmp(sub, "head") && strcmp(sub, "export"))
		return cli_usage(usage, "unknown mltable subcommand '%s'", sub);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc && !strcmp(sub, "head")) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (*end || errno || argv[i][0] == '-')
				return cli_usage(usage, "-n takes a number of rows, not '%s'", argv[i]);
			n = v;
		} else if (!strcmp(argv[i], "--to") && i + 1 < argc && strcmp(sub, "show")) {
			if (parse_format(argv[++i], &fmt) < 0 || (ferry_mlt_is_parquet(fmt) && strcmp(sub, "export")))
				return cli_usage(usage, "--to takes csv or jsonl%s, not '%s'",
						 strcmp(sub, "export") ? "" : " or parquet", argv[i]);
			have_fmt = 1;
		} else if (!strcmp(argv[i], "--codec") && i + 1 < argc && !strcmp(sub, "export")) {
			codec = argv[++i];
		} else if (!path) {
			path = argv[i];
		} else if (!out && !strcmp(sub, "export")) {
			out = argv[i];
		} else {
			return cli_usage(usage, "unexpected argument '%s'", argv[i]);
		}
	}
	if (!path)
		return cli_usage(usage, "mltable %s takes a PATH", sub);
	if (!strcmp(sub, "export") && (!out || !have_fmt))
		return cli_usage(usage, "mltable export takes --to csv|jsonl|parquet and an output file");
	if (codec) {
		static const char *const codecs[] = { "snappy", "zstd", "gzip", "none" };
		int k = -1;
		for (int j = 0; j < 4; j++)
			if (!strcmp(codec, codecs[j]))
				k = j;
		if (!ferry_mlt_is_parquet(fmt) || k < 0)
			return cli_usage(usage, "--codec goes with --to parquet and takes snappy, zstd, gzip or none, "
					 "not '%s'", codec);
		fmt = (enum ferry_mlt_format)(FERRY_MLT_PARQUET + k);
	}
	struct ferry_ctx ctx;
	ferry_err err;
	if (cli_ctx_open(&ctx, &err) < 0)
		return cli_fail(&err);
	ctx.progress = 0;
	struct ferry_mltable *m = NULL;
	int rc = ferry_mltable_open(&ctx, path, &m, &err);
	if (rc == 0 && !strcmp(sub, "show")) {
		rc = show(&ctx, m, &err);
	} else if (rc == 0 && !strcmp(sub, "head")) {
		rc = ferry_mltable_export(&ctx, m, fmt, stdout, n, NULL, &err);
	} else if (rc == 0) {
		int to_stdout = !strcmp(out, "-");
		FILE *f = to_stdout ? stdout : fopen(out, "we");
		if (!f) {
			rc = ferry_err_set(&err, FERRY_E_IO, "cannot create '%s': %s", out, strerror(errno));
		} else {
			static char obuf[1 << 20];
			setvbuf(f, obuf, _IOFBF, sizeof(obuf));
			uint64_t rows = 0;
			rc = ferry_mltable_export(&ctx, m, fmt, f, UINT64_MAX, &rows, &err);
			if (!to_stdout && fclose(f) != 0 && rc == 0)
				rc = ferry_err_set(&err, FERRY_E_IO, "cannot write '%s': %s", out, strerror(errno));
			if (to_stdout)
				fflush(stdout);
			if (rc < 0 && !to_stdout)
				unlink(out);
			if (rc == 0)
				fprintf(stderr, "ferry: exported %llu rows to %s (%llu bytes read from storage in %llu "
					"requests)\n", (unsigned long long)rows, out,
					(unsigned long long)ferry_stats_get(&ctx.stats.bytes),
					(unsigned long long)ferry_stats_get(&ctx.stats.requests));
		}
	}
	ferry_mltable_free(m);
	cli_ctx_close(&ctx);
	return rc < 0 ? cli_fail(&err) : 0;
}
