/* test_mltable.c — the pure parts of src/mltable: glob matching, the CSV
 * reader (quotes, multi-line, CRLF, pieces), SplitMix64's fixed sequence,
 * filter expressions, and MLTable parse errors with file and line. */
#include "check.h"
#include "mltable/csv.h"
#include "mltable/glob.h"
#include "mltable/mltable.h"
#include "mltable/prng.h"

#include <stdlib.h>
#include <string.h>

static void test_glob(void)
{
	CHECK(ferry_glob_match("*.csv", "a.csv"));
	CHECK(!ferry_glob_match("*.csv", "d/a.csv"));          /* * stays in one segment */
	CHECK(ferry_glob_match("*/*.csv", "d/a.csv"));
	CHECK(ferry_glob_match("**/*.csv", "a.csv"));           /* ** may be no folder */
	CHECK(ferry_glob_match("**/*.csv", "x/y/z/a.csv"));
	CHECK(!ferry_glob_match("**/*.csv", "x/y/z/a.txt"));
	CHECK(ferry_glob_match("data/**", "data/a/b/c"));
	CHECK(ferry_glob_match("a/**/b", "a/b"));
	CHECK(ferry_glob_match("a/**/b", "a/x/y/b"));
	CHECK(!ferry_glob_match("a/**/b", "a/x/y/bb"));
	CHECK(ferry_glob_match("img?.jpg", "img1.jpg"));
	CHECK(!ferry_glob_match("img?.jpg", "img10.jpg"));
	CHECK(!ferry_glob_match("a?b", "a/b"));                 /* ? never matches '/' */
	CHECK(ferry_glob_match("f[0-2].bin", "f1.bin"));
	CHECK(!ferry_glob_match("f[0-2].bin", "f3.bin"));
	CHECK(ferry_glob_match("f[!0-2].bin", "f3.bin"));
	CHECK(ferry_glob_match("f[abc]", "fb"));
	CHECK(ferry_glob_match("lit\\*", "lit*"));
	CHECK(!ferry_glob_match("lit\\*", "litx"));
	CHECK(ferry_glob_match("*a*b*c", "xxaxxbxxc"));
	CHECK(!ferry_glob_match("*a*b*c", "xxaxxbxx"));
	CHECK(ferry_glob_match("c*/**/*.jpg", "camera1/day/x.jpg"));
	CHECK(ferry_glob_literal_prefix("data/x/a?.csv") == 7);
	CHECK(ferry_glob_literal_prefix("a?.csv") == 0);
	CHECK(ferry_glob_literal_prefix("data/file.csv") == 5);
	CHECK(ferry_glob_has_magic("a/*") && !ferry_glob_has_magic("a/b"));
	/* a pathological pattern gives up (-1) instead of running for ages */
	char pat[400] = "", name[1200] = "";
	for (int i = 0; i < 40; i++)
		strcat(pat, "**/a*/");
	strcat(pat, "zz");
	for (int i = 0; i < 300; i++)
		strcat(name, "a/");
	strcat(name, "b");
	CHECK(ferry_glob_match(pat, name) == -1);
	CHECK(ferry_glob_match("**/a/**/b", name) == 1);
}

struct rows {
	char out[4096];
	int n;
};

static int collect(void *arg, const struct ferry_csv_record *r)
{
	struct rows *x = arg;
	char line[1024] = "";
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			strcat(line, "|");
		strncat(line, r->f[i], 200);
		CHECK(strlen(r->f[i]) == r->len[i]);
	}
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%llu:%s;", (unsigned long long)r->line, line);
	strcat(x->out, tmp);
	x->n++;
	return 0;
}

/* Feed `text` in pieces of `piece` bytes; return what the records were. */
static const char *parse(const char *text, int multi, size_t piece, struct rows *x)
{
	memset(x, 0, sizeof(*x));
	ferry_err err;
	struct ferry_csv *c = ferry_csv_new(',', multi, collect, x);
	size_t len = strlen(text);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < len; i += piece)
		rc = ferry_csv_feed(c, text + i, len - i < piece ? len - i : piece, "t.csv", &err);
	if (rc == 0)
		rc = ferry_csv_finish(c, "t.csv", &err);
	ferry_csv_free(c);
	if (rc < 0)
		snprintf(x->out, sizeof(x->out), "ERR %s", err.msg);
	return x->out;
}

