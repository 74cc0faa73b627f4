/*
 * expand.h — `${{...}}` expressions and `$[[...]]` optional blocks.
 *
 * The job language of Azure ML: `${{inputs.x}}`, `${{outputs.y}}`, `${{name}}`
 * in the command, and in output paths also `${{default_datastore}}` and
 * `${{output_name}}`. An optional block `$[[ --lr ${{inputs.lr}} ]]` is
 * emitted without its brackets when every input it references is present,
 * and dropped entirely when one of them is an absent optional input.
 *
 * The expander knows no names itself: a resolver callback gives each
 * expression its value. Pure string work; thread-safe.
 */
#ifndef FERRY_JOB_EXPAND_H
#define FERRY_JOB_EXPAND_H

#include "core/err.h"

enum ferry_expand_ans {
	FERRY_EXPAND_VALUE = 1,  /* *value set (borrowed until the call returns) */
	FERRY_EXPAND_ABSENT = 0, /* an optional input that was not given */
	FERRY_EXPAND_ERROR = -1, /* unknown expression; the callback filled err */
};

/* `expr` is the text between `${{` and `}}`, trimmed ("inputs.data"). */
typedef int (*ferry_expand_fn)(void *arg, const char *expr, const char **value,
			       ferry_err *err);

/* Expand `tmpl` into a malloc'd string *out (caller frees). `blocks`: 1 to
 * honour `$[[...]]` (commands), 0 to copy it literally. `what` (e.g.
 * "command", "output 'model' path") prefixes errors. An absent optional
 * input outside an optional block is an error naming it; so are an
 * unterminated `${{` or `$[[`. */
int ferry_expand(const char *tmpl, int blocks, ferry_expand_fn fn, void *arg, const char *what,
		 char **out, ferry_err *err);

#endif
