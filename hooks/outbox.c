/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The outbox in <root>/outbox/: one JSON file per post, named by the time it was written so that
 * a listing is the order of posting; a delivery record per job in its case folder (posted.json).
 * Durable like the queue: tmp + fsync + rename + fsync of the folder. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/fileio.h"
#include "hooks/athena.h"
#include "hooks/outbox.h"
#include "hooks/scripts.h"
#include "hooks/webhook.h"
#include "casefolder/job.h"

#define ENTRY_MAX (64u << 20)

static const char *const sink_names[] = { "athena", "webhook", "exec" };

int outbox_check_config(const struct config *cfg, char *err, size_t err_size) {
        const char *p = config_string(cfg, CONF_POST_SINKS);
        while (*p) {
                size_t l = strcspn(p, " \t,");
                bool known = false;
                for (size_t i = 0; l && i < sizeof sink_names / sizeof sink_names[0]; i++)
                        known |= strlen(sink_names[i]) == l && !strncmp(sink_names[i], p, l);
                if (l && !known) {
                        snprintf(err, err_size, "post.sinks: unknown sink '%.*s' (athena, webhook, exec)", (int) l, p);
                        return -EINVAL;
                }
                p += l;
                p += strspn(p, " \t,");
        }
        if (strstr(config_string(cfg, CONF_POST_SINKS), "webhook") && !*config_string(cfg, CONF_WEBHOOK_URL)) {
                snprintf(err, err_size, "post.sinks has webhook, but webhook.url is not set");
                return -EINVAL;
        }
        return 0;
}

static bool sink_on(const struct config *cfg, const char *name) {
        const char *p = config_string(cfg, CONF_POST_SINKS);
        size_t n = strlen(name);
        while (*p) {
                size_t l = strcspn(p, " \t,");
                if (l == n && !strncmp(p, name, n))
                        return true;
                p += l;
                p += strspn(p, " \t,");
        }
        return false;
}

static void outbox_path(const struct config *cfg, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s/outbox%s%s", config_string(cfg, CONF_ROOT), name ? "/" : "", name ? name : "");
}

/* flock() on a file of the outbox: ".lock" for changes to the entries (short), ".send" for a
 * whole delivery run. */
static int lock_file(const struct config *cfg, const char *name) {
        char path[PATH_MAX];
        outbox_path(cfg, NULL, path, sizeof path);
        int r = mkdir_parents(path);
        if (r < 0)
                return r;
        outbox_path(cfg, name, path, sizeof path);
        return lock_path(path, LOCK_EX);
}

static void unlock_file(int fd) {
        if (fd >= 0)
                close(fd);
}

/* An outbox entry or a case folder's record: NULL when missing or not a JSON object. */
static json_object *read_json(const char *path) {
        json_object *o = NULL;
        return json_read_object(path, ENTRY_MAX, &o) == 0 ? o : NULL;
}

static bool is_entry(const char *dir, const char *name, void *userdata) {
        (void) dir;
        (void) userdata;
        size_t l = strlen(name);
        return name[0] != '.' && l > 5 && !strcmp(name + l - 5, ".json");
}

/* The entries' ids (file names without .json), oldest first. */
static int list_names(const struct config *cfg, char ***ret, size_t *ret_n) {
        char path[PATH_MAX];
        outbox_path(cfg, NULL, path, sizeof path);
        int r = dir_list_sorted(path, is_entry, NULL, ret, ret_n);
        for (size_t i = 0; r == 0 && i < *ret_n; i++)
                (*ret)[i][strlen((*ret)[i]) - 5] = 0;
        return r;
}

static json_object *load_entry(const struct config *cfg, const char *id) {
        char path[PATH_MAX], name[NAME_MAX + 1];
        snprintf(name, sizeof name, "%s.json", id);
        outbox_path(cfg, name, path, sizeof path);
        return read_json(path);
}

/* ---- what a post says ------------------------------------------------------------------------ */

static void link_to(const struct config *cfg, const char *dir, const char *case_id, int64_t number, const char *file,
                    char *buf, size_t size) {
        const char *base = config_string(cfg, CONF_REPORT_BASE_URL);
        if (*base)
                snprintf(buf, size, "%s%s%s/%" PRId64 "/%s", base, base[strlen(base) - 1] == '/' ? "" : "/", case_id,
                         number, file);
        else
                snprintf(buf, size, "%s/%s", dir, file);
}

/* The text of a comment: comment.txt as the report wrote it, under a line saying what kind of
 * post it is. */