static void test_csv(void)
{
	struct rows x;
	for (size_t piece = 1; piece <= 64; piece *= 4) {
		CHECK_STR(parse("a,b\n1,2\n", 0, piece, &x), "1:a|b;2:1|2;");
		CHECK_STR(parse("a,b\r\n1,2", 0, piece, &x), "1:a|b;2:1|2;");   /* CRLF, no final newline */
		CHECK_STR(parse("\"x,y\",\"he said \"\"hi\"\"\"\n", 0, piece, &x), "1:x,y|he said \"hi\";");
		CHECK_STR(parse("a,\"two\nlines\",c\nd,e,f\n", 1, piece, &x), "1:a|two\nlines|c;3:d|e|f;");
		CHECK_STR(parse("a,,\n\n,b\n", 0, piece, &x), "1:a||;3:|b;");    /* empty fields; blank line skipped */
		CHECK_STR(parse("\"ab\"c,d\n", 0, piece, &x), "1:abc|d;");
		CHECK_STR(parse("\"\"\n", 0, piece, &x), "1:;");                 /* a quoted empty field is a record */
	}
	/* without support_multi_line a line break ends the record even in quotes */
	CHECK_STR(parse("a,\"two\nlines\"\n", 0, 1024, &x), "1:a|two;2:lines\";");
	CHECK(!strncmp(parse("a,\"open\n", 1, 1024, &x), "ERR t.csv:1: a quoted field is not closed", 41));
}

static void test_prng(void)
{
	/* SplitMix64 from seed 0: the published reference values */
	struct ferry_prng r;
	ferry_prng_seed(&r, 0);
	CHECK(ferry_prng_next(&r) == 0xE220A8397B1DCDAFull);
	CHECK(ferry_prng_next(&r) == 0x6E789E6AA1B965F4ull);
	CHECK(ferry_prng_next(&r) == 0x06C45D188009454Full);
	/* the same seed gives the same sample; another seed another */
	struct ferry_prng a, b, c;
	ferry_prng_seed(&a, 42);
	ferry_prng_seed(&b, 42);
	ferry_prng_seed(&c, 43);
	int same = 1, diff = 0;
	for (int i = 0; i < 1000; i++) {
		double x = ferry_prng_unit(&a), y = ferry_prng_unit(&b), z = ferry_prng_unit(&c);
		same &= x == y;
		diff |= x != z;
		CHECK(x >= 0 && x < 1);
	}
	CHECK(same && diff);
}

static const char *lookup(void *arg, const char *col, int *is_null)
{
	const char *const *kv = arg;
	for (; *kv; kv += 2)
		if (!strcmp(kv[0], col)) {
			*is_null = kv[1] == NULL || !*kv[1];
			return *is_null ? NULL : kv[1];
		}
	*is_null = 1;
	return NULL;
}

static int eval(const char *text, const char *const *row)
{
	struct ferry_mlt_expr *e;
	char msg[300];
	if (ferry_mlt_expr_parse(text, &e, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "parse error: %s\n", msg);
		return -1;
	}
	int r = ferry_mlt_expr_eval(e, lookup, (void *)row);
	ferry_mlt_expr_free(e);
	return r;
}

