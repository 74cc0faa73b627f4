/*
 * expr.c — the filter expressions of MLTable `filter:` (grammar in mltable.h).
 *
 * A recursive-descent parser into a small tree, and a tree walk to evaluate
 * it per row. The subset is deliberately small and documented: comparisons
 * of a column (Azure's col("name") or a bare name) with a literal (number,
 * string, boolean, datetime(...)), three string tests, and/or/not with
 * parentheses — what real MLTable filters use. Anything else is a parse
 * error that quotes the position, never a silently-true filter.
 */
#include "mltable/mltable.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { X_OR, X_AND, X_NOT, X_CMP, X_FN };
enum { O_EQ, O_NE, O_LT, O_LE, O_GT, O_GE };
enum { F_STARTS, F_ENDS, F_CONTAINS };
enum { V_COL, V_NUM, V_STR, V_BOOL, V_DT };

/* A point in time: seconds since 1970-01-01T00:00:00 (UTC) and nanoseconds. */
struct when {
	int64_t sec;
	int32_t ns;
};

struct operand {
	int kind;
	char *s;   /* column name or string literal */
	double num;
	int b;
	struct when t;   /* V_DT, or a V_STR literal that reads as a datetime */
	int is_time;     /* V_STR: t holds the literal as a datetime */
};

struct ferry_mlt_expr {
	int kind, op;
	struct ferry_mlt_expr *a, *b;
	struct operand l, r;
};

/* Bounds that keep parsing, evaluation and freeing (all recursive) off the
 * end of the stack whatever the text: real filters have a handful of terms. */
#define MAX_DEPTH 64
#define MAX_NODES 1000

struct px {
	const char *s, *p;
	char *err;
	size_t cap;
	int depth, nodes;
};

static void skip_ws(struct px *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

static int perr(struct px *x, const char *what)
{
	if (x->err[0] == '\0')
		snprintf(x->err, x->cap, "%s at position %d ('%.20s')", what, (int)(x->p - x->s) + 1, x->p);
	return -1;
}

static int word(struct px *x, const char *w)
{
	skip_ws(x);
	size_t n = strlen(w);
	if (strncmp(x->p, w, n))
		return 0;
	if (isalpha((unsigned char)w[0]) && (isalnum((unsigned char)x->p[n]) || x->p[n] == '_'))
		return 0;
	x->p += n;
	return 1;
}

static int string_lit(struct px *x, char **out)
{
	skip_ws(x);
	char q = *x->p;
	if (q != '"' && q != '\'')
		return perr(x, "expected a string");
	x->p++;
	size_t cap = strlen(x->p) + 1, n = 0;
	char *s = malloc(cap);
	if (!s)
		return perr(x, "out of memory");
	while (*x->p && *x->p != q) {
		if (*x->p == '\\' && x->p[1])
			x->p++;
		s[n++] = *x->p++;
	}
	s[n] = '\0';
	if (*x->p != q) {
		free(s);
		return perr(x, "unclosed string");
	}
	x->p++;
	*out = s;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t civil_days(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int when_of(int64_t y, int mo, int d, int h, int mi, int sec, int32_t ns, struct when *t)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return -1;
	t->sec = civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t->ns = ns;
	return 0;
}

static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* A value as the evaluator writes datetimes (and ISO 8601 text generally):
 * YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z]. 1 when `s` is one, else 0. */
static int iso_time(const char *s, struct when *t)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int32_t ns = 0;
	const char *p = s;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
		return 0;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
			return 0;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) < 0)
				return 0;
			if (*p == '.') {
				int nd = 0;
				for (p++; *p >= '0' && *p <= '9'; p++, nd++)
					if (nd < 9)
						ns = ns * 10 + (*p - '0');
				if (!nd)
					return 0;
				for (; nd < 9; nd++)
					ns *= 10;
			}
		}
		if (*p == 'Z')
			p++;
	}
	return *p == '\0' && when_of(y, mo, d, h, mi, sec, ns, t) == 0;
}

static int when_cmp(const struct when *a, const struct when *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return (a->ns > b->ns) - (a->ns < b->ns);
}

/* datetime(year, month, day[, hour[, minute[, second]]]), after the word
 * (which starts at `at`: errors about the whole value point there). */
