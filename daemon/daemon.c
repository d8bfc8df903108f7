/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's loop: signals, the HTTP API, the watcher, timers and one pidfd per worker, all in
 * one epoll set. The loop never blocks on a job; each job runs in its own worker process. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/leftovers.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/subprocess.h"
#include "hooks/outbox.h"
#include "pipeline/pipeline.h"
#include "retention/purge.h"
#include "daemon/cluster.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "daemon/hotkdumpd.h"
#include "daemon/jobview.h"

struct worker {
        struct ev_source src; /* the pidfd */
        struct daemon *d;
        char id[96];
        pid_t pid;
        int64_t started_ms, deadline_ms, kill_at_ms;
        enum { W_RUNNING, W_CANCELLED, W_TIMED_OUT, W_DRAINING, W_LOST } why_stopped;
        char lost_to[128];      /* W_LOST: the host of the shared queue that took the job over */
};

/* What finished jobs told, for /metrics. */
struct daemon {
        struct config *cfg;
        const struct hotkdumpd_options *opts;
        struct loop *loop;
        struct ev_source sig, tick;
        struct queue *queue;
        struct http *http;
        struct watch *watch;
        struct worker **workers;
        size_t n_workers;
        bool draining, stop, want_drain, want_reload;
        size_t notified_workers; /* the count of running jobs the last STATUS= said */
        int64_t drain_deadline_ms;
        pid_t pid;
        struct daemon_counters counters;
        struct jobview_stage stages[_STAGE_MAX];
        uint64_t jobs_finished[_QUEUE_STATE_MAX];
        uint64_t bytes_fetched, symbol_cache_hits, symbol_fetches;
        /* the outbox's sender: one process at a time, started when the outbox changed or a
         * post is due */
        struct ev_source sender;
        pid_t sender_pid;
        struct timespec outbox_mtime;
        int64_t outbox_next;      /* wall seconds; 0: nothing waits */
        unsigned outbox_count;
        uint64_t sender_runs;
        /* the purge: one process at a time, every purge.interval and when the disk runs low */
        struct ev_source purger;
        pid_t purge_pid;
        int purge_pipe;           /* the purge's result, read when it exits */
        int64_t next_purge_ms, next_disk_check_ms, next_pressure_purge_ms;
        bool disk_low;
        char disk_reason[512];
        char degraded_reason[PATH_MAX + 128];
        int64_t space_wait_until_ms; /* a job found the disk full: none starts before then */
        uint64_t disk_free, purge_runs, purge_removed, purge_freed;
        /* the shared queue (queue.backend = nats), and the outbox's sender asking it whether a
         * post is this host's to send (a socket pair: one question, one answer) */
        struct cluster *cluster;
        struct ev_source cluster_src, claims;
        bool peer_upload;         /* for the worker being forked: see start_worker */
};

struct loop *daemon_loop(struct daemon *d) {
        return d->loop;
}

const struct config *daemon_config(const struct daemon *d) {
        return d->cfg;
}
struct queue *daemon_queue(struct daemon *d) {
        return d->queue;
}
struct daemon_counters *daemon_counters(struct daemon *d) {
        return &d->counters;
}
const char *daemon_refusing(const struct daemon *d) {
        return d->draining ? "hotkdumpd is shutting down" : d->disk_low ? d->disk_reason : NULL;
}
bool daemon_draining(const struct daemon *d) {
        return d->draining;
}
const char *daemon_degraded(struct daemon *d) {
        const char *lost = watch_lost(d->watch);
        if (!lost)
                return NULL;
        snprintf(d->degraded_reason, sizeof d->degraded_reason,
                 "the watched folder '%s' is gone: uploads there are not seen until it is back", lost);
        return d->degraded_reason;
}

/* ---- workers ------------------------------------------------------------------------------ */

/* queue_requeue() below may fail to save (the disk full): the entry is queued again in memory,
 * and an entry the disk still says is running is queued again at the next start anyway. */

static enum job_stage stop_after(const struct config *cfg) {
        int s = job_stage_from_string(config_string(cfg, CONF_DAEMON_STOP_AFTER));
        return s < 0 ? STAGE_REPORT : (enum job_stage) s;
}

/* A job's post goes into the outbox; the sender process takes it from there. */
static void enqueue_post(void *userdata, const char *dir, const char *kind) {
        char err[512] = "";
        if (outbox_enqueue(userdata, dir, kind, err, sizeof err) < 0)
                log_error("%s: the %s post is not in the outbox: %s", dir, kind, err);
}

/* In the child: the pipeline, exactly as `hotkdump analyze` runs it, then _exit with its class. */
/* The start of a child of the loop (a worker, the outbox's sender). It never outlives the
 * daemon: a restarted daemon runs the job again, and two processes must never write one case
 * folder or send one post. */
static void child_setup(struct daemon *d, const char *program, int fail_status, unsigned first_to_close) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != d->pid)
                _exit(fail_status);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        /* the loop's descriptors (listening socket, epoll, inotify) are not the child's */
        syscall(SYS_close_range, first_to_close, ~0U, 0U);
        log_set_program(program);
}

static void root_of(const struct daemon *d, const char *path, char *buf, size_t size);
static void start_purge(struct daemon *d, uint64_t want_free);

/* The mark of a job's processes (common/leftovers): the queue's folder, then the job's id. */
static void job_mark(const struct daemon *d, const char *id, char *buf, size_t size) {
        snprintf(buf, size, "%s/queue:%s", config_string(d->cfg, CONF_ROOT), id);
}

static _Noreturn void worker_main(struct daemon *d, const struct queue_entry *e) {
        child_setup(d, "hotkdumpd-worker", PIPELINE_EINTERNAL, 3);
        /* what the job starts carries its mark, and is killed by it when the job ends, even if
         * it left its parent and its process group */
        char mark[PATH_MAX + 256];
        job_mark(d, e->id, mark, sizeof mark);
        (void) leftovers_mark(mark); /* without it, the process group and PR_SET_PDEATHSIG still apply */
        /* cancelled or stopped (SIGTERM to this group): crash's process group goes too */
        subprocess_kill_on_signal();

        /* the comment's "Full report" link: the daemon serves the case folders itself */
        const char *base = config_string(d->cfg, CONF_REPORT_BASE_URL);
        if ((!base || !*base) && d->http) {
                char url[400], err[256];
                snprintf(url, sizeof url, "%s/cases", http_url(d->http));
                if (config_set(d->cfg, "report.base_url", url, err, sizeof err) < 0)
                        log_warning("report.base_url: %s", err);
        }
        /* an upload another host of the shared queue serves (its /uploads/): a peer's address,
         * which fetch.deny's defaults (loopback, private networks) would refuse */
        char *peer_token = NULL;
        if (d->peer_upload) {
                char err[256];
                (void) config_set(d->cfg, "fetch.deny", "", err, sizeof err);
                (void) config_set(d->cfg, "fetch.allow", "", err, sizeof err);
                /* the hosts of one shared queue share their token */
                size_t len;
                if (*config_string(d->cfg, CONF_HTTP_TOKEN_FILE))
                        (void) read_secret_file(config_string(d->cfg, CONF_HTTP_TOKEN_FILE), &peer_token, &len);
        }
        /* the other hosts' symbol caches, before the archives */
        if (d->cluster && config_bool(d->cfg, CONF_CLUSTER_PEER_SYMBOLS) && !*config_string(d->cfg, CONF_SYMBOLS_PEERS) &&
            *cluster_peer_urls(d->cluster)) {
                char err[256];
                if (config_set(d->cfg, "symbols.peers", cluster_peer_urls(d->cluster), err, sizeof err) < 0)
                        log_warning("symbols.peers: %s", err);
        }
        char run_id[128];
        queue_run_id(e, run_id, sizeof run_id);
        /* a path was checked for where it leads when it was queued: a link put in its place
         * since is not followed */
        char within[PATH_MAX] = "";
        if (!fetch_is_url(e->source))
                root_of(d, e->source, within, sizeof within);
        struct fetch_request fr = { .source = e->source, .filename = e->filename, .expected_size = e->size,
                                    .sha256 = e->sha256, .no_follow = true, .within = within[0] ? within : NULL,
                                    .bearer = peer_token };
        struct pipeline_request pr = { .case_id = e->case_id, .fetch = &fr, .stop_after = stop_after(d->cfg),
                                       .queue_id = run_id, .job_dir = e->dir, .on_post = enqueue_post,
                                       .userdata = d->cfg, .resume_on_full_disk = true };
        struct pipeline_result res;
        int r = pipeline_run(d->cfg, &pr, &res);
        _exit(r == 0 ? 0 : r > 0 ? PIPELINE_EINCOMPLETE : res.error_class ? res.error_class : PIPELINE_EINTERNAL);
}