static void test_expr(void)
{
	const char *row[] = { "a", "40", "b", "UK", "Path", "acct/c/img/x.jpg", "n", "", NULL };
	CHECK(eval("col(\"a\") > 32 and col(\"b\") == \"UK\"", row) == 1);
	CHECK(eval("col('a') > 32 and col('b') == 'FR'", row) == 0);
	CHECK(eval("col(\"a\") > 100 or not (col(\"b\") != 'UK')", row) == 1);
	CHECK(eval("5 < col(\"a\")", row) == 1);                 /* mirrored */
	CHECK(eval("col(\"a\") == 40.0", row) == 1);             /* numeric comparison */
	CHECK(eval("col(\"a\") < 9", row) == 0);                 /* not "40" < "9" as strings */
	CHECK(eval("col(\"Path\").endswith(\".jpg\")", row) == 1);
	CHECK(eval("col(\"Path\").startswith(\"acct/c/\") && col(\"Path\").contains(\"img\")", row) == 1);
	CHECK(eval("col(\"n\") == 1", row) == 0);                /* null matches only != */
	CHECK(eval("col(\"n\") != 1", row) == 1);
	/* bare names (the issue's `col > 3`: a column named col), Azure's col("..."), datetimes */
	const char *r2[] = { "col", "5", "trip distance", "3.5", "d", "2024-01-31T12:00:00", "d0", "2024-01-31",
			     "city", "Oslo", "datetime", "x", NULL };
	CHECK(eval("col > 3", r2) == 1);
	CHECK(eval("col > 3 and col <= 5 and not col == 4", r2) == 1);
	CHECK(eval("col(\"trip distance\") > 3 and col(\"trip distance\") < 4", r2) == 1);
	CHECK(eval("(col < 1 or city == 'Oslo') and city.startswith('Os')", r2) == 1);
	CHECK(eval("3 < col and col < col(\"trip distance\") + 0", r2) == -1); /* arithmetic: a parse error */
	CHECK(eval("d > datetime(2024, 1, 31)", r2) == 1);
	CHECK(eval("d < datetime(2024, 1, 31, 12, 0, 1) and d >= datetime(2024,1,31,12)", r2) == 1);
	CHECK(eval("d > '2024-01-31'", r2) == 1);                 /* as times: 12:00 is after midnight */
	CHECK(eval("d0 == datetime(2024, 1, 31)", r2) == 1);      /* a date is its midnight */
	CHECK(eval("d0 < d", r2) == 1);
	CHECK(eval("city > datetime(2024, 1, 1)", r2) == 0);      /* not a time: only != holds */
	CHECK(eval("datetime == 'x'", r2) == 1);                  /* a column named datetime */
	CHECK(eval("d > datetime(2024, 2, 30)", r2) == -1);
	CHECK(eval("d > datetime(2024)", r2) == -1);
	struct ferry_mlt_expr *e;
	char msg[300];
	CHECK(ferry_mlt_expr_parse("col > ", &e, msg, sizeof(msg)) < 0 && strstr(msg, "position 7"));
	CHECK(ferry_mlt_expr_parse("a >> 3", &e, msg, sizeof(msg)) < 0 && strstr(msg, "position 4"));
	CHECK(ferry_mlt_expr_parse("col(\"a\") >", &e, msg, sizeof(msg)) < 0 && strstr(msg, "position"));
	CHECK(ferry_mlt_expr_parse("1 == 2", &e, msg, sizeof(msg)) < 0 && strstr(msg, "a column on one side"));
	CHECK(ferry_mlt_expr_parse("col(\"a\") > 1 junk", &e, msg, sizeof(msg)) < 0 && strstr(msg, "unexpected"));
	/* hostile nesting and length end in errors, not in a stack overflow */
	size_t big = 300000;
	char *deep = malloc(big + 64);
	memset(deep, '(', big);
	strcpy(deep + big, "col(\"a\") > 1");
	CHECK(ferry_mlt_expr_parse(deep, &e, msg, sizeof(msg)) < 0 && strstr(msg, "nested more than 64"));
	for (size_t i = 0; i + 4 <= big; i += 4)
		memcpy(deep + i, "not ", 4);
	CHECK(ferry_mlt_expr_parse(deep, &e, msg, sizeof(msg)) < 0 && strstr(msg, "nested more than 64"));
	char *chain = malloc(200000 * 32);
	chain[0] = '\0';
	char *w = chain;
	for (int i = 0; i < 200000; i++)
		w += sprintf(w, "%scol('a') > %d", i ? " or " : "", i);
	CHECK(ferry_mlt_expr_parse(chain, &e, msg, sizeof(msg)) < 0 && strstr(msg, "more than 1000 terms"));
	CHECK(ferry_mlt_expr_parse("col('a') > 1 or (col('a') < 0 and not col('b') == 'x')", &e, msg, sizeof(msg)) == 0);
	ferry_mlt_expr_free(e);
	free(deep);
	free(chain);
}