static char *comment_text(const struct config *cfg, const char *dir, json_object *rec, const char *kind) {
        char path[PATH_MAX], link[PATH_MAX + 256];
        char *comment = NULL, *text = NULL;
        size_t len = 0;
        const char *case_id = job_record_string(rec, JOB_CASE);
        int64_t number = job_record_int(rec, JOB_NUMBER, 0);
        snprintf(path, sizeof path, "%s/comment.txt", dir);
        if (read_file_max(path, 1u << 20, &comment, &len) < 0)
                comment = NULL;
        if (!strcmp(kind, "early")) {
                if (!comment)
                        return NULL;
                if (asprintf(&text, "First look, from the kernel log alone; the full analysis follows.\n\n%s", comment) < 0)
                        text = NULL;
        } else if (!strcmp(kind, "failed")) {
                const char *error = job_record_string(rec, JOB_ERROR);
                link_to(cfg, dir, case_id, number, JOB_LOG_FILE, link, sizeof link);
                if (asprintf(&text,
                             "hotkdump could not analyse case %s, dump %" PRId64 ".\n\nWhy:     %s\nLog:     %s\n%s%s",
                             case_id, number, error ? error : "unknown", link,
                             comment ? "\nWhat was found before it failed:\n\n" : "", comment ? comment : "") < 0)
                        text = NULL;
        } else {
                text = comment;
                comment = NULL;
        }
        free(comment);
        return text;
}

/* The webhook's body: summary.json, or for a job that failed before its report, the record. */
static char *webhook_body(const char *dir, json_object *rec, const char *kind) {
        char path[PATH_MAX], *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/summary.json", dir);
        if (read_file_max(path, 32u << 20, &text, &len) == 0)
                return text;
        if (strcmp(kind, "failed") != 0)
                return NULL;
        const char *s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        return s ? strdup(s) : NULL;
}

static void add_str(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* The comment's text and its parts at the configured length, into the entry. */
static int split_parts(const struct config *cfg, json_object *e, const char *text) {
        char **parts = NULL;
        size_t n = 0, max = config_u64(cfg, CONF_ATHENA_COMMENT_MAX);
        int r = athena_split(text, max, json_str(e, "key"), &parts, &n);
        if (r < 0)
                return r;
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *p = json_object_new_object();
                add_str(p, "text", parts[i]);
                json_object_array_add(a, p);
                free(parts[i]);
        }
        free(parts);
        if (!a)
                return -ENOMEM;
        add_str(e, "text", text);
        json_object_object_add(e, "max", json_object_new_int64((int64_t) max));
        json_object_object_add(e, "parts", a);
        return 0;
}

/* One entry of the outbox for one sink, with all it needs to be sent without the case folder. */
static json_object *make_entry(const struct config *cfg, const char *dir, json_object *rec, const char *kind,
                               const char *sink, const char *key, char *err, size_t err_size) {
        json_object *e = json_object_new_object(), *summary;
        if (!e)
                return NULL;
        add_str(e, "key", key);
        add_str(e, "sink", sink);
        add_str(e, "kind", kind);
        add_str(e, "case", job_record_string(rec, JOB_CASE));
        json_object_object_add(e, "number", json_object_new_int64(job_record_int(rec, JOB_NUMBER, 0)));
        add_str(e, "dir", dir);
        add_str(e, "job_id", job_record_string(rec, JOB_QUEUE_ID));
        add_str(e, "job_state", job_record_string(rec, JOB_STATE));
        add_str(e, "job_error", job_record_string(rec, JOB_ERROR));
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/summary.json", dir);
        json_object *sum = read_json(path);
        if (sum && json_object_object_get_ex(sum, "headline", &summary))
                add_str(e, "cause", json_str(summary, "cause"));
        json_object_put(sum);
        add_str(e, "state", "waiting");
        json_object_object_add(e, "created", json_object_new_int64((int64_t) time(NULL)));
        json_object_object_add(e, "attempts", json_object_new_int(0));
        json_object_object_add(e, "next_at", json_object_new_int64(0));

        if (!strcmp(sink, "athena")) {
                char *text = comment_text(cfg, dir, rec, kind);
                int r = text ? split_parts(cfg, e, text) : -ENOENT;
                free(text);
                if (r < 0) {
                        snprintf(err, err_size, "athena: no comment to post: %s",
                                 r == -ENOENT ? "comment.txt is missing" : strerror(-r));
                        json_object_put(e);
                        return NULL;
                }
        } else if (!strcmp(sink, "webhook")) {
                char *body = webhook_body(dir, rec, kind);
                if (!body) {
                        snprintf(err, err_size, "webhook: summary.json is missing");
                        json_object_put(e);
                        return NULL;
                }
                add_str(e, "body", body);
                free(body);
        }
        return e;
}

/* ---- enqueue ----------------------------------------------------------------------------------- */

static bool delivered(json_object *posted, const char *key, const char *sink) {
        json_object *v;
        char k[1024];
        snprintf(k, sizeof k, "%s %s", key, sink);
        return posted && json_object_object_get_ex(posted, k, &v);
}

