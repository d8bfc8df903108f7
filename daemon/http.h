/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP API: libmicrohttpd in external epoll mode inside the daemon's loop. It knows the
 * loop, the queue's records and the calls below, nothing else of the daemon. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/loop.h"
#include "daemon/queue.h"

/* Counters kept for /metrics (owned by the caller, so they outlive a restart of the API). */
struct http_counters {
        uint64_t requests[6]; /* by status class: [2] 2xx, [4] 4xx, [5] 5xx */
        uint64_t rejected_auth;
        uint64_t cut_slow; /* connections closed at http.request_time */
};

/* What the API acts on: the job supervisor. Each call gets the env's ctx. */
struct http_ops {
        /* the settings now (they change on a reload) */
        const struct config *(*config)(void *ctx);
        struct queue *(*queue)(void *ctx);
        /* why new work is refused now (draining, the disk nearly full), or NULL */
        const char *(*refusing)(void *ctx);
        bool (*draining)(void *ctx);
        /* what works less than it should now (a watched folder gone), or NULL; optional */
        const char *(*degraded)(void *ctx);
        /* queues a request (durable on return); *ret_dup: the upload was known already */
        int (*submit)(void *ctx, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup);
        /* -ENOENT, -EALREADY (final) */
        int (*cancel)(void *ctx, const char *id);
        /* -ENOENT, -EBUSY (not final) */
        int (*retry)(void *ctx, const char *id);
        /* a job as the API shows it */
        json_object *(*job_json)(void *ctx, const struct queue_entry *e);
        /* the Prometheus text */
        void (*metrics)(void *ctx, FILE *out);
        /* whether a local path lies under the allowed roots; resolved (PATH_MAX): its real path */
        int (*path_allowed)(void *ctx, const char *path, char *resolved);
        /* the shared queue (queue.backend = nats), all optional: whether there is one now; a
         * request announced to it (the job as the API shows it, or NULL with err set); a job any
         * host holds, by id (new reference, or NULL); every host's entry (new reference) */
        bool (*shared)(void *ctx);
        json_object *(*submit_shared)(void *ctx, const struct queue_request *req, bool *ret_dup, char *err, size_t err_size);
        json_object *(*remote_job)(void *ctx, const char *id);
        json_object *(*hosts)(void *ctx);
        const char *(*host)(void *ctx); /* this host's name there */
};

struct http_env {
        struct loop *loop;
        const struct http_ops *ops;
        void *ctx;
        struct http_counters *counters;
};

/* The OpenAPI description of the API, served at /openapi.json (daemon/openapi.json, built in). */
extern const char http_openapi[];

struct http;
int http_start(const struct http_env *env, struct http **ret, char *err, size_t err_size);
/* Stops accepting connections; those open are answered. */
void http_quiesce(struct http *h);
struct http *http_free(struct http *h);
unsigned http_port(const struct http *h);
/* How others reach the server: "http://HOST:PORT" (https with TLS; the host's name when it
 * listens on every address). */
const char *http_url(const struct http *h);
/* Reloads what can change without a restart: the token and the signing secret. */
int http_reload(struct http *h, char *err, size_t err_size);
