/*
 * ahead.c — what the read-only mount learns from folder listings: attributes
 * for lookups, and the order in which readers walk a folder, to fetch the
 * next files before they are opened (see fs_internal.h).
 *
 * Listings. readdir hands every entry it serves here (ahead_listed), in
 * listing order; each folder keeps its entries (name, size, mtime, etag, md5) in
 * an array with a name index. A lookup the kernel sends after forgetting a
 * node is answered from it (ahead_lookup) instead of a HEAD, within the
 * attribute TTL. Memory is bounded: at most AH_MAX_ENTRIES entries in all
 * (least recently used folders are dropped; a folder larger than that keeps
 * its first AH_MAX_ENTRIES).
 *
 * Walks. Each open of a listed file (ahead_opened) is placed against the
 * folder's streams (at most AH_STREAMS: one reader, or one of several readers
 * each walking its share): from 2 × AH_WINDOW entries behind a stream's last
 * open (readers sharing one stream open slightly out of order) to AH_WINDOW
 * past it, it continues that stream (a good event when past its last open,
 * else neither); further on, up to
 * AH_WINDOW past what the stream has queued, it continues the stream too but
 * counts neither way (a DataLoader worker jumping to its next batch lands in
 * what the stream before fetched for it; so do random opens); otherwise it starts a stream (in a
 * free slot, or in place of the stream continued longest ago), a bad event
 * unless it is the folder's first open: a shuffled walk is almost only those,
 * and several readers pay one each to start. The folder is walked in order while, of
 * its last AH_HISTORY events, at least 4 are good, good ≥ 3 × bad and the
 * last two are not both bad (a walk turning random stops within two opens;
 * then the history starts over). While
 * it is, each open that continues a stream queues the next `files` files
 * after that stream's last open (skipping folders and what is queued or fetched and not opened yet),
 * as long as the bytes fetched ahead and not yet opened stay within `bytes`.
 * `threads` workers take the queue in order and bring each file whole into
 * the file cache (ferry_fcache_prefetch), where the reader's open finds it, or
 * waits for it if it is still loading. When the pattern breaks (the folder
 * stops being walked in order), the queue of that folder is cancelled and
 * files fetched but not opened stop counting against the budget (they stay
 * in the file cache, prunable). Several readers walking shares of the folder
 * are several streams; DataLoader workers taking batches of a sequential
 * sampler are one stream each per batch.
 *
 * Entry states: NONE, QUEUED, FETCHING, READY (fetched, not opened), CLAIMED
 * (opened while fetching), LANDED (fetched, then released by a cancel or
 * landed after one: in the file cache, counted as used when opened), DONE
 * (opened, released, failed). QUEUED, FETCHING, READY and CLAIMED count
 * against the byte budget. A file whose reader is between ahead_opened and
 * ahead_open_done (its own file-cache open) is never queued: a fetch queued
 * then could win the race, download it, and be counted as never used.
 *
 * Folders never listed. A reader that opens names from an index file (a
 * DataLoader over an annotations file, `xargs cat` over a saved list) never
 * lists the folder, so there is nothing to match its opens against. Opens of
 * files in folders without a listing are tracked by name (at most AH_HINTS
 * folders, least recently opened replaced): after AH_HINT_OPENS opens in a row
 * in increasing name order (the order Azure and S3 list in), a worker lists
 * the folder in the background through ahead_listed (its first AH_LIST_MAX
 * entries: a bounded cost for huge folders), and the walk matching above takes
 * over from the next open. A folder is listed so at most once per attribute
 * TTL (once when listings never go stale) while its hint is kept; random opens
 * cost at most that one listing. The listing also answers later lookups.
 *
 * Threads: one mutex guards everything here; fetches and listings run
 * without it. A folder with fetches in flight (`busy`) is not dropped.
 */
#include "fs/fs_internal.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AH_STREAMS 8
#define AH_WINDOW 8
#define AH_HISTORY 16
#define AH_MAX_ENTRIES 200000
#define AH_HINTS 32
#define AH_HINT_OPENS 3
#define AH_LIST_MAX 50000

enum { S_NONE, S_QUEUED, S_FETCHING, S_READY, S_CLAIMED, S_LANDED, S_DONE };

struct aent {
	char *name; /* the file's name in its folder */
	char *etag;
	char md5[25]; /* stored Content-MD5 from the listing, "" if none: the file cache checks it */
	uint64_t size;
	int64_t mtime;
	unsigned char is_dir, state;
	unsigned short opening; /* readers between ahead_opened and ahead_open_done: not queued */
};