static void on_worker_exit(struct ev_source *s, uint32_t events);

/* The case folder is made here, before the worker starts, and its path recorded in the queue:
 * a daemon killed at any point afterwards finds the folder again and goes on in it. */
static int job_folder(struct daemon *d, const struct queue_entry *e, char *err, size_t err_size) {
        char *dir = NULL, run_id[128];
        struct job *j = NULL;
        int r;

        if (e->dir)
                return 0;
        queue_run_id(e, run_id, sizeof run_id);
        r = job_find(d->cfg, e->case_id, run_id, &dir, NULL);
        if (r == -ENOENT) {
                r = job_new(d->cfg, e->case_id, e->source, run_id, &j, err, err_size);
                if (r == 0) {
                        dir = strdup(job_dir(j));
                        job_free(j);
                        r = dir ? 0 : -ENOMEM;
                }
        }
        if (r == 0)
                r = queue_set_dir(d->queue, e->id, dir);
        if (r < 0 && !err[0])
                snprintf(err, err_size, "cannot make the case folder: %s", strerror(-r));
        free(dir);
        return r;
}

static int start_worker(struct daemon *d, const struct queue_entry *e) {
        char err[512] = "";
        char id[96];
        int r;

        snprintf(id, sizeof id, "%s", e->id);
        r = job_folder(d, e, err, sizeof err);
        if (r == -EINVAL) {
                log_error("job %s: %s", id, err);
                d->jobs_finished[QUEUE_FAILED]++;
                /* in memory it has ended; if the disk lost the write, the next start refuses it again */
                (void) queue_ack(d->queue, id, QUEUE_FAILED, err, PIPELINE_EINPUT);
                return 0; /* the next job may be fine */
        }
        if (r < 0) {
                /* out of memory, disk full, …: the job waits, and the tick tries again */
                log_error("job %s: %s; it stays queued", id, err);
                (void) queue_requeue(d->queue, id, QUEUE_REQUEUE_UNCOUNTED);
                return r;
        }
        e = queue_get(d->queue, id);
        struct worker *w = calloc(1, sizeof *w);
        struct worker **v = realloc(d->workers, (d->n_workers + 1) * sizeof *v);
        if (!w || !v) {
                free(w);
                if (v)
                        d->workers = v;
                (void) queue_requeue(d->queue, id, QUEUE_REQUEUE_UNCOUNTED);
                return -ENOMEM;
        }
        d->workers = v;
        /* an upload another host took, fetched from its /uploads/: the worker relaxes fetch.deny
         * for it and sends the shared token, so only to a host the host list names */
        d->peer_upload = e->remote && e->peer_source && d->cluster && cluster_is_peer_upload(d->cluster, e->source);
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                free(w);
                (void) queue_requeue(d->queue, id, QUEUE_REQUEUE_UNCOUNTED);
                return log_error_errno(r, "job %s: cannot start a worker: %m", id);
        }
        if (pid == 0)
                worker_main(d, e);
        setpgid(pid, pid);
        w->d = d;
        w->pid = pid;
        snprintf(w->id, sizeof w->id, "%s", id);
        w->started_ms = clock_now_ms();
        w->deadline_ms = w->started_ms + (int64_t) config_u64(d->cfg, CONF_DAEMON_JOB_TIMEOUT) * 1000;
        w->src.fd = (int) syscall(SYS_pidfd_open, pid, 0);
        w->src.handler = on_worker_exit;
        w->src.data = d;
        if (w->src.fd < 0 || loop_add(d->loop, &w->src, EPOLLIN) < 0) {
                /* without a pidfd the job cannot be watched: stop it and try again later */
                r = -errno;
                kill(-pid, SIGKILL);
                waitpid(pid, NULL, 0);
                if (w->src.fd >= 0)
                        close(w->src.fd);
                free(w);
                (void) queue_requeue(d->queue, id, QUEUE_REQUEUE_UNCOUNTED);
                return log_error_errno(r, "job %s: cannot watch its worker: %m", id);
        }
        d->workers[d->n_workers++] = w;
        log_info("job %s: started (worker %d, case folder %s, attempt %u)", id, (int) pid, e->dir, e->attempts);
        return 0;
}

/* A job handed out by the shared queue runs only while this host holds it there. */
static bool may_run(const struct queue_entry *e, void *userdata) {
        const struct daemon *d = userdata;
        return !e->remote || (d->cluster && cluster_holds(d->cluster, e->id));
}

static void schedule_local(struct daemon *d);

/* Starts queued jobs while workers are free; with a shared queue, asks it for as many as are
 * still free. */
static void schedule(struct daemon *d) {
        schedule_local(d);
        if (!d->cluster)
                return;
        uint64_t max = config_u64(d->cfg, CONF_DAEMON_WORKERS);
        bool can = !d->draining && !d->disk_low && !(d->space_wait_until_ms && clock_now_ms() < d->space_wait_until_ms);
        cluster_want(d->cluster, can && d->n_workers < max ? (unsigned) (max - d->n_workers) : 0);
}

static void schedule_local(struct daemon *d) {
        /* with the disk nearly full, queued jobs wait for the purge to make room; after a job
         * found it full, for daemon.disk_retry */
        if (d->space_wait_until_ms && clock_now_ms() < d->space_wait_until_ms)
                return;
        d->space_wait_until_ms = 0;
        while (!d->draining && !d->disk_low && d->n_workers < config_u64(d->cfg, CONF_DAEMON_WORKERS)) {
                const struct queue_entry *e = NULL;
                int r = queue_claim(d->queue, may_run, d, &e);
                if (r < 0) {
                        log_error_errno(r, "cannot claim a job from the queue: %m");
                        return;
                }
                if (r == 0)
                        return;
                if (start_worker(d, e) < 0)
                        return;
        }
}

/* What the job's case folder recorded: its error, and the figures /metrics adds up. */
static void read_outcome(struct daemon *d, const char *dir, char *error, size_t error_size) {
        json_object *rec = NULL;
        if (job_record_read(dir, &rec) < 0)
                return;
        if (job_record_string(rec, JOB_ERROR))
                snprintf(error, error_size, "%s", job_record_string(rec, JOB_ERROR));
        for (int s = 0; s < _STAGE_MAX; s++) {
                double secs = job_record_stage_seconds(rec, (enum job_stage) s);
                if (secs >= 0)
                        jobview_stage_add(&d->stages[s], secs);
        }
        d->bytes_fetched += (uint64_t) job_record_int(rec, JOB_INPUT_BYTES, 0);
        /* the symbols stage's record: where the vmlinux came from */
        const char *source = json_str(job_record_get(rec, JOB_SYMBOLS), "source");
        if (source && !strncmp(source, "cache", 5))
                d->symbol_cache_hits++;
        else if (source)
                d->symbol_fetches++;
        json_object_put(rec);
}

static void remove_worker(struct daemon *d, struct worker *w) {
        loop_del(d->loop, &w->src);
        close(w->src.fd);
        for (size_t i = 0; i < d->n_workers; i++)
                if (d->workers[i] == w) {
                        d->workers[i] = d->workers[--d->n_workers];
                        break;
                }
        free(w);
}

/* A job the daemon ended (cancel, timeout, a worker that kept dying): its case folder says so
 * too, instead of "running" for ever. */