/* Whether an entry has started to be sent: a part taken, or one whose fate is unknown. */
static bool started(json_object *e) {
        json_object *parts;
        if (json_int(e, "attempts", 0) > 0 && strcmp(json_str(e, "sink") ? json_str(e, "sink") : "", "athena") != 0)
                return true;
        if (!json_object_object_get_ex(e, "parts", &parts))
                return false;
        for (size_t i = 0; i < json_object_array_length(parts); i++) {
                json_object *p = json_object_array_get_idx(parts, i), *v;
                /* a part whose last try was refused with an answer made nothing (and any try
                 * before it was settled before it was made) */
                if (json_str(p, "sent") ||
                    (json_object_object_get_ex(p, "sending", &v) && json_object_get_boolean(v) && !json_int(p, "try_refused", 0)))
                        return true;
        }
        return false;
}

int outbox_enqueue(const struct config *cfg, const char *dir, const char *kind, char *err, size_t err_size) {
        char path[PATH_MAX], outdir[PATH_MAX], key[512];
        char **names = NULL, **scripts = NULL;
        size_t n_names = 0, n_scripts = 0;
        json_object *rec = NULL, *posted = NULL;
        int lock = -1, r = 0;

        if (!*config_string(cfg, CONF_POST_SINKS) || (!strcmp(kind, "early") && !config_bool(cfg, CONF_POST_EARLY)))
                return 0;
        if ((r = job_record_read(dir, &rec)) < 0) {
                snprintf(err, err_size, "cannot read '%s/%s': %s", dir, JOB_RECORD_FILE,
                         r == -EBADMSG ? "not a job record" : strerror(-r));
                goto out;
        }
        snprintf(key, sizeof key, "%s/%" PRId64 "/%s", job_record_string(rec, JOB_CASE),
                 job_record_int(rec, JOB_NUMBER, 0), kind);
        if (sink_on(cfg, "exec") && (r = scripts_list(config_string(cfg, CONF_HOOKS_DIR), &scripts, &n_scripts)) < 0) {
                snprintf(err, err_size, "cannot list the hook scripts in '%s': %s", config_string(cfg, CONF_HOOKS_DIR),
                         strerror(-r));
                goto out;
        }
        lock = lock_file(cfg, ".lock");
        if (lock < 0) {
                r = lock;
                snprintf(err, err_size, "cannot lock the outbox: %s", strerror(-r));
                goto out;
        }
        posted = job_path(dir, JOB_POSTED_FILE, path, sizeof path) == 0 ? read_json(path) : NULL;
        r = list_names(cfg, &names, &n_names);
        if (r < 0) {
                snprintf(err, err_size, "cannot list the outbox: %s", strerror(-r));
                goto out;
        }
        outbox_path(cfg, NULL, outdir, sizeof outdir);

        /* what the outbox holds for this job already */
        bool later_exists = false;
        json_object *held = json_object_new_object();
        if (!held) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_names; i++) {
                json_object *e = load_entry(cfg, names[i]);
                if (!e || !json_str(e, "dir") || strcmp(json_str(e, "dir"), dir) != 0) {
                        json_object_put(e);
                        continue;
                }
                const char *ek = json_str(e, "kind") ? json_str(e, "kind") : "";
                if (strcmp(ek, "early") != 0)
                        later_exists = true;
                if (strcmp(kind, "early") != 0 && !strcmp(ek, "early") && !started(e)) {
                        /* the full post says all the early one would have, and more */
                        char name[NAME_MAX + 1], p[PATH_MAX];
                        snprintf(name, sizeof name, "%s.json", names[i]);
                        outbox_path(cfg, name, p, sizeof p);
                        if (unlink(p) == 0)
                                job_log_dir(dir, "post: the early post to %s is dropped: the %s one is ready", json_str(e, "sink"),
                                            kind);
                } else {
                        char k[1024];
                        snprintf(k, sizeof k, "%s %s", json_str(e, "key"), json_str(e, "sink"));
                        json_object_object_add(held, k, json_object_new_boolean(1));
                }
                json_object_put(e);
        }
        if (posted) {
                json_object_object_foreach(posted, pk, pv) {
                        (void) pv;
                        later_exists |= strstr(pk, "/early ") == NULL;
                }
        }
        if (!strcmp(kind, "early") && later_exists) {
                json_object_put(held);
                goto out; /* a restarted job's first look, after its end was posted */
        }

        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned seq = 0;
        for (size_t s = 0; s < sizeof sink_names / sizeof sink_names[0] && r >= 0; s++) {
                if (!sink_on(cfg, sink_names[s]))
                        continue;
                size_t n = !strcmp(sink_names[s], "exec") ? n_scripts : 1;
                for (size_t i = 0; i < n && r >= 0; i++) {
                        char sink[NAME_MAX + 8], k[1024], name[64], why[512] = "";
                        if (!strcmp(sink_names[s], "exec"))
                                snprintf(sink, sizeof sink, "exec:%s", scripts[i]);
                        else
                                snprintf(sink, sizeof sink, "%s", sink_names[s]);
                        snprintf(k, sizeof k, "%s %s", key, sink);
                        json_object *v;
                        if (delivered(posted, key, sink) || json_object_object_get_ex(held, k, &v))
                                continue;
                        json_object *e = make_entry(cfg, dir, rec, kind, sink, key, why, sizeof why);
                        if (!e) {
                                job_log_dir(dir, "post: nothing to send to %s: %s", sink, why[0] ? why : "out of memory");
                                continue;
                        }
                        /* named by time, so that a listing is the order of posting */
                        snprintf(name, sizeof name, "%010lld%09ld-%d-%02u.json", (long long) ts.tv_sec, ts.tv_nsec,
                                 (int) getpid(), seq++);
                        r = json_write_atomic(outdir, name, e);
                        json_object_put(e);
                        if (r < 0)
                                snprintf(err, err_size, "cannot write the outbox: %s", strerror(-r));
                        else
                                job_log_dir(dir, "post: %s post to %s queued in the outbox (%.*s)", kind, sink,
                                            (int) (strlen(name) - 5), name);
                }
        }
        json_object_put(held);
