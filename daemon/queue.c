/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The local job queue: one JSON file per job in <root>/queue/, replaced atomically on every
 * change (tmp + fsync + rename + fsync of the folder), so a kill -9 at any moment loses nothing. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/capbuf.h"
#include "common/json.h"
#include "common/fileio.h"
#include "daemon/queue.h"

static const char *const state_names[_QUEUE_STATE_MAX] = {
        [QUEUE_QUEUED] = "queued",       [QUEUE_RUNNING] = "running", [QUEUE_DONE] = "done",
        [QUEUE_INCOMPLETE] = "incomplete", [QUEUE_FAILED] = "failed",   [QUEUE_CANCELLED] = "cancelled",
};

/* Two chained hash indexes over a table of entries: by id, and by upload (case + file name). */
#define NO_ENTRY SIZE_MAX

struct slot {
        struct queue_entry e;
        size_t next_id, next_upload;
};

struct table {
        struct slot *v;
        size_t n, cap;
        size_t *by_id, *by_upload; /* bucket heads, nbuckets each */
        size_t nbuckets;
};

/* The jobs, one file each, and the uploads known from jobs pruned with their case folders: one
 * line each in KNOWN_FILE, read for queue_put()'s de-duplication only. */
#define KNOWN_FILE "known-uploads"

