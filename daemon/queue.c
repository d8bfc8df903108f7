/* The local job queue: one JSON file per job in <root>/queue/, replaced atomically on every
 * change (tmp + fsync + rename + fsync of the folder), so a kill -9 at any moment loses nothing. */

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/fileio.h"
#include "daemon/queue.h"

static const char *const state_names[_QUEUE_STATE_MAX] = {
        [QUEUE_QUEUED] = "queued",       [QUEUE_RUNNING] = "running", [QUEUE_DONE] = "done",
        [QUEUE_INCOMPLETE] = "incomplete", [QUEUE_FAILED] = "failed",   [QUEUE_CANCELLED] = "cancelled",
};

/* Two chained hash indexes over the entries: by id, and by upload (case + file name). */
#define NO_ENTRY SIZE_MAX

struct slot {
        struct queue_entry e;
        size_t next_id, next_upload;
};

struct queue {
        char *dir;
        struct slot *v;
        size_t n, cap;
        size_t *by_id, *by_upload; /* bucket heads, nbuckets each */
        size_t nbuckets;
        const struct queue_entry **list; /* what queue_entries() hands out */
        size_t first_queued;             /* no queued entry sits below this index */
};

const char *queue_state_to_string(enum queue_state s) {
        return s < _QUEUE_STATE_MAX ? state_names[s] : "unknown";
}

int queue_state_from_string(const char *s) {
        for (int i = 0; i < _QUEUE_STATE_MAX; i++)
                if (!strcmp(s, state_names[i]))
                        return i;
        return -EINVAL;
}

bool queue_state_final(enum queue_state s) {
        return s == QUEUE_DONE || s == QUEUE_INCOMPLETE || s == QUEUE_FAILED || s == QUEUE_CANCELLED;
}

static int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t hash_str(const char *a, const char *b) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (const char *p = a; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; /* a separator no name holds */
        for (const char *p = b ? b : ""; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        return (size_t) h;
}

static void entry_clear(struct queue_entry *e) {
        free(e->case_id);
        free(e->source);
        free(e->filename);
        free(e->sha256);
        free(e->trigger);
        free(e->dir);
        free(e->error);
        memset(e, 0, sizeof *e);
}

static void index_slot(struct queue *q, size_t i) {
        size_t hi = hash_str(q->v[i].e.id, NULL) % q->nbuckets;
        size_t hu = hash_str(q->v[i].e.case_id, q->v[i].e.filename) % q->nbuckets;
        q->v[i].next_id = q->by_id[hi];
        q->by_id[hi] = i;
        q->v[i].next_upload = q->by_upload[hu];
        q->by_upload[hu] = i;
}

/* Keeps about one entry per bucket, so lookups stay O(1) however long the queue grows. */
static int grow(struct queue *q) {
        if (q->n < q->cap)
                return 0;
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct slot *v = realloc(q->v, cap * sizeof *v);
        if (!v)
                return -ENOMEM;
        q->v = v;
        const struct queue_entry **list = realloc(q->list, cap * sizeof *list);
        if (!list)
                return -ENOMEM;
        q->list = list;
        size_t *bi = malloc(cap * sizeof *bi), *bu = malloc(cap * sizeof *bu);
        if (!bi || !bu) {
                free(bi);
                free(bu);
                return -ENOMEM;
        }
        free(q->by_id);
        free(q->by_upload);
        q->by_id = bi;
        q->by_upload = bu;
        q->nbuckets = cap;
        q->cap = cap;
        for (size_t i = 0; i < cap; i++)
                bi[i] = bu[i] = NO_ENTRY;
        for (size_t i = 0; i < q->n; i++)
                index_slot(q, i);
        return 0;
}

static json_object *entry_to_json(const struct queue_entry *e) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string(e->id));
        json_object_object_add(o, "case", json_object_new_string(e->case_id));
        json_object_object_add(o, "source", json_object_new_string(e->source));
        json_object_object_add(o, "filename", json_object_new_string(e->filename));
        json_object_object_add(o, "size", json_object_new_int64((int64_t) e->size));
        json_object_object_add(o, "sha256", e->sha256 ? json_object_new_string(e->sha256) : NULL);
        json_object_object_add(o, "trigger", json_object_new_string(e->trigger));
        json_object_object_add(o, "state", json_object_new_string(state_names[e->state]));
        json_object_object_add(o, "dir", e->dir ? json_object_new_string(e->dir) : NULL);
        json_object_object_add(o, "error", e->error ? json_object_new_string(e->error) : NULL);
        json_object_object_add(o, "error_class", json_object_new_int(e->error_class));
        json_object_object_add(o, "created_us", json_object_new_int64(e->created_us));
        json_object_object_add(o, "started_us", json_object_new_int64(e->started_us));
        json_object_object_add(o, "finished_us", json_object_new_int64(e->finished_us));
        json_object_object_add(o, "attempts", json_object_new_int((int) e->attempts));
        json_object_object_add(o, "run", json_object_new_int((int) e->run));
        return o;
}

