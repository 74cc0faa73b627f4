/*
 * settings.c — the single table of ferry's settings and its parser.
 *
 * Redis-style: adding a setting means adding one row here and one enum value
 * in settings.h; parsing, validation, logging and docs follow from the row.
 */
#include "core/settings.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MiB (1024.0 * 1024.0)
#define BIG 9.0e18

static const struct ferry_setting_def table[FS__COUNT] = {
	[FS_DOWNLOADER_THREADS] = { "RSLEX_DOWNLOADER_THREADS", FST_U64, FERRY_CORES_X(4), 1, 1024, 0,
		"threads", "concurrent transfers (files and ranged parts) of download and upload" },
	[FS_HTTP_RETRY_COUNT] = { "AZUREML_DATASET_HTTP_RETRY_COUNT", FST_U64, 7, 0, 100, 0,
		"count", "retries of one storage request on transient errors" },
	[FS_PART_SIZE] = { "FERRY_TRANSFER_PART_SIZE", FST_SIZE, 8 * MiB, 256 * 1024, 4000 * MiB, 0,
		"bytes", "size of the ranged parts a large file is split into (download and upload blocks)" },
	[FS_SINGLE_PUT_MAX] = { "FERRY_UPLOAD_SINGLE_PUT_MAX", FST_SIZE, 32 * MiB, 0, 5000 * MiB, 0,
		"bytes", "files up to this size are uploaded with one Put Blob" },
	[FS_STALL_SECONDS] = { "FERRY_STALL_TIMEOUT_SECONDS", FST_U64, 20, 1, 3600, 0,
		"seconds", "a request that moves no byte for this long is abandoned and retried" },
	[FS_RETRY_BASE_MS] = { "FERRY_RETRY_BASE_DELAY_MS", FST_U64, 200, 0, 60000, 0,
		"ms", "first retry delay; doubles each retry (with jitter), capped at 30 s" },
	[FS_LIST_PAGE_SIZE] = { "FERRY_LIST_PAGE_SIZE", FST_U64, 5000, 1, 5000, 0,
		"names", "names asked for per listing request (storage returns at most 5,000)" },
	[FS_ATTR_CACHE_TTL] = { "DATASET_MOUNT_ATTRIBUTE_CACHE_TTL", FST_U64, -1, 0, BIG, 1,
		"ms", "how long getattr results are kept (unset: never expire)" },
	[FS_RESERVED_FREE_DISK] = { "DATASET_RESERVED_FREE_DISK_SPACE", FST_SIZE, 150e6, 0, BIG, 0,
		"bytes", "never use the last N bytes of the disk" },
	[FS_MOUNT_CACHE_SIZE] = { "DATASET_MOUNT_CACHE_SIZE", FST_SSIZE, -1, -BIG, BIG, 1,
		"bytes", "disk the cache may use; negative = how much disk to leave free (unset: unlimited)" },
	[FS_PRUNE_THRESHOLD] = { "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD", FST_F64, 1.0, 0, 1, 0,
		"ratio", "start pruning when the cache reaches size × threshold" },
	[FS_PRUNE_TARGET] = { "DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET", FST_F64, 0.7, 0, 1, 0,
		"ratio", "pruning frees until at most size × target is used" },
	[FS_READ_BLOCK_SIZE] = { "DATASET_MOUNT_READ_BLOCK_SIZE", FST_SIZE, 2 * MiB, 4096, 1024 * MiB, 0,
		"bytes", "streaming read block" },
	[FS_READ_BUFFER_BLOCKS] = { "DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT", FST_U64, 32, 0, 100000, 0,
		"blocks", "blocks prefetched after block k (k+1 … k+N)" },
	[FS_READ_THREADS] = { "DATASET_MOUNT_READ_THREADS", FST_U64, FERRY_CORES_X(4), 1, 1024, 0,
		"threads", "prefetch threads" },
	[FS_BLOCK_CACHE_ENABLED] = { "DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED", FST_BOOL, 0, 0, 1, 0,
		"bool", "block-based open mode (else whole-file cache mode)" },
	[FS_MEMORY_CACHE_SIZE] = { "DATASET_MOUNT_MEMORY_CACHE_SIZE", FST_SIZE, 128 * MiB, 0, BIG, 0,
		"bytes", "RAM for the block cache; 0 disables RAM caching" },
	[FS_BLOCK_FILE_CACHE_ENABLED] = { "DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED", FST_BOOL, 1, 0, 1, 0,
		"bool", "block cache also spills to local disk" },
	[FS_BLOCK_FILE_QUEUE] = { "DATASET_MOUNT_BLOCK_FILE_CACHE_MAX_QUEUE_SIZE", FST_SIZE, 512 * MiB, 0, BIG, 0,
		"bytes", "RAM for blocks waiting to be written to the disk cache" },
	[FS_BLOCK_FILE_WRITE_THREADS] = { "DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS", FST_U64, FERRY_CORES_X(2), 1, 1024, 0,
		"threads", "threads writing blocks to the disk cache" },
	[FS_UNMOUNT_TIMEOUT] = { "DATASET_UNMOUNT_TIMEOUT_SECONDS", FST_U64, 30, 0, 86400, 0,
		"seconds", "time for pending operations at unmount before it is forced" },
	[FS_UPLOAD_FOLLOW_LINKS] = { "FERRY_UPLOAD_FOLLOW_LINKS", FST_BOOL, 0, 0, 1, 0,
		"bool", "uploads follow links to files outside the source folder (ferry upload --follow-links)" },
	[FS_KILL_GRACE] = { "FERRY_KILL_GRACE_SECONDS", FST_U64, 10, 0, 3600, 0,
		"seconds", "a distributed job's ranks get SIGTERM when one fails; SIGKILL after this" },
	[FS_READ_TIMEOUT] = { "FERRY_READ_TIMEOUT_SECONDS", FST_U64, 60, 1, 86400, 0,
		"seconds", "a mount's read of one block or part, retries included, fails (EIO) after this long" },
	[FS_VERIFY_MD5] = { "FERRY_VERIFY_MD5", FST_ENUM, FERRY_VERIFY_AUTO, 0, 2, 0,
		"auto|off|require", "check downloaded files against the stored Content-MD5: auto = when storage keeps one, require = refuse files without one" },
	[FS_MEMORY_LIMIT] = { "FERRY_MEMORY_LIMIT", FST_SIZE, -1, 8 * MiB, BIG, 1,
		"bytes", "RAM for data of the whole process (block cache, prefetch, range and download buffers); unset: 25% of RAM or of the cgroup limit" },
	[FS_SAMPLE] = { "FERRY_SAMPLE", FST_BOOL, 1, 0, 1, 0,
		"bool", "record the job's time series (series.jsonl; ferry job report)" },
	[FS_SAMPLE_INTERVAL] = { "FERRY_SAMPLE_INTERVAL_MS", FST_U64, 1000, 100, 3600000, 0,
		"ms", "time between two samples of the time series" },
	[FS_SAMPLE_MAX_POINTS] = { "FERRY_SAMPLE_MAX_POINTS", FST_U64, 3600, 16, 10000000, 0,
		"samples", "a time series keeps at most this many samples: then every second one is dropped and the interval doubles" },
	[FS_METRICS_ADDR] = { "FERRY_METRICS_ADDR", FST_ADDR, -1, 0, 281474976710655.0, 1,
		"host:port", "serve Prometheus/OpenMetrics text at http://HOST:PORT/metrics while a job or `ferry mount` runs (\":9464\" = 127.0.0.1:9464; unset = off)" },
	[FS_PART_SIZE_MAX] = { "FERRY_TRANSFER_PART_SIZE_MAX", FST_SIZE, 128 * MiB, 256 * 1024, 4000 * MiB, 0,
		"bytes", "a download's parts of one large file grow up to this when requests are slow (time to first byte against throughput); at or below FERRY_TRANSFER_PART_SIZE: fixed parts" },
	[FS_AHEAD_FILES] = { "FERRY_MOUNT_READ_AHEAD_FILES", FST_U64, 64, 0, 100000, 0,
		"files", "whole-file mode: files of a folder fetched ahead of a reader opening them in listing order; 0 = off" },
	[FS_AHEAD_BYTES] = { "FERRY_MOUNT_READ_AHEAD_BYTES", FST_SIZE, 256 * MiB, 0, BIG, 0,
		"bytes", "whole-file mode: most bytes fetched ahead and not yet opened, all folders together" },
	[FS_AHEAD_THREADS] = { "FERRY_MOUNT_READ_AHEAD_THREADS", FST_U64, 16, 1, 256, 0,
		"threads", "whole-file mode: files fetched ahead at once" },
};