out:
        unlock_file(lock);
        strv_free(names, n_names);
        strv_free(scripts, n_scripts);
        json_object_put(rec);
        json_object_put(posted);
        return r;
}

/* ---- delivery ------------------------------------------------------------------------------------ */

struct sender {
        const struct config *cfg;
        struct outbox_run *run;
        struct athena *athena;
        char athena_error[512]; /* why athena could not be set up */
        bool athena_tried;
        char **held;            /* "sink case" of posts that wait, so later ones of the same wait too */
        size_t n_held;
};

static void say(struct sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct sender *s, const char *fmt, ...) {
        char line[2048];
        va_list ap;
        if (!s->run->say)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        s->run->say(s->run->userdata, line);
}

static bool is_held(struct sender *s, const char *sink, const char *case_id) {
        for (size_t i = 0; i < s->n_held; i++) {
                size_t l = strlen(sink);
                if (!strncmp(s->held[i], sink, l) && s->held[i][l] == ' ' && !strcmp(s->held[i] + l + 1, case_id))
                        return true;
        }
        return false;
}

static void hold(struct sender *s, const char *sink, const char *case_id) {
        char **v = realloc(s->held, (s->n_held + 1) * sizeof *v);
        if (!v)
                return;
        s->held = v;
        if (asprintf(&v[s->n_held], "%s %s", sink, case_id) >= 0)
                s->n_held++;
}

/* Writes an entry back, unless it left the outbox meanwhile. */
static int save_entry(const struct config *cfg, const char *id, json_object *e) {
        char outdir[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX];
        int lock = lock_file(cfg, ".lock");
        if (lock < 0)
                return lock;
        outbox_path(cfg, NULL, outdir, sizeof outdir);
        snprintf(name, sizeof name, "%s.json", id);
        outbox_path(cfg, name, path, sizeof path);
        int r = access(path, F_OK) < 0 ? -ENOENT : json_write_atomic(outdir, name, e);
        unlock_file(lock);
        return r;
}

/* Delivered: recorded in the case folder, then out of the outbox. */
static int finish_entry(struct sender *s, const char *id, json_object *e, json_object *ids) {
        char outdir[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX], k[1024];
        const char *dir = json_str(e, "dir");
        int lock = lock_file(s->cfg, ".lock");
        if (lock < 0)
                return lock;
        json_object *posted = job_path(dir, JOB_POSTED_FILE, path, sizeof path) == 0 ? read_json(path) : NULL;
        if (!posted)
                posted = json_object_new_object();
        json_object *delivery = json_object_new_object();
        if (posted && delivery) {
                json_object_object_add(delivery, "at", json_object_new_int64((int64_t) time(NULL)));
                json_object_object_add(delivery, "ids", json_object_get(ids));
                snprintf(k, sizeof k, "%s %s", json_str(e, "key"), json_str(e, "sink"));
                json_object_object_add(posted, k, delivery);
                delivery = NULL;
        }
        /* Without the record a job run again would post again: the entry stays, delivered, until
         * the record is written. A case folder gone (purged, moved) needs none. */
        struct stat st;
        int w = posted && !delivery ? json_write_atomic(dir, JOB_POSTED_FILE, posted) : -ENOMEM;
        json_object_put(delivery);
        json_object_put(posted);
        if (w < 0 && stat(dir, &st) == 0) {
                unlock_file(lock);
                return w;
        }
        outbox_path(s->cfg, NULL, outdir, sizeof outdir);
        snprintf(name, sizeof name, "%s.json", id);
        outbox_path(s->cfg, name, path, sizeof path);
        int r = unlink(path) < 0 ? -errno : fsync_dir(outdir);
        unlock_file(lock);
        return r;
}

