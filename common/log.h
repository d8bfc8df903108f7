/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging for the daemon and the CLI: one line per message on stderr, with a level.
 * Library code never logs; it returns -errno and a reason that these functions print once. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
void log_set_program(const char *name);
/* Called before each message is written to stderr (the command line's progress bar clears its
 * line there), or NULL. */
void log_set_before_write(void (*fn)(void));

/* Prints the message; a "%m" in fmt stands for strerror(error). Returns -|error| so that
 * callers can write `return log_error_errno(r, "…: %m");`. */
int log_full_errno(enum log_level level, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Library code's failure reason: formats into buf (one line, no newline) and returns r, so
 * that callers can write `return log_reason(err, size, -EINVAL, "…", …);`. */
int log_reason(char *buf, size_t size, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...)            log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)          log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_info(...)             log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)            log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
