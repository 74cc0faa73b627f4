/*
 * pool.c — the worker pool (see pool.h). A mutex-guarded singly linked FIFO;
 * `work` wakes workers when items arrive, `idle` wakes the producer when the
 * queue drains. Simple and enough: an item is a whole file or an 8 MiB part,
 * so lock traffic is tiny next to the I/O each item does.
 */
#include "transfer/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct node {
	struct node *next;
	void *item;
};

struct ferry_pool {
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t work, idle;
	struct node *head, *tail;
	unsigned long pending; /* queued + running */
	int closed, failed;
	ferry_err first;
	ferry_pool_run_fn run;
	ferry_pool_cancel_fn cancel;
	void *ctx;
	unsigned nthreads;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	struct ferry_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* after close, a running item may still push more (a download's
		 * rest of a file): idle workers stay until nothing runs */
		while (!p->head && !(p->closed && p->pending == 0))
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break;
		struct node *n = p->head;
		p->head = n->next;
		if (!p->head)
			p->tail = NULL;
		int failed = p->failed;
		pthread_mutex_unlock(&p->lock);

		ferry_err err;
		ferry_err_clear(&err);
		int rc = 0;
		if (failed) {
			if (p->cancel)
				p->cancel(p->ctx, n->item);
		} else
			rc = p->run(p->ctx, n->item, &err);
		free(n);

		pthread_mutex_lock(&p->lock);
		if (rc < 0 && !p->failed) {
			p->failed = 1;
			p->first = err;
		}
		if (--p->pending == 0) {
			pthread_cond_broadcast(&p->idle);
			pthread_cond_broadcast(&p->work);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct ferry_pool *ferry_pool_start(unsigned threads, ferry_pool_run_fn run, ferry_pool_cancel_fn cancel,
				    void *ctx)
{
	struct ferry_pool *p = calloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->run = run;
	p->cancel = cancel;
	p->ctx = ctx;
	p->threads = calloc(threads ? threads : 1, sizeof(pthread_t));
	for (unsigned i = 0; i < (threads ? threads : 1); i++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
			p->nthreads++;
	return p;
}

void ferry_pool_push(struct ferry_pool *p, void *item)
{
	struct node *n = malloc(sizeof(*n));
	n->next = NULL;
	n->item = item;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = n;
	else
		p->head = n;
	p->tail = n;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void ferry_pool_fail(struct ferry_pool *p, const ferry_err *err)
{
	pthread_mutex_lock(&p->lock);
	if (!p->failed) {
		p->failed = 1;
		p->first = *err;
	}
	pthread_mutex_unlock(&p->lock);
}

int ferry_pool_failed(struct ferry_pool *p)
{
	pthread_mutex_lock(&p->lock);
	int f = p->failed;
	pthread_mutex_unlock(&p->lock);
	return f;
}

unsigned long ferry_pool_pending(struct ferry_pool *p)
{
	pthread_mutex_lock(&p->lock);
	unsigned long n = p->pending;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int ferry_pool_finish(struct ferry_pool *p, void (*tick)(void *), void *tick_arg, unsigned tick_ms,
		      ferry_err *err)
{
	pthread_mutex_lock(&p->lock);
	p->closed = 1;
	pthread_cond_broadcast(&p->work);
	while (p->pending > 0) {
		if (!tick) {
			pthread_cond_wait(&p->idle, &p->lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(tick_ms % 1000) * 1000000L;
		ts.tv_sec += tick_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&p->idle, &p->lock, &ts) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			tick(tick_arg);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	int rc = 0;
	if (p->failed) {
		if (err)
			*err = p->first;
		rc = -1;
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
	return rc;
}
