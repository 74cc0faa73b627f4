/*
 * openmetrics.c — Prometheus text exposition writers (openmetrics.h).
 */
#include "core/openmetrics.h"

#include <math.h>

const struct ferry_om_def ferry_om_io[] = {
	{ "read", "ferry_io_read_bytes_total", "counter", "Bytes the command read through a mount of this input." },
	{ "storage", "ferry_io_storage_bytes_total", "counter", "Bytes moved to or from storage for this input or output." },
	{ "files", "ferry_io_files_total", "counter", "Files downloaded or uploaded for this input or output." },
	{ "requests", "ferry_io_requests_total", "counter", "Storage requests, retries included." },
	{ "retries", "ferry_io_retries_total", "counter", "Storage requests repeated after a transient failure." },
	{ "errors", "ferry_io_errors_total", "counter", "Reads of the mount that failed (EIO)." },
	{ "hits", "ferry_io_cache_hits_total", "counter", "Reads served from a cache." },
	{ "misses", "ferry_io_cache_misses_total", "counter", "Reads that had to go to storage." },
	{ "prefetched", "ferry_io_prefetched_total", "counter", "Blocks fetched ahead of the reader." },
	{ "prefetch_hits", "ferry_io_prefetch_hits_total", "counter", "Prefetched blocks a reader then used." },
	{ "wait_s", "ferry_io_reader_wait_seconds_total", "counter",
	  "Time the command's reads spent blocked waiting for storage, summed over threads." },
	{ "opens", "ferry_io_opens_total", "counter", "Files opened through the mount." },
	{ "cache_disk", "ferry_io_cache_disk_bytes", "gauge", "Bytes of this mount's caches on disk now." },
};
const size_t ferry_om_io_count = sizeof(ferry_om_io) / sizeof(ferry_om_io[0]);

void ferry_om_family(struct ferry_strbuf *sb, const char *name, const char *type, const char *help)
{
	ferry_strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_escaped(struct ferry_strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			ferry_strbuf_addch(sb, '\\');
		if (*v == '\n')
			ferry_strbuf_adds(sb, "\\n");
		else
			ferry_strbuf_addch(sb, *v);
	}
}

void ferry_om_sample(struct ferry_strbuf *sb, const char *name, const char *const *labels, double value)
{
	ferry_strbuf_adds(sb, name);
	int n = 0;
	for (size_t i = 0; labels && labels[i]; i += 2) {
		if (!labels[i + 1])
			continue;
		ferry_strbuf_adds(sb, n++ ? "," : "{");
		ferry_strbuf_addf(sb, "%s=\"", labels[i]);
		add_escaped(sb, labels[i + 1]);
		ferry_strbuf_addch(sb, '"');
	}
	if (n)
		ferry_strbuf_addch(sb, '}');
	if (isnan(value))
		ferry_strbuf_adds(sb, " NaN\n");
	else if (value == floor(value) && fabs(value) < 9007199254740992.0)
		ferry_strbuf_addf(sb, " %.0f\n", value);
	else
		ferry_strbuf_addf(sb, " %.9g\n", value);
}