static enum sink_outcome send_athena(struct sender *s, const char *id, json_object *e, json_object *ids,
                                     struct sink_result *res) {
        if (!s->athena_tried) {
                s->athena_tried = true;
                if (athena_new(s->cfg, &s->athena, s->athena_error, sizeof s->athena_error) < 0 && !s->athena_error[0])
                        snprintf(s->athena_error, sizeof s->athena_error, "athena: out of memory");
        }
        if (!s->athena) {
                snprintf(res->error, sizeof res->error, "%s", s->athena_error);
                return res->outcome = SINK_REJECTED;
        }
        char parent[64], cid[64], mark[600];
        json_object *parts;
        /* athena.comment_max changed since (a comment refused as too long, and the limit
         * lowered): split again, unless a part went out already */
        if (json_int(e, "max", 0) != (int64_t) config_u64(s->cfg, CONF_ATHENA_COMMENT_MAX) && !started(e) && json_str(e, "text")) {
                char *text = strdup(json_str(e, "text"));
                int r = text ? split_parts(s->cfg, e, text) : -ENOMEM;
                free(text);
                if (r < 0) {
                        snprintf(res->error, sizeof res->error, "athena: cannot split the comment: %s", strerror(-r));
                        return res->outcome = SINK_REJECTED;
                }
        }
        if (athena_case_id(s->athena, json_str(e, "case"), parent, res) != SINK_SENT)
                return res->outcome;
        json_object_object_get_ex(e, "parts", &parts);
        size_t n = json_object_array_length(parts);
        for (size_t i = 0; i < n; i++) {
                json_object *p = json_object_array_get_idx(parts, i), *v;
                if (json_str(p, "sent")) {
                        json_object_array_add(ids, json_object_new_string(json_str(p, "sent")));
                        continue;
                }
                athena_mark(json_str(e, "key"), i + 1, mark, sizeof mark);
                if (json_object_object_get_ex(p, "sending", &v) && json_object_get_boolean(v) &&
                    !json_int(p, "try_refused", 0)) {
                        /* The last try may have made it: a second comment is worse than a look.
                         * But a look finds it only once the far side has finished with it: a
                         * request that timed out here may still be at work there. So the look
                         * waits until the try could not complete any more: from the try's end
                         * (or, when the sender died during it, its start plus athena.timeout),
                         * twice athena.timeout. A try refused with an answer (429, 5xx with a
                         * body) made nothing, and any try before it was settled first. */
                        int64_t timeout = (int64_t) config_u64(s->cfg, CONF_ATHENA_TIMEOUT);
                        int64_t end = json_int(p, "try_end", 0), start = json_int(p, "try_start", 0);
                        int64_t settled = (end ? end : start + timeout) + 2 * timeout, now = (int64_t) time(NULL);
                        if (now < settled) {
                                snprintf(res->error, sizeof res->error,
                                         "part %zu of %zu: the outcome of its last try is not known yet; it is looked for in %" PRId64 " s",
                                         i + 1, n, settled - now);
                                res->retry_after_s = (unsigned) (settled - now);
                                res->unclear = false; /* nothing was sent now: the wait is exact */
                                return res->outcome = SINK_RETRY;
                        }
                        int found = 0;
                        if (athena_find_comment(s->athena, parent, mark, cid, &found, res) != SINK_SENT)
                                return res->outcome;
                        if (found) {
                                json_object_object_add(p, "sent", json_object_new_string(cid));
                                json_object_object_add(p, "sending", NULL);
                                json_object_object_add(p, "try_start", NULL);
                                json_object_object_add(p, "try_end", NULL);
                                json_object_array_add(ids, json_object_new_string(cid));
                                say(s, "%s: part %zu of %zu was taken before (%s)", id, i + 1, n, cid);
                                if (save_entry(s->cfg, id, e) == -ENOENT)
                                        goto gone;
                                continue;
                        }
                }
                /* written down before it is sent: a crash in between shows as "sending", and
                 * the try's start says how long to wait before looking for it */
                json_object_object_add(p, "sending", json_object_new_boolean(1));
                json_object_object_add(p, "try_start", json_object_new_int64((int64_t) time(NULL)));
                json_object_object_add(p, "try_end", NULL);
                json_object_object_add(p, "try_refused", NULL);
                int r = save_entry(s->cfg, id, e);
                if (r == -ENOENT)
                        goto gone;
                if (r < 0) {
                        snprintf(res->error, sizeof res->error, "cannot update the outbox: %s", strerror(-r));
                        return res->outcome = SINK_RETRY;
                }
                if (athena_comment(s->athena, parent, json_str(p, "text"), cid, res) != SINK_SENT) {
                        /* the mark stays (saved by the caller): only a look after the wait, or
                         * a comment made, clears it */
                        json_object_object_add(p, "try_end", json_object_new_int64((int64_t) time(NULL)));
                        if (!res->unclear)
                                json_object_object_add(p, "try_refused", json_object_new_int(1));
                        return res->outcome;
                }
                json_object_object_add(p, "sent", json_object_new_string(cid));
                json_object_object_add(p, "sending", NULL);
                json_object_object_add(p, "try_start", NULL);
                json_object_array_add(ids, json_object_new_string(cid));
                if (save_entry(s->cfg, id, e) == -ENOENT)
                        goto gone;
        }
        return res->outcome = SINK_SENT;
gone:
        snprintf(res->error, sizeof res->error, "the post left the outbox while it was being sent");
        res->gone = true;
        return res->outcome = SINK_REJECTED;
}

