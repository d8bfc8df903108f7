/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Progress of long steps: the bar or lines on stderr, lines in the job log, progress.json in the
 * case folder. Logs get whole lines, never carriage returns. */

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "pipeline/progress.h"

static bool to_stderr, stderr_tty;
/* the bar on the terminal now, cleared before a log line is written over it */
static const struct progress *bar_shown;

static void clear_bar(void) {
        if (bar_shown) {
                fputs("\r\033[K", stderr);
                bar_shown = NULL;
        }
}

void progress_to_stderr(bool on) {
        to_stderr = on;
        stderr_tty = on && isatty(2);
        log_set_before_write(stderr_tty ? clear_bar : NULL);
}

static double since(const struct timespec *a) {
        struct timespec now = clock_now();
        return clock_seconds(a, &now);
}

void progress_init(struct progress *p, struct job *job, const char *what, enum progress_unit unit, uint64_t total) {
        *p = (struct progress) { .job = job, .unit = unit, .total = total };
        snprintf(p->what, sizeof p->what, "%s", what);
        p->start = p->last_draw = p->last_line = p->last_file = clock_now();
}

static void fmt_amount(const struct progress *p, uint64_t n, bool unit, char *buf, size_t size) {
        if (p->unit == PROGRESS_BYTES)
                snprintf(buf, size, unit ? "%.1f MiB" : "%.1f", (double) n / 1048576.0);
        else
                snprintf(buf, size, "%llu", (unsigned long long) n);
}

static void fmt_duration(double s, char *buf, size_t size) {
        if (s < 90)
                snprintf(buf, size, "%.0f s", s);
        else if (s < 5400)
                snprintf(buf, size, "%.0f min", s / 60);
        else
                snprintf(buf, size, "%.1f h", s / 3600);
}

/* The rate (per second) and the seconds left (< 0: unknown). */
static double rate_of(const struct progress *p, double elapsed, double *left) {
        double rate = elapsed > 0 ? (double) p->done / elapsed : 0;
        *left = p->total && rate > 0 && p->done <= p->total ? (double) (p->total - p->done) / rate : -1;
        return rate;
}

void progress_format(const struct progress *p, double elapsed, char *buf, size_t size) {
        char done[32], total[32], left_s[32] = "";
        double left, rate = rate_of(p, elapsed, &left);
        fmt_amount(p, p->done, !p->total, done, sizeof done);
        fmt_amount(p, p->total, true, total, sizeof total);
        if (left >= 0 && elapsed >= 1 && !p->finished)
                fmt_duration(left, left_s, sizeof left_s);
        int n;
        if (p->unit == PROGRESS_STEPS)
                n = p->total ? snprintf(buf, size, "%s: %s of %s", p->what, done, total)
                             : snprintf(buf, size, "%s: %s", p->what, done);
        else if (p->total)
                n = snprintf(buf, size, "%s: %d%% %s of %s, %.1f MiB/s", p->what,
                             (int) (p->done >= p->total ? 100 : p->done * 100 / p->total), done, total, rate / 1048576.0);
        else
                n = snprintf(buf, size, "%s: %s, %.1f MiB/s", p->what, done, rate / 1048576.0);
        if (n < 0 || (size_t) n >= size)
                return;
        if (*left_s)
                n += snprintf(buf + n, size - (size_t) n, ", %s left", left_s);
        if (*p->item && (size_t) n < size)
                snprintf(buf + n, size - (size_t) n, " (%s)", p->item);
}

static void draw_bar(struct progress *p, double elapsed) {
        char line[256];
        progress_format(p, elapsed, line, sizeof line);
        int width = 24, fill = p->total ? (int) ((p->done >= p->total ? p->total : p->done) * (uint64_t) width / p->total) : 0;
        /* the line is cleared to its end each time, so a shorter one leaves nothing behind */
        fprintf(stderr, "\r\033[K[%.*s%*s] %s", fill, "########################", width - fill, "", line);
        fflush(stderr);
        bar_shown = p;
}

static void write_file(struct progress *p, double elapsed, bool final) {
        if (!p->job)
                return;
        double left, rate = rate_of(p, elapsed, &left);
        json_object *o = json_object_new_object();
        if (!o)
                return;
        json_object_object_add(o, "what", json_object_new_string(p->what));
        json_object_object_add(o, "unit", json_object_new_string(p->unit == PROGRESS_BYTES ? "bytes" : "steps"));
        json_object_object_add(o, "done", json_object_new_int64((int64_t) p->done));
        json_object_object_add(o, "total", p->total ? json_object_new_int64((int64_t) p->total) : NULL);
        json_object_object_add(o, "rate", json_object_new_double(rate));
        json_object_object_add(o, "seconds_left", left >= 0 && !final ? json_object_new_double(left) : NULL);
        json_object_object_add(o, "elapsed", json_object_new_double(elapsed));
        json_object_object_add(o, "item", *p->item ? json_object_new_string(p->item) : NULL);
        json_object_object_add(o, "finished", json_object_new_boolean(final));
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        /* a figure for the API only: a failure to write it changes nothing in the job */
        (void) write_file_atomic(job_dir(p->job), PROGRESS_FILE, s, strlen(s));
        json_object_put(o);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total, const char *item) {
        p->done = done;
        if (total)
                p->total = total;
        if (item) {
                snprintf(p->item, sizeof p->item, "%s", item);
                p->item_is_step = true;
        }
        double elapsed = since(&p->start);
        if (stderr_tty && (!p->drawn || since(&p->last_draw) >= 0.2)) {
                p->drawn = true;
                p->last_draw = clock_now();
                draw_bar(p, elapsed);
        }
        if (since(&p->last_line) >= PROGRESS_LINE_S) {
                char line[256];
                p->last_line = clock_now();
                progress_format(p, elapsed, line, sizeof line);
                if (p->job)
                        job_log(p->job, "%s", line);
                if (to_stderr && !stderr_tty)
                        fprintf(stderr, "%s\n", line);
        }
        if (since(&p->last_file) >= 1) {
                p->last_file = clock_now();
                write_file(p, elapsed, false);
        }
}

void progress_done(struct progress *p, uint64_t done) {
        double elapsed = since(&p->start);
        char line[256], took[32];
        p->done = done;
        if (!p->total)
                p->total = done;
        p->finished = true;
        if (p->item_is_step)
                p->item[0] = 0; /* the last step's name: not what the whole was */
        progress_format(p, elapsed, line, sizeof line);
        fmt_duration(elapsed, took, sizeof took);
        if (elapsed < 10)
                snprintf(took, sizeof took, "%.1f s", elapsed);
        if (stderr_tty)
                clear_bar();
        if (to_stderr)
                fprintf(stderr, "%s in %s\n", line, took);
        if (p->job)
                job_log(p->job, "%s in %s", line, took);
        write_file(p, elapsed, true);
}
