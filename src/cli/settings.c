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
		if (t[i].type == FST_F64)
			printf("%s=%g\n", t[i].name, s.v[i]);
		else if (t[i].unset_ok && !s.from_user[i])
			printf("%s=unset\n", t[i].name);
		else if (t[i].type == FST_BOOL)
			printf("%s=%s\n", t[i].name, s.v[i] ? "true" : "false");
		else
			printf("%s=%lld\n", t[i].name, (long long)s.v[i]);
	}
	return 0;
}