static int datetime_lit(struct px *x, struct operand *o, const char *at)
{
	int v[6] = { 0, 1, 1, 0, 0, 0 }, n = 0;
	if (!word(x, "("))
		return perr(x, "expected '(' after datetime");
	do {
		skip_ws(x);
		char *end;
		long k = strtol(x->p, &end, 10);
		if (end == x->p || n == 6)
			return perr(x, n == 6 ? "datetime() takes at most 6 numbers (year, month, day, hour, minute, second)"
					      : "expected a whole number in datetime()");
		v[n++] = (int)k;
		x->p = end;
	} while (word(x, ","));
	if (!word(x, ")"))
		return perr(x, "expected ',' or ')' in datetime()");
	const char *end = x->p;
	x->p = at;
	if (n < 3)
		return perr(x, "datetime() needs at least year, month and day");
	if (when_of(v[0], v[1], v[2], v[3], v[4], v[5], 0, &o->t) < 0)
		return perr(x, "datetime() is not a valid date and time");
	x->p = end;
	o->kind = V_DT;
	return 0;
}

/* A bare column name: a letter or '_', then letters, digits and '_'. */
static int bare_name(struct px *x, char **out)
{
	const char *b = x->p;
	if (!isalpha((unsigned char)*b) && *b != '_')
		return 0;
	const char *e = b;
	while (isalnum((unsigned char)*e) || *e == '_')
		e++;
	static const char *const kw[] = { "and", "or", "not" };
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if ((size_t)(e - b) == strlen(kw[i]) && !strncmp(b, kw[i], (size_t)(e - b)))
			return 0;
	if (!(*out = strndup(b, (size_t)(e - b))))
		return perr(x, "out of memory");
	x->p = e;
	return 1;
}

/* Whether the next non-space text is '(' (without taking it). */
static int paren_next(struct px *x)
{
	const char *p = x->p;
	while (isspace((unsigned char)*p))
		p++;
	return *p == '(';
}

static int operand(struct px *x, struct operand *o)
{
	skip_ws(x);
	const char *at = x->p;
	if (word(x, "col")) {
		if (paren_next(x)) {
			word(x, "(");
			o->kind = V_COL;
			if (string_lit(x, &o->s) < 0)
				return -1;
			if (!word(x, ")"))
				return perr(x, "expected ')'");
			return 0;
		}
		x->p = at; /* a column named col */
	}
	if (word(x, "datetime")) {
		if (paren_next(x))
			return datetime_lit(x, o, at);
		x->p = at;
	}
	if (*x->p == '"' || *x->p == '\'') {
		o->kind = V_STR;
		if (string_lit(x, &o->s) < 0)
			return -1;
		o->is_time = iso_time(o->s, &o->t);
		return 0;
	}
	if (word(x, "true") || word(x, "True")) {
		o->kind = V_BOOL;
		o->b = 1;
		return 0;
	}
	if (word(x, "false") || word(x, "False")) {
		o->kind = V_BOOL;
		o->b = 0;
		return 0;
	}
	if (word(x, "null") || word(x, "None"))
		return perr(x, "null is not a value here (a null matches only '!=')");
	int r = bare_name(x, &o->s);
	if (r < 0)
		return -1;
	if (r > 0) {
		o->kind = V_COL;
		return 0;
	}
	char *end;
	double d = strtod(x->p, &end);
	if (end == x->p || isalpha((unsigned char)*x->p))
		return perr(x, "expected a column (name or col(\"name\")), a number, a string, true, false or "
			       "datetime(y, m, d)");
	o->kind = V_NUM;
	o->num = d;
	x->p = end;
	return 0;
}

static struct ferry_mlt_expr *node(struct px *x)
{
	if (++x->nodes > MAX_NODES) {
		perr(x, "more than 1000 terms");
		return NULL;
	}
	return calloc(1, sizeof(struct ferry_mlt_expr));
}

static int parse_or(struct px *x, struct ferry_mlt_expr **out);
static int parse_factor_in(struct px *x, struct ferry_mlt_expr *e, struct ferry_mlt_expr **out);

