/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Progress output for copies and downloads.
 * The bar goes to stderr only when it is a terminal; logs get whole lines, never carriage returns. */

#include <stdio.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/clock.h"
#include "pipeline/progress.h"

static double since(const struct timespec *a) {
        struct timespec now = clock_now();
        return clock_seconds(a, &now);
}

void progress_init(struct progress *p, struct job *job, const char *what) {
        *p = (struct progress) { .job = job, .what = what, .tty = isatty(2), .last_decile = -1 };
        p->start = clock_now();
        p->last_draw = p->last_log = p->start;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total) {
        double t = since(&p->start);
        double rate = t > 0 ? (double) done / t / 1048576.0 : 0;

        if (p->tty && since(&p->last_draw) >= 0.2) {
                p->last_draw = clock_now();
                if (total) {
                        int pct = (int) (done * 100 / total), bars = pct * 30 / 100;
                        fprintf(stderr, "\r%s [%.*s%*s] %3d%% %.0f/%.0f MiB %.1f MiB/s ", p->what, bars,
                                "##############################", 30 - bars, "", pct, (double) done / 1048576.0,
                                (double) total / 1048576.0, rate);
                } else
                        fprintf(stderr, "\r%s %.0f MiB %.1f MiB/s ", p->what, (double) done / 1048576.0, rate);
        }
        if (total) {
                int decile = (int) (done * 10 / total);
                if (decile != p->last_decile) {
                        p->last_decile = decile;
                        job_log(p->job, "%s: %d%% (%llu of %llu bytes, %.1f MiB/s)", p->what, decile * 10,
                                (unsigned long long) done, (unsigned long long) total, rate);
                }
        } else if (since(&p->last_log) >= 30) {
                p->last_log = clock_now();
                job_log(p->job, "%s: %llu bytes (%.1f MiB/s)", p->what, (unsigned long long) done, rate);
        }
}

void progress_done(struct progress *p, uint64_t done) {
        double t = since(&p->start);
        if (p->tty)
                fprintf(stderr, "\r%s: %.1f MiB in %.1f s%*s\n", p->what, (double) done / 1048576.0, t, 30, "");
        job_log(p->job, "%s: %llu bytes in %.2f s", p->what, (unsigned long long) done, t);
}