static int save_as(struct queue *q, const struct queue_entry *e, bool durable) {
        char name[128];
        json_object *o = entry_to_json(e);
        if (!o)
                return -ENOMEM;
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        snprintf(name, sizeof name, "%s.json", e->id);
        int r = text ? write_file_replace(q->dir, name, text, strlen(text), durable) : -ENOMEM;
        json_object_put(o);
        return r;
}

/* A change to a job already queued: atomic, but not fsync'd. It survives a kill -9 (the page
 * cache does); after a power failure the case folder tells the same: a job found done there is
 * not run again, and a folder made for a job is found by its id. */
static int save(struct queue *q, const struct queue_entry *e) {
        return save_as(q, e, false);
}

static int dup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int entry_from_json(json_object *o, struct queue_entry *e) {
        const char *id = json_str(o, "id"), *state = json_str(o, "state");
        int s = state ? queue_state_from_string(state) : -EINVAL;
        memset(e, 0, sizeof *e);
        if (!id || strlen(id) >= sizeof e->id || s < 0 || !json_str(o, "case") || !json_str(o, "source") || !json_str(o, "filename"))
                return -EBADMSG;
        snprintf(e->id, sizeof e->id, "%s", id);
        e->state = (enum queue_state) s;
        e->size = (uint64_t) json_int(o, "size", 0);
        e->error_class = (int) json_int(o, "error_class", 0);
        e->created_us = json_int(o, "created_us", 0);
        e->started_us = json_int(o, "started_us", 0);
        e->finished_us = json_int(o, "finished_us", 0);
        e->attempts = (unsigned) json_int(o, "attempts", 0);
        e->run = (unsigned) json_int(o, "run", 0);
        if (dup_or_null(json_str(o, "case"), &e->case_id) < 0 || dup_or_null(json_str(o, "source"), &e->source) < 0 ||
            dup_or_null(json_str(o, "filename"), &e->filename) < 0 || dup_or_null(json_str(o, "sha256"), &e->sha256) < 0 ||
            dup_or_null(json_str(o, "trigger") ? json_str(o, "trigger") : "unknown", &e->trigger) < 0 ||
            dup_or_null(json_str(o, "dir"), &e->dir) < 0 || dup_or_null(json_str(o, "error"), &e->error) < 0) {
                entry_clear(e);
                return -ENOMEM;
        }
        return 0;
}

static int cmp_slot(const void *a, const void *b) {
        const struct queue_entry *x = &((const struct slot *) a)->e, *y = &((const struct slot *) b)->e;
        if (x->created_us != y->created_us)
                return x->created_us < y->created_us ? -1 : 1;
        return strcmp(x->id, y->id);
}

