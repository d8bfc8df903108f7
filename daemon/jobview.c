/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The API's view of the daemon: a job as JSON (its queue record, what its case folder recorded,
 * links to the files a person reads) and the Prometheus text of /metrics. It reads; it decides
 * nothing. */

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "casefolder/record.h"
#include "common/json.h"
#include "common/shown.h"
#include "pipeline/progress.h"
#include "daemon/jobview.h"

static void iso_time(int64_t us, char *buf, size_t size) {
        time_t t = (time_t) (us / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03dZ", (int) (us % 1000000 / 1000));
}

static void add_time(json_object *o, const char *key, int64_t us) {
        char buf[40];
        if (!us) {
                json_object_object_add(o, key, NULL);
                return;
        }
        iso_time(us, buf, sizeof buf);
        json_object_object_add(o, key, json_object_new_string(buf));
}

/* Stages done of those the job runs, and while it downloads, the bytes it has. */
static json_object *progress_json(const struct queue_entry *e, json_object *rec, int total) {
        json_object *p = json_object_new_object();
        int n = (int) job_record_stages_done(rec);
        if (!p)
                return NULL;
        json_object_object_add(p, "stages_done", json_object_new_int(n));
        json_object_object_add(p, "stages", json_object_new_int(total));
        if (e->state != QUEUE_RUNNING)
                return p;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/input", e->dir);
        DIR *dir = opendir(path);
        for (struct dirent *de; dir && (de = readdir(dir));) {
                size_t len = strlen(de->d_name);
                struct stat sb;
                if (len > 5 && !strcmp(de->d_name + len - 5, ".part") && fstatat(dirfd(dir), de->d_name, &sb, 0) == 0) {
                        json_object_object_add(p, "bytes_fetched", json_object_new_int64((int64_t) sb.st_size));
                        if (e->size)
                                json_object_object_add(p, "bytes_expected", json_object_new_int64((int64_t) e->size));
                }
        }
        if (dir)
                closedir(dir);
        /* the step running now, as pipeline/progress writes it */
        json_object *now = NULL;
        if (snprintf(path, sizeof path, "%s/" PROGRESS_FILE, e->dir) < (int) sizeof path &&
            json_read_object(path, 64 * 1024, &now) == 0)
                json_object_object_add(p, "current", now);
        return p;
}

json_object *jobview_job(const struct queue_entry *e, int stages_total) {
        json_object *o = json_object_new_object(), *links = json_object_new_object();
        char url[PATH_MAX];
        if (!o || !links) {
                json_object_put(o);
                json_object_put(links);
                return NULL;
        }
        json_object_object_add(o, "id", json_object_new_string(e->id));
        json_object_object_add(o, "case", json_object_new_string(e->case_id));
        json_object_object_add(o, "state", json_object_new_string(queue_state_to_string(e->state)));
        /* names from uploads and URLs as they may be shown: valid UTF-8, no credentials */
        char shown[PATH_MAX + 1024];
        json_object_object_add(o, "source", json_object_new_string(shown_text(e->source, shown, sizeof shown, false)));
        json_object_object_add(o, "filename", json_object_new_string(shown_text(e->filename, shown, sizeof shown, false)));
        json_object_object_add(o, "size", e->size ? json_object_new_int64((int64_t) e->size) : NULL);
        json_object_object_add(o, "sha256", e->sha256 ? json_object_new_string(e->sha256) : NULL);
        json_object_object_add(o, "trigger", json_object_new_string(e->trigger));
        json_object_object_add(o, "attempts", json_object_new_int((int) e->attempts));
        add_time(o, "created", e->created_us);
        add_time(o, "started", e->started_us);
        add_time(o, "finished", e->finished_us);
        json_object_object_add(o, "error", e->error ? json_object_new_string(shown_text(e->error, shown, sizeof shown, false)) : NULL);
        if (e->pruned) /* no longer a job of the queue: no link, no folder */
                json_object_object_add(o, "pruned", json_object_new_boolean(true));
        else {
                snprintf(url, sizeof url, "/jobs/%s", e->id);
                json_object_object_add(links, "self", json_object_new_string(url));
        }
        json_object_object_add(o, "links", links);
        if (!e->dir)
                return o;
        const char *folder = e->dir + strlen(e->dir);
        /* <root>/cases/CASE/N: the last two parts name it under /cases/ */
        for (int slashes = 0; folder > e->dir; folder--)
                if (folder[-1] == '/' && ++slashes == 2)
                        break;
        json_object_object_add(o, "folder", json_object_new_string(folder));
        json_object_object_add(o, "dir", json_object_new_string(e->dir));
        char path[PATH_MAX];
        json_object *rec = NULL, *v;
        if (job_record_read(e->dir, &rec) == 0) {
                if ((v = job_record_get(rec, JOB_STAGE)))
                        json_object_object_add(o, "stage", json_object_get(v));
                if ((v = job_record_get(rec, JOB_STAGES))) {
                        json_object_object_add(o, "stages", json_object_get(v));
                        json_object_object_add(o, "progress", progress_json(e, rec, stages_total));
                }
                /* the headline cause, as the report has it: the first finding of kind cause */
                v = job_record_get(rec, JOB_FINDINGS);
                for (size_t i = 0; v && json_object_is_type(v, json_type_array) && i < json_object_array_length(v); i++) {
                        json_object *f = json_object_array_get_idx(v, i);
                        const char *kind = json_str(f, "kind");
                        if (kind && !strcmp(kind, "cause")) {
                                json_object_object_add(o, "cause", json_object_get(f));
                                break;
                        }
                }
                /* the kernel, for the job list's filter */
                const char *release = json_str(job_record_get(rec, JOB_IDENTITY), "release");
                if (release)
                        json_object_object_add(o, "kernel", json_object_new_string(release));
                json_object_put(rec);
        }
        /* the report's "Read with care": the list flags the job */
        json_object *summary = NULL, *care;
        if (job_path(e->dir, "summary.json", path, sizeof path) == 0 && json_read_object(path, 8u << 20, &summary) == 0 &&
            json_object_object_get_ex(summary, "read_with_care", &care) && json_object_is_type(care, json_type_array))
                json_object_object_add(o, "read_with_care", json_object_get(care));
        json_object_put(summary);
        /* what went out to the case, the webhook and the hooks (hooks/outbox.c writes it) */
        json_object *posted = NULL;
        if (job_path(e->dir, JOB_POSTED_FILE, path, sizeof path) == 0 && json_read_object(path, 1u << 20, &posted) == 0)
                json_object_object_add(o, "posted", posted);
        static const char *const files[][2] = {
                { "report", "report.html" },   { "summary", "summary.json" }, { "comment", "comment.txt" },
                { "first_look", "first-look.txt" }, { "log", JOB_LOG_FILE },
        };
        for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
                snprintf(path, sizeof path, "%s/%s", e->dir, files[i][1]);
                if (access(path, F_OK) < 0)
                        continue;
                snprintf(url, sizeof url, "/cases/%s/%s", folder, files[i][1]);
                json_object_object_add(links, files[i][0], json_object_new_string(url));
        }
        return o;
}