static void close_folder(struct daemon *d, const char *dir, const char *error) {
        struct job *j = NULL;
        char err[256];
        if (dir && job_open(d->cfg, dir, &j, err, sizeof err) == 0) {
                if (job_state(j) == JOB_RUNNING)
                        (void) job_finish(j, -ECANCELED, error); /* a folder left running is ended at the next start */
                job_free(j);
        }
}

/* A job of the shared queue ended here: its status there says so, with this host's view. */
static void shared_finish(struct daemon *d, const char *id) {
        const struct queue_entry *e = queue_get(d->queue, id);
        if (!d->cluster || !e || !e->remote)
                return;
        json_object *j = daemon_job_json(d, e);
        (void) cluster_finish(d->cluster, id, j);
        json_object_put(j);
}

static void on_worker_exit(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        struct worker *w = (struct worker *) s;
        siginfo_t si = { 0 };
        (void) events;
        /* look before reaping: the process group is signalled while its pid cannot be reused */
        if (waitid(P_PID, (id_t) w->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                return;
        kill(-w->pid, SIGKILL); /* what the worker left in its process group goes with it */
        waitid(P_PID, (id_t) w->pid, &si, WEXITED);
        char mark[PATH_MAX + 256];
        job_mark(d, w->id, mark, sizeof mark);
        unsigned left = leftovers_kill(mark, false); /* and what left the group */
        if (left)
                log_warning("job %s: %u process(es) it started outlived it and were killed", w->id, left);
        const struct queue_entry *e = queue_get(d->queue, w->id);
        char error[1024] = "";
        enum queue_state state;
        int cls = 0, r = 0;
        double secs = (double) (clock_now_ms() - w->started_ms) / 1000.0;
        bool exited = si.si_code == CLD_EXITED;

        if (e && e->dir)
                read_outcome(d, e->dir, error, sizeof error);
        if (exited) {
                /* the worker's own result, even when a cancel or a timeout came too late */
                int code = si.si_status;
                if (code == PIPELINE_ENOSPACE && e) {
                        /* accepted work waits for room instead of failing: queued again where it
                         * stopped, and no job starts before daemon.disk_retry (or the purge) */
                        d->space_wait_until_ms = clock_now_ms() + (int64_t) config_u64(d->cfg, CONF_DAEMON_DISK_RETRY) * 1000;
                        log_warning("job %s: the disk is full (%s): it waits for room and goes on where it stopped; "
                                    "no job starts for %llu s (daemon.disk_retry)", w->id, error[0] ? error : "no space left",
                                    (unsigned long long) config_u64(d->cfg, CONF_DAEMON_DISK_RETRY));
                        r = queue_requeue(d->queue, w->id, QUEUE_REQUEUE_UNCOUNTED);
                        if (clock_now_ms() >= d->next_pressure_purge_ms)
                                start_purge(d, config_u64(d->cfg, CONF_PURGE_MIN_FREE));
                        goto out;
                }
                state = code == 0 ? QUEUE_DONE : code == PIPELINE_EINCOMPLETE ? QUEUE_INCOMPLETE : QUEUE_FAILED;
                cls = code;
                if (state == QUEUE_FAILED && !error[0])
                        snprintf(error, sizeof error, "the worker ended with status %d", code);
        } else if (w->why_stopped == W_CANCELLED) {
                state = QUEUE_CANCELLED;
                snprintf(error, sizeof error, "cancelled");
        } else if (w->why_stopped == W_LOST) {
                state = QUEUE_CANCELLED;
                snprintf(error, sizeof error, "stopped: host %s of the shared queue took the job over", w->lost_to);
        } else if (w->why_stopped == W_TIMED_OUT) {
                state = QUEUE_FAILED;
                cls = PIPELINE_EINTERNAL;
                snprintf(error, sizeof error, "timed out after %llu s (daemon.job_timeout)",
                         (unsigned long long) config_u64(d->cfg, CONF_DAEMON_JOB_TIMEOUT));
        } else if (w->why_stopped == W_DRAINING) {
                log_info("job %s: stopped for shutdown after %.1f s; it goes on at the next start", w->id, secs);
                r = e ? queue_requeue(d->queue, w->id, QUEUE_REQUEUE_UNCOUNTED) : 0;
                if (e && e->remote && d->cluster) /* another host takes it now */
                        cluster_release(d->cluster, w->id);
                goto out;
        } else {
                int sig = si.si_status;
                if (e && e->attempts < config_u64(d->cfg, CONF_DAEMON_MAX_ATTEMPTS)) {
                        log_warning("job %s: the worker died (%s): starting it again", w->id, strsignal(sig));
                        r = queue_requeue(d->queue, w->id, QUEUE_REQUEUE_RESUME);
                        goto out;
                }
                state = QUEUE_FAILED;
                cls = PIPELINE_EINTERNAL;
                snprintf(error, sizeof error, "the worker died (%s) %u times", strsignal(sig), e ? e->attempts : 0);
        }
        if (e) {
                if (!exited)
                        close_folder(d, e->dir, error);
                if (!exited && state == QUEUE_FAILED && e->dir)
                        enqueue_post(d->cfg, e->dir, "failed");
                d->jobs_finished[state]++;
                r = queue_ack(d->queue, w->id, state, state == QUEUE_DONE ? NULL : error, cls);
                shared_finish(d, w->id);
        }
        log_info("job %s: %s in %.1f s%s%s", w->id, queue_state_to_string(state), secs, error[0] ? ": " : "", error);
out:
        if (r < 0)
                log_error_errno(r, "job %s: cannot record its end in the queue: %m", w->id);
        remove_worker(d, w);
        schedule(d);
}

static struct worker *worker_of(struct daemon *d, const char *id) {
        for (size_t i = 0; i < d->n_workers; i++)
                if (!strcmp(d->workers[i]->id, id))
                        return d->workers[i];
        return NULL;
}

/* SIGTERM to the worker's group now, SIGKILL when it has not gone by the tick after next. */
static void stop_worker(struct worker *w, int why) {
        if (w->why_stopped == W_RUNNING)
                w->why_stopped = why;
        kill(-w->pid, SIGTERM);
        w->kill_at_ms = clock_now_ms() + 3000;
}

int daemon_submit(struct daemon *d, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup) {
        int r = queue_put(d->queue, req, ret, ret_dup);
        if (r < 0)
                return r;
        if (!*ret_dup) {
                log_info("job %s: queued (%s, case %s, %s)", (*ret)->id, req->trigger, req->case_id, req->source);
                char id[96];
                snprintf(id, sizeof id, "%s", (*ret)->id);
                schedule(d);
                *ret = queue_get(d->queue, id);
        }
        return 0;
}

/* The URL another host fetches a path of this host's from (GET /uploads/PATH). */
static void upload_url(struct daemon *d, const char *path, char *buf, size_t size) {
        const char *base = config_string(d->cfg, CONF_CLUSTER_URL);
        size_t o = (size_t) snprintf(buf, size, "%s/uploads", *base ? base : http_url(d->http));
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *) path; *p && o + 4 < size; p++) {
                bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                             strchr("/._-~", *p);
                if (plain)
                        buf[o++] = (char) *p;
                else {
                        buf[o++] = '%';
                        buf[o++] = hex[*p >> 4];
                        buf[o++] = hex[*p & 15];
                }
        }
        buf[o] = 0;
}

json_object *daemon_submit_shared(struct daemon *d, const struct queue_request *req, bool *ret_dup, char *err, size_t err_size) {
        char url[3 * PATH_MAX + 512];
        json_object *j = NULL;
        if (!fetch_is_url(req->source))
                upload_url(d, req->source, url, sizeof url);
        int r = cluster_submit(d->cluster, req, fetch_is_url(req->source) ? NULL : url, &j, ret_dup, err, err_size);
        if (r < 0)
                return NULL;
        if (!*ret_dup)
                log_info("job %s: queued on the shared queue (%s, case %s, %s)", json_str(j, "id"), req->trigger, req->case_id,
                         req->source);
        return j;
}

/* A job the shared queue handed to this host: into the local queue, which runs it. An entry it
 * already has is this host's earlier take of the job: it goes on in its case folder. */
