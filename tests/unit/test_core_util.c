/* test_core_util.c — core/'s small utilities: the string buffer keeps its
 * invariants (always NUL-terminated, grows, sticky failure, detach), strlcpy
 * cuts deliberately; write-all, mkdir -p, mkdir of parents and rm -rf on a real
 * temporary folder (rm -rf removes a link, never what it points to); the
 * monotonic clock does not go back; random bytes are filled. */
#include "check.h"
#include "core/files.h"
#include "core/strbuf.h"
#include "core/sys.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void strbuf_tests(void)
{
	struct ferry_strbuf sb = FERRY_STRBUF_INIT;
	CHECK(sb.buf && sb.buf[0] == '\0' && sb.len == 0 && sb.alloc == 0);
	ferry_strbuf_setlen(&sb, 0); /* on the shared empty string: no write */
	ferry_strbuf_release(&sb);
	CHECK(sb.buf && sb.alloc == 0);

	CHECK(ferry_strbuf_adds(&sb, "a") == 0);
	CHECK(ferry_strbuf_addpath(&sb, "b") == 0);
	CHECK(ferry_strbuf_addch(&sb, '/') == 0);
	CHECK(ferry_strbuf_addpath(&sb, "c") == 0);
	CHECK(ferry_strbuf_addf(&sb, "-%d", 42) == 0);
	CHECK_STR(sb.buf, "a/b/c-42");
	CHECK(sb.len == strlen(sb.buf) && sb.len < sb.alloc);

	for (int i = 0; i < 10000; i++) /* growth keeps the invariants */
		ferry_strbuf_addch(&sb, 'x');
	CHECK(sb.len == 8 + 10000 && sb.buf[sb.len] == '\0' && sb.len < sb.alloc);
	ferry_strbuf_setlen(&sb, 3);
	CHECK_STR(sb.buf, "a/b");

	struct ferry_strbuf e = FERRY_STRBUF_INIT;
	CHECK(ferry_strbuf_addpath(&e, "only") == 0);
	CHECK_STR(e.buf, "only");
	ferry_strbuf_release(&e);

	/* sticky failure: a grow past the limit fails, keeps the content, and
	 * every later add is refused until reset */
	CHECK(ferry_strbuf_grow(&sb, FERRY_STRBUF_MAX) == -1);
	CHECK(sb.failed);
	CHECK_STR(sb.buf, "a/b");
	CHECK(ferry_strbuf_adds(&sb, "zz") == -1);
	CHECK_STR(sb.buf, "a/b");
	ferry_strbuf_reset(&sb);
	CHECK(!sb.failed && sb.len == 0 && sb.buf[0] == '\0');
	CHECK(ferry_strbuf_adds(&sb, "back") == 0);

	size_t n = 0;
	char *s = ferry_strbuf_detach(&sb, &n);
	CHECK_STR(s, "back");
	CHECK(n == 4 && sb.alloc == 0 && sb.len == 0);
	free(s);
	s = ferry_strbuf_detach(&sb, NULL); /* empty: a malloc'd "" */
	CHECK_STR(s, "");
	free(s);
	ferry_strbuf_grow(&sb, FERRY_STRBUF_MAX);
	CHECK(ferry_strbuf_detach(&sb, NULL) == NULL); /* failed: NULL, released */
	CHECK(sb.alloc == 0 && !sb.failed);

	char f[6];
	CHECK(ferry_strlcpy(f, "abc", sizeof(f)) == 3);
	CHECK(!strcmp(f, "abc"));
	CHECK(ferry_strlcpy(f, "abcdefgh", sizeof(f)) == 8);
	CHECK(!strcmp(f, "abcde"));
}

static void files_tests(void)
{
	char tmpl[] = "/tmp/ferry-unit-XXXXXX";
	char *root = mkdtemp(tmpl);
	CHECK(root != NULL);
	if (!root)
		return;
	struct ferry_strbuf p = FERRY_STRBUF_INIT;
	ferry_err err;
	ferry_strbuf_addf(&p, "%s/a/b/c", root);
	CHECK(ferry_mkdir_p(p.buf, 0700, &err) == 0);
	CHECK(ferry_mkdir_p(p.buf, 0700, &err) == 0); /* exists: fine */
	struct stat st;
	CHECK(stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);

	ferry_strbuf_addpath(&p, "f");
	int fd = open(p.buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ferry_write_all(fd, "hello", 5) == 0);
	CHECK(ferry_pwrite_all(fd, "J", 1, 0) == 0);
	close(fd);
	char got[8] = "";
	fd = open(p.buf, O_RDONLY);
	CHECK(fd >= 0 && read(fd, got, sizeof(got)) == 5);
	close(fd);
	CHECK(!memcmp(got, "Jello", 5));

	/* a file in the way: mkdir -p fails and names the folder */
	ferry_strbuf_addpath(&p, "under");
	CHECK(ferry_mkdir_p(p.buf, 0700, &err) == -1 && strstr(err.msg, "cannot create folder"));

	struct ferry_strbuf q = FERRY_STRBUF_INIT;
	ferry_strbuf_addf(&q, "%s/x/y/z.txt", root);
	CHECK(ferry_mkdir_parents(q.buf) == 0);
	ferry_strbuf_setlen(&q, q.len - strlen("/z.txt"));
	CHECK(stat(q.buf, &st) == 0 && S_ISDIR(st.st_mode));

	/* rm -rf removes a link to a folder outside, never what it points to */
	char keep[] = "/tmp/ferry-unit-keep-XXXXXX";
	CHECK(mkdtemp(keep) != NULL);
	ferry_strbuf_reset(&q);
	ferry_strbuf_addf(&q, "%s/keep.txt", keep);
	fd = open(q.buf, O_WRONLY | O_CREAT, 0600);
	close(fd);
	ferry_strbuf_reset(&q);
	ferry_strbuf_addf(&q, "%s/a/link", root);
	CHECK(symlink(keep, q.buf) == 0);
	CHECK(ferry_rm_rf(root) == 0);
	CHECK(access(root, F_OK) < 0);
	ferry_strbuf_reset(&q);
	ferry_strbuf_addf(&q, "%s/keep.txt", keep);
	CHECK(access(q.buf, F_OK) == 0);
	CHECK(ferry_rm_rf(keep) == 0 && access(keep, F_OK) < 0);
	CHECK(ferry_rm_rf(root) == 0); /* gone already: fine */
	ferry_strbuf_release(&p);
	ferry_strbuf_release(&q);
}

int main(void)
{
	strbuf_tests();
	files_tests();
	double a = ferry_now(), b = ferry_now_ms(), c = ferry_now_us();
	CHECK(a > 0 && b >= a * 1e3 - 1 && c >= b * 1e3 - 1e3);
	CHECK(ferry_now() >= a);
	unsigned char r1[32] = { 0 }, r2[32] = { 0 };
	ferry_random_bytes(r1, sizeof(r1));
	ferry_random_bytes(r2, sizeof(r2));
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	return CHECK_DONE();
}
