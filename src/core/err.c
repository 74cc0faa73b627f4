/* err.c — filling ferry_err values (every message is redacted on the way in), and
 * their errno for the mount. */
#include "core/err.h"
#include "core/strbuf.h"

#include "core/redact.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ferry_err_set(ferry_err *e, int code, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
	ferry_redact(e->msg, sizeof(e->msg));
	return -1;
}

int ferry_err_wrap(ferry_err *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	ferry_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ferry_strbuf_addf(&sb, ": %s", e->msg);
	if (!sb.failed) /* out of memory: the message stays as it was */
		ferry_strlcpy(e->msg, sb.buf, sizeof(e->msg));
	ferry_strbuf_release(&sb);
	ferry_redact(e->msg, sizeof(e->msg));
	return -1;
}

void ferry_err_clear(ferry_err *e)
{
	if (e) {
		e->code = FERRY_OK;
		e->msg[0] = '\0';
	}
}

int ferry_err_errno(const ferry_err *e)
{
	switch (e->code) {
	case FERRY_E_NOTFOUND:
		return ENOENT;
	case FERRY_E_AUTH:
		return EACCES;
	case FERRY_E_INVALID:
	case FERRY_E_UNSAFE:
		return EINVAL;
	default:
		return EIO;
	}
}