static void parse_bad(const char *text, const char *want1, const char *want2)
{
	struct ferry_mltable *m = NULL;
	ferry_err err;
	int rc = ferry_mltable_parse(text, strlen(text), "d/MLTable", &m, &err);
	CHECK(rc < 0 && m == NULL);
	if (rc == 0) {
		ferry_mltable_free(m);
		fprintf(stderr, "accepted: %s\n", text);
		return;
	}
	CHECK(strstr(err.msg, want1) != NULL);
	CHECK(!want2 || strstr(err.msg, want2) != NULL);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		fprintf(stderr, "message: %s\n", err.msg);
}

static void test_doc(void)
{
	const char *ok = "$schema: x\ntype: mltable\npaths:\n  - file: ./a.csv\n  - folder: b/\n  - pattern: '**/*.csv'\n"
			 "transformations:\n  - read_delimited:\n      delimiter: ';'\n      header: no_header\n"
			 "      encoding: latin1\n  - take: 5\n  - take_random_sample: {probability: 0.5, seed: 7}\n"
			 "  - filter: 'col(\"Column1\") > 1'\n  - keep_columns: [Column1, Column2]\n"
			 "  - convert_column_types:\n      - columns: Column1\n        column_type: int\n"
			 "      - columns: [Column2]\n        column_type:\n          boolean:\n            true_values: ['y']\n"
			 "  - extract_columns_from_partition_format: {year:yyyy}\n";
	struct ferry_mltable *m = NULL;
	ferry_err err;
	CHECK(ferry_mltable_parse(ok, strlen(ok), "MLTable", &m, &err) == 0);
	if (m) {
		CHECK(m->npaths == 3 && m->paths[2].kind == FERRY_MLT_PATTERN && m->paths[2].line == 6);
		CHECK(m->nsteps == 7 && m->steps[0].delimiter == ';' && m->steps[0].header == FERRY_MLT_NO_HEADER);
		CHECK(m->steps[0].encoding == FERRY_MLT_LATIN1 && m->steps[1].n == 5 && m->steps[2].seed == 7);
		CHECK(m->steps[5].nconvs == 2 && m->steps[5].convs[1].type == FERRY_MLT_T_BOOL);
		CHECK_STR(m->steps[6].text, "{year:yyyy}");
		ferry_mltable_free(m);
	} else {
		fprintf(stderr, "%s\n", err.msg);
	}
	/* take_random_sample's complement (ferry's own, for Python's random_split) */
	const char *cm = "paths: [{file: a}]\ntransformations:\n  - take_random_sample: {probability: 0.3, seed: 2, complement: true}\n"
			 "  - take_random_sample: {probability: 0.3, seed: 2}\n";
	m = NULL;
	CHECK(ferry_mltable_parse(cm, strlen(cm), "MLTable", &m, &err) == 0);
	if (m) {
		CHECK(m->nsteps == 2 && m->steps[0].complement == 1 && m->steps[1].complement == 0);
		CHECK(m->steps[0].seed == 2 && m->steps[0].probability == 0.3);
		ferry_mltable_free(m);
	}
	parse_bad("paths:\n  - file: a\ntransformations:\n  - take_random_sample: {probability: 0.5, complement: maybe}\n",
		  "d/MLTable:4:", "complement");
	/* select_partitions (ferry's own, Python's select_partitions) */
	const char *sp = "paths: [{file: a}]\ntransformations:\n  - select_partitions: [3, 0, 18446744073709551615]\n";
	m = NULL;
	CHECK(ferry_mltable_parse(sp, strlen(sp), "MLTable", &m, &err) == 0);
	if (m) {
		CHECK(m->nsteps == 1 && m->steps[0].op == FERRY_MLT_SELECT_PARTITIONS && m->steps[0].nparts == 3);
		CHECK(m->steps[0].parts[0] == 3 && m->steps[0].parts[1] == 0 && m->steps[0].parts[2] == UINT64_MAX);
		ferry_mltable_free(m);
	}
	parse_bad("paths: [{file: a}]\ntransformations:\n  - select_partitions: []\n", "d/MLTable:3:", "an empty list");
	parse_bad("paths: [{file: a}]\ntransformations:\n  - select_partitions: 2\n", "d/MLTable:3:",
		  "expected a list of partition indexes");
	parse_bad("paths: [{file: a}]\ntransformations:\n  - select_partitions: [1, -1]\n", "d/MLTable:3:",
		  "non-negative integer");
	parse_bad("paths: [{file: a}]\ntransformations:\n  - select_partitions:\n      - 1\n      - 1\n", "d/MLTable:5:",
		  "partition 1 is named twice");
	parse_bad("paths: [\n", "d/MLTable:", "malformed YAML");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - read_csv: {}\n", "d/MLTable:4:",
		  "unknown transformation 'read_csv'");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - take: many\n", "d/MLTable:4:", "non-negative integer");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - take: -1\n", "d/MLTable:4:", "non-negative integer");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - read_delimited:\n      header: sometimes\n",
		  "d/MLTable:5:", "unknown value 'sometimes'");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - read_delimited:\n      delimiter: ab\n",
		  "d/MLTable:5:", "one character");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - read_delimited:\n      encoding: utf16\n",
		  "d/MLTable:5:", "not supported");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - read_delimited:\n      include_path_column: maybe\n",
		  "d/MLTable:5:", "true or false");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - take_random_sample: {probability: 2}\n",
		  "d/MLTable:4:", "from 0 to 1");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - filter: 'col(\"a\") >'\n", "d/MLTable:4:", "filter");
	parse_bad("paths:\n  - url: a\n", "d/MLTable:2:", "unknown kind of path");
	parse_bad("paths: a.csv\n", "d/MLTable:1:", "expected a list");
	parse_bad("transformations:\n  - take: 1\n", "d/MLTable:1:", "'paths' is required");
	parse_bad("paths:\n  - file: a\nsurprise: 1\n", "d/MLTable:3:", "unknown field");
	parse_bad("paths:\n  - file: a\ntransformations:\n  - convert_column_types:\n      - columns: a\n        column_type: money\n",
		  "d/MLTable:6:", "unknown value 'money'");
}