static size_t set_env(char env[][PATH_MAX + 64], const char **envp, size_t n, const char *name, const char *value) {
        snprintf(env[n], sizeof env[n], "HOTKDUMP_%s=%s", name, value ? value : "");
        envp[n] = env[n];
        return n + 1;
}

static enum sink_outcome send_script(struct sender *s, json_object *e, struct sink_result *res) {
        char env[12][PATH_MAX + 64];
        const char *envp[13];
        const char *dir = json_str(e, "dir");
        size_t n = 0;
        char number[32], attempt[32], summary[PATH_MAX], comment[PATH_MAX];
        snprintf(number, sizeof number, "%" PRId64, json_int(e, "number", 0));
        snprintf(attempt, sizeof attempt, "%" PRId64, json_int(e, "attempts", 0) + 1);
        snprintf(summary, sizeof summary, "%s/summary.json", dir);
        snprintf(comment, sizeof comment, "%s/comment.txt", dir);
        n = set_env(env, envp, n, "EVENT", json_str(e, "kind"));
        n = set_env(env, envp, n, "JOB_ID", json_str(e, "job_id") ? json_str(e, "job_id") : json_str(e, "key"));
        n = set_env(env, envp, n, "CASE", json_str(e, "case"));
        n = set_env(env, envp, n, "DUMP", number);
        n = set_env(env, envp, n, "STATE", json_str(e, "job_state"));
        n = set_env(env, envp, n, "ERROR", json_str(e, "job_error"));
        n = set_env(env, envp, n, "CAUSE", json_str(e, "cause"));
        n = set_env(env, envp, n, "DIR", dir);
        n = set_env(env, envp, n, "SUMMARY", summary);
        n = set_env(env, envp, n, "COMMENT", comment);
        n = set_env(env, envp, n, "POST_ID", json_str(e, "key"));
        n = set_env(env, envp, n, "ATTEMPT", attempt);
        envp[n] = NULL;
        struct stat st;
        return scripts_run(s->cfg, json_str(e, "sink") + 5, envp, stat(dir, &st) == 0 ? dir : NULL, res);
}

static int64_t backoff(const struct config *cfg, int64_t attempts, unsigned retry_after) {
        int64_t lo = (int64_t) config_u64(cfg, CONF_POST_RETRY_MIN), hi = (int64_t) config_u64(cfg, CONF_POST_RETRY_MAX);
        if (hi < lo)
                hi = lo;
        int64_t d = lo;
        for (int64_t i = 1; i < attempts && d < hi; i++)
                d *= 2;
        if (d > hi)
                d = hi;
        /* jitter, so that posts that failed together do not come back together */
        d = d / 2 + (int64_t) arc4random_uniform((uint32_t) (d - d / 2 + 1));
        if (d < 1)
                d = 1;
        return d > (int64_t) retry_after ? d : (int64_t) retry_after;
}

static const char *or_unknown(const char *s) {
        return s ? s : "?";
}

static void describe(json_object *e, char *buf, size_t size) {
        snprintf(buf, size, "%s post to %s for case %s, dump %" PRId64, or_unknown(json_str(e, "kind")),
                 or_unknown(json_str(e, "sink")), or_unknown(json_str(e, "case")), json_int(e, "number", 0));
}

static bool matches(const char *only, const char *id, json_object *e) {
        if (!only)
                return true;
        char job[512];
        snprintf(job, sizeof job, "%s/%" PRId64, json_str(e, "case"), json_int(e, "number", 0));
        return !strcmp(only, id) || !strcmp(only, job);
}

