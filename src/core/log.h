/*
 * log.h — ferry's runtime log (the seed's rslex.log) and terminal messages.
 *
 * One process-wide logger. Every line is redacted (core/redact.h) before it
 * is written. Lines go to the runtime log file when one is open (all levels)
 * and to stderr when their level is at or above the terminal threshold
 * (FERRY_LOG_WARN by default; `-v` lowers it). Thread-safe.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

enum ferry_log_level { FERRY_LOG_DEBUG, FERRY_LOG_INFO, FERRY_LOG_WARN, FERRY_LOG_ERROR };

/* Open (append) `path` as the runtime log; closes any previous one.
 * Returns 0, or -1 with errno set. */
int ferry_log_open(const char *path);
void ferry_log_close(void);

/* Set the lowest level echoed to stderr. */
void ferry_log_set_stderr_level(enum ferry_log_level lvl);

void ferry_log(enum ferry_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ferry_debug(...) ferry_log(FERRY_LOG_DEBUG, __VA_ARGS__)
#define ferry_info(...)  ferry_log(FERRY_LOG_INFO, __VA_ARGS__)
#define ferry_warn(...)  ferry_log(FERRY_LOG_WARN, __VA_ARGS__)

/* Format the current UTC time as 2023-05-18T14:08:25.388670Z into buf (>= 32). */
void ferry_log_timestamp(char *buf, unsigned cap);

#endif