struct queue {
        char *dir;
        struct table t, known;
        const struct queue_entry **list; /* what queue_entries() hands out */
        size_t list_cap;
        size_t first_queued; /* no queued entry sits below this index */
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

static void index_slot(struct table *t, size_t i) {
        size_t hi = hash_str(t->v[i].e.id, NULL) % t->nbuckets;
        size_t hu = hash_str(t->v[i].e.case_id, t->v[i].e.filename) % t->nbuckets;
        t->v[i].next_id = t->by_id[hi];
        t->by_id[hi] = i;
        t->v[i].next_upload = t->by_upload[hu];
        t->by_upload[hu] = i;
}

static void reindex(struct table *t) {
        for (size_t i = 0; i < t->nbuckets; i++)
                t->by_id[i] = t->by_upload[i] = NO_ENTRY;
        for (size_t i = 0; i < t->n; i++)
                index_slot(t, i);
}

/* Room for one more entry. Keeps about one entry per bucket, so lookups stay O(1) however long
 * the table grows. */
static int grow(struct table *t) {
        if (t->n < t->cap)
                return 0;
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct slot *v = realloc(t->v, cap * sizeof *v);
        if (!v)
                return -ENOMEM;
        t->v = v;
        size_t *bi = malloc(cap * sizeof *bi), *bu = malloc(cap * sizeof *bu);
        if (!bi || !bu) {
                free(bi);
                free(bu);
                return -ENOMEM;
        }
        free(t->by_id);
        free(t->by_upload);
        t->by_id = bi;
        t->by_upload = bu;
        t->nbuckets = cap;
        t->cap = cap;
        reindex(t);
        return 0;
}

static void table_clear(struct table *t) {
        for (size_t i = 0; i < t->n; i++)
                entry_clear(&t->v[i].e);
        free(t->v);
        free(t->by_id);
        free(t->by_upload);
        memset(t, 0, sizeof *t);
}

/* Room for one more job, in the table and in what queue_entries() hands out. */
static int grow_jobs(struct queue *q) {
        int r = grow(&q->t);
        if (r < 0 || q->list_cap >= q->t.cap)
                return r;
        const struct queue_entry **list = realloc(q->list, q->t.cap * sizeof *list);
        if (!list)
                return -ENOMEM;
        q->list = list;
        q->list_cap = q->t.cap;
        return 0;
}

/* What names a job and its upload: an entry's fields and a known upload's line share them. */
static json_object *upload_json(const struct queue_entry *e) {
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
        return o;
}

static json_object *entry_to_json(const struct queue_entry *e) {
        json_object *o = upload_json(e);
        if (!o)
                return NULL;
        json_object_object_add(o, "dir", e->dir ? json_object_new_string(e->dir) : NULL);
        json_object_object_add(o, "error", e->error ? json_object_new_string(e->error) : NULL);
        json_object_object_add(o, "error_class", json_object_new_int(e->error_class));
        json_object_object_add(o, "created_us", json_object_new_int64(e->created_us));
        json_object_object_add(o, "started_us", json_object_new_int64(e->started_us));
        json_object_object_add(o, "finished_us", json_object_new_int64(e->finished_us));
        json_object_object_add(o, "attempts", json_object_new_int((int) e->attempts));
        json_object_object_add(o, "run", json_object_new_int((int) e->run));
        if (e->remote)
                json_object_object_add(o, "remote", json_object_new_boolean(true));
        if (e->peer_source)
                json_object_object_add(o, "peer_source", json_object_new_boolean(true));
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
        {
                json_object *v = json_get(o, "remote");
                e->remote = v && json_object_get_boolean(v);
                v = json_get(o, "peer_source");
                e->peer_source = v && json_object_get_boolean(v);
        }
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
                r = grow_jobs(q);
                if (r < 0) {
                        json_object_put(o);
                        break;
                }
                int p = o ? entry_from_json(o, &q->t.v[q->t.n].e) : -EBADMSG;
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
                q->t.n++;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (q->t.n > 1)
                qsort(q->t.v, q->t.n, sizeof *q->t.v, cmp_slot);
        reindex(&q->t);
        /* a job running when the daemon died goes on where its case folder says it stopped */
        for (size_t i = 0; i < q->t.n; i++)
                if (q->t.v[i].e.state == QUEUE_RUNNING) {
                        q->t.v[i].e.state = QUEUE_QUEUED;
                        r = save(q, &q->t.v[i].e);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int load_known(struct queue *q, char *err, size_t err_size);

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
                r = grow_jobs(q);
        if (r == 0)
                r = grow(&q->known);
        if (r == 0)
                r = load(q, err, err_size);
        if (r == 0)
                r = load_known(q, err, err_size);
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
        table_clear(&q->t);
        table_clear(&q->known);
        free(q->list);
        free(q->dir);
        free(q);
        return NULL;
}

static struct slot *find(const struct queue *q, const char *id) {
        for (size_t i = q->t.by_id[hash_str(id, NULL) % q->t.nbuckets]; i != NO_ENTRY; i = q->t.v[i].next_id)
                if (!strcmp(q->t.v[i].e.id, id))
                        return &q->t.v[i];
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
        if (req->id) {
                if (!*req->id || strlen(req->id) >= sizeof ((struct queue_entry *) NULL)->id)
                        return -EINVAL;
                struct slot *s = find(q, req->id);
                if (s) {
                        *ret = &s->e;
                        *ret_duplicate = true;
                        return 0;
                }
                goto add;
        }
        for (size_t i = q->t.by_upload[hash_str(req->case_id, name) % q->t.nbuckets]; i != NO_ENTRY; i = q->t.v[i].next_upload)
                if (same_upload(&q->t.v[i].e, req, name)) {
                        *ret = &q->t.v[i].e;
                        *ret_duplicate = true;
                        return 0;
                }
        for (size_t i = q->known.by_upload[hash_str(req->case_id, name) % q->known.nbuckets]; i != NO_ENTRY;
             i = q->known.v[i].next_upload)
                if (same_upload(&q->known.v[i].e, req, name)) {
                        *ret = &q->known.v[i].e;
                        *ret_duplicate = true;
                        return 0;
                }
add:
        r = grow_jobs(q);
        if (r < 0)
                return r;
        struct queue_entry *e = &q->t.v[q->t.n].e;
        memset(e, 0, sizeof *e);
        if (req->id) {
                snprintf(e->id, sizeof e->id, "%s", req->id);
                e->remote = true;
                e->peer_source = req->peer_source;
        } else
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
        index_slot(&q->t, q->t.n);
        q->t.n++;
        *ret = e;
        *ret_duplicate = false;
        return 0;
}

/* ---- the uploads of pruned jobs -------------------------------------------------------------- */

/* Appends a pruned job's line to b: what de-duplication compares, and what a duplicate's
 * answer says. */
static int known_line(struct capbuf *b, const struct queue_entry *e) {
        json_object *o = upload_json(e);
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "finished_us", json_object_new_int64(e->finished_us));
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = text ? capbuf_add(b, text, strlen(text)) : -ENOMEM;
        if (r == 0)
                r = capbuf_add(b, "\n", 1);
        json_object_put(o);
        return r;
}

static int known_add(struct queue *q, struct queue_entry *moved) {
        int r = grow(&q->known);
        if (r < 0)
                return r;
        moved->pruned = true;
        q->known.v[q->known.n].e = *moved;
        index_slot(&q->known, q->known.n);
        q->known.n++;
        return 0;
}

/* Appends text to KNOWN_FILE and fsyncs it (and the folder when the file is new). A write that
 * fails (a full disk) is cut back off, so that no half line is left for the next append to
 * join. */
static int known_append(struct queue *q, const char *text, size_t len) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/" KNOWN_FILE, q->dir);
        bool is_new = access(path, F_OK) < 0;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        struct stat st;
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        for (size_t done = 0; r == 0 && done < len;) {
                ssize_t w = write(fd, text + done, len - done);
                if (w < 0 && errno != EINTR)
                        r = -errno;
                else if (w > 0)
                        done += (size_t) w;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0)
                (void) ftruncate(fd, st.st_size);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && is_new)
                r = fsync_dir(q->dir);
        return r;
}

/* A record whose upload can no longer be found again: a local file that is gone. */
static bool known_stale(const struct queue_entry *e) {
        struct stat st;
        return e->source[0] == '/' && lstat(e->source, &st) < 0 && errno == ENOENT;
}