static void on_cluster(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        struct cluster_job *j;
        int r;
        (void) events;
        while ((r = cluster_take(d->cluster, &j)) == 1) {
                struct queue_request req = j->req;
                char within[PATH_MAX], id[96];
                struct stat st;
                if (!fetch_is_url(req.source)) {
                        root_of(d, req.source, within, sizeof within);
                        /* a path on the host that took the upload, not on this one: fetched from there */
                        if ((!within[0] || stat(req.source, &st) < 0) && j->url) {
                                req.source = j->url;
                                req.peer_source = true;
                        }
                }
                const struct queue_entry *e;
                bool dup;
                snprintf(id, sizeof id, "%s", j->id);
                r = queue_put(d->queue, &req, &e, &dup);
                if (r < 0) {
                        log_error_errno(r, "job %s: cannot queue it here: %m; it goes back to the shared queue", id);
                        cluster_release(d->cluster, id);
                        continue;
                }
                while (r == 0 && e && e->run < j->run) {
                        r = queue_requeue(d->queue, id, QUEUE_REQUEUE_NEW_RUN);
                        e = queue_get(d->queue, id);
                }
                if (dup && e && queue_state_final(e->state) && e->run == j->run) {
                        log_info("job %s: it had ended here; the shared queue learns it now", id);
                        shared_finish(d, id);
                        continue;
                }
                log_info("job %s: taken from the shared queue (case %s, hand-out %u%s)", id, req.case_id, j->delivered,
                         dup ? ", goes on in its case folder" : "");
        }
        if (r < 0)
                log_error_errno(r, "the shared queue: %m");
        schedule(d);
}

static json_object *tick_view(void *ud, const char *id) {
        struct daemon *d = ud;
        const struct queue_entry *e = queue_get(d->queue, id);
        return e ? daemon_job_json(d, e) : NULL;
}

static void tick_lost(void *ud, const char *id, const char *by) {
        struct daemon *d = ud;
        struct worker *w = worker_of(d, id);
        if (w) {
                snprintf(w->lost_to, sizeof w->lost_to, "%s", by);
                stop_worker(w, W_LOST);
        } else if (queue_get(d->queue, id) && !queue_state_final(queue_get(d->queue, id)->state)) {
                char why[256];
                snprintf(why, sizeof why, "host %s of the shared queue took the job over", by);
                (void) queue_ack(d->queue, id, QUEUE_CANCELLED, why, 0);
        }
}

int daemon_cancel(struct daemon *d, const char *id) {
        const struct queue_entry *e = queue_get(d->queue, id);
        if (!e)
                return -ENOENT;
        if (queue_state_final(e->state))
                return -EALREADY;
        struct worker *w = worker_of(d, id);
        if (w) {
                stop_worker(w, W_CANCELLED);
                return 0;
        }
        log_info("job %s: cancelled before it started", id);
        d->jobs_finished[QUEUE_CANCELLED]++;
        int r = queue_ack(d->queue, id, QUEUE_CANCELLED, "cancelled", 0);
        shared_finish(d, id);
        return r;
}

int daemon_retry(struct daemon *d, const char *id) {
        const struct queue_entry *e = queue_get(d->queue, id);
        if (d->cluster && (!e || e->remote)) {
                char err[512] = "";
                int r = cluster_retry(d->cluster, id, err, sizeof err);
                if (r == 0)
                        log_info("job %s: queued again on the shared queue (retry)", id);
                else if (r != -ENOENT && r != -EBUSY)
                        log_error("job %s: cannot retry: %s", id, err);
                return r;
        }
        if (!e)
                return -ENOENT;
        if (!queue_state_final(e->state))
                return -EBUSY;
        int r = queue_requeue(d->queue, id, QUEUE_REQUEUE_NEW_RUN);
        if (r == 0) {
                log_info("job %s: queued again (retry)", id);
                schedule(d);
        }
        return r;
}

/* ---- the API's view of a job, and /metrics (daemon/jobview) ------------------------------ */

json_object *daemon_job_json(struct daemon *d, const struct queue_entry *e) {
        json_object *j = jobview_job(e, (int) stop_after(d->cfg) + 1);
        /* with the shared queue, a job says which host has it */
        if (j && d->cluster) {
                json_object_object_add(j, "host", json_object_new_string(cluster_host(d->cluster)));
                const char *url = config_string(d->cfg, CONF_CLUSTER_URL);
                json_object_object_add(j, "host_url", json_object_new_string(*url ? url : http_url(d->http)));
        }
        return j;
}

void daemon_metrics(struct daemon *d, FILE *out) {
        struct jobview_figures f = {
                .jobs_finished = { 0 },
                .bytes_fetched = d->bytes_fetched,
                .symbol_cache_hits = d->symbol_cache_hits,
                .symbol_fetches = d->symbol_fetches,
                .http = d->counters.http,
                .watch = d->counters.watch,
                .workers_busy = d->n_workers,
                .outbox_count = d->outbox_count,
                .sender_runs = d->sender_runs,
                .disk_free = d->disk_free,
                .disk_low = d->disk_low,
                .purge_runs = d->purge_runs,
                .purge_removed = d->purge_removed,
                .purge_freed = d->purge_freed,
        };
        for (int s = 0; s < _STAGE_MAX; s++)
                f.stages[s] = d->stages[s];
        for (int s = 0; s < _QUEUE_STATE_MAX; s++)
                f.jobs_finished[s] = d->jobs_finished[s];
        jobview_metrics(out, &f, d->queue);
        if (d->cluster) {
                struct cluster_figures c;
                cluster_figures(d->cluster, &c);
                jobview_cluster_metrics(out, cluster_host(d->cluster), &c);
        }
}

/* ---- paths --------------------------------------------------------------------------------- */

static bool under(const char *path, const char *root) {
        char real_root[PATH_MAX];
        if (!realpath(root, real_root))
                return false;
        size_t n = strlen(real_root);
        if (n == 1)
                return true; /* "/" */
        return !strncmp(path, real_root, n) && path[n] == '/';
}

static bool under_any(const char *path, const char *roots) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", roots);
        for (char *save = NULL, *r = strtok_r(buf, " \t", &save); r; r = strtok_r(NULL, " \t", &save))
                if (under(path, r))
                        return true;
        return false;
}

/* The folder of watch.dirs or daemon.path_roots path is under (the first that fits), or "". */
static void root_of(const struct daemon *d, const char *path, char *buf, size_t size) {
        const char *lists[] = { config_string(d->cfg, CONF_WATCH_DIRS), config_string(d->cfg, CONF_DAEMON_PATH_ROOTS) };
        buf[0] = 0;
        for (size_t i = 0; i < 2 && !buf[0]; i++) {
                char list[4096];
                snprintf(list, sizeof list, "%s", lists[i]);
                for (char *save = NULL, *r = strtok_r(list, " \t", &save); r && !buf[0]; r = strtok_r(NULL, " \t", &save)) {
                        size_t n = strlen(r);
                        while (n > 1 && r[n - 1] == '/')
                                r[--n] = 0;
                        char real[PATH_MAX];
                        if (n > 1 && !strncmp(path, r, n) && path[n] == '/') /* as the watcher names it */
                                snprintf(buf, size, "%s", r);
                        else if (under(path, r) && realpath(r, real)) /* as a request's path was resolved */
                                snprintf(buf, size, "%s", real);
                }
        }
}

int daemon_path_allowed(const struct daemon *d, const char *path, char *resolved) {
        if (path[0] != '/')
                return -EINVAL;
        if (!realpath(path, resolved))
                return -errno;
        if (under_any(resolved, config_string(d->cfg, CONF_WATCH_DIRS)) ||
            under_any(resolved, config_string(d->cfg, CONF_DAEMON_PATH_ROOTS)))
                return 0;
        return -EACCES;
}

/* ---- signals and timers -------------------------------------------------------------------- */

/* A helper process of the loop (the outbox's sender, the purge), watched through a pidfd; one
 * that cannot be watched is stopped at once. */
