/* test_expand.c — ${{...}} expressions and $[[...]] optional blocks (job/expand.c). */
#include "check.h"
#include "job/expand.h"

#include <stdlib.h>

/* inputs.a = "A", inputs.opt absent, name = "job1"; anything else unknown. */
static int resolver(void *arg, const char *expr, const char **value, ferry_err *err)
{
	(void)arg;
	if (!strcmp(expr, "inputs.a"))
		*value = "A";
	else if (!strcmp(expr, "name"))
		*value = "job1";
	else if (!strcmp(expr, "inputs.opt"))
		return FERRY_EXPAND_ABSENT;
	else {
		ferry_err_set(err, FERRY_E_INVALID, "unknown '%s'", expr);
		return FERRY_EXPAND_ERROR;
	}
	return FERRY_EXPAND_VALUE;
}

static void ok(const char *what, const char *tmpl, int blocks, const char *want)
{
	char *out = NULL;
	ferry_err err = { 0 };
	int rc = ferry_expand(tmpl, blocks, resolver, NULL, "command", &out, &err);
	int good = rc == 0 && out && !strcmp(out, want);
	CHECK(good);
	printf("%s - %s: '%s' -> '%s'%s%s\n", good ? "ok" : "FAIL", what, tmpl,
	       out ? out : "(error)", rc ? " " : "", rc ? err.msg : "");
	free(out);
}

static void bad(const char *what, const char *tmpl, const char *want_in_msg)
{
	char *out = NULL;
	ferry_err err = { 0 };
	int rc = ferry_expand(tmpl, 1, resolver, NULL, "command", &out, &err);
	int good = rc < 0 && !out && strstr(err.msg, want_in_msg);
	CHECK(good);
	printf("%s - %s: '%s' fails: %s\n", good ? "ok" : "FAIL", what, tmpl, err.msg);
	free(out);
}

int main(void)
{
	ok("plain text is unchanged", "echo hi", 1, "echo hi");
	ok("empty template", "", 1, "");
	ok("one input", "cat ${{inputs.a}}", 1, "cat A");
	ok("spaces inside braces", "cat ${{ inputs.a }}!", 1, "cat A!");
	ok("name and input together", "${{name}}/${{inputs.a}}/${{inputs.a}}", 1, "job1/A/A");
	ok("optional block kept when present", "run $[[--a ${{inputs.a}}]] end", 1, "run --a A end");
	ok("optional block dropped when absent", "run $[[--lr ${{inputs.opt}}]] end", 1, "run  end");
	ok("block with present and absent drops", "x$[[ ${{inputs.a}} ${{inputs.opt}}]]y", 1, "xy");
	ok("blocks off: brackets literal", "x$[[y]]", 0, "x$[[y]]");
	ok("dollar without braces is literal", "echo $HOME ${PATH} $", 1, "echo $HOME ${PATH} $");
	bad("unknown expression", "echo ${{inputs.zzz}}", "unknown 'inputs.zzz'");
	bad("absent optional outside a block", "echo ${{inputs.opt}}", "optional input");
	bad("unterminated expression", "echo ${{inputs.a", "without a closing");
	bad("unterminated block", "echo $[[ --a ${{inputs.a}}", "without a closing");
	return CHECK_DONE();
}
