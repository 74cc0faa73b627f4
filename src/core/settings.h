/*
 * settings.h — every tunable of ferry, declared once.
 *
 * The table in settings.c (name, type, default, range, help) drives parsing,
 * validation, the "settings in force" lines of the runtime log and the table
 * in docs/settings.md (`ferry settings --markdown`). Values come from a lookup
 * function: for a job, its environment_variables first, then ferry's own
 * environment. No module calls getenv() for a setting.
 */
#ifndef FERRY_SETTINGS_H
#define FERRY_SETTINGS_H

#include "core/err.h"

#include <stdint.h>
#include <stdio.h>

enum ferry_setting_id {
	FS_DOWNLOADER_THREADS,      /* RSLEX_DOWNLOADER_THREADS */
	FS_HTTP_RETRY_COUNT,        /* AZUREML_DATASET_HTTP_RETRY_COUNT */
	FS_PART_SIZE,               /* FERRY_TRANSFER_PART_SIZE */
	FS_SINGLE_PUT_MAX,          /* FERRY_UPLOAD_SINGLE_PUT_MAX */
	FS_STALL_SECONDS,           /* FERRY_STALL_TIMEOUT_SECONDS */
	FS_RETRY_BASE_MS,           /* FERRY_RETRY_BASE_DELAY_MS */
	FS_LIST_PAGE_SIZE,          /* FERRY_LIST_PAGE_SIZE */
	FS_ATTR_CACHE_TTL,          /* DATASET_MOUNT_ATTRIBUTE_CACHE_TTL */
	FS_RESERVED_FREE_DISK,      /* DATASET_RESERVED_FREE_DISK_SPACE */
	FS_MOUNT_CACHE_SIZE,        /* DATASET_MOUNT_CACHE_SIZE */
	FS_PRUNE_THRESHOLD,         /* DATASET_MOUNT_FILE_CACHE_PRUNE_THRESHOLD */
	FS_PRUNE_TARGET,            /* DATASET_MOUNT_FILE_CACHE_PRUNE_TARGET */
	FS_READ_BLOCK_SIZE,         /* DATASET_MOUNT_READ_BLOCK_SIZE */
	FS_READ_BUFFER_BLOCKS,      /* DATASET_MOUNT_READ_BUFFER_BLOCK_COUNT */
	FS_READ_THREADS,            /* DATASET_MOUNT_READ_THREADS */
	FS_BLOCK_CACHE_ENABLED,     /* DATASET_MOUNT_BLOCK_BASED_CACHE_ENABLED */
	FS_MEMORY_CACHE_SIZE,       /* DATASET_MOUNT_MEMORY_CACHE_SIZE */
	FS_BLOCK_FILE_CACHE_ENABLED,/* DATASET_MOUNT_BLOCK_FILE_CACHE_ENABLED */
	FS_BLOCK_FILE_QUEUE,        /* DATASET_MOUNT_BLOCK_FILE_CACHE_MAX_QUEUE_SIZE */
	FS_BLOCK_FILE_WRITE_THREADS,/* DATASET_MOUNT_BLOCK_FILE_CACHE_WRITE_THREADS */
	FS_UNMOUNT_TIMEOUT,         /* DATASET_UNMOUNT_TIMEOUT_SECONDS */
	FS_UPLOAD_FOLLOW_LINKS,     /* FERRY_UPLOAD_FOLLOW_LINKS */
	FS_KILL_GRACE,              /* FERRY_KILL_GRACE_SECONDS */
	FS_READ_TIMEOUT,            /* FERRY_READ_TIMEOUT_SECONDS */
	FS_VERIFY_MD5,              /* FERRY_VERIFY_MD5: enum ferry_verify_md5 */
	FS_MEMORY_LIMIT,            /* FERRY_MEMORY_LIMIT (-1: unset, the default of core/membudget.h) */
	FS_SAMPLE,                  /* FERRY_SAMPLE */
	FS_SAMPLE_INTERVAL,         /* FERRY_SAMPLE_INTERVAL_MS */
	FS_SAMPLE_MAX_POINTS,       /* FERRY_SAMPLE_MAX_POINTS */
	FS_METRICS_ADDR,            /* FERRY_METRICS_ADDR: FST_ADDR */
	FS_PART_SIZE_MAX,           /* FERRY_TRANSFER_PART_SIZE_MAX */
	FS_AHEAD_FILES,             /* FERRY_MOUNT_READ_AHEAD_FILES */
	FS_AHEAD_BYTES,             /* FERRY_MOUNT_READ_AHEAD_BYTES */
	FS_AHEAD_THREADS,           /* FERRY_MOUNT_READ_AHEAD_THREADS */
	FS__COUNT
};