static int watch_child(struct daemon *d, struct ev_source *src, pid_t pid,
                       void (*handler)(struct ev_source *, uint32_t), const char *what) {
        setpgid(pid, pid);
        src->handler = handler;
        src->data = d;
        src->fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (src->fd >= 0 && loop_add(d->loop, src, EPOLLIN) == 0)
                return 0;
        int r = log_error_errno(-errno, "cannot watch %s: %m", what);
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (src->fd >= 0)
                close(src->fd);
        src->fd = -1;
        return r;
}

/* ---- the outbox's sender ------------------------------------------------------------------ */

static void sender_say(void *userdata, const char *line) {
        (void) userdata;
        log_info("post %s", line);
}

/* In the sender: the question to the loop, which holds the shared queue's connection (libnats'
 * threads are not in a forked process). No answer in time: not this host's now. */
static enum outbox_claim sender_claim(void *userdata, const char *key, bool sent, char *by, size_t by_size) {
        static unsigned seq;
        int fd = *(int *) userdata;
        char q[1024], a[256];
        int n = snprintf(q, sizeof q, "%c %u %s", sent ? 'S' : 'T', ++seq, key);
        if (n >= (int) sizeof q || send(fd, q, (size_t) n, 0) != n)
                return OUTBOX_CLAIM_BUSY;
        /* the answer to this question: a late one to an earlier question (given up on) is dropped */
        for (;;) {
                ssize_t got = recv(fd, a, sizeof a - 1, 0);
                if (got < 1)
                        return OUTBOX_CLAIM_BUSY;
                a[got] = 0;
                unsigned aseq = 0;
                int off = 0;
                if (sscanf(a + 1, " %u %n", &aseq, &off) < 1 || aseq != seq)
                        continue;
                snprintf(by, by_size, "%s", a + 1 + off);
                return a[0] == 'M' ? OUTBOX_CLAIM_MINE : a[0] == 'D' ? OUTBOX_CLAIM_SENT : OUTBOX_CLAIM_BUSY;
        }
}

/* In the loop: the sender's question answered (one at a time; each a call to the servers). */
static void on_claim(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        char q[1025], by[128] = "", a[160];
        (void) events;
        ssize_t n = recv(s->fd, q, sizeof q - 1, MSG_DONTWAIT);
        if (n <= 0) {
                if (n == 0 || (errno != EAGAIN && errno != EINTR)) { /* the sender is gone */
                        loop_del(d->loop, s);
                        close(s->fd);
                        s->fd = -1;
                }
                return;
        }
        q[n] = 0;
        unsigned seq = 0;
        int off = 0;
        const char *key = sscanf(q + 1, " %u %n", &seq, &off) >= 1 ? q + 1 + off : NULL;
        int r = !d->cluster || !key || !*key ? -EINVAL
                : q[0] == 'S' ? (cluster_post_sent(d->cluster, key) == 0 ? CLUSTER_CLAIM_MINE : -EIO)
                : cluster_post_claim(d->cluster, key, 3 * (int64_t) config_u64(d->cfg, CONF_ATHENA_TIMEOUT), by, sizeof by);
        int len = snprintf(a, sizeof a, "%c %u %s", r == CLUSTER_CLAIM_MINE ? 'M' : r == CLUSTER_CLAIM_SENT ? 'D' : 'B', seq, by);
        (void) !send(s->fd, a, (size_t) len, MSG_DONTWAIT);
}

