/*
 * httpd.c — the status server of httpd.h on libmicrohttpd (its internal
 * polling thread), on a socket bound here.
 */
#include "core/httpd.h"

#include "core/log.h"
#include "core/settings.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_TIMEOUT_S 2  /* a client that says nothing for this long is dropped */
#define MAX_CONNECTIONS 16

struct ferry_httpd {
	struct MHD_Daemon *d; /* NULL while paused */
	int fd;               /* the listening socket, kept across pauses */
	int port;
	ferry_httpd_render fn;
	void *arg;
};

static enum MHD_Result send_page(struct MHD_Connection *c, int status, const char *ctype, struct ferry_strbuf *body)
{
	size_t len = 0;
	char *buf = ferry_strbuf_detach(body, &len);
	struct MHD_Response *r = buf ? MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE) : NULL;
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

/* libmicrohttpd's request callback: GET/HEAD go to the render callback
 * (libmicrohttpd leaves the body out for HEAD), anything else is 405. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **state)
{
	(void)version;
	(void)upload_data;
	struct ferry_httpd *h = cls;
	struct ferry_strbuf body = FERRY_STRBUF_INIT;
	const char *ctype = "text/plain; charset=utf-8";
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		if (!*state) { /* the first call of a request with a body: answer at once */
			*state = h;
			*upload_size = 0;
		}
		ferry_strbuf_adds(&body, "only GET and HEAD\n");
		return send_page(c, MHD_HTTP_METHOD_NOT_ALLOWED, ctype, &body);
	}
	int status = h->fn(h->arg, url, &body, &ctype);
	if (body.failed) {
		ferry_strbuf_reset(&body);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		ferry_strbuf_adds(&body, "out of memory\n");
	}
	return send_page(c, status, ctype, &body);
}

/* Serve h->fd on a new internal thread (MHD_USE_ITC: so that pausing can
 * take the socket back with MHD_quiesce_daemon). */
static struct MHD_Daemon *daemon_start(struct ferry_httpd *h)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL, NULL, answer, h,
				MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEAD_TIMEOUT_S,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS, MHD_OPTION_END);
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
	/* The socket is bound here, not by libmicrohttpd, so that a port in use
	 * is an error that says so (libmicrohttpd only returns NULL). */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(addr & 0xffff)),
				  .sin_addr.s_addr = htonl((uint32_t)(addr >> 16)) };
	socklen_t sl = sizeof(sa);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		ferry_err_set(err, FERRY_E_IO, "cannot serve metrics at %s: %s", where, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(h);
		return -1;
	}
	h->port = ntohs(sa.sin_port);
	h->fd = fd;
	if (!(h->d = daemon_start(h))) {
		ferry_err_set(err, FERRY_E_IO, "cannot serve metrics at %s: libmicrohttpd did not start", where);
		close(fd);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

int ferry_httpd_port(const struct ferry_httpd *h)
{
	return h ? h->port : 0;
}

/* Pausing stops the server's thread outright (answers in progress end
 * first) and keeps the listening socket: clients that connect meanwhile wait
 * in its backlog. No thread of it exists across the caller's fork. */
void ferry_httpd_pause(struct ferry_httpd *h)
{
	if (!h || !h->d)
		return;
	MHD_quiesce_daemon(h->d);
	MHD_stop_daemon(h->d);
	h->d = NULL;
}

void ferry_httpd_resume(struct ferry_httpd *h)
{
	if (h && !h->d && !(h->d = daemon_start(h)))
		ferry_warn("the metrics server could not start again: /metrics is gone");
}

void ferry_httpd_stop(struct ferry_httpd *h)
{
	if (!h)
		return;
	if (h->d) {
		MHD_quiesce_daemon(h->d); /* the socket is ours to close */
		MHD_stop_daemon(h->d);
	}
	close(h->fd);
	free(h);
}