struct astream {
	uint64_t last, ahead_to; /* last open; last entry considered for fetching */
	uint64_t tick;           /* when it was last continued (0: slot free) */
};

struct adir {
	char *path;
	struct aent *v;
	size_t n, cap;
	uint32_t *idx; /* open addressing: entry number + 1, 0 = empty */
	size_t icap;
	int overflow;  /* more entries than kept */
	double listed_ms;
	struct astream s[AH_STREAMS];
	uint64_t tick;
	uint32_t hist;  /* last AH_HISTORY events, newest in bit 0: 1 good, 0 bad */
	unsigned nhist;
	int active;
	unsigned busy;  /* fetches in flight */
	struct adir *prev, *next; /* LRU, most recent first */
};

struct ajob {
	struct adir *d; /* NULL: list folder `list` */
	size_t i;
	char *list;
	struct ajob *next;
};

struct ahint { /* a folder without a listing whose files are opened */
	char *dir, *last; /* NULL dir: slot free; last: the name opened last */
	unsigned run;     /* opens in a row in increasing name order */
	double tried_ms;  /* when it was listed for them (0: never) */
	uint64_t tick;    /* when a file of it was last opened */
};

struct ferry_ahead {
	struct ferry_fcache *fc; /* NULL: listings only */
	struct ferry_store *store;
	unsigned files;
	uint64_t bytes;
	double ttl_ms;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct adir lru; /* sentinel */
	size_t nentries;
	struct ajob *qhead, *qtail;
	pthread_t *th;
	unsigned nth;
	int stop;
	uint64_t pending; /* bytes in QUEUED, FETCHING, READY, CLAIMED */
	struct ahint hints[AH_HINTS];
	uint64_t hint_tick;
	struct ahead_counters c;
};

static size_t hash_name(const char *p)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)h;
}

static void lru_out(struct adir *d)
{
	d->prev->next = d->next;
	d->next->prev = d->prev;
}

static void lru_in(struct ferry_ahead *a, struct adir *d)
{
	d->next = a->lru.next;
	d->prev = &a->lru;
	a->lru.next->prev = d;
	a->lru.next = d;
}

static struct adir *dir_find(struct ferry_ahead *a, const char *path)
{
	for (struct adir *d = a->lru.next; d != &a->lru; d = d->next)
		if (!strcmp(d->path, path)) {
			lru_out(d);
			lru_in(a, d);
			return d;
		}
	return NULL;
}

/* The entry number of `name` in `d`, or -1. Of a name listed twice (a file
 * and a folder of that name), the folder (as the store's stat shows it). */
static long ent_find(const struct adir *d, const char *name)
{
	if (!d->icap)
		return -1;
	for (size_t h = hash_name(name) & (d->icap - 1);; h = (h + 1) & (d->icap - 1)) {
		uint32_t v = d->idx[h];
		if (!v)
			return -1;
		if (!strcmp(d->v[v - 1].name, name))
			return (long)v - 1;
	}
}

static int index_put(struct adir *d, size_t i)
{
	if ((d->n + 1) * 2 > d->icap) {
		size_t ncap = d->icap ? d->icap * 2 : 64;
		uint32_t *ni = calloc(ncap, sizeof(*ni));
		if (!ni)
			return -1;
		for (size_t k = 0; k < d->icap; k++)
			if (d->idx[k])
				for (size_t h = hash_name(d->v[d->idx[k] - 1].name) & (ncap - 1);; h = (h + 1) & (ncap - 1))
					if (!ni[h]) {
						ni[h] = d->idx[k];
						break;
					}
		free(d->idx);
		d->idx = ni;
		d->icap = ncap;
	}
	for (size_t h = hash_name(d->v[i].name) & (d->icap - 1);; h = (h + 1) & (d->icap - 1)) {
		if (!d->idx[h]) {
			d->idx[h] = (uint32_t)i + 1;
			return 0;
		}
		if (!strcmp(d->v[d->idx[h] - 1].name, d->v[i].name)) {
			if (d->v[i].is_dir)
				d->idx[h] = (uint32_t)i + 1;
			return 0;
		}
	}
}

/* Take entry i out of the budget (lock held). */
static void release(struct ferry_ahead *a, struct aent *e)
{
	a->pending -= e->size < a->pending ? e->size : a->pending;
}

