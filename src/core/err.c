/* err.c — filling ferry_err values (every message is redacted on the way in), and
 * their errno for the mount. */
#include "core/err.h"

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
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
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
