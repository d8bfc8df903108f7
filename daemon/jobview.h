/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the API shows of the daemon: a job as JSON and the Prometheus text of /metrics, from
 * the queue's records, the case folders and the figures the supervisor keeps. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "casefolder/record.h"
#include "daemon/cluster.h"
#include "daemon/http.h"
#include "daemon/queue.h"
#include "watcher/watch.h"

/* The figures /metrics shows, as the supervisor counted them. */
/* The upper bounds, in seconds, of the buckets of hotkdump_stage_seconds (then +Inf): from a
 * cache hit's symbols stage to a large dump's crash run. */
#define JOBVIEW_STAGE_BUCKETS 12
extern const double jobview_stage_bounds[JOBVIEW_STAGE_BUCKETS];

struct jobview_figures {
        struct jobview_stage {
                double seconds;
                uint64_t count;
                uint64_t in_bucket[JOBVIEW_STAGE_BUCKETS]; /* not cumulative; beyond the last: count - their sum */
        } stages[_STAGE_MAX];                    /* the stages of finished jobs */
        uint64_t jobs_finished[_QUEUE_STATE_MAX]; /* by the state they ended in */
        uint64_t bytes_fetched, symbol_cache_hits, symbol_fetches;
        struct http_counters http;
        struct watch_counters watch;
        size_t workers_busy;
        unsigned outbox_count; /* posts not delivered yet */
        uint64_t sender_runs;
        uint64_t disk_free, purge_runs, purge_removed, purge_freed;
        bool disk_low;
};

/* A job as GET /jobs/ID shows it: the queue's record plus its case folder's stage, stages,
 * progress (of stages_total), headline cause, posts and links. NULL when out of memory. */
json_object *jobview_job(const struct queue_entry *e, int stages_total);
/* Adds one stage's time to its histogram. */
void jobview_stage_add(struct jobview_stage *st, double seconds);
/* The text of GET /metrics. */
void jobview_metrics(FILE *out, const struct jobview_figures *f, struct queue *q);
/* The shared queue's part of /metrics: the stream's lag and this host's part in it. */
void jobview_cluster_metrics(FILE *out, const char *host, const struct cluster_figures *c);
