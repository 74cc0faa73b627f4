/*
 * wire.h — small pieces every HTTP storage backend (azblob.c, s3.c) needs on
 * the wire: header lines, reading service XML safely, and the MD5 of a file
 * range (Content-MD5 of a Put Blob / Put Block / UploadPart).
 * Pure functions; thread-safe.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <curl/curl.h>
#include <libxml/tree.h>
#include <stddef.h>
#include <stdint.h>

/* Append "name: value" to a libcurl header list; returns the new list. */
struct curl_slist *ferry_wire_header(struct curl_slist *l, const char *name, const char *value);

/* Parse a service's XML answer with network access, entity loading and
 * error printing off. NULL when the body is empty or not XML. Free with
 * xmlFreeDoc. */
xmlDoc *ferry_wire_parse_xml(const char *body, size_t len);

/* The first child element of `parent` named `name`, or NULL (parent may be NULL). */
xmlNode *ferry_wire_child(xmlNode *parent, const char *name);

/* The text of `n` (NULL gives NULL); free with xmlFree. */
char *ferry_wire_text(xmlNode *n);

/* Base64 MD5 of bytes [off, off+len) of fd into out (25 bytes); 0, or -1
 * when the file cannot be read. */
int ferry_wire_md5_range(int fd, uint64_t off, uint64_t len, char out[25]);

#endif
