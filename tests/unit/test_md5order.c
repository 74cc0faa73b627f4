/*
 * test_md5order.c — the in-order MD5 hasher (core/md5order.h): parts landing
 * in any order, from many threads, give the digest of one pass over the file
 * (read or mapped), also when workers hand bytes at the cursor over from
 * memory before they land (ferry_md5order_feed, in pieces that leave the
 * cursor inside a page), and over parts that land in memory
 * (ferry_md5order_new_mem); exactly one call reports the end, never before every
 * part landed; a failed read stops it for good.
 */
#include "check.h"
#include "core/md5order.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#define SIZE (5u * 1000 * 1000 + 123) /* not a multiple of the part */
#define PART (64u * 1024)

static char *path_of(char *buf)
{
	snprintf(buf, 64, "/tmp/ferry-md5order-XXXXXX");
	int fd = mkstemp(buf);
	unsigned char *data = malloc(SIZE);
	for (unsigned i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	(void)!write(fd, data, SIZE);
	close(fd);
	free(data);
	return buf;
}

static void md5_whole(const char *path, char out[25])
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = malloc(SIZE), md[16];
	size_t n = fread(data, 1, SIZE, f);
	fclose(f);
	EVP_Digest(data, n, md, NULL, EVP_md5(), NULL);
	ferry_md5_b64(md, out);
	free(data);
}

struct worker {
	struct ferry_md5order *h;
	int fd;
	unsigned *order, n, *next; /* shared work list */
	pthread_mutex_t *mu;
	int ends;
	char digest[25];
};

static unsigned char *data_of(void)
{
	unsigned char *data = malloc(SIZE);
	for (unsigned i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	return data;
}

static const unsigned char *g_data; /* the file's bytes in memory, for feeding */
#define FEED 10000u                 /* not a multiple of a page */

/* Like a download worker: feed the part's bytes in pieces (taken only at the
 * cursor), then report it landed. */
static void *work_feed(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		pthread_mutex_lock(w->mu);
		unsigned k = *w->next < w->n ? w->order[(*w->next)++] : UINT32_MAX;
		pthread_mutex_unlock(w->mu);
		if (k == UINT32_MAX)
			return NULL;
		uint64_t off = (uint64_t)k * PART, end = off + PART < SIZE ? off + PART : SIZE;
		for (uint64_t o = off; o < end; o += FEED) {
			size_t n = end - o < FEED ? (size_t)(end - o) : FEED;
			CHECK(ferry_md5order_feed(w->h, w->fd, o, g_data + o, n, w->digest) == 0);
		}
		if (ferry_md5order_landed(w->h, w->fd, k, w->digest) == 1)
			w->ends++;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		pthread_mutex_lock(w->mu);
		unsigned k = *w->next < w->n ? w->order[(*w->next)++] : UINT32_MAX;
		pthread_mutex_unlock(w->mu);
		if (k == UINT32_MAX)
			return NULL;
		if (ferry_md5order_landed(w->h, w->fd, k, w->digest) == 1)
			w->ends++;
	}
}

