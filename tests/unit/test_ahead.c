/* test_ahead.c — the mount's read-ahead (fs/ahead.c) over a real local store
 * and file cache: a file that a reader is opening (between ahead_opened and
 * its own file-cache open) is not queued by another stream's fill. Before
 * ahead_open_done existed, such a file was queued, the worker's fetch won the
 * race with the reader's open, and the file was counted as fetched ahead and
 * never used (CI's t4200: "214 files read ahead (213 used, 0 cancelled)" with
 * every file opened once and one GET each). Here the race is held open on
 * purpose: two streams walk one folder of 40 files, a reader of a third
 * position announces its open, the nearer stream's fill passes over it, and
 * then the reader opens it. Every file is opened exactly once, so every file
 * fetched ahead must be counted as used. */
#include "check.h"
#include "cache/filecache.h"
#include "core/settings.h"
#include "fs/fs_internal.h"
#include "store/local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NFILES 40
#define FSIZE 1024

static struct ferry_entry ents[NFILES]; /* the folder's listing, in order */
static size_t nents;
static struct ferry_ahead *ah;
static struct ferry_fcache *fc;

static const char *no_env(void *arg, const char *name)
{
	(void)arg, (void)name;
	return NULL;
}

static int listed(void *arg, const struct ferry_entry *e, const char *rel, ferry_err *err)
{
	(void)arg, (void)rel, (void)err;
	if (nents < NFILES) {
		ents[nents] = *e;
		ents[nents].name = strdup(e->name);
		ahead_listed(ah, "w", nents, e);
		nents++;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait until the read-ahead's counters stop changing (its queue is drained). */
static struct ahead_counters settle(void)
{
	struct ahead_counters c, prev;
	ahead_counters(ah, &prev);
	for (int still = 0, i = 0; still < 5 && i < 500; i++) {
		sleep_ms(20);
		ahead_counters(ah, &c);
		still = memcmp(&c, &prev, sizeof(c)) ? 0 : still + 1;
		prev = c;
	}
	return prev;
}

/* The second half of a reader's open of entry k: its own file-cache open. */
static void finish_open(size_t k)
{
	const struct ferry_entry *e = &ents[k];
	struct ferry_fcache_entry *ent = NULL;
	int fd = -1;
	ferry_err err;
	ferry_err_clear(&err);
	int rc = ferry_fcache_open(fc, e->name, e->size, e->mtime, e->etag, e->md5, &fd, &ent, &err);
	ahead_open_done(ah, e->name);
	CHECK(rc >= 0);
	if (fd >= 0)
		close(fd);
	ferry_fcache_close(fc, ent);
}

/* A reader opens entry k, as the mount's open does, and the worker settles. */
static void open_one(size_t k)
{
	ahead_opened(ah, ents[k].name);
	finish_open(k);
	settle();
}

int main(void)
{
	char root[] = "/tmp/ferry-test-ahead.XXXXXX";
	if (!mkdtemp(root))
		return 1;
	char path[256];
	snprintf(path, sizeof(path), "%s/store", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/store/w", root);
	mkdir(path, 0700);
	static char data[FSIZE];
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/store/w/f%02d", root, i);
		FILE *f = fopen(path, "w");
		memset(data, 'a' + i % 26, sizeof(data));
		CHECK(f && fwrite(data, 1, sizeof(data), f) == sizeof(data));
		if (f)
			fclose(f);
	}

	struct ferry_settings settings;
	ferry_err err;
	ferry_err_clear(&err);
	CHECK(ferry_settings_load(&settings, no_env, NULL, &err) == 0);
	snprintf(path, sizeof(path), "%s/store", root);
	static struct ferry_stats stats;
	struct ferry_store *store = ferry_local_open(path, 0, &settings, &stats, &err);
	CHECK(store != NULL);
	snprintf(path, sizeof(path), "%s/cache", root);
	struct ferry_fcache_config cfg = { .store = store, .dir = path, .cache_size = -1, .threads = 1,
					   .prune_threshold = 1.0, .prune_target = 0.7 };
	CHECK(ferry_fcache_new(&cfg, &fc, &err) == 0);
	/* 32 files ahead, but at most 4 files' bytes fetched and not yet opened:
	 * a stream's queue grows one file per file its reader opens */
	ah = ahead_new(fc, store, 32, 4 * FSIZE, 1, -1);
	CHECK(ah != NULL);
	if (!store || !fc || !ah)
		return CHECK_DONE();
	CHECK(ferry_store_each(store, "w", 0, listed, NULL, &err) == 0);
	CHECK(nents == NFILES);

	for (size_t k = 0; k <= 4; k++) /* stream A: the folder is walked in order */
		open_one(k);
	open_one(30);                     /* stream B, far ahead */
	ahead_opened(ah, ents[27].name); /* a reader near B begins its open of 27 ... */
	for (size_t k = 5; k <= 26; k++) /* ... while A's queue passes 27 */
		open_one(k);
	finish_open(27);                  /* ... and only now opens it */
	settle();
	for (size_t k = 28; k < NFILES; k++)
		if (k != 30)
			open_one(k);

	/* every file was opened once: whatever was fetched ahead was used */
	struct ahead_counters c = settle();
	printf("# read ahead %llu, used %llu, cancelled %llu\n", (unsigned long long)c.fetched,
	       (unsigned long long)c.used, (unsigned long long)c.cancelled);
	CHECK(c.fetched >= NFILES / 2); /* the walk was recognized and read ahead */
	CHECK(c.used == c.fetched);
	CHECK(c.cancelled == 0);

	ahead_free(ah);
	ferry_fcache_destroy(fc);
	ferry_store_destroy(store);
	for (size_t k = 0; k < nents; k++)
		free(ents[k].name);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
