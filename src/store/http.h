/*
 * http.h — a read-only store over a plain HTTP(S) server: files by URL,
 * folders by the server's index page (nginx's JSON autoindex, or the links
 * of an HTML index).
 */
#ifndef FERRY_HTTP_STORE_H
#define FERRY_HTTP_STORE_H

#include "store/store.h"

/* A store whose paths are relative to `base` (scheme://host[:port]). */
struct ferry_store *ferry_http_open(const char *base, const struct ferry_settings *settings,
				    struct ferry_stats *stats, ferry_err *err);

#endif