int main(void)
{
	char pbuf[64], want[25];
	const char *path = path_of(pbuf);
	md5_whole(path, want);
	unsigned nparts = (SIZE + PART - 1) / PART;
	unsigned *order = malloc(nparts * sizeof(*order));

	unsigned char *mem = data_of();
	g_data = mem;
	for (int round = 0; round < 60; round++) {
		int feed = round >= 20 && (round < 40 || round % 2); /* rounds 20-39: bytes fed from memory too */
		int in_mem = round >= 40; /* rounds 40-59: the parts land in memory (ferry_md5order_new_mem) */
		/* a random landing order, worked by 6 threads */
		for (unsigned i = 0; i < nparts; i++)
			order[i] = i;
		srand((unsigned)round);
		for (unsigned i = nparts - 1; i > 0; i--) {
			unsigned j = (unsigned)rand() % (i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		struct ferry_md5order *h = in_mem ? ferry_md5order_new_mem(SIZE, PART, mem)
					   : ferry_md5order_new(SIZE, PART, round % 2 ? FERRY_MD5ORDER_MAP : 0);
		int fd = in_mem ? -1 : open(path, O_RDONLY);
		pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
		unsigned next = 0;
		struct worker w[6];
		pthread_t th[6];
		for (int i = 0; i < 6; i++) {
			w[i] = (struct worker){ .h = h, .fd = fd, .order = order, .n = nparts, .next = &next, .mu = &mu };
			pthread_create(&th[i], NULL, feed ? work_feed : work, &w[i]);
		}
		int ends = 0;
		for (int i = 0; i < 6; i++) {
			pthread_join(th[i], NULL);
			ends += w[i].ends;
			if (w[i].ends)
				CHECK(!strcmp(w[i].digest, want));
		}
		CHECK(ends == 1);
		CHECK(ferry_md5order_hashed(h) == SIZE);
		if (fd >= 0)
			close(fd);
		ferry_md5order_free(h);
	}

	/* nothing is reported before the first part lands, however many others did */
	struct ferry_md5order *h = ferry_md5order_new(SIZE, PART, FERRY_MD5ORDER_MAP);
	int fd = open(path, O_RDONLY);
	char d[25];
	for (unsigned i = nparts - 1; i > 0; i--)
		CHECK(ferry_md5order_landed(h, fd, i, d) == 0);
	CHECK(ferry_md5order_hashed(h) == 0);
	CHECK(ferry_md5order_landed(h, fd, 0, d) == 1);
	CHECK(!strcmp(d, want));
	CHECK(ferry_md5order_landed(h, fd, 0, d) == 0); /* reported once */
	ferry_md5order_free(h);

	/* fed bytes are hashed only at the cursor; the end waits for every part */
	h = ferry_md5order_new(SIZE, PART, FERRY_MD5ORDER_MAP);
	CHECK(ferry_md5order_feed(h, fd, PART, mem + PART, 1000, d) == 0);
	CHECK(ferry_md5order_hashed(h) == 0); /* not at the cursor: left for the file */
	CHECK(ferry_md5order_feed(h, fd, 0, mem, 1000, d) == 0);
	CHECK(ferry_md5order_hashed(h) == 1000);
	CHECK(ferry_md5order_landed(h, fd, 0, d) == 0); /* the rest of part 0 from the file, mapped from inside a page */
	CHECK(ferry_md5order_hashed(h) == PART);
	for (uint64_t o = PART; o < SIZE; o += FEED)
		CHECK(ferry_md5order_feed(h, fd, o, mem + o, o + FEED < SIZE ? FEED : (size_t)(SIZE - o), d) == 0);
	CHECK(ferry_md5order_hashed(h) == SIZE); /* every byte hashed... */
	for (unsigned i = 1; i + 1 < nparts; i++)
		CHECK(ferry_md5order_landed(h, fd, i, d) == 0); /* ...but the end waits for every part */
	CHECK(ferry_md5order_landed(h, fd, nparts - 1, d) == 1);
	CHECK(!strcmp(d, want));
	CHECK(ferry_md5order_feed(h, fd, SIZE - 1, mem, 1, d) == 0);
	ferry_md5order_free(h);

	/* a read that fails (the file is shorter than the parts say) stops it */
	h = ferry_md5order_new(SIZE + PART, PART, FERRY_MD5ORDER_MAP); /* mapping checks the size too */
	int rc = 0;
	for (unsigned i = 0; i <= nparts && rc >= 0; i++)
		rc = ferry_md5order_landed(h, fd, i, d);
	CHECK(rc == -1);
	CHECK(ferry_md5order_landed(h, fd, 0, d) == 0);
	ferry_md5order_free(h);
	close(fd);

	/* an empty file ends at once with the MD5 of nothing */
	h = ferry_md5order_new(0, PART, 0);
	CHECK(ferry_md5order_landed(h, -1, 0, d) == 1);
	CHECK(!strcmp(d, "1B2M2Y8AsgTpgAmY7PhCfg=="));
	ferry_md5order_free(h);

	unlink(path);
	free(mem);
	free(order);
	return CHECK_DONE();
}
