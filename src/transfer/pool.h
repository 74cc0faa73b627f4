/*
 * pool.h — a fixed set of worker threads draining one FIFO of work items.
 *
 * The producer (the thread that lists storage) pushes items while workers
 * already run them, so the first bytes move before a long listing ends. The
 * first failure is kept and stops the pool: items not yet started are handed
 * to `cancel` instead of `run`, so their owner can clean up.
 *
 * Threads: push from the producer thread or from a running item (`run` may
 * queue follow-up work; workers stay until the queue is empty and nothing
 * runs); close/wait from the producer; run/cancel are called on the workers;
 * ferry_pool_failed is safe from any thread.
 */
#ifndef FERRY_POOL_H
#define FERRY_POOL_H

#include "core/err.h"

#include <pthread.h>

struct ferry_pool;

/* run: do one item; return 0, or -1 with err filled (then the pool stops).
 * cancel: an item that will not run (may be NULL). */
typedef int (*ferry_pool_run_fn)(void *ctx, void *item, ferry_err *err);
typedef void (*ferry_pool_cancel_fn)(void *ctx, void *item);

struct ferry_pool *ferry_pool_start(unsigned threads, ferry_pool_run_fn run, ferry_pool_cancel_fn cancel,
				    void *ctx);
/* Queue an item (ownership passes to run/cancel). */
void ferry_pool_push(struct ferry_pool *p, void *item);
/* Record a failure from the producer side and stop the pool. */
void ferry_pool_fail(struct ferry_pool *p, const ferry_err *err);
int ferry_pool_failed(struct ferry_pool *p);
/* Items queued or running. */
unsigned long ferry_pool_pending(struct ferry_pool *p);
/* No more items: wait for the queue to drain (calling tick about every
 * tick_ms while waiting, if not NULL), join the workers, free the pool.
 * Returns 0, or -1 with the first failure copied into err. */
int ferry_pool_finish(struct ferry_pool *p, void (*tick)(void *), void *tick_arg, unsigned tick_ms,
		      ferry_err *err);

#endif