static _Noreturn void sender_main(struct daemon *d, bool claims) {
        child_setup(d, "hotkdumpd-outbox", 1, claims ? 4 : 3);
        /* a peer that resets the connection is an error of the call, not the end of the sender */
        signal(SIGPIPE, SIG_IGN);
        static int claim_fd = 3;
        /* a claim is up to three calls to the servers */
        struct timeval tv = { .tv_sec = 4 * (time_t) config_u64(d->cfg, CONF_QUEUE_TIMEOUT) };
        if (claims)
                (void) setsockopt(claim_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        struct outbox_run run = { .say = sender_say, .claim = claims ? sender_claim : NULL, .userdata = &claim_fd };
        int r = outbox_deliver(d->cfg, &run);
        if (r < 0)
                log_error_errno(r, "cannot read the outbox: %m");
        _exit(r < 0 ? 1 : 0);
}

static void on_sender_exit(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        siginfo_t si = { 0 };
        (void) events;
        if (waitid(P_PID, (id_t) d->sender_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                return;
        kill(-d->sender_pid, SIGKILL); /* a hook script it left behind */
        waitid(P_PID, (id_t) d->sender_pid, &si, WEXITED);
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                log_warning("the outbox's sender ended with %s %d", si.si_code == CLD_EXITED ? "status" : "signal",
                            si.si_status);
        loop_del(d->loop, s);
        close(s->fd);
        s->fd = -1;
        d->sender_pid = 0;
        if (d->claims.fd >= 0) {
                loop_del(d->loop, &d->claims);
                close(d->claims.fd);
                d->claims.fd = -1;
        }
        int r = outbox_due(d->cfg, &d->outbox_next, &d->outbox_count);
        if (r < 0)
                log_error_errno(r, "cannot read the outbox: %m");
}

/* Starts the sender when the outbox changed since its last run (a new post) or a post is due. */
static void outbox_kick(struct daemon *d) {
        char path[PATH_MAX];
        struct stat st;
        if (!*config_string(d->cfg, CONF_POST_SINKS) || d->draining || d->sender_pid > 0)
                return;
        snprintf(path, sizeof path, "%s/outbox", config_string(d->cfg, CONF_ROOT));
        bool changed = stat(path, &st) == 0 && (st.st_mtim.tv_sec != d->outbox_mtime.tv_sec ||
                                                 st.st_mtim.tv_nsec != d->outbox_mtime.tv_nsec);
        bool due = d->outbox_next && (int64_t) time(NULL) >= d->outbox_next;
        if (!changed && !due)
                return;
        if (changed)
                d->outbox_mtime = st.st_mtim;
        int sv[2] = { -1, -1 };
        if (d->cluster && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                log_error_errno(-errno, "cannot start the outbox's sender: %m");
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                log_error_errno(-errno, "cannot start the outbox's sender: %m");
                if (sv[0] >= 0)
                        close(sv[0]), close(sv[1]);
                return;
        }
        if (pid == 0) {
                if (sv[1] >= 0 && dup2(sv[1], 3) < 0)
                        _exit(1);
                sender_main(d, sv[1] >= 0);
        }
        if (sv[0] >= 0) {
                close(sv[1]);
                d->claims = (struct ev_source) { .fd = sv[0], .handler = on_claim, .data = d };
                if (loop_add(d->loop, &d->claims, EPOLLIN) < 0) {
                        close(sv[0]);
                        d->claims.fd = -1; /* its questions go unanswered: it sends nothing of the shared posts */
                }
        }
        if (watch_child(d, &d->sender, pid, on_sender_exit, "the outbox's sender") == 0) {
                d->sender_pid = pid;
                d->sender_runs++;
        }
}

/* ---- the purge ------------------------------------------------------------------------------- */

#define PRESSURE_PURGE_GAP_MS 10000

/* In the purge's process: whether a queued or running job owns the folder. */
static bool busy_folder(void *userdata, const char *dir) {
        struct daemon *d = userdata;
        size_t n;
        const struct queue_entry *const *v = queue_entries(d->queue, &n);
        char real[PATH_MAX];
        for (size_t i = 0; i < n; i++) {
                if (!v[i]->dir || (v[i]->state != QUEUE_QUEUED && v[i]->state != QUEUE_RUNNING))
                        continue;
                if (!strcmp(v[i]->dir, dir) || (realpath(v[i]->dir, real) && !strcmp(real, dir)))
                        return true;
        }
        return false;
}

static void purge_say(void *userdata, const char *line) {
        (void) userdata;
        log_info("purge: %s", line);
}

static _Noreturn void purge_main(struct daemon *d, int out, uint64_t want_free) {
        struct purge_opts o = { .older_than = config_u64(d->cfg, CONF_PURGE_OLDER_THAN), .want_free = want_free,
                                .busy = busy_folder, .say = purge_say, .userdata = d };
        struct purge_result res;
        int r = purge_run(d->cfg, &o, &res);
        if (r < 0) {
                log_error_errno(r, "purge: cannot read '%s': %m", config_string(d->cfg, CONF_ROOT));
                _exit(1);
        }
        log_info("purge: removed %u case folder(s) and %u kernel(s)' symbols, %llu bytes freed; %u kept", res.removed,
                 res.symbols_removed, (unsigned long long) res.bytes_freed, res.kept);
        /* the result goes back whole: it is smaller than PIPE_BUF */
        ssize_t w = write(out, &res, sizeof res);
        _exit(w == (ssize_t) sizeof res ? 0 : 1);
}

/* A finished job whose case folder is gone (purged, or removed by hand): its queue entry goes,
 * its upload stays known. A failed or cancelled job, which POST /jobs/ID/retry may still run,
 * and one that never had a folder, stay until purge.older_than after they ended. */
static bool job_gone(const struct queue_entry *e, void *userdata) {
        const struct daemon *d = userdata;
        struct stat st;
        if (e->dir && !(lstat(e->dir, &st) < 0 && errno == ENOENT))
                return false;
        if (e->dir && (e->state == QUEUE_DONE || e->state == QUEUE_INCOMPLETE))
                return true;
        int64_t age_us = (int64_t) config_u64(d->cfg, CONF_PURGE_OLDER_THAN) * 1000000;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return e->finished_us && (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000 - e->finished_us > age_us;
}

static void prune_queue(struct daemon *d) {
        size_t n = 0;
        int r = queue_prune(d->queue, job_gone, d, &n);
        if (r < 0)
                log_error_errno(r, "job queue: cannot prune the jobs whose case folders are gone: %m");
        if (n)
                log_info("job queue: %zu finished job(s) whose case folders are gone pruned; %zu upload(s) known", n,
                         queue_known_count(d->queue));
}

static void on_purge_exit(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        siginfo_t si = { 0 };
        struct purge_result res;
        (void) events;
        if (waitid(P_PID, (id_t) d->purge_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                return;
        kill(-d->purge_pid, SIGKILL);
        waitid(P_PID, (id_t) d->purge_pid, &si, WEXITED);
        if (read(d->purge_pipe, &res, sizeof res) == (ssize_t) sizeof res) {
                d->purge_removed += res.removed + res.leftovers;
                d->purge_freed += res.bytes_freed;
        } else if (si.si_code != CLD_EXITED || si.si_status != 0)
                log_warning("the purge ended with %s %d", si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
        close(d->purge_pipe);
        d->purge_pipe = -1;
        loop_del(d->loop, s);
        close(s->fd);
        s->fd = -1;
        d->purge_pid = 0;
        d->purge_runs++;
        prune_queue(d);
        d->next_disk_check_ms = 0; /* look at the disk again now */
        /* when a pass could not make room (NOPURGE, running jobs, another program filling the
         * disk), the next one waits a while instead of running back to back */
        d->next_pressure_purge_ms = clock_now_ms() + PRESSURE_PURGE_GAP_MS;
}

static void start_purge(struct daemon *d, uint64_t want_free) {
        int p[2];
        if (d->purge_pid > 0 || d->draining)
                return;
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                log_error_errno(-errno, "cannot start the purge: %m");
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                log_error_errno(-errno, "cannot start the purge: %m");
                close(p[0]);
                close(p[1]);
                return;
        }
        if (pid == 0) {
                /* the result's pipe becomes descriptor 3, the one kept */
                if (dup2(p[1], 3) < 0)
                        _exit(1);
                child_setup(d, "hotkdumpd-purge", 1, 4);
                purge_main(d, 3, want_free);
        }
        close(p[1]);
        if (watch_child(d, &d->purger, pid, on_purge_exit, "the purge") < 0) {
                close(p[0]);
                return;
        }
        d->purge_pid = pid;
        d->purge_pipe = p[0];
}

/* Free space on <root>: under purge.min_free, new jobs are refused and the purge makes room. */
static void check_disk(struct daemon *d, int64_t now) {
        uint64_t want = config_u64(d->cfg, CONF_PURGE_MIN_FREE), free_b = 0;
        if (now < d->next_disk_check_ms)
                return;
        d->next_disk_check_ms = now + 2000;
        if (purge_disk_space(config_string(d->cfg, CONF_ROOT), &free_b, NULL) < 0)
                return;
        d->disk_free = free_b;
        bool low = want && free_b < want;
        if (low) {
                snprintf(d->disk_reason, sizeof d->disk_reason,
                         "the disk of %s is nearly full: %llu MiB free, under purge.min_free (%llu MiB); new jobs are "
                         "refused until the purge has made room",
                         config_string(d->cfg, CONF_ROOT), (unsigned long long) (free_b >> 20),
                         (unsigned long long) (want >> 20));
                if (!d->disk_low)
                        log_warning("%s", d->disk_reason);
                if (now >= d->next_pressure_purge_ms)
                        start_purge(d, want);
        } else if (d->disk_low)
                log_info("the disk of %s has %llu MiB free again: jobs are accepted", config_string(d->cfg, CONF_ROOT),
                         (unsigned long long) (free_b >> 20));
        d->disk_low = low;
}

/* The service manager's view (Type=notify): ready, and what runs. first: "READY=1" or NULL. */
static void notify_ready(struct daemon *d, const char *first) {
        char state[256];
        snprintf(state, sizeof state, "%s%sSTATUS=listening on port %u; %zu job(s) running, %zu queued", first ? first : "",
                 first ? "\n" : "", d->http ? http_port(d->http) : 0u, d->n_workers, queue_count(d->queue, QUEUE_QUEUED));
        d->notified_workers = d->n_workers;
        (void) notify_send(state);
}

static void begin_drain(struct daemon *d) {
        if (d->draining)
                return;
        d->draining = true;
        (void) notify_send("STOPPING=1\nSTATUS=shutting down: waiting for the running jobs to stop");
        d->drain_deadline_ms = clock_now_ms() + (int64_t) config_u64(d->cfg, CONF_DAEMON_DRAIN_TIMEOUT) * 1000;
        log_info("shutting down: no new work; %zu running job(s) are stopped and go on at the next start", d->n_workers);
        if (d->http)
                http_quiesce(d->http);
        d->watch = watch_free(d->watch);
        for (size_t i = 0; i < d->n_workers; i++) {
                d->workers[i]->why_stopped = d->workers[i]->why_stopped == W_RUNNING ? W_DRAINING
                                                                                     : d->workers[i]->why_stopped;
                kill(-d->workers[i]->pid, SIGTERM);
                d->workers[i]->kill_at_ms = d->drain_deadline_ms;
        }
        /* a post cut off while it was sent is looked for on the case before it is sent again */
        if (d->sender_pid > 0)
                kill(-d->sender_pid, SIGTERM);
        /* a purge cut short leaves its trash, which the next one empties */
        if (d->purge_pid > 0)
                kill(-d->purge_pid, SIGTERM);
}

/* ---- the API's view of the daemon ---------------------------------------------------------- */

static const struct config *api_config(void *ctx) {
        return daemon_config(ctx);
}
static struct queue *api_queue(void *ctx) {
        return daemon_queue(ctx);
}
static const char *api_refusing(void *ctx) {
        return daemon_refusing(ctx);
}
static bool api_draining(void *ctx) {
        return daemon_draining(ctx);
}
static const char *api_degraded(void *ctx) {
        return daemon_degraded(ctx);
}
static int api_submit(void *ctx, const struct queue_request *req, const struct queue_entry **ret, bool *ret_dup) {
        return daemon_submit(ctx, req, ret, ret_dup);
}
static int api_cancel(void *ctx, const char *id) {
        return daemon_cancel(ctx, id);
}
static int api_retry(void *ctx, const char *id) {
        return daemon_retry(ctx, id);
}
static json_object *api_job_json(void *ctx, const struct queue_entry *e) {
        return daemon_job_json(ctx, e);
}
static void api_metrics(void *ctx, FILE *out) {
        daemon_metrics(ctx, out);
}
static int api_path_allowed(void *ctx, const char *path, char *resolved) {
        return daemon_path_allowed(ctx, path, resolved);
}
static bool api_shared(void *ctx) {
        return ((struct daemon *) ctx)->cluster != NULL;
}
static json_object *api_submit_shared(void *ctx, const struct queue_request *req, bool *ret_dup, char *err, size_t err_size) {
        return daemon_submit_shared(ctx, req, ret_dup, err, err_size);
}
static json_object *api_remote_job(void *ctx, const char *id) {
        struct daemon *d = ctx;
        return d->cluster ? cluster_job(d->cluster, id) : NULL;
}
static json_object *api_hosts(void *ctx) {
        struct daemon *d = ctx;
        return d->cluster ? cluster_view(d->cluster) : NULL;
}
static const char *api_host(void *ctx) {
        struct daemon *d = ctx;
        return d->cluster ? cluster_host(d->cluster) : NULL;
}

static int start_http(struct daemon *d, struct http **ret, char *err, size_t err_size) {
        static const struct http_ops ops = {
                .config = api_config,     .queue = api_queue,   .refusing = api_refusing, .draining = api_draining,
                .degraded = api_degraded,
                .submit = api_submit,     .cancel = api_cancel, .retry = api_retry,       .job_json = api_job_json,
                .metrics = api_metrics,   .path_allowed = api_path_allowed,
                .shared = api_shared,     .submit_shared = api_submit_shared, .remote_job = api_remote_job,
                .hosts = api_hosts,       .host = api_host,
        };
        const struct http_env env = { .loop = d->loop, .ops = &ops, .ctx = d, .counters = &d->counters.http };
        return http_start(&env, ret, err, err_size);
}

/* ---- the watcher's view of the daemon ------------------------------------------------------ */

static const struct config *watch_config(void *ctx) {
        return daemon_config(ctx);
}

/* A settled file becomes a job: the file itself is the durable record (a restart's rescan finds
 * it again), so its queue record needs no fsync. */
static int watch_submit(void *ctx, const struct watch_upload *u, bool *dup) {
        struct queue_request req = { .case_id = u->case_id, .source = u->path, .size = u->size,
                                     .trigger = "watch", .rebuildable = true };
        const struct queue_entry *e;
        struct daemon *d = ctx;
        if (d->cluster) {
                char err[512] = "";
                json_object *j = daemon_submit_shared(d, &req, dup, err, sizeof err);
                if (!j)
                        log_error("%s: %s", u->path, err);
                json_object_put(j);
                return j ? 0 : -EIO;
        }
        return daemon_submit(ctx, &req, &e, dup);
}

static int start_watch(struct daemon *d, struct watch **ret, char *err, size_t err_size) {
        const struct watch_env env = { .loop = d->loop, .config = watch_config, .submit = watch_submit, .ctx = d,
                                       .counters = &d->counters.watch };
        return watch_start(&env, ret, err, err_size);
}

/* The shared queue, with queue.backend = nats; nothing with local. */
static int start_cluster(struct daemon *d, char *err, size_t err_size) {
        const char *backend = config_string(d->cfg, CONF_QUEUE_BACKEND);
        unsigned workers = (unsigned) config_u64(d->cfg, CONF_DAEMON_WORKERS);
        if (!strcmp(backend, "local")) {
                if (workers > 0)
                        return 0;
                snprintf(err, err_size, "daemon.workers = 0 runs no job: a host that only takes uploads needs queue.backend = nats");
                return -EINVAL;
        }
        if (strcmp(backend, "nats") != 0) {
                snprintf(err, err_size, "queue.backend '%s': local or nats", backend);
                return -EINVAL;
        }
        char host[256] = "";
        if (!*config_string(d->cfg, CONF_CLUSTER_HOST) && gethostname(host, sizeof host - 1) < 0)
                snprintf(host, sizeof host, "hotkdumpd");
        const char *url = config_string(d->cfg, CONF_CLUSTER_URL);
        struct cluster_self self = { .host = *config_string(d->cfg, CONF_CLUSTER_HOST) ? config_string(d->cfg, CONF_CLUSTER_HOST) : host,
                                     .url = *url ? url : http_url(d->http), .version = PACKAGE_VERSION, .workers = workers };
        int r = cluster_open(d->cfg, &self, &d->cluster, err, err_size);
        if (r < 0)
                return r;
        d->cluster_src = (struct ev_source) { .fd = cluster_fd(d->cluster), .handler = on_cluster, .data = d };
        if (loop_add(d->loop, &d->cluster_src, EPOLLIN) < 0) {
                r = -errno;
                snprintf(err, err_size, "cannot watch the shared queue: %s", strerror(-r));
                d->cluster = cluster_free(d->cluster);
                return r;
        }
        log_info("queue: shared through NATS JetStream (%s, %s) as host %s, %u worker(s)", config_string(d->cfg, CONF_QUEUE_NATS_URL),
                 config_string(d->cfg, CONF_QUEUE_NAME), self.host, workers);
        /* jobs this host held when it stopped and another host has taken since: ended here */
        size_t n;
        const struct queue_entry *const *v = queue_entries(d->queue, &n);
        char (*ids)[96] = calloc(n ? n : 1, sizeof *ids);
        size_t k = 0;
        for (size_t i = 0; ids && i < n; i++)
                if (v[i]->remote && !queue_state_final(v[i]->state))
                        snprintf(ids[k++], sizeof ids[0], "%s", v[i]->id);
        for (size_t i = 0; i < k; i++) {
                json_object *st = cluster_job(d->cluster, ids[i]);
                const char *owner = json_str(st, "host"), *state = json_str(st, "state");
                int sv = state ? queue_state_from_string(state) : -1;
                if (st && ((owner && strcmp(owner, self.host) != 0) || (sv >= 0 && queue_state_final((enum queue_state) sv)))) {
                        char why[256];
                        const struct queue_entry *e = queue_get(d->queue, ids[i]);
                        snprintf(why, sizeof why, "taken over by host %s of the shared queue while this host was down",
                                 owner ? owner : "?");
                        log_info("job %s: %s", ids[i], why);
                        close_folder(d, e ? e->dir : NULL, why);
                        (void) queue_ack(d->queue, ids[i], QUEUE_CANCELLED, why, 0);
                }
                json_object_put(st);
        }
        free(ids);
        return 0;
}

static void reload(struct daemon *d) {
        struct config *c = NULL;
        char err[1024] = "";
        int r = settings_load(d->opts->settings, "SIGHUP", &c);
        if (r < 0) {
                log_error("SIGHUP: the configuration was not reloaded");
                return;
        }
        if (outbox_check_config(c, err, sizeof err) < 0 || fetch_check_config(c, err, sizeof err) < 0) {
                log_error("SIGHUP: %s; the configuration was not reloaded", err);
                config_free(c);
                return;
        }
        struct config *old = d->cfg;
        d->cfg = c;
        r = d->http ? http_reload(d->http, err, sizeof err) : 0;
        if (r < 0) {
                log_error("SIGHUP: %s; the configuration was not reloaded", err);
                d->cfg = old;
                config_free(c);
                http_reload(d->http, err, sizeof err);
                return;
        }
        /* the watcher starts over with the new folders and pattern, and rescans */
        d->watch = watch_free(d->watch);
        r = start_watch(d, &d->watch, err, sizeof err);
        if (r < 0)
                log_error("SIGHUP: the watcher did not start again: %s", err);
        config_free(old);
        log_info("configuration reloaded (daemon.listen and TLS settings change at the next start)");
        schedule(d);
}

/* Only noted here: a reload or a drain frees the watcher, whose events may still wait in the
 * batch epoll_wait returned. The loop acts on them after the batch. */
static void on_signal(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        struct signalfd_siginfo si;
        (void) events;
        while (read(s->fd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGHUP)
                        d->want_reload = true;
                else
                        d->want_drain = true;
        }
}

static void on_tick(struct ev_source *s, uint32_t events) {
        struct daemon *d = s->data;
        uint64_t n;
        int64_t now = clock_now_ms();
        (void) events;
        if (read(s->fd, &n, sizeof n) < 0 && errno != EAGAIN)
                log_error_errno(-errno, "timer: %m");
        for (size_t i = 0; i < d->n_workers; i++) {
                struct worker *w = d->workers[i];
                if (w->kill_at_ms && now >= w->kill_at_ms)
                        kill(-w->pid, SIGKILL);
                else if (w->why_stopped == W_RUNNING && now >= w->deadline_ms) {
                        log_warning("job %s: timed out: stopping its worker", w->id);
                        stop_worker(w, W_TIMED_OUT);
                }
        }
        if (d->draining && d->n_workers == 0 && d->sender_pid <= 0 && d->purge_pid <= 0)
                d->stop = true;
        if (d->draining && d->sender_pid > 0 && now >= d->drain_deadline_ms)
                kill(-d->sender_pid, SIGKILL);
        if (d->draining && d->purge_pid > 0 && now >= d->drain_deadline_ms)
                kill(-d->purge_pid, SIGKILL);
        if (d->cluster) {
                static const struct cluster_tick_ops ops = { .view = tick_view, .lost = tick_lost };
                struct cluster_tick_ops o = ops;
                o.ud = d;
                cluster_tick(d->cluster, (unsigned) d->n_workers, (unsigned) queue_count(d->queue, QUEUE_QUEUED), &o);
        }
        outbox_kick(d);
        check_disk(d, now);
        if (!d->draining && now >= d->next_purge_ms && d->purge_pid <= 0) {
                d->next_purge_ms = now + (int64_t) config_u64(d->cfg, CONF_PURGE_INTERVAL) * 1000;
                start_purge(d, config_u64(d->cfg, CONF_PURGE_MIN_FREE));
        }
        /* a job left queued by a failure to start it (out of memory, disk full) is tried again */
        schedule(d);
}

/* ---- the loop ------------------------------------------------------------------------------ */

int hotkdumpd_run(struct config *cfg, const struct hotkdumpd_options *opts) {
        struct daemon d = { .cfg = cfg, .opts = opts, .sig = { .fd = -1 }, .tick = { .fd = -1 },
                            .sender = { .fd = -1 }, .purger = { .fd = -1 }, .purge_pipe = -1,
                            .cluster_src = { .fd = -1 }, .claims = { .fd = -1 } };
        char err[2048] = "", qdir[PATH_MAX];
        sigset_t mask;
        int r, root_lock = -1;

        d.pid = getpid();
        notify_init();
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        d.sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        d.sig.handler = on_signal;
        d.tick.handler = on_tick;
        d.sig.data = d.tick.data = &d;
        if (loop_new(&d.loop) < 0 || d.sig.fd < 0 || loop_timer(&d.tick, 250) < 0 || loop_add(d.loop, &d.sig, EPOLLIN) < 0 ||
            loop_add(d.loop, &d.tick, EPOLLIN) < 0) {
                r = log_error_errno(-errno, "cannot set up the event loop: %m");
                goto out;
        }

        r = outbox_check_config(cfg, err, sizeof err);
        if (r == 0)
                r = fetch_check_config(cfg, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                goto out;
        }
        snprintf(qdir, sizeof qdir, "%s/queue", config_string(cfg, CONF_ROOT));
        /* one daemon per root: two would run each job twice; held until exit (inherited by no
         * child: the lock's descriptor is closed in them) */
        char lock[PATH_MAX + 16];
        snprintf(lock, sizeof lock, "%s/.daemon.lock", qdir);
        r = mkdir_parents(qdir);
        root_lock = r < 0 ? r : lock_path(lock, LOCK_EX | LOCK_NB);
        if (root_lock < 0) {
                r = root_lock;
                if (r == -EWOULDBLOCK)
                        log_error("another hotkdumpd uses the root '%s' (its lock %s is held)", config_string(cfg, CONF_ROOT), lock);
                else
                        log_error_errno(r, "cannot lock the root '%s' (%s): %m", config_string(cfg, CONF_ROOT), lock);
                goto out;
        }
        /* what the jobs of a daemon killed before (kill -9, a crash) started and which left
         * their process group is still running: it would write into case folders now taken up
         * again */
        char mark[PATH_MAX + 16];
        snprintf(mark, sizeof mark, "%s:", qdir);
        unsigned left = leftovers_kill(mark, true);
        if (left)
                log_warning("%u process(es) started by the jobs of an earlier run were still running: killed", left);
        r = queue_open(qdir, &d.queue, err, sizeof err);
        if (r < 0) {
                log_error_errno(r, "cannot open the job queue '%s': %m", qdir);
                goto out;
        }
        if (err[0])
                log_warning("job queue: %s", err);
        prune_queue(&d);
        size_t n_jobs;
        queue_entries(d.queue, &n_jobs);
        log_info("job queue %s: %zu job(s), %zu waiting", qdir, n_jobs, queue_count(d.queue, QUEUE_QUEUED));

        r = start_http(&d, &d.http, err, sizeof err);
        if (r < 0) {
                log_error("cannot start the HTTP API: %s", err);
                goto out;
        }
        r = start_cluster(&d, err, sizeof err);
        if (r < 0) {
                log_error("%s", err);
                goto out;
        }
        r = start_watch(&d, &d.watch, err, sizeof err);
        if (r < 0) {
                log_error("cannot start the watcher: %s", err);
                goto out;
        }
        if (opts->port_file) {
                char port[32];
                int n = snprintf(port, sizeof port, "%u\n", http_port(d.http));
                char dir[PATH_MAX], *slash;
                snprintf(dir, sizeof dir, "%s", opts->port_file);
                slash = strrchr(dir, '/');
                if (slash)
                        *slash = 0;
                r = write_file_atomic(slash ? dir : ".", slash ? slash + 1 : dir, port, (size_t) n);
                if (r < 0) {
                        log_error_errno(r, "cannot write '%s': %m", opts->port_file);
                        goto out;
                }
        }
        schedule(&d);
        notify_ready(&d, "READY=1");

        while (!d.stop) {
                int n = loop_run_once(d.loop, -1);
                if (n < 0) {
                        r = log_error_errno(n, "epoll_wait: %m");
                        goto stopping;
                }
                if (d.want_drain) {
                        d.want_drain = d.want_reload = false;
                        begin_drain(&d);
                }
                if (d.want_reload) {
                        d.want_reload = false;
                        if (!d.draining) {
                                (void) notify_send("RELOADING=1\nSTATUS=reloading the configuration");
                                reload(&d);
                                notify_ready(&d, "READY=1");
                        }
                }
                if (!d.draining && d.n_workers != d.notified_workers)
                        notify_ready(&d, NULL);
                if (d.draining && ((d.n_workers == 0 && d.sender_pid <= 0 && d.purge_pid <= 0) || clock_now_ms() > d.drain_deadline_ms + 5000))
                        d.stop = true;
        }
        log_info("stopped");
        r = 0;
stopping:
        /* a worker still there after the drain's grace: its job stays queued for the next start */
        for (size_t i = 0; i < d.n_workers; i++) {
                kill(-d.workers[i]->pid, SIGKILL);
                (void) queue_requeue(d.queue, d.workers[i]->id, QUEUE_REQUEUE_UNCOUNTED);
                if (d.cluster)
                        cluster_release(d.cluster, d.workers[i]->id);
                close(d.workers[i]->src.fd);
                free(d.workers[i]);
        }
        d.n_workers = 0;
        if (d.sender_pid > 0) {
                kill(-d.sender_pid, SIGKILL);
                waitpid(d.sender_pid, NULL, 0);
                close(d.sender.fd);
        }
        if (d.purge_pid > 0) {
                kill(-d.purge_pid, SIGKILL);
                waitpid(d.purge_pid, NULL, 0);
                close(d.purger.fd);
                close(d.purge_pipe);
        }
out:
        free(d.workers);
        d.watch = watch_free(d.watch);
        d.http = http_free(d.http);
        d.cluster = cluster_free(d.cluster);
        d.queue = queue_free(d.queue);
        if (d.sig.fd >= 0)
                close(d.sig.fd);
        if (d.tick.fd >= 0)
                close(d.tick.fd);
        loop_free(d.loop);
        config_free(d.cfg);
        if (root_lock >= 0)
                close(root_lock);
        return r;
}
