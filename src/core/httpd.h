/*
 * httpd.h — a small HTTP server (libmicrohttpd, one internal thread) in the
 * caller's process, for read-only status pages such as /metrics (OpenMetrics
 * text: job/metrics.h, and the standalone mount's in fs/mount.c).
 *
 * It answers GET and HEAD (405 otherwise) from the caller's render callback,
 * one page at a time; a client silent for 2 s is dropped, at most 16 are
 * connected at once.
 *
 * Address: an IPv4 address and port packed as a FERRY_METRICS_ADDR setting
 * holds them (core/settings.h, FST_ADDR; ferry_addr_format): (ipv4 << 16) | port,
 * ipv4 in host order. Port 0 binds any free port (ferry_httpd_port says which).
 *
 * Threads: start/stop/pause/resume from one controlling thread; the render
 * callback runs on the server's thread, never while paused.
 * Errors: 0 / non-NULL, or -1 with a filled ferry_err.
 */
#ifndef FERRY_HTTPD_H
#define FERRY_HTTPD_H

#include "core/err.h"
#include "core/strbuf.h"

#include <stdint.h>

struct ferry_httpd;

/* Fill `body` for `path` (the request target, query included) and return
 * the status (200, 404, …); *ctype may be set to the body's Content-Type
 * (default text/plain; charset=utf-8). */
typedef int (*ferry_httpd_render)(void *arg, const char *path, struct ferry_strbuf *body, const char **ctype);

/* Bind, listen and start serving `fn`. `arg` is borrowed until stop. */
int ferry_httpd_start(uint64_t addr, ferry_httpd_render fn, void *arg, struct ferry_httpd **out, ferry_err *err);
/* The port bound (useful after port 0). */
int ferry_httpd_port(const struct ferry_httpd *h);
/* Stop the server's thread (requests being answered end first; new ones
 * wait in the socket's backlog) / start it again: around a fork() of the
 * caller, so that no thread of the server exists when the child starts.
 * NULL is allowed. */
void ferry_httpd_pause(struct ferry_httpd *h);
void ferry_httpd_resume(struct ferry_httpd *h);
/* Stop the thread, close the socket, free. NULL is allowed. */
void ferry_httpd_stop(struct ferry_httpd *h);

#endif