static void deliver_one(struct sender *s, const char *id, json_object *e) {
        const struct config *cfg = s->cfg;
        const char *sink = json_str(e, "sink"), *case_id = json_str(e, "case"), *dir = json_str(e, "dir"), *state = json_str(e, "state");
        int64_t now = (int64_t) time(NULL);
        char what[1024];
        describe(e, what, sizeof what);

        if (!sink || !case_id || !dir || !state || !json_str(e, "key")) {
                say(s, "%s: not an outbox entry; left alone", id);
                return;
        }
        if (!matches(s->run->only, id, e))
                return;
        if (!strcmp(state, "delivered")) {
                json_object *ids;
                if (json_object_object_get_ex(e, "delivered_ids", &ids) && finish_entry(s, id, e, ids) == 0)
                        say(s, "%s: %s: the delivery is recorded now", id, what);
                else
                        s->run->waiting++;
                return;
        }
        if (is_held(s, sink, case_id)) {
                s->run->waiting++;
                return;
        }
        if (!strcmp(state, "failed") && !s->run->force) {
                s->run->failed++;
                return;
        }
        if (!s->run->force && json_int(e, "next_at", 0) > now) {
                s->run->waiting++;
                hold(s, sink, case_id);
                return;
        }
        /* given up only after it was tried: not for a daemon that was down, nor for a post held
         * behind another */
        int64_t first = json_int(e, "first_try", 0);
        if (!s->run->force && json_int(e, "attempts", 0) > 0 && first && now - first > (int64_t) config_u64(cfg, CONF_POST_GIVE_UP)) {
                char why[1024];
                snprintf(why, sizeof why, "given up after %" PRId64 " tries over %" PRId64 " s (post.give_up): %s",
                         json_int(e, "attempts", 0), now - first, json_str(e, "last_error") ? json_str(e, "last_error") : "no error recorded");
                add_str(e, "state", "failed");
                add_str(e, "last_error", why);
                save_entry(cfg, id, e);
                job_log_dir(dir, "post: %s: %s", what, why);
                say(s, "%s: %s: %s", id, what, why);
                s->run->failed++;
                return;
        }

        /* with several hosts, one sends it */
        char claim_key[640];
        snprintf(claim_key, sizeof claim_key, "%s %s %s", or_unknown(json_str(e, "job_id")), or_unknown(json_str(e, "kind")), sink);
        if (s->run->claim) {
                char by[128] = "";
                enum outbox_claim cl = s->run->claim(s->run->userdata, claim_key, false, by, sizeof by);
                if (cl == OUTBOX_CLAIM_SENT) {
                        char note[192];
                        json_object *ids = json_object_new_array();
                        snprintf(note, sizeof note, "sent by host %s", by);
                        json_object_array_add(ids, json_object_new_string(note));
                        if (finish_entry(s, id, e, ids) == 0) {
                                job_log_dir(dir, "post: %s: %s", what, note);
                                say(s, "%s: %s: %s", id, what, note);
                        } else
                                s->run->waiting++;
                        json_object_put(ids);
                        return;
                }
                if (cl != OUTBOX_CLAIM_MINE) {
                        json_object_object_add(e, "next_at", json_object_new_int64(now + (int64_t) config_u64(cfg, CONF_POST_RETRY_MIN)));
                        save_entry(cfg, id, e);
                        say(s, "%s: %s: host %s sends it now (or the shared queue is not reached); looked at again later", id,
                            what, by[0] ? by : "?");
                        hold(s, sink, case_id);
                        s->run->waiting++;
                        return;
                }
        }

        struct sink_result res = { .outcome = SINK_RETRY };
        json_object *ids = json_object_new_array();
        if (!ids)
                return;
        if (!strcmp(sink, "athena"))
                send_athena(s, id, e, ids, &res);
        else if (!strcmp(sink, "webhook")) {
                const char *body = json_str(e, "body");
                webhook_post(cfg, json_str(e, "kind"), json_str(e, "key"), body ? body : "", body ? strlen(body) : 0, &res);
        } else if (!strncmp(sink, "exec:", 5))
                send_script(s, e, &res);
        else {
                snprintf(res.error, sizeof res.error, "unknown sink '%s'", sink);
                res.outcome = SINK_REJECTED;
        }
        int64_t attempts = json_int(e, "attempts", 0) + 1;
        if (!json_int(e, "first_try", 0))
                json_object_object_add(e, "first_try", json_object_new_int64(now));
        json_object_object_add(e, "attempts", json_object_new_int64(attempts));
        json_object_object_add(e, "last_try", json_object_new_int64(now));

        if (res.outcome == SINK_SENT) {
                char by[128];
                if (s->run->claim)
                        (void) s->run->claim(s->run->userdata, claim_key, true, by, sizeof by);
                json_object_object_add(e, "delivered_ids", json_object_get(ids));
                int r = finish_entry(s, id, e, ids);
                if (r < 0) {
                        add_str(e, "state", "delivered");
                        snprintf(res.error, sizeof res.error, "delivered, but the record in %s/posted.json cannot be written: %s",
                                 dir, strerror(-r));
                        add_str(e, "last_error", res.error);
                        save_entry(cfg, id, e);
                }
                char list[512] = "";
                for (size_t i = 0; i < json_object_array_length(ids); i++)
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : " (",
                                 json_object_get_string(json_object_array_get_idx(ids, i)));
                if (list[0])
                        snprintf(list + strlen(list), sizeof list - strlen(list), ")");
                job_log_dir(dir, "post: %s delivered%s", what, list);
                say(s, "%s: %s delivered%s%s", id, what, list, r < 0 ? "; it stays in the outbox until its record is written" : "");
                s->run->delivered++;
        } else if (res.outcome == SINK_RETRY) {
                int64_t wait = backoff(cfg, attempts, res.retry_after_s);
                now = (int64_t) time(NULL); /* the wait counts from the try's end, not its start */
                /* taken or not is unknown: the far side gets the time to finish what it may still
                 * be doing before the next try looks for it */
                int64_t settle = 2 * (int64_t) config_u64(cfg, !strcmp(sink, "webhook") ? CONF_WEBHOOK_TIMEOUT
                                                                                         : CONF_ATHENA_TIMEOUT);
                if (res.unclear && wait < settle)
                        wait = settle;
                json_object_object_add(e, "next_at", json_object_new_int64(now + wait));
                add_str(e, "last_error", res.error);
                add_str(e, "state", "waiting");
                save_entry(cfg, id, e);
                job_log_dir(dir, "post: %s not delivered (try %" PRId64 "): %s; next try in %" PRId64 " s", what, attempts,
                            res.error, wait);
                say(s, "%s: %s not delivered (try %" PRId64 "): %s; next try in %" PRId64 " s", id, what, attempts,
                    res.error, wait);
                hold(s, sink, case_id);
                s->run->retrying++;
        } else if (res.gone) {
                say(s, "%s: %s: %s", id, what, res.error);
        } else {
                add_str(e, "state", "failed");
                add_str(e, "last_error", res.error);
                save_entry(cfg, id, e);
                job_log_dir(dir, "post: %s refused, not tried again: %s (hotkdump outbox retry %s sends it again)", what,
                            res.error, id);
                say(s, "%s: %s refused, not tried again: %s", id, what, res.error);
                s->run->failed++;
        }
        json_object_put(ids);
}

