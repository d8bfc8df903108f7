/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Retention: case folders whose job ended long enough ago, and debug symbols nobody used for
 * long, are removed, unless a NOPURGE file keeps them; under disk pressure the oldest go first. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

struct purge_opts {
        bool dry_run;               /* say what would go, remove nothing */
        uint64_t older_than;        /* seconds since a job ended */
        uint64_t want_free;         /* bytes: while less is free on <root>, finished folders go oldest
                                     * first whatever their age; 0: no such pressure */
        /* whether the daemon has a job (queued or running) in that folder; NULL: none */
        bool (*busy)(void *userdata, const char *dir);
        void (*say)(void *userdata, const char *line); /* one line per folder removed or kept */
        void *userdata;
};

struct purge_result {
        unsigned removed, kept, symbols_removed, leftovers;
        uint64_t bytes_freed;
};

/* One pass over <root>/cases and the symbol cache. A folder goes by rename into <root>/trash
 * then removal, so that a purge killed midway leaves no part of a folder under its name; the
 * next pass empties the trash. Links are removed as links, never followed. */
int purge_run(const struct config *cfg, const struct purge_opts *o, struct purge_result *ret);

/* Bytes free (for an unprivileged user) and in all on the file system of path. */
int purge_disk_space(const char *path, uint64_t *ret_free, uint64_t *ret_total);
