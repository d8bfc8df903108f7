/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The inotify watcher on the upload mirror: files dropped into per-case folders under
 * watch.dirs become job requests once they have stayed still for the settle time. It knows
 * the loop it runs in and a submit callback, nothing of the daemon or its queue. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/loop.h"

/* A settled upload: its case number, path and size. */
struct watch_upload {
        const char *case_id;
        const char *path;
        uint64_t size;
};

/* Counters kept for /metrics (owned by the caller, so they outlive a restart of the watcher). */
struct watch_counters {
        uint64_t events, overflows, files_queued, files_ignored;
        uint64_t roots_lost;    /* times a watched folder went away */
        uint64_t roots_missing; /* watched folders gone now */
};

struct watch_env {
        struct loop *loop;
        /* the settings now (they change on a reload) */
        const struct config *(*config)(void *ctx);
        /* queues an upload; *dup: it was known already. <0: -errno */
        int (*submit)(void *ctx, const struct watch_upload *u, bool *dup);
        void *ctx;
        struct watch_counters *counters;
};

struct watch;
int watch_start(const struct watch_env *env, struct watch **ret, char *err, size_t err_size);
struct watch *watch_free(struct watch *w);
/* A watched folder that is gone now (deleted, or moved away: it is watched again, and looked
 * through, when a folder of that name is back), or NULL. */
const char *watch_lost(const struct watch *w);
/* The case number in a path under a watched folder, by watch.case_pattern: folders first,
 * then the file name. -ENOENT when none matches. */
int watch_case_of(const struct config *cfg, const char *relpath, char *ret, size_t size);
/* Whether a file's first bytes look like a dump, or an archive or compressed file that may
 * hold one. */
bool watch_looks_like_upload(const unsigned char *head, size_t n);
/* Whether a name is a partial or temporary file an uploader is still writing. */
bool watch_name_ignored(const char *name);
