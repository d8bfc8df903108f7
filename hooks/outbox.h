/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The outbox: every post of a job's result (a case comment on Athena, a webhook call, a hook
 * script) is written here first, durably, and removed only once the far side has taken it, so
 * a post outlives an outage of the far side and restarts of the daemon. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* Whether post.sinks names only known sinks. */
int outbox_check_config(const struct config *cfg, char *err, size_t err_size);

/* Writes the posts of the job in dir of one kind ("early": what the first look found; "full":
 * the finished analysis; "failed": what failed and why), one per sink (one per script for exec).
 * A post already in the outbox or delivered is not written again, and a full or failed post
 * drops the same job's early one that nobody has started sending. */
int outbox_enqueue(const struct config *cfg, const char *dir, const char *kind, char *err, size_t err_size);

enum outbox_claim {
        OUTBOX_CLAIM_MINE,
        OUTBOX_CLAIM_SENT,   /* another host sent it */
        OUTBOX_CLAIM_BUSY,   /* another host sends it now, or the claim could not be made: later */
};

struct outbox_run {
        bool force;             /* send now: due or not, failed or not */
        const char *only;       /* a post's id, or a job's CASE/N, or NULL for all */
        void (*say)(void *userdata, const char *line); /* a line per delivery, or NULL */
        /* with several hosts (the shared queue): whether the post named by key (the job's run
         * id, its kind, its sink) is this host's to send, claimed for it (sent false), and that
         * it was sent (sent true). by: the host that has it. NULL: every post is this host's. */
        enum outbox_claim (*claim)(void *userdata, const char *key, bool sent, char *by, size_t by_size);
        void *userdata;
        /* what came of it */
        unsigned delivered, retrying, failed, waiting;
};

/* Sends the posts that are due, oldest first, one sender at a time (the others wait). Posts of
 * one case to one sink go in order: one that waits holds back the later ones. */
int outbox_deliver(const struct config *cfg, struct outbox_run *run);

/* The posts in the outbox, oldest first, as a JSON array. */
int outbox_list(const struct config *cfg, json_object **ret);

/* When the next waiting post is due (wall seconds; 0 when none waits) and how many posts the
 * outbox holds. */
int outbox_due(const struct config *cfg, int64_t *ret_next, unsigned *ret_count);
