/*
 * md5order.c — in-order MD5 of a file transferred in parts (see md5order.h).
 */
#include "core/md5order.h"
#include "core/membudget.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF (256u * 1024)

struct ferry_md5order {
	pthread_mutex_t mu; /* guards everything below but ctx */
	EVP_MD_CTX *ctx;    /* used only by the thread with busy set */
	uint64_t size, part;
	int flags;
	unsigned nparts, ndone; /* parts, parts landed */
	uint64_t pos;          /* bytes hashed: the cursor (may stop inside a part
				* that was fed from memory in pieces) */
	int ended;             /* the digest was handed out */
	unsigned char *done;   /* per part: landed */
	int busy;              /* a thread is hashing */
	int failed;            /* a read failed: stop for good */
	const unsigned char *mem; /* ferry_md5order_new_mem: the parts land here, not in a file */
};

struct ferry_md5order *ferry_md5order_new(uint64_t size, uint64_t part, int flags)
{
	struct ferry_md5order *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	h->size = size;
	h->flags = flags;
	h->part = part ? part : 1;
	h->nparts = (unsigned)((size + h->part - 1) / h->part);
	h->done = calloc(h->nparts ? h->nparts : 1, 1);
	h->ctx = EVP_MD_CTX_new();
	if (!h->done || !h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_md5(), NULL)) {
		ferry_md5order_free(h);
		return NULL;
	}
	return h;
}

struct ferry_md5order *ferry_md5order_new_mem(uint64_t size, uint64_t part, const void *data)
{
	struct ferry_md5order *h = ferry_md5order_new(size, part, 0);
	if (h)
		h->mem = data;
	return h;
}

void ferry_md5order_free(struct ferry_md5order *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->mu);
	EVP_MD_CTX_free(h->ctx);
	free(h->done);
	free(h);
}

void ferry_md5_b64(const unsigned char md[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, md, 16);
}

/* Hash bytes [off, off+len) of fd (busy held, lock not). The range was just
 * written, so it is in the page cache: mapped (FERRY_MD5ORDER_MAP), it is
 * hashed without the copy a pread costs; else read into a buffer. Mapped
 * pages count in the process's RSS, so the mapping is taken only when the
 * memory budget (core/membudget.h) has room for it now; the buffer is
 * reserved (waiting if need be: its caller holds nothing of the budget) and
 * freed before returning, so a hasher holds no memory between parts. A
 * hasher over memory (ferry_md5order_new_mem) hashes the bytes in place. */
static int hash_range(struct ferry_md5order *h, int fd, uint64_t off, uint64_t len)
{
	if (h->mem) { /* the parts are in memory already: hash them where they are */
		EVP_DigestUpdate(h->ctx, h->mem + off, (size_t)len);
		return 0;
	}
	struct ferry_membudget *mb = ferry_membudget_process();
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	/* a cursor left inside a page by bytes fed from memory: map from the page's start */
	uint64_t lead = page > 0 ? off % (uint64_t)page : 0, mlen = lead + len;
	if ((h->flags & FERRY_MD5ORDER_MAP) && len > 0 && page > 0 && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size >= off + len && ferry_membudget_try_reserve(mb, mlen, 0)) {
		void *m = mmap(NULL, (size_t)mlen, PROT_READ, MAP_SHARED, fd, (off_t)(off - lead));
		if (m != MAP_FAILED) {
			EVP_DigestUpdate(h->ctx, (const char *)m + lead, (size_t)len);
			munmap(m, (size_t)mlen);
		}
		ferry_membudget_release(mb, mlen);
		if (m != MAP_FAILED)
			return 0;
	}
	ferry_membudget_reserve(mb, READ_BUF);
	char *buf = ferry_data_alloc(READ_BUF);
	int rc = buf ? 0 : -1;
	while (len > 0 && buf) {
		size_t want = len < READ_BUF ? (size_t)len : READ_BUF;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* the file is shorter than the parts said */
			rc = -1;
			break;
		}
		EVP_DigestUpdate(h->ctx, buf, (size_t)n);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	int saved = errno;
	ferry_data_free(buf, READ_BUF);
	ferry_membudget_release(mb, READ_BUF);
	errno = saved;
	return rc;
}

/* Hash what follows the cursor: landed parts from the file (busy held and
 * the lock too; dropped while hashing). Then, at the end, the digest.
 * Returns 1 (the end: `out` set), 0 or -1 (a read failed: errno). */
static int advance(struct ferry_md5order *h, int fd, char out[25])
{
	int rc = 0;
	while (h->pos < h->size && h->done[h->pos / h->part]) {
		uint64_t off = h->pos, end = (off / h->part + 1) * h->part;
		if (end > h->size)
			end = h->size;
		pthread_mutex_unlock(&h->mu);
		int e = hash_range(h, fd, off, end - off);
		int saved = errno;
		pthread_mutex_lock(&h->mu);
		if (e < 0) {
			h->failed = 1;
			errno = saved;
			return -1;
		}
		h->pos = end;
	}
	/* the end only once every part is in the file too: bytes fed from memory
	 * may still be on their way to it (checked and cleared with `busy` under
	 * the lock, so the last part's report cannot slip between) */
	if (h->pos == h->size && h->ndone == h->nparts && !h->ended) {
		unsigned char md[16];
		EVP_DigestFinal_ex(h->ctx, md, NULL);
		ferry_md5_b64(md, out);
		h->ended = 1; /* no later call returns 1 */
		rc = 1;
	}
	return rc;
}

int ferry_md5order_landed(struct ferry_md5order *h, int fd, unsigned index, char out[25])
{
	pthread_mutex_lock(&h->mu);
	if (index < h->nparts && !h->done[index]) {
		h->done[index] = 1;
		h->ndone++;
	}
	if (h->busy || h->failed || h->ended) {
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	h->busy = 1;
	int rc = advance(h, fd, out);
	h->busy = 0;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int ferry_md5order_feed(struct ferry_md5order *h, int fd, uint64_t off, const void *data, size_t len,
			char out[25])
{
	pthread_mutex_lock(&h->mu);
	if (h->busy || h->failed || h->ended || off != h->pos || len == 0 || off + len > h->size) {
		pthread_mutex_unlock(&h->mu);
		return 0;
	}
	h->busy = 1;
	pthread_mutex_unlock(&h->mu);
	EVP_DigestUpdate(h->ctx, data, len);
	pthread_mutex_lock(&h->mu);
	h->pos += len;
	int rc = advance(h, fd, out);
	h->busy = 0;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

uint64_t ferry_md5order_hashed(struct ferry_md5order *h)
{
	pthread_mutex_lock(&h->mu);
	uint64_t n = h->pos;
	pthread_mutex_unlock(&h->mu);
	return n;
}