static int parse_factor(struct px *x, struct ferry_mlt_expr **out)
{
	if (x->depth >= MAX_DEPTH)
		return perr(x, "nested more than 64 deep");
	struct ferry_mlt_expr *e = node(x);
	if (!e)
		return perr(x, "out of memory");
	*out = e;
	x->depth++;
	int rc = parse_factor_in(x, e, out);
	x->depth--;
	return rc;
}

static int parse_factor_in(struct px *x, struct ferry_mlt_expr *e, struct ferry_mlt_expr **out)
{
	if (word(x, "not") || (skip_ws(x), *x->p == '!' && x->p[1] != '=' && (x->p++, 1))) {
		e->kind = X_NOT;
		return parse_factor(x, &e->a);
	}
	if (word(x, "(")) {
		free(e);
		*out = NULL;
		if (parse_or(x, out) < 0)
			return -1;
		if (!word(x, ")"))
			return perr(x, "expected ')'");
		return 0;
	}
	if (operand(x, &e->l) < 0)
		return -1;
	if (e->l.kind == V_COL && word(x, ".")) {
		e->kind = X_FN;
		if (word(x, "startswith"))
			e->op = F_STARTS;
		else if (word(x, "endswith"))
			e->op = F_ENDS;
		else if (word(x, "contains"))
			e->op = F_CONTAINS;
		else
			return perr(x, "expected startswith, endswith or contains");
		if (!word(x, "("))
			return perr(x, "expected '('");
		e->r.kind = V_STR;
		if (string_lit(x, &e->r.s) < 0)
			return -1;
		if (!word(x, ")"))
			return perr(x, "expected ')'");
		return 0;
	}
	e->kind = X_CMP;
	static const struct { const char *t; int op; } ops[] = {
		{ "==", O_EQ }, { "!=", O_NE }, { "<=", O_LE }, { ">=", O_GE }, { "<", O_LT }, { ">", O_GT },
	};
	size_t i;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (word(x, ops[i].t))
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return perr(x, "expected a comparison (== != < <= > >=)");
	e->op = ops[i].op;
	if (operand(x, &e->r) < 0)
		return -1;
	if (e->l.kind != V_COL && e->r.kind != V_COL)
		return perr(x, "a comparison needs a column on one side");
	if (e->l.kind != V_COL) { /* literal OP col: mirror it */
		struct operand t = e->l;
		e->l = e->r;
		e->r = t;
		static const int mirror[] = { O_EQ, O_NE, O_GT, O_GE, O_LT, O_LE };
		e->op = mirror[e->op];
	}
	return 0;
}

static int parse_and(struct px *x, struct ferry_mlt_expr **out)
{
	if (parse_factor(x, out) < 0)
		return -1;
	while (word(x, "and") || word(x, "&&") || word(x, "&")) {
		struct ferry_mlt_expr *e = node(x);
		if (!e)
			return perr(x, "out of memory");
		e->kind = X_AND;
		e->a = *out;
		*out = e;
		if (parse_factor(x, &e->b) < 0)
			return -1;
	}
	return 0;
}

static int parse_or(struct px *x, struct ferry_mlt_expr **out)
{
	if (parse_and(x, out) < 0)
		return -1;
	while (word(x, "or") || word(x, "||") || word(x, "|")) {
		struct ferry_mlt_expr *e = node(x);
		if (!e)
			return perr(x, "out of memory");
		e->kind = X_OR;
		e->a = *out;
		*out = e;
		if (parse_and(x, &e->b) < 0)
			return -1;
	}
	return 0;
}

int ferry_mlt_expr_parse(const char *text, struct ferry_mlt_expr **out, char *errbuf, size_t cap)
{
	struct px x = { .s = text, .p = text, .err = errbuf, .cap = cap };
	errbuf[0] = '\0';
	*out = NULL;
	int rc = parse_or(&x, out);
	if (rc == 0) {
		skip_ws(&x);
		if (*x.p)
			rc = perr(&x, "unexpected text");
	}
	if (rc < 0) {
		ferry_mlt_expr_free(*out);
		*out = NULL;
	}
	return rc;
}

void ferry_mlt_expr_free(struct ferry_mlt_expr *e)
{
	if (!e)
		return;
	ferry_mlt_expr_free(e->a);
	ferry_mlt_expr_free(e->b);
	free(e->l.s);
	free(e->r.s);
	free(e);
}