enum ferry_setting_type {
	FST_U64,   /* plain non-negative integer */
	FST_SIZE,  /* bytes; accepts KB/MB/GB/KiB/MiB/GiB suffixes */
	FST_SSIZE, /* like SIZE but may be negative (cache size: how much to leave free) */
	FST_F64,   /* real number within [min, max] */
	FST_BOOL,  /* true/false/1/0/yes/no */
	FST_ENUM,  /* one of the words in unit_help, "a|b|c"; the value is its index */
	FST_ADDR,  /* an IPv4 address and TCP port: "HOST:PORT", ":PORT" or "PORT" (host
	              127.0.0.1: loopback unless named); the value is (ipv4 << 16) | port */
};

/* FERRY_VERIFY_MD5 (in the order of its row's words). */
enum ferry_verify_md5 {
	FERRY_VERIFY_AUTO,    /* check downloads against the stored Content-MD5 when there is one */
	FERRY_VERIFY_OFF,     /* never check */
	FERRY_VERIFY_REQUIRE, /* check, and refuse a file that has no stored MD5 */
};

/* A default of FERRY_DEFAULT_CORES_X(n) means "cores × n". */
#define FERRY_CORES_X(n) (-1000 - (n))

struct ferry_setting_def {
	const char *name;
	enum ferry_setting_type type;
	double def;      /* default; FERRY_CORES_X(n) for core multiples; for sizes
	                    with "unset", see `unset_ok` */
	double min, max; /* valid range */
	int unset_ok;    /* default is "unset" (value -1 / not limited) */
	const char *unit_help;
	const char *help;
};

struct ferry_settings {
	double v[FS__COUNT];
	int from_user[FS__COUNT]; /* 1 when the value came from the lookup */
};

typedef const char *(*ferry_lookup_fn)(void *arg, const char *name);

/* The static table, FS__COUNT entries, in enum order. */
const struct ferry_setting_def *ferry_settings_table(void);

/* Fill `s` with defaults, then with values found through `lookup` (may be
 * NULL: defaults only). A value that does not parse or is out of range is an
 * error naming the variable and the accepted form. */
int ferry_settings_load(struct ferry_settings *s, ferry_lookup_fn lookup, void *arg,
			ferry_err *err);

/* Lookup function that reads the process environment (arg unused). */
const char *ferry_settings_getenv(void *arg, const char *name);

/* Accessors. An "unset" value reads as -1. */
int64_t ferry_setting_int(const struct ferry_settings *s, enum ferry_setting_id id);
double ferry_setting_f64(const struct ferry_settings *s, enum ferry_setting_id id);

/* An FST_ADDR value, (ipv4 << 16) | port, as "a.b.c.d:port". */
void ferry_addr_format(uint64_t addr, char *buf, size_t cap);

/* Parse a size such as "150MB", "2 MiB", "-10GB", "4096". Returns 0 or -1. */
int ferry_parse_size(const char *text, int64_t *out);

/* The value of setting `id` as `ferry settings` and the runtime log show it:
 * "unset", true/false, the word of an enum, or the number. */
void ferry_setting_format(const struct ferry_settings *s, enum ferry_setting_id id, char *buf, size_t cap);

/* Write "NAME=value (default|set)" lines through ferry_info (runtime log). */
void ferry_settings_log(const struct ferry_settings *s);

/* Print the table as Markdown (docs/settings.md). */
void ferry_settings_markdown(FILE *out);

#endif
