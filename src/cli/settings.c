/* settings.c — `ferry settings [--markdown]`: the settings table and the values in force. */
#include "cli/cli.h"
#include "core/settings.h"

#include <stdio.h>
#include <string.h>

int cmd_settings(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--markdown")) {
		ferry_settings_markdown(stdout);
		return 0;
	}
	if (argc != 1)
		return cli_usage("ferry settings [--markdown]", "unexpected argument '%s'", argv[1]);
	struct ferry_settings s;
	ferry_err err;
	if (ferry_settings_load(&s, ferry_settings_getenv, NULL, &err) < 0)
		return cli_fail(&err);
	const struct ferry_setting_def *t = ferry_settings_table();
	for (int i = 0; i < FS__COUNT; i++) {
		char buf[64];
		ferry_setting_format(&s, (enum ferry_setting_id)i, buf, sizeof(buf));
		printf("%s=%s\n", t[i].name, buf);
	}
	return 0;
}
