/*
 * md5order.h — the MD5 of a file whose parts land in any order, hashed in
 * file order while the transfer runs.
 *
 * A parallel transfer writes (or reads) a file's parts in whatever order its
 * workers finish them. This hasher keeps a cursor: when a part is reported
 * done, every done part from the cursor on is hashed at once, read back from
 * the file right after it landed (so from the page cache), and the cursor
 * moves past it. The digest is therefore ready a moment after the last part
 * lands instead of after a second, serial pass over the whole file.
 *
 * The cursor counts bytes. Before it writes bytes that start exactly at the
 * cursor, a worker may hand them over from memory (ferry_md5order_feed): they
 * are hashed there, while still in the CPU's cache, without waiting for their
 * part to land and without reading them back; the rest of their part is then
 * hashed from the file when the part lands. So the part at the cursor is
 * hashed as it streams in, and once the last byte arrives what is left to
 * hash is at most the parts that landed ahead of the cursor.
 *
 * One thread hashes at a time; a worker that reports a part (or feeds bytes)
 * while another is hashing returns at once (the hashing thread picks the part
 * up; fed bytes not taken are hashed from the file later). Exactly one
 * landed/feed call returns 1: the one whose thread hashed the file's end
 * after every part was reported landed (fed bytes may still be on their way
 * to the file until their part is); it gets the digest and finishes the file.
 *
 * Threads: ferry_md5order_landed and ferry_md5order_feed are safe from any
 * number of threads;
 * new/free from the owner, with no landed call in flight.
 */
#ifndef FERRY_MD5ORDER_H
#define FERRY_MD5ORDER_H

#include <stddef.h>
#include <stdint.h>

struct ferry_md5order;

/* flags of ferry_md5order_new */
#define FERRY_MD5ORDER_MAP 1 /* the file is ours (a download's temporary): nobody
				 truncates it, so landed parts may be hashed through
				 mmap, without a copy. Never for a user's file: a
				 concurrent truncate would be a SIGBUS. */

/* A hasher for a file of `size` bytes cut into parts of `part` bytes (the
 * last one shorter). NULL when out of memory. */
struct ferry_md5order *ferry_md5order_new(uint64_t size, uint64_t part, int flags);
/* The same for parts that land in memory: bytes [0, size) at `data` (borrowed;
 * it must outlive the hasher). Then `fd` of landed/feed is ignored (pass -1):
 * a landed part is hashed from `data`, never read back. */
struct ferry_md5order *ferry_md5order_new_mem(uint64_t size, uint64_t part, const void *data);
void ferry_md5order_free(struct ferry_md5order *h);

/* Part `index` is complete in `fd` (readable; borrowed for this call only).
 * Hashes what it can. Returns 1 when this call hashed the file's end (`out`
 * gets the base64 digest, 24 characters and NUL), 0 when not (yet), -1 when a
 * read of `fd` failed (errno set; the hasher stays stopped, no call returns 1
 * afterwards). */
int ferry_md5order_landed(struct ferry_md5order *h, int fd, unsigned index, char out[25]);

/* `len` bytes at `off`, in memory at `data`, are about to be written to `fd`
 * (nothing else writes them). When `off` is the cursor and no other thread is
 * hashing, they are hashed from `data` (and then whatever landed parts follow
 * them, from `fd`); else nothing happens and they will be hashed from `fd`
 * when their part is reported landed. Returns as ferry_md5order_landed. The
 * bytes must be the ones written: a caller that rewrites a range it fed
 * would be checked against the first version. */
int ferry_md5order_feed(struct ferry_md5order *h, int fd, uint64_t off, const void *data, size_t len,
			char out[25]);

/* Bytes hashed so far (for tests and logs). */
uint64_t ferry_md5order_hashed(struct ferry_md5order *h);

/* A raw 16-byte MD5 digest in the form stores keep in Content-MD5: base64,
 * 24 characters and NUL. */
void ferry_md5_b64(const unsigned char md[16], char out[25]);

#endif