/* Reads KNOWN_FILE. Lines that cannot be read (the end of an append cut by a crash), records
 * of local files that are gone and records of jobs whose entry is still there (a prune cut
 * between its two steps) are left out, and the file is written again without them. */
static int load_known(struct queue *q, char *err, size_t err_size) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/" KNOWN_FILE, q->dir);
        FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        char *line = NULL;
        size_t cap = 0, bad = 0, dropped = 0;
        ssize_t len;
        int r = 0;
        bool ends_well = true;
        while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
                ends_well = len > 0 && line[len - 1] == '\n';
                json_object *o = json_tokener_parse(line);
                struct queue_entry e;
                int p = o ? entry_from_json(o, &e) : -EBADMSG;
                json_object_put(o);
                if (p == -ENOMEM)
                        r = p;
                else if (p < 0)
                        bad++;
                else if (!queue_state_final(e.state))
                        bad++, entry_clear(&e);
                else if (find(q, e.id) || known_stale(&e))
                        dropped++, entry_clear(&e);
                else if ((r = known_add(q, &e)) < 0)
                        entry_clear(&e);
        }
        if (r == 0 && ferror(f))
                r = -EIO;
        free(line);
        fclose(f);
        if (r < 0 || (bad == 0 && dropped == 0 && ends_well))
                return r;
        if (bad) {
                size_t o = strlen(err);
                snprintf(err + o, err_size - o, "%s'%s': %zu line(s) that are not a known upload, left out", o ? "; " : "",
                         path, bad);
        }
        /* written again whole: tmp + fsync + rename, so a crash keeps the old file or the new one */
        struct capbuf text = { .max = SIZE_MAX };
        for (size_t i = 0; r == 0 && i < q->known.n; i++)
                r = known_line(&text, &q->known.v[i].e);
        if (r == 0)
                r = write_file_replace(q->dir, KNOWN_FILE, text.buf ? text.buf : "", text.len, true);
        capbuf_free(&text);
        return r;
}

int queue_prune(struct queue *q, queue_prune_fn gone, void *userdata, size_t *ret_pruned) {
        size_t n = 0;
        struct capbuf text = { .max = SIZE_MAX };
        bool *pick = calloc(q->t.n ? q->t.n : 1, sizeof *pick);
        int r = pick ? 0 : -ENOMEM;

        *ret_pruned = 0;
        /* first the record, durable; then the entries go: a crash between the two leaves an entry
         * that is also known, which the next load settles */
        for (size_t i = 0; r == 0 && i < q->t.n; i++) {
                const struct queue_entry *e = &q->t.v[i].e;
                if (!queue_state_final(e->state) || !gone(e, userdata))
                        continue;
                r = known_line(&text, e);
                if (r == 0) {
                        pick[i] = true;
                        n++;
                }
        }
        if (r == 0 && n)
                r = known_append(q, text.buf, text.len);
        capbuf_free(&text);
        if (r < 0 || n == 0) {
                free(pick);
                return r;
        }
        size_t kept = 0;
        for (size_t i = 0; i < q->t.n; i++) {
                if (!pick[i]) {
                        if (kept != i)
                                q->t.v[kept] = q->t.v[i];
                        kept++;
                        continue;
                }
                char name[128];
                snprintf(name, sizeof name, "%s/%s.json", q->dir, q->t.v[i].e.id);
                if (unlink(name) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
                struct queue_entry e = q->t.v[i].e;
                free(e.error), e.error = NULL;
                free(e.dir), e.dir = NULL;
                if (known_add(q, &e) < 0)
                        entry_clear(&e); /* still in the file: the next load has it */
        }
        q->t.n = kept;
        q->first_queued = 0;
        reindex(&q->t);
        free(pick);
        if (r == 0)
                r = fsync_dir(q->dir);
        *ret_pruned = n;
        return r;
}

size_t queue_known_count(const struct queue *q) {
        return q->known.n;
}

int queue_claim(struct queue *q, queue_pick_fn may_run, void *userdata, const struct queue_entry **ret) {
        bool first = true;
        for (size_t i = q->first_queued; i < q->t.n; i++) {
                struct queue_entry *e = &q->t.v[i].e;
                if (e->state != QUEUE_QUEUED)
                        continue;
                if (first)
                        q->first_queued = i;
                first = false;
                if (may_run && !may_run(e, userdata))
                        continue;
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
        if (first)
                q->first_queued = q->t.n;
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
        size_t i = (size_t) (s - q->t.v);
        if (i < q->first_queued)
                q->first_queued = i;
        return save(q, &s->e);
}

const struct queue_entry *const *queue_entries(const struct queue *q, size_t *ret_n) {
        for (size_t i = 0; i < q->t.n; i++)
                q->list[i] = &q->t.v[i].e;
        *ret_n = q->t.n;
        return q->list;
}

size_t queue_count(const struct queue *q, enum queue_state s) {
        size_t n = 0;
        for (size_t i = 0; i < q->t.n; i++)
                n += q->t.v[i].e.state == s;
        return n;
}