int outbox_deliver(const struct config *cfg, struct outbox_run *run) {
        struct sender s = { .cfg = cfg, .run = run };
        char **names = NULL;
        size_t n = 0;
        run->delivered = run->retrying = run->failed = run->waiting = 0;
        int lock = lock_file(cfg, ".send");
        if (lock < 0)
                return lock;
        /* a peer that resets a connection is the call's error, not the end of the process */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
        sigaction(SIGPIPE, &ign, &old_pipe);
        int r = list_names(cfg, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *e = load_entry(cfg, names[i]);
                if (e)
                        deliver_one(&s, names[i], e);
                json_object_put(e);
        }
        athena_free(s.athena);
        strv_free(s.held, s.n_held);
        strv_free(names, n);
        sigaction(SIGPIPE, &old_pipe, NULL);
        unlock_file(lock);
        return r;
}

int outbox_list(const struct config *cfg, json_object **ret) {
        char **names = NULL;
        size_t n = 0;
        int r = list_names(cfg, &names, &n);
        if (r < 0)
                return r;
        json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++) {
                json_object *e = load_entry(cfg, names[i]), *parts, *o = json_object_new_object();
                if (!e || !o) {
                        json_object_put(e);
                        json_object_put(o);
                        continue;
                }
                add_str(o, "id", names[i]);
                static const char *const keep[] = { "key", "sink", "kind", "case", "number", "dir", "job_id", "state",
                                                    "attempts", "created", "last_try", "next_at", "last_error" };
                for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
                        json_object *v;
                        if (json_object_object_get_ex(e, keep[k], &v))
                                json_object_object_add(o, keep[k], json_object_get(v));
                }
                if (json_object_object_get_ex(e, "parts", &parts)) {
                        size_t sent = 0, total = json_object_array_length(parts);
                        for (size_t p = 0; p < total; p++)
                                sent += json_str(json_object_array_get_idx(parts, p), "sent") != NULL;
                        json_object_object_add(o, "parts", json_object_new_int64((int64_t) total));
                        json_object_object_add(o, "parts_sent", json_object_new_int64((int64_t) sent));
                }
                json_object_array_add(a, o);
                json_object_put(e);
        }
        strv_free(names, n);
        if (!a)
                return -ENOMEM;
        *ret = a;
        return 0;
}

int outbox_due(const struct config *cfg, int64_t *ret_next, unsigned *ret_count) {
        char **names = NULL;
        size_t n = 0;
        int64_t next = 0;
        int r = list_names(cfg, &names, &n);
        if (r < 0)
                return r;
        /* a post held behind an earlier one of its case and sink is due when that one is */
        struct sender heads = { .cfg = cfg };
        for (size_t i = 0; i < n; i++) {
                json_object *e = load_entry(cfg, names[i]);
                const char *state = json_str(e, "state"), *sink = json_str(e, "sink"), *case_id = json_str(e, "case");
                if (state && sink && case_id && strcmp(state, "failed") != 0 && !is_held(&heads, sink, case_id)) {
                        hold(&heads, sink, case_id);
                        int64_t at = json_int(e, "next_at", 0);
                        if (at < 1)
                                at = 1;
                        if (!next || at < next)
                                next = at;
                }
                json_object_put(e);
        }
        strv_free(heads.held, heads.n_held);
        strv_free(names, n);
        *ret_next = next;
        *ret_count = (unsigned) n;
        return 0;
}
