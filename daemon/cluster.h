/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared queue of queue.backend = nats: several hotkdumpd hosts take their jobs from one
 * NATS JetStream work-queue stream, and share four key-value buckets: the uploads known (the
 * same upload announced to two hosts makes one job), each job's status (any host answers for
 * any job), the hosts and the posts claimed (a comment goes out once whichever host sends it).
 * libnats runs its own threads; everything here is called from the daemon's loop only, except
 * the fetcher thread inside, which only hands messages over through an eventfd. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "daemon/queue.h"

struct cluster;

/* This host as the others see it. */
struct cluster_self {
        const char *host;        /* cluster.host, or the host name */
        const char *url;         /* cluster.url, or where the API listens */
        const char *version;
        unsigned workers;        /* 0: this host takes uploads and runs no job */
};

/* Connects (the servers must answer now; later the client reconnects for ever) and makes the stream, its
 * consumer and the buckets if they are missing. */
int cluster_open(const struct config *cfg, const struct cluster_self *self, struct cluster **ret, char *err,
                 size_t err_size);
struct cluster *cluster_free(struct cluster *c);
/* Readable when jobs came in for this host: then cluster_take(). */
int cluster_fd(const struct cluster *c);
const char *cluster_host(const struct cluster *c);

/* Announces an upload. A new one is durable in the stream when this returns (*ret_dup false);
 * a known one adds nothing (*ret_dup true). *ret_status: the job as the API shows it. */
int cluster_submit(struct cluster *c, const struct queue_request *req, const char *local_url, json_object **ret_status,
                   bool *ret_dup, char *err, size_t err_size);

/* Runs a job that ended (anywhere) again from the start, on any host: -ENOENT (no such job),
 * -EBUSY (it has not ended). */
int cluster_retry(struct cluster *c, const char *id, char *err, size_t err_size);

/* How many jobs this host can start now: the fetcher asks for that many. */
void cluster_want(struct cluster *c, unsigned n);

/* A job handed to this host, taken (its status names this host) and ready to run. */
struct cluster_job {
        char id[96];
        struct queue_request req;  /* its strings live in the job's message */
        const char *url;           /* the upload on its host, when source is a path there */
        unsigned delivered;        /* the times the stream handed it out, this one counted */
        unsigned run;              /* 0, then one more at each retry */
};
/* The next job taken: 1 and *ret (valid until cluster_finish or cluster_release for its id),
 * 0 when none waits. Jobs that ended, that another host still renews, or that hosts took
 * queue.max_deliver times without ending them (then failed, with the reason) are settled here
 * and not returned. */
int cluster_take(struct cluster *c, struct cluster_job **ret);
/* Whether this host holds the job in the stream (it may run it). */
bool cluster_holds(const struct cluster *c, const char *id);
/* The job's status as this host shows it now (the API's job JSON; borrowed). */
void cluster_update(struct cluster *c, const char *id, json_object *job);
/* The job ended here (a final state): its status is final, and it leaves the stream. */
int cluster_finish(struct cluster *c, const char *id, json_object *job);
/* The job goes back to the stream for any host (this one is shutting down). */
void cluster_release(struct cluster *c, const char *id);
/* Renews the held jobs (their status from view(ud, id), a new reference) and this host's
 * entry; every loop tick. Ids of jobs another host took over (this host's renewals were lost)
 * are handed to lost(). */
struct cluster_tick_ops {
        json_object *(*view)(void *ud, const char *id);
        void (*lost)(void *ud, const char *id, const char *by);
        void *ud;
};
void cluster_tick(struct cluster *c, unsigned running, unsigned queued, const struct cluster_tick_ops *ops);

/* A job's status from the bucket (any host's), or NULL. New reference. */
json_object *cluster_job(struct cluster *c, const char *id);
/* Every host's entry, and the stream's figures. New reference. */
json_object *cluster_view(struct cluster *c);
/* For /metrics: the stream's lag as last read, the connection. */
struct cluster_figures {
        uint64_t pending, ack_pending, redelivered;
        uint64_t published, duplicates, taken, finished, released, lost, failed_max_deliver;
        uint64_t reconnects, disconnects;
        bool connected;
        unsigned hosts;
};
void cluster_figures(struct cluster *c, struct cluster_figures *ret);

/* The post claims (hooks/outbox, through the daemon): a post (its job's run id, kind, sink) is
 * sent by one host only. */
enum cluster_claim {
        CLUSTER_CLAIM_MINE,       /* send it */
        CLUSTER_CLAIM_SENT,       /* a host sent it: done */
        CLUSTER_CLAIM_BUSY,       /* another host sends it now: later */
};
int cluster_post_claim(struct cluster *c, const char *key, int64_t lease_s, char *by, size_t by_size);
int cluster_post_sent(struct cluster *c, const char *key);

/* Whether url is another host's GET /uploads/ (the host list read again when it names no such
 * host). */
bool cluster_is_peer_upload(struct cluster *c, const char *url);
/* The other hosts' URLs, space-separated, as the host list said at the last renewal (no call
 * to the servers: a forked worker may read it). */
const char *cluster_peer_urls(const struct cluster *c);
