/* common.c — what the subcommands share: error printing, usage, context. */
#include "cli/cli.h"
#include "core/interrupt.h"
#include "store/httpc.h"
#include "workspace/workspace.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const ferry_err *err)
{
	fprintf(stderr, "ferry: error: %s\n", err->msg[0] ? err->msg : "unknown failure");
	if (err->code == FERRY_E_INTERRUPTED && ferry_interrupted())
		return 128 + ferry_interrupted(); /* as a shell reports a killed command */
	return 1;
}

int cli_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ferry: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return 2;
}

int cli_ctx_open(struct ferry_ctx *ctx, ferry_err *err)
{
	memset(ctx, 0, sizeof(*ctx));
	ferry_http_global_init();
	ferry_interrupt_install();
	if (ferry_settings_load(&ctx->settings, ferry_settings_getenv, NULL, err) < 0)
		return -1;
	if (ferry_identity_from_env(&ctx->identity, err) < 0)
		return -1;
	if (ferry_ws_open(NULL, &ctx->ws, err) < 0)
		return -1;
	ctx->progress = isatty(2);
	return 0;
}

void cli_ctx_close(struct ferry_ctx *ctx)
{
	if (ctx->ws)
		ferry_ws_close(ctx->ws);
	ctx->ws = NULL;
	curl_global_cleanup();
}