int ferry_mlt_expr_columns(const struct ferry_mlt_expr *e, int (*fn)(void *arg, const char *name), void *arg)
{
	if (!e)
		return 0;
	if (ferry_mlt_expr_columns(e->a, fn, arg) < 0 || ferry_mlt_expr_columns(e->b, fn, arg) < 0)
		return -1;
	if ((e->kind == X_CMP || e->kind == X_FN) && e->l.kind == V_COL && fn(arg, e->l.s) < 0)
		return -1;
	if (e->kind == X_CMP && e->r.kind == V_COL && fn(arg, e->r.s) < 0)
		return -1;
	return 0;
}

static int as_number(const char *s, double *d)
{
	if (!s || !*s)
		return 0;
	char *end;
	*d = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	return *end == '\0' && !isspace((unsigned char)*s);
}

static int as_bool(const char *s, int *b)
{
	if (!strcasecmp(s, "true") || !strcmp(s, "1")) {
		*b = 1;
		return 1;
	}
	if (!strcasecmp(s, "false") || !strcmp(s, "0")) {
		*b = 0;
		return 1;
	}
	return 0;
}

static int cmp_result(int c, int op)
{
	switch (op) {
	case O_EQ: return c == 0;
	case O_NE: return c != 0;
	case O_LT: return c < 0;
	case O_LE: return c <= 0;
	case O_GT: return c > 0;
	default: return c >= 0;
	}
}

static const char *value(const struct operand *o, ferry_mlt_lookup_fn lookup, void *arg, int *is_null)
{
	*is_null = 0;
	if (o->kind == V_COL) {
		const char *v = lookup(arg, o->s, is_null);
		if (!v)
			*is_null = 1;
		return v;
	}
	return o->s;
}

int ferry_mlt_expr_eval(const struct ferry_mlt_expr *e, ferry_mlt_lookup_fn lookup, void *arg)
{
	switch (e->kind) {
	case X_OR:
		return ferry_mlt_expr_eval(e->a, lookup, arg) || ferry_mlt_expr_eval(e->b, lookup, arg);
	case X_AND:
		return ferry_mlt_expr_eval(e->a, lookup, arg) && ferry_mlt_expr_eval(e->b, lookup, arg);
	case X_NOT:
		return !ferry_mlt_expr_eval(e->a, lookup, arg);
	case X_FN: {
		int nul;
		const char *v = value(&e->l, lookup, arg, &nul);
		if (nul)
			return 0;
		size_t n = strlen(v), m = strlen(e->r.s);
		if (e->op == F_STARTS)
			return n >= m && !memcmp(v, e->r.s, m);
		if (e->op == F_ENDS)
			return n >= m && !memcmp(v + n - m, e->r.s, m);
		return strstr(v, e->r.s) != NULL;
	}
	default: {
		int ln, rn;
		const char *l = value(&e->l, lookup, arg, &ln);
		if (e->r.kind == V_COL) {
			const char *r = value(&e->r, lookup, arg, &rn);
			if (ln || rn)
				return e->op == O_NE && !(ln && rn);
			double a, b;
			struct when ta, tb;
			if (as_number(l, &a) && as_number(r, &b))
				return cmp_result((a > b) - (a < b), e->op);
			if (iso_time(l, &ta) && iso_time(r, &tb))
				return cmp_result(when_cmp(&ta, &tb), e->op);
			return cmp_result(strcmp(l, r), e->op);
		}
		if (ln)
			return e->op == O_NE;
		if (e->r.kind == V_NUM) {
			double a;
			if (!as_number(l, &a))
				return e->op == O_NE;
			return cmp_result((a > e->r.num) - (a < e->r.num), e->op);
		}
		if (e->r.kind == V_BOOL) {
			int b;
			if (!as_bool(l, &b))
				return e->op == O_NE;
			return cmp_result(b - e->r.b, e->op);
		}
		struct when t;
		if (e->r.kind == V_DT) {
			if (!iso_time(l, &t))
				return e->op == O_NE;
			return cmp_result(when_cmp(&t, &e->r.t), e->op);
		}
		if (e->r.is_time && iso_time(l, &t)) /* "2024-01-31" against a datetime */
			return cmp_result(when_cmp(&t, &e->r.t), e->op);
		return cmp_result(strcmp(l, e->r.s), e->op);
	}
	}
}
