/* common.c — what the subcommands share: error printing, usage, context. */
#include "cli/cli.h"
#include "transfer/progress.h"
#include "core/interrupt.h"
#include "core/redact.h"
#include "workspace/workspace.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_set_quiet(void)
{
	ferry_progress_set_quiet(1);
}

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
	ferry_store_global_init();
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
	ferry_store_global_cleanup();
}

int cli_yaml_tags(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *v, const char *k, char **json)
{
	if (ferry_yaml_is_null(v))
		return 0;
	if (v->kind != FERRY_YAML_MAP)
		return ferry_yaml_err(d, v->line, k, "expected a map, found %s", ferry_yaml_kind_name(v));
	json_t *tags = json_object();
	for (size_t j = 0; tags && j < v->n; j++) {
		if (v->vals[j]->kind != FERRY_YAML_SCALAR) {
			char f[300];
			snprintf(f, sizeof(f), "%s.%s", k, v->keys[j]);
			json_decref(tags);
			return ferry_yaml_err(d, v->vals[j]->line, f, "expected a string, found %s",
					      ferry_yaml_kind_name(v->vals[j]));
		}
		json_object_set_new(tags, v->keys[j], json_string(v->vals[j]->text));
	}
	free(*json);
	*json = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(tags);
	return 0;
}

void cli_mask(char **s)
{
	char *m = *s ? ferry_redact_dup(*s) : NULL;
	if (m) {
		free(*s);
		*s = m;
	}
}

int cli_yaml_string(const struct ferry_yaml_doc *d, const struct ferry_yaml_node *n, const char *field,
		    char **out)
{
	return ferry_yaml_string(d, n, field, out);
}

const char *cli_or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int cli_create_file(int argc, char **argv, const char *usage, const char *need, const char **file)
{
	*file = NULL;
	for (int i = 2; i < argc; i++) {
		if ((!strcmp(argv[i], "--file") || !strcmp(argv[i], "-f")) && i + 1 < argc)
			*file = argv[++i];
		else if (!strncmp(argv[i], "--file=", 7))
			*file = argv[i] + 7;
		else
			return cli_usage(usage, "unexpected argument '%s'", argv[i]);
	}
	return *file ? 0 : cli_usage(usage, "%s", need);
}