/* Drop the queued fetches of `d` and stop counting its unopened fetched files
 * (lock held); queued jobs left behind see the state changed and are skipped. */
static void cancel(struct ferry_ahead *a, struct adir *d)
{
	uint64_t n = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct aent *e = &d->v[i];
		if (e->state == S_QUEUED) {
			e->state = S_NONE;
			release(a, e);
			n++;
		} else if (e->state == S_READY) {
			e->state = S_LANDED; /* still in the file cache: an open later uses it */
			release(a, e);
		}
	}
	for (int k = 0; k < AH_STREAMS; k++)
		d->s[k].ahead_to = d->s[k].last;
	a->c.cancelled += n;
	if (n)
		ferry_debug("read-ahead: '%s' is no longer walked in order: %llu queued files cancelled", d->path,
			    (unsigned long long)n);
}

static void dir_free(struct ferry_ahead *a, struct adir *d)
{
	cancel(a, d);
	for (struct ajob **pp = &a->qhead; *pp;) {
		struct ajob *j = *pp;
		if (j->d == d) {
			*pp = j->next;
			free(j);
		} else
			pp = &j->next;
	}
	a->qtail = NULL;
	for (struct ajob *j = a->qhead; j; j = j->next)
		a->qtail = j;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].etag);
	}
	a->nentries -= d->n;
	free(d->v);
	free(d->idx);
	free(d->path);
	free(d);
}

/* Make room for one more entry (lock held): drop least recently used folders
 * with no fetch in flight, never `keep`. */
static void make_room(struct ferry_ahead *a, struct adir *keep)
{
	for (struct adir *d = a->lru.prev; a->nentries >= AH_MAX_ENTRIES && d != &a->lru;) {
		struct adir *prev = d->prev;
		if (d != keep && !d->busy) {
			lru_out(d);
			dir_free(a, d);
		}
		d = prev;
	}
}

static void *worker(void *arg);

struct ferry_ahead *ahead_new(struct ferry_fcache *fc, struct ferry_store *store, unsigned files, uint64_t bytes,
			      unsigned threads, double ttl_ms)
{
	struct ferry_ahead *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->fc = files && bytes ? fc : NULL;
	a->store = store;
	a->files = files;
	a->bytes = bytes;
	a->ttl_ms = ttl_ms;
	a->lru.next = a->lru.prev = &a->lru;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	if (a->fc && threads) {
		a->th = calloc(threads, sizeof(*a->th));
		for (unsigned k = 0; a->th && k < threads; k++)
			if (pthread_create(&a->th[a->nth], NULL, worker, a) == 0)
				a->nth++;
		if (!a->nth)
			a->fc = NULL; /* no worker: listings only */
	}
	return a;
}

void ahead_free(struct ferry_ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELAXED); /* a listing in flight reads it unlocked */
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
	for (unsigned k = 0; k < a->nth; k++)
		pthread_join(a->th[k], NULL);
	free(a->th);
	while (a->lru.next != &a->lru) {
		struct adir *d = a->lru.next;
		lru_out(d);
		dir_free(a, d);
	}
	while (a->qhead) { /* listings never started (fetches went with their folders) */
		struct ajob *j = a->qhead;
		a->qhead = j->next;
		free(j->list);
		free(j);
	}
	for (int k = 0; k < AH_HINTS; k++) {
		free(a->hints[k].dir);
		free(a->hints[k].last);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	free(a);
}

void ahead_listed(struct ferry_ahead *a, const char *dir, uint64_t i, const struct ferry_entry *e)
{
	size_t plen = strlen(dir);
	const char *name = e->name + plen + (plen ? 1 : 0);
	if (!a || strlen(e->name) <= plen || !*name || strchr(name, '/') || e->size_unknown)
		return;
	pthread_mutex_lock(&a->lock);
	struct adir *d = dir_find(a, dir);
	if (d && i == 0 && a->ttl_ms >= 0 && ferry_now_ms() - d->listed_ms > a->ttl_ms && !d->busy) {
		lru_out(d); /* listed again after its TTL: start over */
		dir_free(a, d);
		d = NULL;
	}
	if (!d && i == 0 && (d = calloc(1, sizeof(*d)))) {
		if (!(d->path = strdup(dir))) {
			free(d);
			d = NULL;
		} else
			lru_in(a, d);
	}
	if (!d || d->overflow || i != d->n) /* a listing again, or one that did not start here */
		goto out;
	if (i == 0)
		d->listed_ms = ferry_now_ms();
	make_room(a, d);
	if (a->nentries >= AH_MAX_ENTRIES) {
		d->overflow = 1;
		goto out;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct aent *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			goto out;
		d->v = nv;
		d->cap = ncap;
	}
	struct aent *x = &d->v[d->n];
	memset(x, 0, sizeof(*x));
	x->name = strdup(name);
	x->etag = strdup(e->etag);
	if (!x->name || !x->etag) {
		free(x->name);
		free(x->etag);
		goto out;
	}
	snprintf(x->md5, sizeof(x->md5), "%s", e->md5);
	x->size = e->size;
	x->mtime = e->mtime;
	x->is_dir = (unsigned char)(e->is_dir != 0);
	if (index_put(d, d->n) < 0) {
		free(x->name);
		free(x->etag);
		goto out;
	}
	d->n++;
	a->nentries++;
out:
	pthread_mutex_unlock(&a->lock);
}

