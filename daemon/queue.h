/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The job queue: every request the daemon accepted, written to disk before it is acknowledged,
 * and de-duplicated across triggers (the webhook and the mirror announcing one upload). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum queue_state {
        QUEUE_QUEUED,
        QUEUE_RUNNING,
        QUEUE_DONE,
        QUEUE_INCOMPLETE,
        QUEUE_FAILED,
        QUEUE_CANCELLED,
        _QUEUE_STATE_MAX,
};

const char *queue_state_to_string(enum queue_state s);
int queue_state_from_string(const char *s);
/* done, incomplete, failed or cancelled: the job will not run again unless retried. */
bool queue_state_final(enum queue_state s);

struct queue_request {
        const char *case_id;
        const char *source;    /* an absolute path, or an http(s) URL */
        const char *filename;  /* the upload's name; NULL: the last part of source */
        uint64_t size;         /* 0: unknown */
        const char *sha256;    /* NULL: unknown */
        const char *trigger;   /* "http", "watch", … */
        bool rebuildable;      /* a rescan of the mirror finds it again: no fsync needed (survives kill -9,
                                * maybe not a power failure) */
        const char *id;        /* a job handed out by the shared queue (daemon/cluster): its id there, and
                                * no de-duplication here (the shared queue did it); NULL: a new id */
        bool peer_source;      /* source is the /uploads/ URL of the host of the shared queue that
                                * took the upload */
};

/* One job as the queue holds it. Read-only to callers, and valid only until the next
 * queue_put() (which may move the entries): keep the id, not the pointer. */
struct queue_entry {
        char id[96];
        char *case_id, *source, *filename, *sha256, *trigger;
        uint64_t size;
        enum queue_state state;
        char *dir;              /* the case folder, once the job was first started */
        char *error;            /* why it failed, or NULL */
        int error_class;        /* the pipeline's PIPELINE_E* for a failure */
        int64_t created_us, started_us, finished_us; /* CLOCK_REALTIME; 0: not yet */
        unsigned attempts;      /* times a worker was started for it, in this run */
        unsigned run;           /* 0, then one more at each retry */
        bool pruned;            /* a job pruned with its case folder, known only by its upload
                                 * (the fields that de-duplicate, state, finished_us) */
        bool remote;            /* handed out by the shared queue: it runs here only while this host
                                 * holds it there */
        bool peer_source;       /* source is another host's /uploads/ URL (queue_request) */
};

struct queue;

/* Opens (making it) the queue folder and loads every job in it. Jobs left running by a daemon
 * that died are queued again. A file that cannot be read is moved aside as NAME.bad and named
 * in the warning written to err (err is empty when all was well). */
int queue_open(const char *dir, struct queue **ret, char *err, size_t err_size);
struct queue *queue_free(struct queue *q);

/* Adds a job, durable on disk (fsync'd) when this returns, unless req->rebuildable. Later
 * changes are atomic but not fsync'd: after a power failure the case folder tells the same. A request for an upload already known (same
 * case and file name; size and sha256 equal where both sides know them) adds nothing: *ret is
 * that job and *ret_duplicate true. */
int queue_put(struct queue *q, const struct queue_request *req, const struct queue_entry **ret, bool *ret_duplicate);

/* The oldest queued job, now running (attempts counted), or NULL when none waits. A job
 * may_run(e, userdata) turns down (NULL: every job) stays queued. */
typedef bool (*queue_pick_fn)(const struct queue_entry *e, void *userdata);
int queue_claim(struct queue *q, queue_pick_fn may_run, void *userdata, const struct queue_entry **ret);
int queue_set_dir(struct queue *q, const char *id, const char *dir);
/* Ends a running job: done, incomplete, failed (error says why) or cancelled. */
int queue_ack(struct queue *q, const char *id, enum queue_state state, const char *error, int error_class);
enum queue_requeue_how {
        QUEUE_REQUEUE_RESUME,    /* a running job goes on in its case folder; the attempt counts */
        QUEUE_REQUEUE_UNCOUNTED, /* the same, but the attempt was not the job's fault (shutdown) */
        QUEUE_REQUEUE_NEW_RUN,   /* a finished job runs again from the start, in a new folder */
};
int queue_requeue(struct queue *q, const char *id, enum queue_requeue_how how);
/* The id of this run of the job ("ID#RUN"), which its case folders carry: a retry's new run
 * never adopts a folder of an earlier one. */
void queue_run_id(const struct queue_entry *e, char *buf, size_t size);

const struct queue_entry *queue_get(const struct queue *q, const char *id);
/* Removes the finished jobs gone(e, userdata) picks (their case folders were purged); their
 * uploads stay known, in a compact record of their own, so that the same upload queued again
 * (a mirror rescan, a webhook sent twice) is still a duplicate: queue_put() then hands out the
 * pruned job (pruned set; queue_get() no longer finds it). The record is durable before an
 * entry goes. *ret_pruned: how many went. */
typedef bool (*queue_prune_fn)(const struct queue_entry *e, void *userdata);
int queue_prune(struct queue *q, queue_prune_fn gone, void *userdata, size_t *ret_pruned);
/* Uploads known from pruned jobs. */
size_t queue_known_count(const struct queue *q);

/* Every job, oldest first (borrowed; valid until the next change). */
const struct queue_entry *const *queue_entries(const struct queue *q, size_t *ret_n);
size_t queue_count(const struct queue *q, enum queue_state s);
