/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Progress of a long step, one model with three views. A step counts bytes (a download, a copy,
 * an archive read, a package streamed) or steps (crash's commands, module debug files), with
 * the total when it is known; the rate and the time left follow from them.
 *   - stderr, when the command line asked for it (progress_to_stderr): on a terminal a bar that
 *     redraws in place, else a line every PROGRESS_LINE_S seconds;
 *   - the job's log (hotkdump.log): the same line every PROGRESS_LINE_S seconds, and at the end;
 *   - the case folder's progress.json, at most once a second, which GET /jobs/ID shows while the
 *     job runs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct job;

#define PROGRESS_LINE_S 5
#define PROGRESS_FILE "progress.json"

enum progress_unit { PROGRESS_BYTES, PROGRESS_STEPS };

struct progress {
        struct job *job;
        char what[48], item[80];
        enum progress_unit unit;
        uint64_t done, total;
        struct timespec start, last_draw, last_line, last_file;
        bool drawn, finished;
        bool item_is_step; /* item came with an update (what is being done now), not with the whole */
};

/* The command line's choice: progress on stderr (off in the daemon's workers, whose stderr is
 * the daemon's log). */
void progress_to_stderr(bool on);

void progress_init(struct progress *p, struct job *job, const char *what, enum progress_unit unit, uint64_t total);
/* done so far of total (0: unknown); item names what is being done now ("bt -a"), or NULL. */
void progress_update(struct progress *p, uint64_t done, uint64_t total, const char *item);
void progress_done(struct progress *p, uint64_t done);

/* The line a view shows: "download: 45% 43.2 of 96.0 MiB, 12.3 MiB/s, 4 s left (FILE)". */
void progress_format(const struct progress *p, double elapsed, char *buf, size_t size);
