/*
 * httpd.c — the small status server of httpd.h: one thread, poll() on the
 * listening socket and a stop pipe, one connection at a time.
 */
#include "core/httpd.h"

#include "core/files.h"
#include "core/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define HEAD_TIMEOUT_MS 2000

struct ferry_httpd {
	int fd;          /* listening socket */
	int stop[2];     /* a byte written to stop[1] ends the thread */
	int port;
	ferry_httpd_render fn;
	void *arg;
	pthread_t thread;
	pthread_mutex_t busy; /* held while a request is answered, and while paused */
};

/* Read the request head (up to the blank line) within the time limit.
 * Returns its length, or -1. */
static ssize_t read_head(int c, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		if (poll(&p, 1, HEAD_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t r = read(c, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)n;
	}
	return -1;
}

static void reply(int c, int status, const char *ctype, const struct ferry_strbuf *body, int head_only)
{
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed"
			   : status == 400 ? "Bad Request" : status == 503 ? "Service Unavailable" : "Internal Server Error";
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
			 "Cache-Control: no-store\r\n%s\r\n",
			 status, reason, ctype, body->len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n > 0 && (size_t)n < sizeof(hdr) && ferry_write_all(c, hdr, (size_t)n) == 0 && !head_only)
		(void)ferry_write_all(c, body->buf, body->len);
}

static void serve_one(struct ferry_httpd *h, int c)
{
	char head[HEAD_MAX];
	struct ferry_strbuf body = FERRY_STRBUF_INIT;
	const char *ctype = "text/plain; charset=utf-8";
	if (read_head(c, head, sizeof(head)) < 0) {
		ferry_strbuf_adds(&body, "bad request\n");
		reply(c, 400, ctype, &body, 0);
		ferry_strbuf_release(&body);
		return;
	}
	char method[8] = "", target[1024] = "";
	int status;
	if (sscanf(head, "%7s %1023s", method, target) != 2) {
		status = 400;
		ferry_strbuf_adds(&body, "bad request\n");
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = 405;
		ferry_strbuf_adds(&body, "only GET and HEAD\n");
	} else {
		pthread_mutex_lock(&h->busy);
		status = h->fn(h->arg, target, &body, &ctype);
		pthread_mutex_unlock(&h->busy);
		if (body.failed) {
			ferry_strbuf_reset(&body);
			status = 500;
			ferry_strbuf_adds(&body, "out of memory\n");
		}
	}
	reply(c, status, ctype, &body, !strcmp(method, "HEAD"));
	ferry_strbuf_release(&body);
}

static void *loop(void *arg)
{
	struct ferry_httpd *h = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = h->fd, .events = POLLIN }, { .fd = h->stop[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(h, c);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

int ferry_httpd_start(uint64_t addr, ferry_httpd_render fn, void *arg, struct ferry_httpd **out, ferry_err *err)
{
	*out = NULL;
	char where[32];
	ferry_addr_format(addr, where, sizeof(where));
	struct ferry_httpd *h = calloc(1, sizeof(*h));
	if (!h)
		return ferry_err_set(err, FERRY_E_IO, "out of memory");
	h->fn = fn;
	h->arg = arg;
	h->stop[0] = h->stop[1] = -1;
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(addr & 0xffff)),
				  .sin_addr.s_addr = htonl((uint32_t)(addr >> 16)) };
	socklen_t sl = sizeof(sa);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(h->fd, 16) < 0 ||
	    getsockname(h->fd, (struct sockaddr *)&sa, &sl) < 0) {
		ferry_err_set(err, FERRY_E_IO, "cannot serve metrics at %s: %s", where, strerror(errno));
		goto fail;
	}
	h->port = ntohs(sa.sin_port);
	if (pipe2(h->stop, O_CLOEXEC) < 0) {
		ferry_err_set(err, FERRY_E_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&h->busy, NULL);
	int e = pthread_create(&h->thread, NULL, loop, h);
	if (e) {
		pthread_mutex_destroy(&h->busy);
		ferry_err_set(err, FERRY_E_IO, "cannot start the metrics thread: %s", strerror(e));
		goto fail;
	}
	*out = h;
	return 0;
fail:
	if (h->fd >= 0)
		close(h->fd);
	if (h->stop[0] >= 0) {
		close(h->stop[0]);
		close(h->stop[1]);
	}
	free(h);
	return -1;
}

int ferry_httpd_port(const struct ferry_httpd *h)
{
	return h ? h->port : 0;
}

void ferry_httpd_pause(struct ferry_httpd *h)
{
	if (h)
		pthread_mutex_lock(&h->busy);
}

void ferry_httpd_resume(struct ferry_httpd *h)
{
	if (h)
		pthread_mutex_unlock(&h->busy);
}

void ferry_httpd_stop(struct ferry_httpd *h)
{
	if (!h)
		return;
	(void)ferry_write_all(h->stop[1], "x", 1);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->busy);
	close(h->fd);
	close(h->stop[0]);
	close(h->stop[1]);
	free(h);
}
