/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hotkdumpd: one single-threaded epoll loop that takes job requests from the HTTP API and the
 * inotify watcher, keeps them in the durable queue and runs each in a worker process. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/loop.h"
#include "casefolder/job.h"
#include "daemon/http.h"
#include "daemon/queue.h"
#include "watcher/watch.h"

struct daemon;

/* The loop the daemon's modules add their sources to. */
struct loop *daemon_loop(struct daemon *d);
const struct config *daemon_config(const struct daemon *d);
struct queue *daemon_queue(struct daemon *d);
/* Why new work is refused now (draining for shutdown, the disk nearly full), or NULL. */
const char *daemon_refusing(const struct daemon *d);
bool daemon_draining(const struct daemon *d);
/* What works less than it should now (a watched folder gone), or NULL. */
const char *daemon_degraded(struct daemon *d);

/* A request from a trigger: queued (durable when this returns) and started when a worker is
 * free. *ret_dup: the upload was known already. */
int daemon_submit(struct daemon *d, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup);
/* With the shared queue (queue.backend = nats): a request announced to it, the job as the API
 * shows it (NULL: err says why). */
json_object *daemon_submit_shared(struct daemon *d, const struct queue_request *req, bool *ret_dup, char *err, size_t err_size);
/* DELETE /jobs/ID: a queued job is dropped, a running one killed. -ENOENT, -EALREADY (final). */
int daemon_cancel(struct daemon *d, const char *id);
/* POST /jobs/ID/retry: a finished job runs again, in a new folder. -ENOENT, -EBUSY (not final). */
int daemon_retry(struct daemon *d, const char *id);

/* A job as the API shows it: the queue's record plus its case folder's stage and timings. */
json_object *daemon_job_json(struct daemon *d, const struct queue_entry *e);
/* Prometheus text. */
void daemon_metrics(struct daemon *d, FILE *out);

/* Whether a local path lies under the configured roots (watched folders and daemon.path_roots),
 * links resolved; resolved (PATH_MAX) is the real path. -EACCES outside, -errno if unreadable. */
int daemon_path_allowed(const struct daemon *d, const char *path, char *resolved);

/* Counters the HTTP and watch modules keep for /metrics. */
struct daemon_counters {
        struct http_counters http;
        struct watch_counters watch;
};
struct daemon_counters *daemon_counters(struct daemon *d);

