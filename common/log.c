/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging for the daemon and the CLI.
 * Messages go to stderr so that stdout stays clean for a command's actual output. */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/shown.h"

static enum log_level max_level = LOG_INFO;
static const char *program = "hotkdump";

/* Whether stderr is the journal (systemd sets $JOURNAL_STREAM to its device:inode): then each
 * line starts with its syslog priority, "<3>" for an error, so that `journalctl -p err` finds
 * it. Asked once; -1 until then. */
static int to_journal = -1;

static bool stderr_is_journal(void) {
        if (to_journal < 0) {
                const char *js = getenv("JOURNAL_STREAM");
                unsigned long long dev, ino;
                struct stat st;
                to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
                             (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        }
        return to_journal;
}

void log_set_level(enum log_level level) {
        max_level = level;
}

static void (*before_write)(void);

void log_set_before_write(void (*fn)(void)) {
        before_write = fn;
}

void log_set_program(const char *name) {
        program = name;
}

int log_full_errno(enum log_level level, int error, const char *fmt, ...) {
        int e = error < 0 ? -error : error;
        char msg[4096];
        size_t o = 0;

        if (level > max_level)
                return -e;

        /* Expand %m ourselves: the caller's errno is long gone by the time we get here. */
        for (const char *p = fmt; *p && o + 1 < sizeof msg; p++) {
                if (p[0] == '%' && p[1] == 'm') {
                        const char *s = strerror(e);
                        size_t n = strlen(s);
                        if (n > sizeof msg - 1 - o)
                                n = sizeof msg - 1 - o;
                        memcpy(msg + o, s, n);
                        o += n;
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        /* keep "%%" intact for vfprintf */
                        if (o + 2 >= sizeof msg)
                                break;
                        msg[o++] = '%';
                        msg[o++] = '%';
                        p++;
                } else
                        msg[o++] = *p;
        }
        msg[o] = 0;

        static const char *const prefix[] = {
                [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_INFO] = NULL, [LOG_DEBUG] = "debug",
        };
        char line[4096], shown[8192];
        va_list ap;
        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(line, sizeof line, msg, ap);
#pragma GCC diagnostic pop
        va_end(ap);
        /* one line, whatever a file name or a server put in it, and no credentials */
        shown_text(line, shown, sizeof shown, true);
        static const int priority[] = { [LOG_ERR] = 3, [LOG_WARNING] = 4, [LOG_INFO] = 6, [LOG_DEBUG] = 7 };
        char pri[8] = "";
        if (stderr_is_journal())
                snprintf(pri, sizeof pri, "<%d>", priority[level]);
        if (before_write)
                before_write();
        if (prefix[level])
                fprintf(stderr, "%s%s: %s: %s\n", pri, program, prefix[level], shown);
        else
                fprintf(stderr, "%s%s: %s\n", pri, program, shown);
        return -e;
}

int log_reason(char *buf, size_t size, int r, const char *fmt, ...) {
        char line[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        /* a reason ends up in job.json and the API: no credentials, one line */
        shown_text(line, buf, size, true);
        return r;
}