static int count_rec(void *arg, const struct ferry_csv_record *r)
{
	(void)r;
	++*(int *)arg;
	return 0;
}

/* Hostile input: random bytes into the CSV reader in random pieces, random
 * mutations of a valid MLTable into the parser and random filters into the
 * expression parser. Each must end in a result or a clean error (the ASan
 * build of this test checks the memory side). */
static void test_hostile(void)
{
	srand(12345);
	const char alphabet[] = "ab,\"\r\n;x ";
	int fine = 1;
	for (int round = 0; round < 2000; round++) {
		char buf[512];
		size_t len = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = round % 2 ? (char)(rand() & 0xff) : alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		int n = 0;
		ferry_err err;
		struct ferry_csv *c = ferry_csv_new(round % 3 ? ',' : ';', round % 2, count_rec, &n);
		int rc = 0;
		for (size_t i = 0; rc == 0 && i < len;) {
			size_t k = 1 + (size_t)(rand() % 64);
			if (k > len - i)
				k = len - i;
			rc = ferry_csv_feed(c, buf + i, k, "r.csv", &err);
			i += k;
		}
		if (rc == 0)
			rc = ferry_csv_finish(c, "r.csv", &err);
		fine &= rc == 0 || (rc < 0 && strstr(err.msg, "r.csv:") != NULL);
		ferry_csv_free(c);
	}
	CHECK(fine);
	const char *doc = "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited:\n      header: no_header\n"
			  "  - filter: 'col(\"a\") > 1 and not col(\"b\").contains(\"x\")'\n  - take_random_sample: {probability: 0.5, seed: 1}\n";
	size_t dl = strlen(doc);
	fine = 1;
	for (int round = 0; round < 3000; round++) {
		char buf[1024];
		memcpy(buf, doc, dl + 1);
		for (int k = 0; k < 1 + round % 4; k++)
			buf[rand() % (int)dl] = "{}[]:-'\"\n #&*!|>x0"[rand() % 19];
		struct ferry_mltable *m = NULL;
		ferry_err err;
		if (ferry_mltable_parse(buf, dl, "f/MLTable", &m, &err) == 0)
			ferry_mltable_free(m);
		else
			fine &= strncmp(err.msg, "f/MLTable", 9) == 0;
	}
	CHECK(fine);
}

int main(void)
{
	test_hostile();
	test_glob();
	test_csv();
	test_prng();
	test_expr();
	test_doc();
	return CHECK_DONE();
}
