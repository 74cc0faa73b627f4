/* log.c — the process-wide runtime log with redaction (see log.h). */
#include "core/log.h"
#include "core/redact.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static enum ferry_log_level stderr_level = FERRY_LOG_WARN;

static const char *level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

int ferry_log_open(const char *path)
{
	FILE *f = fopen(path, "ae"); /* close-on-exec: the command must not write here */
	if (!f)
		return -1;
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void ferry_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
}

void ferry_log_set_stderr_level(enum ferry_log_level lvl)
{
	stderr_level = lvl;
}

void ferry_log_timestamp(char *buf, unsigned cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000);
}

void ferry_log(enum ferry_log_level lvl, const char *fmt, ...)
{
	if (!log_file && lvl < stderr_level)
		return;
	char line[2048], ts[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ferry_redact(line, sizeof(line));
	ferry_log_timestamp(ts, sizeof(ts));
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		fprintf(log_file, "%s %5s ferry: %s\n", ts, level_names[lvl], line);
		fflush(log_file);
	}
	if (lvl >= stderr_level)
		fprintf(stderr, "ferry: %s%s\n",
			lvl >= FERRY_LOG_ERROR ? "error: " : lvl == FERRY_LOG_WARN ? "warning: " : "",
			line);
	pthread_mutex_unlock(&log_lock);
}
