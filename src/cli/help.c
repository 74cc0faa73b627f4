/*
 * help.c — owns the help text every command shares: `ferry help [COMMAND]`,
 * `ferry COMMAND --help|-h` (one format for all), and the nearest command
 * to a misspelt one. The command table itself lives in main.c; each row's
 * help reads "<what it does>: <usage>" (cli.h).
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

void cli_help_command(FILE *out, const char *name, const char *help)
{
	const char *u = strstr(help, ": ferry ");
	if (!u) {
		fprintf(out, "usage: ferry %s\n\n  %s\n", name, help);
		return;
	}
	fprintf(out, "usage: %s\n\n  %.*s\n", u + 2, (int)(u - help), help);
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

/* Edit distance (insert, delete, substitute, swap of neighbours), capped. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

const char *cli_nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = 99;
	for (size_t i = 0; i < n; i++) {
		if (names[i][0] == '_')
			continue; /* internal commands are never suggested */
		size_t d = distance(word, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	/* Close enough to be a typo: at most 2 edits, and fewer than the word's length. */
	return best && bd <= 2 && bd < strlen(word) ? best : NULL;
}
