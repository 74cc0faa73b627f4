/*
 * seriesread.c — the header and newest samples of a time series file
 * (seriesread.h): the first line, then a window at the end of the file
 * that grows until it holds two whole sample lines or reaches the start.
 */
#include "job/seriesread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_MAX 65536
#define WINDOW_MAX (64u << 20) /* sample lines longer than this are not read */

void ferry_series_tail_free(struct ferry_series_tail *t)
{
	free(t->head);
	free(t->prev);
	free(t->last);
	t->head = t->prev = t->last = NULL;
}

/* The newest two whole lines of buf[0..n), a window at the end of the file,
 * newest first; the window's first line is never taken (the file's header,
 * or a line the window cuts). Returns how many were found. */
static int newest_lines(const char *buf, size_t n, char **lines)
{
	lines[0] = lines[1] = NULL;
	while (n > 0 && buf[n - 1] != '\n') /* a line being written: not yet */
		n--;
	int found = 0;
	size_t end = n; /* buf[end - 1] is the newline of the line being looked at */
	while (end > 0 && found < 2) {
		size_t start = end - 1;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (start == 0) /* the window's first line: the file's header when */
			break;  /* at_start (not a sample), else maybe cut */
		if (end - 1 > start && !(lines[found] = strndup(buf + start, end - 1 - start)))
			break;
		if (end - 1 > start)
			found++;
		end = start;
	}
	return found;
}

int ferry_series_tail_read(const char *path, struct ferry_series_tail *out)
{
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	char *first = malloc(HEAD_MAX);
	ssize_t n = first && fstat(fd, &st) == 0 ? pread(fd, first, HEAD_MAX, 0) : -1;
	char *nl = n > 0 ? memchr(first, '\n', (size_t)n) : NULL;
	if (!nl || !(out->head = strndup(first, (size_t)(nl - first)))) {
		free(first);
		close(fd);
		errno = n < 0 ? errno : ENODATA;
		return -1;
	}
	free(first);
	for (size_t win = 65536;; win *= 4) {
		off_t from = st.st_size > (off_t)win ? st.st_size - (off_t)win : 0;
		size_t len = (size_t)(st.st_size - from);
		char *buf = malloc(len + 1);
		ssize_t got = buf ? pread(fd, buf, len, from) : -1;
		if (got < 0) {
			free(buf);
			break;
		}
		char *lines[2];
		int k = newest_lines(buf, (size_t)got, lines);
		free(buf);
		if (k == 2 || from == 0 || win >= WINDOW_MAX) {
			out->last = lines[0];
			out->prev = lines[1];
			break;
		}
		free(lines[0]);
		free(lines[1]);
	}
	close(fd);
	return 0;
}