const struct ferry_setting_def *ferry_settings_table(void)
{
	return table;
}

const char *ferry_settings_getenv(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

static double default_of(const struct ferry_setting_def *d)
{
	if (d->def <= -1000) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		if (cores < 1)
			cores = 1;
		return (double)cores * (-(d->def) - 1000);
	}
	return d->def;
}

int ferry_parse_size(const char *text, int64_t *out)
{
	while (isspace((unsigned char)*text))
		text++;
	errno = 0;
	char *end;
	double v = strtod(text, &end);
	if (end == text || errno || !isfinite(v))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	static const struct { const char *sfx; double mul; } sfx[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1e3 }, { "KB", 1e3 }, { "KiB", 1024.0 },
		{ "M", 1e6 }, { "MB", 1e6 }, { "MiB", MiB },
		{ "G", 1e9 }, { "GB", 1e9 }, { "GiB", MiB * 1024 },
		{ "T", 1e12 }, { "TB", 1e12 }, { "TiB", MiB * MiB },
	};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (!strcasecmp(end, sfx[i].sfx) &&
		    (strlen(sfx[i].sfx) < 3 || !strcmp(end, sfx[i].sfx))) {
			double r = v * sfx[i].mul;
			if (fabs(r) > BIG)
				return -1;
			*out = (int64_t)r;
			return 0;
		}
	return -1;
}