const double jobview_stage_bounds[JOBVIEW_STAGE_BUCKETS] = { 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600 };

void jobview_stage_add(struct jobview_stage *st, double seconds) {
        st->seconds += seconds;
        st->count++;
        for (size_t b = 0; b < JOBVIEW_STAGE_BUCKETS; b++)
                if (seconds <= jobview_stage_bounds[b]) {
                        st->in_bucket[b]++;
                        break;
                }
}

/* One counter or gauge without labels, with its HELP and TYPE. */
static void metric(FILE *out, const char *name, const char *type, const char *help, unsigned long long value) {
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, value);
}

void jobview_metrics(FILE *out, const struct jobview_figures *f, struct queue *q) {
        fprintf(out, "# HELP hotkdump_build_info The hotkdumpd that answers: its version.\n"
                     "# TYPE hotkdump_build_info gauge\nhotkdump_build_info{version=\"%s\"} 1\n",
                PACKAGE_VERSION);
        fprintf(out, "# HELP hotkdump_jobs Jobs in the queue by state.\n# TYPE hotkdump_jobs gauge\n");
        for (int s = 0; s < _QUEUE_STATE_MAX; s++)
                fprintf(out, "hotkdump_jobs{state=\"%s\"} %zu\n", queue_state_to_string((enum queue_state) s),
                        queue_count(q, (enum queue_state) s));
        fprintf(out, "# HELP hotkdump_queue_length Jobs waiting for a worker.\n# TYPE hotkdump_queue_length gauge\n");
        fprintf(out, "hotkdump_queue_length %zu\n", queue_count(q, QUEUE_QUEUED));
        fprintf(out, "# HELP hotkdump_workers_busy Workers running a job.\n# TYPE hotkdump_workers_busy gauge\n");
        fprintf(out, "hotkdump_workers_busy %zu\n", f->workers_busy);
        fprintf(out, "# HELP hotkdump_jobs_finished_total Jobs this daemon saw end, by state.\n"
                     "# TYPE hotkdump_jobs_finished_total counter\n");
        for (int s = QUEUE_DONE; s < _QUEUE_STATE_MAX; s++)
                fprintf(out, "hotkdump_jobs_finished_total{state=\"%s\"} %llu\n",
                        queue_state_to_string((enum queue_state) s), (unsigned long long) f->jobs_finished[s]);
        fprintf(out, "# HELP hotkdump_stage_seconds Time the stages of finished jobs took.\n"
                     "# TYPE hotkdump_stage_seconds histogram\n");
        for (int s = 0; s < _STAGE_MAX; s++) {
                const char *n = job_stage_to_string((enum job_stage) s);
                uint64_t below = 0;
                for (size_t b = 0; b < JOBVIEW_STAGE_BUCKETS; b++) {
                        below += f->stages[s].in_bucket[b];
                        fprintf(out, "hotkdump_stage_seconds_bucket{stage=\"%s\",le=\"%g\"} %llu\n", n,
                                jobview_stage_bounds[b], (unsigned long long) below);
                }
                fprintf(out, "hotkdump_stage_seconds_bucket{stage=\"%s\",le=\"+Inf\"} %llu\n", n,
                        (unsigned long long) f->stages[s].count);
                fprintf(out, "hotkdump_stage_seconds_sum{stage=\"%s\"} %.3f\n", n, f->stages[s].seconds);
                fprintf(out, "hotkdump_stage_seconds_count{stage=\"%s\"} %llu\n", n,
                        (unsigned long long) f->stages[s].count);
        }
        fprintf(out, "# HELP hotkdump_fetched_bytes_total Bytes of uploads fetched by finished jobs.\n"
                     "# TYPE hotkdump_fetched_bytes_total counter\nhotkdump_fetched_bytes_total %llu\n",
                (unsigned long long) f->bytes_fetched);
        fprintf(out, "# HELP hotkdump_symbol_cache_hits_total Jobs whose debug symbols were in the cache.\n"
                     "# TYPE hotkdump_symbol_cache_hits_total counter\nhotkdump_symbol_cache_hits_total %llu\n",
                (unsigned long long) f->symbol_cache_hits);
        fprintf(out, "# HELP hotkdump_symbol_fetches_total Jobs whose debug symbols had to be fetched.\n"
                     "# TYPE hotkdump_symbol_fetches_total counter\nhotkdump_symbol_fetches_total %llu\n",
                (unsigned long long) f->symbol_fetches);
        fprintf(out, "# HELP hotkdump_http_responses_total HTTP responses by status class.\n"
                     "# TYPE hotkdump_http_responses_total counter\n");
        for (int c = 2; c <= 5; c++)
                fprintf(out, "hotkdump_http_responses_total{code=\"%dxx\"} %llu\n", c,
                        (unsigned long long) f->http.requests[c]);
        metric(out, "hotkdump_http_auth_rejected_total", "counter",
               "Requests refused for a missing or wrong token (401, 403).", f->http.rejected_auth);
        fprintf(out, "# HELP hotkdump_http_slow_requests_cut_total Connections closed because their request took "
                     "longer than http.request_time.\n"
                     "# TYPE hotkdump_http_slow_requests_cut_total counter\nhotkdump_http_slow_requests_cut_total %llu\n",
                (unsigned long long) f->http.cut_slow);
        metric(out, "hotkdump_watch_events_total", "counter", "inotify events read from the watched folders.",
               f->watch.events);
        metric(out, "hotkdump_watch_overflows_total", "counter",
               "Times the inotify queue overflowed and the watched folders were scanned again.", f->watch.overflows);
        fprintf(out, "# HELP hotkdump_watch_dirs_missing Folders of watch.dirs that are gone now (uploads there are not seen).\n"
                     "# TYPE hotkdump_watch_dirs_missing gauge\nhotkdump_watch_dirs_missing %llu\n",
                (unsigned long long) f->watch.roots_missing);
        fprintf(out, "# HELP hotkdump_watch_dirs_lost_total Times a folder of watch.dirs was deleted or moved away.\n"
                     "# TYPE hotkdump_watch_dirs_lost_total counter\nhotkdump_watch_dirs_lost_total %llu\n",
                (unsigned long long) f->watch.roots_lost);
        metric(out, "hotkdump_watch_files_queued_total", "counter", "Files found in the mirror that became jobs.",
               f->watch.files_queued);
        fprintf(out, "# HELP hotkdump_outbox_posts Posts of results not delivered yet (waiting or failed).\n"
                     "# TYPE hotkdump_outbox_posts gauge\nhotkdump_outbox_posts %u\n", f->outbox_count);
        fprintf(out, "# HELP hotkdump_purge_freed_bytes_total Bytes the purge freed (case folders, symbols).\n"
                     "# TYPE hotkdump_purge_freed_bytes_total counter\nhotkdump_purge_freed_bytes_total %llu\n",
                (unsigned long long) f->purge_freed);
        metric(out, "hotkdump_purge_removed_folders_total", "counter",
               "Case folders and symbol folders the purge removed.", f->purge_removed);
        metric(out, "hotkdump_purge_runs_total", "counter", "Purges run (on schedule, or for low disk space).", f->purge_runs);
        fprintf(out, "# HELP hotkdump_disk_free_bytes Free space on the root's file system.\n"
                     "# TYPE hotkdump_disk_free_bytes gauge\nhotkdump_disk_free_bytes %llu\n",
                (unsigned long long) f->disk_free);
        metric(out, "hotkdump_disk_low", "gauge",
               "1 while free space is under purge.min_free: new jobs are refused.", f->disk_low ? 1 : 0);
        metric(out, "hotkdump_outbox_runs_total", "counter", "Runs of the outbox's sender.", f->sender_runs);
        metric(out, "hotkdump_watch_files_ignored_total", "counter",
               "Files in the mirror left alone (not a dump or archive, or without a valid case number).",
               f->watch.files_ignored);
}

