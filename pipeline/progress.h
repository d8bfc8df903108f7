/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Progress of a long copy or download: a bar on a terminal, and a line in the job log every
 * tenth of the way (or every 30 s when the size is unknown). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct job;

struct progress {
        struct job *job;
        const char *what;
        bool tty;
        int last_decile;
        struct timespec start, last_draw, last_log;
};

void progress_init(struct progress *p, struct job *job, const char *what);
void progress_update(struct progress *p, uint64_t done, uint64_t total);
void progress_done(struct progress *p, uint64_t done);
