/* wire.c — what the HTTP storage backends share on the wire (see wire.h). */
#include "store/wire.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct curl_slist *ferry_wire_header(struct curl_slist *l, const char *name, const char *value)
{
	char line[8300];
	snprintf(line, sizeof(line), "%s: %s", name, value);
	return curl_slist_append(l, line);
}

xmlDoc *ferry_wire_parse_xml(const char *body, size_t len)
{
	if (!body || !len || len > INT32_MAX)
		return NULL;
	return xmlReadMemory(body, (int)len, NULL, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

xmlNode *ferry_wire_child(xmlNode *parent, const char *name)
{
	for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			return n;
	return NULL;
}

char *ferry_wire_text(xmlNode *n)
{
	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

int ferry_wire_md5_range(int fd, uint64_t off, uint64_t len, char out[25])
{
	unsigned char buf[1 << 16], md[16];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while (len > 0) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t got = pread(fd, buf, want, (off_t)off);
		if (got <= 0) {
			EVP_MD_CTX_free(ctx);
			return -1;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)out, md, 16);
	return 0;
}