void jobview_cluster_metrics(FILE *out, const char *host, const struct cluster_figures *c) {
        char esc[256];
        size_t o = 0;
        for (const char *p = host; *p && o + 3 < sizeof esc; p++) {
                if (*p == '"' || *p == '\\')
                        esc[o++] = '\\';
                esc[o++] = *p == '\n' ? ' ' : *p;
        }
        esc[o] = 0;
        fprintf(out, "# HELP hotkdump_cluster_info The host's name on the shared queue.\n# TYPE hotkdump_cluster_info gauge\n"
                     "hotkdump_cluster_info{host=\"%s\"} 1\n", esc);
        metric(out, "hotkdump_cluster_connected", "gauge", "Whether the connection to the NATS servers is up.", c->connected);
        metric(out, "hotkdump_cluster_stream_pending", "gauge",
               "Jobs in the shared stream no host has taken yet (the stream's lag, as last read).", c->pending);
        metric(out, "hotkdump_cluster_stream_ack_pending", "gauge", "Jobs hosts have taken and not yet ended.", c->ack_pending);
        metric(out, "hotkdump_cluster_stream_redelivered", "gauge", "Jobs handed out again (their host died or stopped).",
               c->redelivered);
        metric(out, "hotkdump_cluster_hosts", "gauge", "Hosts in the shared queue's host list.", c->hosts);
        metric(out, "hotkdump_cluster_published_total", "counter", "Jobs this host announced to the shared queue.", c->published);
        metric(out, "hotkdump_cluster_duplicates_total", "counter",
               "Announcements the stream found duplicates of a job already announced.", c->duplicates);
        metric(out, "hotkdump_cluster_taken_total", "counter", "Jobs this host took from the shared queue.", c->taken);
        metric(out, "hotkdump_cluster_finished_total", "counter", "Jobs this host ended and acknowledged.", c->finished);
        metric(out, "hotkdump_cluster_released_total", "counter", "Jobs this host handed back (shutdown).", c->released);
        metric(out, "hotkdump_cluster_lost_total", "counter", "Jobs another host took over from this one.", c->lost);
        metric(out, "hotkdump_cluster_failed_max_deliver_total", "counter",
               "Jobs failed here for having been handed out queue.max_deliver times.", c->failed_max_deliver);
        metric(out, "hotkdump_cluster_reconnects_total", "counter", "Reconnections to the NATS servers.", c->reconnects);
        metric(out, "hotkdump_cluster_disconnects_total", "counter", "Losses of the connection to the NATS servers.", c->disconnects);
}
