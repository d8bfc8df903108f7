/* hotkdumpd: one single-threaded epoll loop that takes job requests from the HTTP API and the
 * inotify watcher, keeps them in the durable queue and runs each in a worker process. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/config.h"
#include "pipeline/job.h"
#include "watcher/queue.h"

struct daemon;

/* Something the loop waits on: fd becomes ready, handler(d, source, epoll events) runs. */
struct ev_source {
        int fd;
        void (*handler)(struct daemon *d, struct ev_source *s, uint32_t events);
};

int daemon_add_fd(struct daemon *d, struct ev_source *s, uint32_t events);
int daemon_mod_fd(struct daemon *d, struct ev_source *s, uint32_t events);
void daemon_del_fd(struct daemon *d, struct ev_source *s);

const struct config *daemon_config(const struct daemon *d);
/* CLOCK_MONOTONIC in milliseconds: the clock of every timeout and settle time. */
int64_t daemon_now_ms(void);
struct queue *daemon_queue(struct daemon *d);
/* Why new work is refused now (draining for shutdown, the disk nearly full), or NULL. */
const char *daemon_refusing(const struct daemon *d);
bool daemon_draining(const struct daemon *d);

/* A request from a trigger: queued (durable when this returns) and started when a worker is
 * free. *ret_dup: the upload was known already. */
int daemon_submit(struct daemon *d, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup);
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
        uint64_t http_requests[6]; /* by status class: [2] 2xx, [4] 4xx, [5] 5xx */
        uint64_t http_rejected_auth;
        uint64_t watch_events, watch_overflows, watch_files_queued, watch_files_ignored;
};
struct daemon_counters *daemon_counters(struct daemon *d);

/* The HTTP API (http.c). */
struct http;
int http_start(struct daemon *d, struct http **ret, char *err, size_t err_size);
/* Stops accepting connections; those open are answered. */
void http_quiesce(struct http *h);
struct http *http_free(struct http *h);
unsigned http_port(const struct http *h);
/* Reloads what can change without a restart: the token and the signing secret. */
int http_reload(struct http *h, char *err, size_t err_size);

/* The inotify watcher (watch.c). */
struct watch;
int watch_start(struct daemon *d, struct watch **ret, char *err, size_t err_size);
struct watch *watch_free(struct watch *w);
/* The case number in a path under a watched folder, by watch.case_pattern: folders first,
 * then the file name. -ENOENT when none matches. */
int watch_case_of(const struct config *cfg, const char *relpath, char *ret, size_t size);
/* Whether a file's first bytes look like a dump, or an archive or compressed file that may
 * hold one. */
bool watch_looks_like_upload(const unsigned char *head, size_t n);
/* Whether a name is a partial or temporary file an uploader is still writing. */
bool watch_name_ignored(const char *name);