static int parse_bool(const char *t, double *out)
{
	if (!strcasecmp(t, "true") || !strcmp(t, "1") || !strcasecmp(t, "yes") || !strcasecmp(t, "on"))
		*out = 1;
	else if (!strcasecmp(t, "false") || !strcmp(t, "0") || !strcasecmp(t, "no") || !strcasecmp(t, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* The index of word `t` in "a|b|c" (case-insensitive), or -1. */
static int enum_index(const char *words, const char *t)
{
	size_t tl = strlen(t);
	int i = 0;
	for (const char *w = words; *w; i++) {
		size_t wl = strcspn(w, "|");
		if (wl == tl && !strncasecmp(w, t, tl))
			return i;
		w += wl + (w[wl] == '|');
	}
	return -1;
}

/* Word `v` of "a|b|c" into buf. */
static void enum_word(const char *words, int v, char *buf, size_t cap)
{
	const char *w = words;
	for (int i = 0; i < v && strchr(w, '|'); i++)
		w = strchr(w, '|') + 1;
	snprintf(buf, cap, "%.*s", (int)strcspn(w, "|"), w);
}

void ferry_addr_format(uint64_t addr, char *buf, size_t cap)
{
	uint32_t ip = (uint32_t)(addr >> 16);
	snprintf(buf, cap, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
		 (unsigned)(addr & 0xffff));
}

/* "HOST:PORT", ":PORT" or "PORT"; HOST an IPv4 address or localhost. */
static int parse_addr(const char *t, double *out)
{
	const char *colon = strrchr(t, ':');
	const char *port = colon ? colon + 1 : t;
	char host[64] = "127.0.0.1";
	if (colon && colon > t) {
		if ((size_t)(colon - t) >= sizeof(host))
			return -1;
		memcpy(host, t, (size_t)(colon - t));
		host[colon - t] = '\0';
		if (!strcasecmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
	}
	struct in_addr a;
	char *end;
	if (!*port || strchr(port, '-') || inet_pton(AF_INET, host, &a) != 1)
		return -1;
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535)
		return -1;
	*out = (double)(((uint64_t)ntohl(a.s_addr) << 16) | p);
	return 0;
}

static int parse_value(const struct ferry_setting_def *d, const char *t, double *out)
{
	char *end;
	int64_t i;
	switch (d->type) {
	case FST_BOOL:
		return parse_bool(t, out);
	case FST_ENUM: {
		int i = enum_index(d->unit_help, t);
		*out = i;
		return i < 0 ? -1 : 0;
	}
	case FST_U64:
		if (!*t || strchr(t, '-'))
			return -1;
		errno = 0;
		*out = (double)strtoull(t, &end, 10);
		return (errno || *end) ? -1 : 0;
	case FST_SIZE:
	case FST_SSIZE:
		if (ferry_parse_size(t, &i) < 0 || (d->type == FST_SIZE && i < 0))
			return -1;
		*out = (double)i;
		return 0;
	case FST_ADDR:
		return parse_addr(t, out);
	case FST_F64:
		errno = 0;
		*out = strtod(t, &end);
		return (errno || end == t || *end || !isfinite(*out)) ? -1 : 0;
	}
	return -1;
}

static const char *type_form(enum ferry_setting_type t)
{
	switch (t) {
	case FST_U64: return "a non-negative integer";
	case FST_SIZE: return "a size such as 4096, 64MB or 2GiB";
	case FST_SSIZE: return "a size such as 10GB or -5GB";
	case FST_F64: return "a number";
	case FST_BOOL: return "true or false";
	case FST_ENUM: return "one of";
	case FST_ADDR: return "an address such as 127.0.0.1:9464, :9464 or 9464";
	}
	return "a value";
}

int ferry_settings_load(struct ferry_settings *s, ferry_lookup_fn lookup, void *arg, ferry_err *err)
{
	for (int id = 0; id < FS__COUNT; id++) {
		const struct ferry_setting_def *d = &table[id];
		s->v[id] = default_of(d);
		s->from_user[id] = 0;
		const char *t = lookup ? lookup(arg, d->name) : NULL;
		if (!t)
			continue;
		double v;
		if (parse_value(d, t, &v) < 0)
			return ferry_err_set(err, FERRY_E_INVALID, "setting %s=\"%s\" is not %s%s%s",
					     d->name, t, type_form(d->type), d->type == FST_ENUM ? " " : "",
					     d->type == FST_ENUM ? d->unit_help : "");
		if (v < d->min || v > d->max)
			return ferry_err_set(err, FERRY_E_INVALID,
					     "setting %s=%s is out of range [%g, %g]", d->name, t,
					     d->min, d->max);
		s->v[id] = v;
		s->from_user[id] = 1;
	}
	if (s->v[FS_PRUNE_TARGET] > s->v[FS_PRUNE_THRESHOLD])
		return ferry_err_set(err, FERRY_E_INVALID,
				     "DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET (%g) must not exceed "
				     "DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD (%g)",
				     s->v[FS_PRUNE_TARGET], s->v[FS_PRUNE_THRESHOLD]);
	return 0;
}

int64_t ferry_setting_int(const struct ferry_settings *s, enum ferry_setting_id id)
{
	return (int64_t)s->v[id];
}

double ferry_setting_f64(const struct ferry_settings *s, enum ferry_setting_id id)
{
	return s->v[id];
}

static void format_value(const struct ferry_setting_def *d, double v, int unset, char *buf, size_t cap)
{
	if (unset)
		snprintf(buf, cap, "unset");
	else if (d->type == FST_BOOL)
		snprintf(buf, cap, "%s", v ? "true" : "false");
	else if (d->type == FST_ENUM)
		enum_word(d->unit_help, (int)v, buf, cap);
	else if (d->type == FST_F64)
		snprintf(buf, cap, "%g", v);
	else if (d->type == FST_ADDR)
		ferry_addr_format((uint64_t)v, buf, cap);
	else
		snprintf(buf, cap, "%lld", (long long)v);
}

void ferry_setting_format(const struct ferry_settings *s, enum ferry_setting_id id, char *buf, size_t cap)
{
	format_value(&table[id], s->v[id], table[id].unset_ok && !s->from_user[id], buf, cap);
}

void ferry_settings_log(const struct ferry_settings *s)
{
	for (int id = 0; id < FS__COUNT; id++) {
		char buf[64];
		ferry_setting_format(s, (enum ferry_setting_id)id, buf, sizeof(buf));
		ferry_info("setting %s=%s (%s)", table[id].name, buf, s->from_user[id] ? "set" : "default");
	}
}

void ferry_settings_markdown(FILE *out)
{
	fprintf(out, "| variable | unit | default | meaning |\n|---|---|---|---|\n");
	for (int id = 0; id < FS__COUNT; id++) {
		const struct ferry_setting_def *d = &table[id];
		char buf[64];
		if (d->def <= -1000)
			snprintf(buf, sizeof(buf), "cores × %d", (int)(-(d->def) - 1000));
		else
			format_value(d, d->def, d->unset_ok, buf, sizeof(buf));
		char unit[64];
		snprintf(unit, sizeof(unit), "%s", d->unit_help);
		for (char *c = unit; (c = strchr(c, '|')); ) /* a word list: not a table cell border */
			*c = '/';
		fprintf(out, "| %s | %s | %s | %s |\n", d->name, unit, buf, d->help);
	}
}