/* Split `path` into its folder (malloc'd) and name (inside `path`). */
static char *split(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	return slash ? strndup(path, (size_t)(slash - path)) : strdup("");
}

int ahead_lookup(struct ferry_ahead *a, const char *path, struct ferry_entry *out)
{
	if (!a)
		return -1;
	const char *name;
	char *dir = split(path, &name);
	if (!dir)
		return -1;
	int rc = -1;
	pthread_mutex_lock(&a->lock);
	struct adir *d = dir_find(a, dir);
	long k = d && (a->ttl_ms < 0 || ferry_now_ms() - d->listed_ms <= a->ttl_ms) ? ent_find(d, name) : -1;
	if (k >= 0) {
		struct aent *e = &d->v[k];
		memset(out, 0, sizeof(*out));
		if ((out->name = strdup(path))) {
			out->size = e->size;
			out->mtime = e->mtime;
			out->is_dir = e->is_dir;
			snprintf(out->etag, sizeof(out->etag), "%s", e->etag);
			snprintf(out->md5, sizeof(out->md5), "%s", e->md5);
			a->c.lookups++;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&a->lock);
	free(dir);
	return rc;
}

/* Queue the files after stream `s`'s last open (lock held). */
static void fill(struct ferry_ahead *a, struct adir *d, struct astream *s)
{
	uint64_t j = (s->ahead_to > s->last ? s->ahead_to : s->last) + 1;
	for (; j <= s->last + a->files && j < d->n; j++) {
		struct aent *e = &d->v[j];
		if (e->is_dir || (e->state != S_NONE && e->state != S_DONE) || e->opening)
			continue; /* DONE: opened or released before; a fetch of a cached file costs no request.
				   * Opening: its reader's own download is about to start (a fetch
				   * queued now would race it, download it, and never be used) */
		if (a->pending + e->size > a->bytes)
			break;
		struct ajob *job = malloc(sizeof(*job));
		if (!job)
			break;
		job->d = d;
		job->i = (size_t)j;
		job->list = NULL;
		job->next = NULL;
		if (a->qtail)
			a->qtail->next = job;
		else
			a->qhead = job;
		a->qtail = job;
		e->state = S_QUEUED;
		a->pending += e->size;
		pthread_cond_signal(&a->work);
	}
	s->ahead_to = j - 1;
}

/* A file `name` of folder `dir`, which has no listing, is opened (lock
 * held): after AH_HINT_OPENS opens in increasing name order, queue a listing
 * of the folder, first in line (see the top of the file). */
static void hint(struct ferry_ahead *a, const char *dir, const char *name)
{
	struct ahint *h = NULL, *free_slot = NULL, *oldest = NULL;
	for (int k = 0; k < AH_HINTS && !h; k++) {
		struct ahint *t = &a->hints[k];
		if (!t->dir) {
			if (!free_slot)
				free_slot = t;
		} else if (!strcmp(t->dir, dir))
			h = t;
		else if (!oldest || t->tick < oldest->tick)
			oldest = t;
	}
	if (!h) {
		h = free_slot ? free_slot : oldest;
		free(h->dir);
		free(h->last);
		memset(h, 0, sizeof(*h));
		if (!(h->dir = strdup(dir)))
			return;
	} else if (h->last && strcmp(name, h->last) > 0)
		h->run++;
	else
		h->run = 0; /* the first open, or one back in name order: a run starts over */
	h->tick = ++a->hint_tick;
	free(h->last);
	h->last = strdup(name);
	double now = ferry_now_ms();
	if (h->run + 1 < AH_HINT_OPENS || !a->store ||
	    (h->tried_ms > 0 && (a->ttl_ms < 0 || now - h->tried_ms <= a->ttl_ms)))
		return;
	struct ajob *job = calloc(1, sizeof(*job));
	if (!job || !(job->list = strdup(dir))) {
		free(job);
		return;
	}
	h->tried_ms = now;
	job->next = a->qhead;
	a->qhead = job;
	if (!a->qtail)
		a->qtail = job;
	pthread_cond_signal(&a->work);
	ferry_debug("read-ahead: files of '%s' are opened in name order without a listing: listing it", dir);
}

struct lister {
	struct ferry_ahead *a;
	const char *dir;
	uint64_t i;
};

static int list_one(void *arg, const struct ferry_entry *e, const char *rel, ferry_err *err)
{
	(void)rel;
	struct lister *l = arg;
	if (__atomic_load_n(&l->a->stop, __ATOMIC_RELAXED))
		return ferry_err_set(err, FERRY_E_INTERRUPTED, "unmounting");
	if (l->i >= AH_LIST_MAX)
		return ferry_err_set(err, FERRY_E_INVALID, "more than %d entries: the rest is not listed", AH_LIST_MAX);
	ahead_listed(l->a, l->dir, l->i++, e);
	return 0;
}

/* List folder `dir` for the walk matching (a worker, lock not held). */
static void list_folder(struct ferry_ahead *a, const char *dir)
{
	struct lister l = { a, dir, 0 };
	ferry_err err;
	ferry_err_clear(&err);
	if (ferry_store_each(a->store, dir, 0, list_one, &l, &err) < 0)
		ferry_debug("read-ahead: listing of '%s' stopped after %llu entries: %s", dir,
			    (unsigned long long)l.i, err.msg);
	pthread_mutex_lock(&a->lock);
	a->c.listings++;
	pthread_mutex_unlock(&a->lock);
}

/* Lock `a` and find `path`: *d its folder (NULL when not listed), *k its
 * entry number (-1 when none), *name its name (inside `path`). Returns the
 * folder's path (malloc'd: free it after unlocking), or NULL, nothing
 * locked, when there is no read-ahead (NULL, or block mode) or no memory. */
static char *find_locked(struct ferry_ahead *a, const char *path, const char **name, struct adir **d, long *k)
{
	if (!a || !a->fc)
		return NULL;
	char *dir = split(path, name);
	if (!dir)
		return NULL;
	pthread_mutex_lock(&a->lock);
	*d = dir_find(a, dir);
	*k = *d ? ent_find(*d, *name) : -1;
	return dir;
}

void ahead_opened(struct ferry_ahead *a, const char *path)
{
	const char *name;
	struct adir *d;
	long k;
	char *dir = find_locked(a, path, &name, &d, &k);
	if (!dir)
		return;
	if (!d)
		hint(a, dir, name);
	if (k < 0 || d->v[k].is_dir)
		goto out;
	struct aent *e = &d->v[k];
	if (e->opening < USHRT_MAX)
		e->opening++;
	switch (e->state) {
	case S_READY:
		a->c.used++;
		/* fall through */
	case S_QUEUED: /* the open fetches it itself; the queued job is skipped */
		release(a, e);
		e->state = S_DONE;
		break;
	case S_FETCHING:
		e->state = S_CLAIMED; /* counted when its fetch ends */
		break;
	case S_LANDED: /* fetched ahead, released by a cancel: the open finds it cached */
		a->c.used++;
		e->state = S_DONE;
		break;
	case S_NONE:
		e->state = S_DONE;
		break;
	}
	/* which stream this open continues */
	uint64_t ku = (uint64_t)k;
	struct astream *s = NULL, *jump = NULL, *free_slot = NULL, *oldest = NULL;
	for (int i = 0; i < AH_STREAMS; i++) {
		struct astream *t = &d->s[i];
		if (!t->tick) {
			if (!free_slot)
				free_slot = t;
			continue;
		}
		uint64_t dist = ku > t->last ? ku - t->last : t->last - ku;
		if (ku + 2 * AH_WINDOW >= t->last && ku <= t->last + AH_WINDOW) {
			if (!s || dist < (ku > s->last ? ku - s->last : s->last - ku))
				s = t;
		} else if (ku > t->last && ku <= (t->ahead_to > t->last ? t->ahead_to : t->last) + AH_WINDOW) {
			if (!jump || ku - t->last < ku - jump->last)
				jump = t;
		}
		if (!oldest || t->tick < oldest->tick)
			oldest = t;
	}
	int good; /* 1 good, 0 bad, -1 neither */
	if (s) {
		good = ku > s->last ? 1 : -1; /* behind (readers sharing a stream overtake each other): neither */
		if (ku > s->last)
			s->last = ku;
	} else if (jump) {
		/* a jump into what the stream fetched ahead: continued, but
		 * neither good nor bad (random opens land there too) */
		good = -1;
		s = jump;
		s->last = ku;
	} else {
		s = free_slot ? free_slot : oldest;
		good = d->tick ? 0 : -1; /* the folder's first open is neither */
		s->last = s->ahead_to = ku;
	}
	s->tick = ++d->tick;
	if (good >= 0) {
		d->hist = (d->hist << 1) | (unsigned)good;
		if (d->nhist < AH_HISTORY)
			d->nhist++;
	}
	uint32_t mask = d->nhist >= 32 ? 0xffffffffu : (1u << d->nhist) - 1;
	unsigned g = (unsigned)__builtin_popcount(d->hist & mask), b = d->nhist - g;
	int active = g >= 4 && g >= 3 * b && (d->nhist < 2 || (d->hist & 3));
	if (d->active && !active) {
		cancel(a, d);
		d->hist = 0; /* a walk in order again has to show itself afresh */
		d->nhist = 0;
	}
	if (active && !d->active)
		ferry_debug("read-ahead: '%s' is walked in listing order (entry %ld)", d->path, k);
	d->active = active;
	if (active && good == 1) /* a stream just started is not yet a walk */
		fill(a, d, s);
out:
	pthread_mutex_unlock(&a->lock);
	free(dir);
}

void ahead_open_done(struct ferry_ahead *a, const char *path)
{
	const char *name;
	struct adir *d;
	long k;
	char *dir = find_locked(a, path, &name, &d, &k);
	if (!dir)
		return;
	if (k >= 0 && d->v[k].opening) /* a folder listed anew meanwhile has 0 here */
		d->v[k].opening--;
	pthread_mutex_unlock(&a->lock);
	free(dir);
}

static void *worker(void *arg)
{
	struct ferry_ahead *a = arg;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct ajob *job = a->qhead;
		if (a->stop)
			break;
		if (!job) {
			pthread_cond_wait(&a->work, &a->lock);
			continue;
		}
		if (!(a->qhead = job->next))
			a->qtail = NULL;
		if (job->list) {
			pthread_mutex_unlock(&a->lock);
			list_folder(a, job->list);
			free(job->list);
			free(job);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		struct adir *d = job->d;
		size_t i = job->i;
		free(job);
		struct aent *e = &d->v[i];
		if (e->state != S_QUEUED)
			continue;
		char *path = ferry_path_join(d->path, e->name);
		char etag[72];
		snprintf(etag, sizeof(etag), "%s", e->etag);
		char md5[25];
		snprintf(md5, sizeof(md5), "%s", e->md5);
		uint64_t size = e->size;
		int64_t mtime = e->mtime;
		e->state = S_FETCHING;
		d->busy++;
		pthread_mutex_unlock(&a->lock);
		ferry_err err;
		ferry_err_clear(&err);
		int rc = path ? ferry_fcache_prefetch(a->fc, path, size, mtime, etag, md5, &err) : -1;
		if (rc < 0)
			ferry_debug("read-ahead of '%s' failed (the open will try again): %s", path ? path : "?",
				    path ? err.msg : "out of memory");
		free(path);
		pthread_mutex_lock(&a->lock);
		d->busy--;
		e = &d->v[i]; /* the array may have grown meanwhile */
		if (rc == 0)
			a->c.fetched++;
		if (e->state == S_FETCHING && rc == 0 && d->active) {
			e->state = S_READY; /* counted until opened, or released by a cancel */
		} else {
			if (e->state == S_CLAIMED && rc == 0)
				a->c.used++;
			/* landed after a cancel: cached, counted if it is opened */
			e->state = e->state == S_FETCHING && rc == 0 ? S_LANDED : S_DONE;
			release(a, e);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

void ahead_counters(struct ferry_ahead *a, struct ahead_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	*out = a->c;
	pthread_mutex_unlock(&a->lock);
}