static int load(struct queue *q, char *err, size_t err_size) {
        DIR *d = opendir(q->dir);
        int r = 0;
        if (!d)
                return -errno;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                char path[PATH_MAX], *text = NULL;
                size_t tlen;
                snprintf(path, sizeof path, "%s/%s", q->dir, de->d_name);
                r = read_file_max(path, 1u << 20, &text, &tlen);
                if (r == -ENOMEM)
                        break;
                json_object *o = r == 0 ? json_tokener_parse(text) : NULL;
                free(text);
                r = grow(q);
                if (r < 0) {
                        json_object_put(o);
                        break;
                }
                int p = o ? entry_from_json(o, &q->v[q->n].e) : -EBADMSG;
                json_object_put(o);
                if (p == -ENOMEM) {
                        r = p;
                        break;
                }
                if (p < 0) {
                        char bad[PATH_MAX + 8];
                        snprintf(bad, sizeof bad, "%s.bad", path);
                        (void) rename(path, bad); /* left in place, it is refused again at the next load */
                        size_t o2 = strlen(err);
                        snprintf(err + o2, err_size - o2, "%s'%s' is not a queue entry: moved to '%s'", o2 ? "; " : "",
                                 path, bad);
                        r = 0;
                        continue;
                }
                q->n++;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (q->n > 1)
                qsort(q->v, q->n, sizeof *q->v, cmp_slot);
        for (size_t i = 0; i < q->nbuckets; i++)
                q->by_id[i] = q->by_upload[i] = NO_ENTRY;
        for (size_t i = 0; i < q->n; i++)
                index_slot(q, i);
        /* a job running when the daemon died goes on where its case folder says it stopped */
        for (size_t i = 0; i < q->n; i++)
                if (q->v[i].e.state == QUEUE_RUNNING) {
                        q->v[i].e.state = QUEUE_QUEUED;
                        r = save(q, &q->v[i].e);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int queue_open(const char *dir, struct queue **ret, char *err, size_t err_size) {
        struct queue *q = calloc(1, sizeof *q);
        int r;
        if (err_size)
                err[0] = 0;
        if (!q)
                return -ENOMEM;
        q->dir = strdup(dir);
        r = q->dir ? mkdir_parents(dir) : -ENOMEM;
        if (r == 0)
                r = grow(q);
        if (r == 0)
                r = load(q, err, err_size);
        if (r < 0) {
                queue_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

struct queue *queue_free(struct queue *q) {
        if (!q)
                return NULL;
        for (size_t i = 0; i < q->n; i++)
                entry_clear(&q->v[i].e);
        free(q->v);
        free(q->list);
        free(q->by_id);
        free(q->by_upload);
        free(q->dir);
        free(q);
        return NULL;
}

static struct slot *find(const struct queue *q, const char *id) {
        for (size_t i = q->by_id[hash_str(id, NULL) % q->nbuckets]; i != NO_ENTRY; i = q->v[i].next_id)
                if (!strcmp(q->v[i].e.id, id))
                        return &q->v[i];
        return NULL;
}

const struct queue_entry *queue_get(const struct queue *q, const char *id) {
        struct slot *s = find(q, id);
        return s ? &s->e : NULL;
}

/* The last part of a path or of a URL's path (without its query) into buf. */
static void base_name(const char *source, char *buf, size_t size) {
        const char *end = source + strcspn(source, "?#");
        const char *p = end;
        while (p > source && p[-1] != '/')
                p--;
        size_t n = (size_t) (end - p);
        if (n == 0 || n >= size)
                snprintf(buf, size, "upload");
        else
                snprintf(buf, size, "%.*s", (int) n, p);
}

/* The same upload: known sizes and checksums must agree, unknown ones do not count. */
static bool same_upload(const struct queue_entry *e, const struct queue_request *req, const char *filename) {
        if (strcmp(e->case_id, req->case_id) != 0 || strcmp(e->filename, filename) != 0)
                return false;
        if (e->size && req->size && e->size != req->size)
                return false;
        if (e->sha256 && req->sha256 && strcasecmp(e->sha256, req->sha256) != 0)
                return false;
        return true;
}

int queue_put(struct queue *q, const struct queue_request *req, const struct queue_entry **ret, bool *ret_duplicate) {
        char name[256];
        int r;

        if (req->filename && *req->filename)
                snprintf(name, sizeof name, "%s", req->filename);
        else
                base_name(req->source, name, sizeof name);
        for (size_t i = q->by_upload[hash_str(req->case_id, name) % q->nbuckets]; i != NO_ENTRY; i = q->v[i].next_upload)
                if (same_upload(&q->v[i].e, req, name)) {
                        *ret = &q->v[i].e;
                        *ret_duplicate = true;
                        return 0;
                }
        r = grow(q);
        if (r < 0)
                return r;
        struct queue_entry *e = &q->v[q->n].e;
        memset(e, 0, sizeof *e);
        do {
                uint32_t rnd;
                if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                        return -errno;
                snprintf(e->id, sizeof e->id, "%.64s-%08x", req->case_id, rnd);
        } while (find(q, e->id));
        e->state = QUEUE_QUEUED;
        e->size = req->size;
        e->created_us = now_us();
        if (dup_or_null(req->case_id, &e->case_id) < 0 || dup_or_null(req->source, &e->source) < 0 ||
            dup_or_null(name, &e->filename) < 0 || dup_or_null(req->sha256, &e->sha256) < 0 ||
            dup_or_null(req->trigger ? req->trigger : "unknown", &e->trigger) < 0) {
                entry_clear(e);
                return -ENOMEM;
        }
        r = save_as(q, e, !req->rebuildable);
        if (r < 0) {
                entry_clear(e);
                return r;
        }
        index_slot(q, q->n);
        q->n++;
        *ret = e;
        *ret_duplicate = false;
        return 0;
}

int queue_claim(struct queue *q, const struct queue_entry **ret) {
        for (size_t i = q->first_queued; i < q->n; i++) {
                struct queue_entry *e = &q->v[i].e;
                if (e->state != QUEUE_QUEUED)
                        continue;
                q->first_queued = i;
                e->state = QUEUE_RUNNING;
                e->attempts++;
                e->started_us = now_us();
                int r = save(q, e);
                if (r < 0) {
                        e->state = QUEUE_QUEUED;
                        e->attempts--;
                        return r;
                }
                *ret = e;
                return 1;
        }
        q->first_queued = q->n;
        *ret = NULL;
        return 0;
}

void queue_run_id(const struct queue_entry *e, char *buf, size_t size) {
        snprintf(buf, size, "%s#%u", e->id, e->run);
}

int queue_set_dir(struct queue *q, const char *id, const char *dir) {
        struct slot *s = find(q, id);
        if (!s)
                return -ENOENT;
        char *d = strdup(dir);
        if (!d)
                return -ENOMEM;
        free(s->e.dir);
        s->e.dir = d;
        return save(q, &s->e);
}

int queue_ack(struct queue *q, const char *id, enum queue_state state, const char *error, int error_class) {
        struct slot *s = find(q, id);
        char *e = NULL;
        if (!s)
                return -ENOENT;
        if (!queue_state_final(state))
                return -EINVAL;
        if (dup_or_null(error, &e) < 0)
                return -ENOMEM;
        free(s->e.error);
        s->e.error = e;
        s->e.error_class = error_class;
        s->e.state = state;
        s->e.finished_us = now_us();
        return save(q, &s->e);
}

int queue_requeue(struct queue *q, const char *id, enum queue_requeue_how how) {
        struct slot *s = find(q, id);
        if (!s)
                return -ENOENT;
        if (how == QUEUE_REQUEUE_NEW_RUN) {
                free(s->e.dir);
                s->e.dir = NULL;
                s->e.attempts = 0;
                s->e.run++;
        } else if (how == QUEUE_REQUEUE_UNCOUNTED && s->e.attempts > 0)
                s->e.attempts--;
        s->e.state = QUEUE_QUEUED;
        s->e.finished_us = 0;
        free(s->e.error);
        s->e.error = NULL;
        s->e.error_class = 0;
        size_t i = (size_t) (s - q->v);
        if (i < q->first_queued)
                q->first_queued = i;
        return save(q, &s->e);
}

const struct queue_entry *const *queue_entries(const struct queue *q, size_t *ret_n) {
        for (size_t i = 0; i < q->n; i++)
                q->list[i] = &q->v[i].e;
        *ret_n = q->n;
        return q->list;
}

size_t queue_count(const struct queue *q, enum queue_state s) {
        size_t n = 0;
        for (size_t i = 0; i < q->n; i++)
                n += q->v[i].e.state == s;
        return n;
}
