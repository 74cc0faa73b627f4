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
 * One thread hashes at a time; a worker that reports a part while another is
 * hashing returns at once (the hashing thread picks the part up). Exactly one
 * ferry_md5order_landed call returns 1: the one whose thread hashed the last
 * part; it gets the digest and finishes the file.
 *
 * Threads: ferry_md5order_landed is safe from any number of threads;
 * new/free from the owner, with no landed call in flight.
 */
#ifndef FERRY_MD5ORDER_H
#define FERRY_MD5ORDER_H

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
void ferry_md5order_free(struct ferry_md5order *h);

/* Part `index` is complete in `fd` (readable; borrowed for this call only).
 * Hashes what it can. Returns 1 when this call hashed the file's end (`out`
 * gets the base64 digest, 24 characters and NUL), 0 when not (yet), -1 when a
 * read of `fd` failed (errno set; the hasher stays stopped, no call returns 1
 * afterwards). */
int ferry_md5order_landed(struct ferry_md5order *h, int fd, unsigned index, char out[25]);

/* Bytes hashed so far (for tests and logs). */
uint64_t ferry_md5order_hashed(struct ferry_md5order *h);

/* A raw 16-byte MD5 digest in the form stores keep in Content-MD5: base64,
 * 24 characters and NUL. */
void ferry_md5_b64(const unsigned char md[16], char out[25]);

#endif
