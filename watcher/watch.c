/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The inotify watcher on the upload mirror: every folder under the watched ones, watched as it
 * appears; a file starts a job once it was closed or moved in and then stayed unchanged. */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "casefolder/job.h"
#include "common/clock.h"
#include "common/magic.h"
#include "watcher/watch.h"

/* A watched folder: its path, the root it is under, and how deep. */
struct wdir {
        char *path;
        size_t root_len; /* path[0..root_len) is the watched root */
        unsigned depth;
};

/* A file seen complete, waiting to stay still for the settle time. */
struct pending {
        char *path;
        size_t root_len;
        off_t size;
        struct timespec mtime;
        int64_t due_ms;
        bool retrying; /* its queueing failed for a reason that passes (a full disk) */
};

/* How soon a file that could not be queued for a reason that passes is tried again. */
#define QUEUE_RETRY_MS 5000

/* A folder of watch.dirs: its watch descriptor, or -1 while it is gone. */
struct root {
        char *path;
        int wd;
};

/* How often a watched folder that went away is looked for. */
#define ROOT_RETRY_MS 1000

struct watch {
        struct watch_env env;
        struct ev_source ino, timer;
        struct wdir *dirs; /* indexed by watch descriptor */
        size_t n_dirs;
        struct root *roots;
        size_t n_roots;
        int64_t retry_ms; /* when to look for the roots that are gone; 0: none is */
        struct pending *pend;
        size_t n_pend, cap_pend;
        pcre2_code *case_re;
        pcre2_match_data *md;
};

bool watch_name_ignored(const char *name) {
        static const char *const suffixes[] = { ".part", ".tmp", ".partial", ".crdownload", ".filepart", ".swp", "~", NULL };
        size_t n = strlen(name);
        /* a leading dot covers rsync's temporaries (.NAME.XXXXXX) and editors' files */
        if (n == 0 || name[0] == '.')
                return true;
        for (size_t i = 0; suffixes[i]; i++) {
                size_t m = strlen(suffixes[i]);
                if (n >= m && !strcasecmp(name + n - m, suffixes[i]))
                        return true;
        }
        return false;
}

bool watch_looks_like_upload(const unsigned char *h, size_t n) {
        return magic_kind(h, n, NULL) != MAGIC_NONE;
}

static pcre2_code *compile_case_pattern(const char *pattern, char *err, size_t err_size) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
        if (!re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(code, msg, sizeof msg);
                snprintf(err, err_size, "watch.case_pattern '%s': %s at offset %zu", pattern, (const char *) msg, (size_t) off);
        }
        return re;
}

/* Tries one path part; the group named "case" if the pattern has one, else the whole match. */
static int match_part(pcre2_code *re, pcre2_match_data *md, const char *s, size_t n, char *ret, size_t size) {
        if (pcre2_match(re, (PCRE2_SPTR) s, n, 0, 0, md, NULL) < 0)
                return -ENOENT;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        PCRE2_SIZE start = ov[0], end = ov[1];
        int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR) "case");
        if (g > 0 && ov[2 * g] != PCRE2_UNSET) {
                start = ov[2 * g];
                end = ov[2 * g + 1];
        }
        if (end <= start || end - start >= size)
                return -ENOENT;
        memcpy(ret, s + start, end - start);
        ret[end - start] = 0;
        return 0;
}

static int case_of(pcre2_code *re, pcre2_match_data *md, const char *relpath, char *ret, size_t size) {
        for (const char *p = relpath; *p;) {
                size_t n = strcspn(p, "/");
                if (match_part(re, md, p, n, ret, size) == 0)
                        return 0;
                p += n;
                p += *p == '/';
        }
        return -ENOENT;
}

int watch_case_of(const struct config *cfg, const char *relpath, char *ret, size_t size) {
        char err[512];
        pcre2_code *re = compile_case_pattern(config_string(cfg, CONF_WATCH_CASE_PATTERN), err, sizeof err);
        if (!re)
                return -EINVAL;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        int r = md ? case_of(re, md, relpath, ret, size) : -ENOMEM;
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        return r;
}

/* ---- pending files ------------------------------------------------------------------------- */

static void arm(struct watch *w) {
        struct itimerspec its = { 0 };
        int64_t due = INT64_MAX, now = clock_now_ms();
        for (size_t i = 0; i < w->n_pend; i++)
                if (w->pend[i].due_ms < due)
                        due = w->pend[i].due_ms;
        if (w->retry_ms && w->retry_ms < due)
                due = w->retry_ms;
        if (due != INT64_MAX) {
                int64_t in = due > now ? due - now : 0;
                its.it_value.tv_sec = (time_t) (in / 1000);
                its.it_value.tv_nsec = (long) (in % 1000) * 1000000 + 1; /* never 0: that would disarm */
        }
        timerfd_settime(w->timer.fd, 0, &its, NULL);
}

/* A file to settle at due_ms: 0 for the settle time from now. Returns the entry, or NULL when
 * there is no memory for it (said in the log; the next rescan finds it). */
static struct pending *pend_at(struct watch *w, const char *path, size_t root_len, const struct stat *st, int64_t due) {
        if (!due)
                due = clock_now_ms() + (int64_t) config_u64(w->env.config(w->env.ctx), CONF_WATCH_SETTLE_MS);
        for (size_t i = 0; i < w->n_pend; i++)
                if (!strcmp(w->pend[i].path, path)) {
                        w->pend[i].size = st->st_size;
                        w->pend[i].mtime = st->st_mtim;
                        w->pend[i].due_ms = due;
                        return &w->pend[i];
                }
        if (w->n_pend == w->cap_pend) {
                size_t cap = w->cap_pend ? w->cap_pend * 2 : 64;
                struct pending *v = realloc(w->pend, cap * sizeof *v);
                if (!v) {
                        log_error("watch: out of memory: '%s' waits for the next rescan", path);
                        return NULL;
                }
                w->pend = v;
                w->cap_pend = cap;
        }
        char *p = strdup(path);
        if (!p) {
                log_error("watch: out of memory: '%s' waits for the next rescan", path);
                return NULL;
        }
        w->pend[w->n_pend] = (struct pending) { .path = p, .root_len = root_len, .size = st->st_size,
                                                .mtime = st->st_mtim, .due_ms = due };
        return &w->pend[w->n_pend++];
}

static void add_pending(struct watch *w, const char *path, size_t root_len, const struct stat *st) {
        (void) pend_at(w, path, root_len, st, 0);
}

/* A file whose name and place say it may be an upload: kept to settle. */
static void consider(struct watch *w, const char *path, size_t root_len) {
        const char *name = strrchr(path, '/') + 1;
        struct stat st;
        if (watch_name_ignored(name) || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        add_pending(w, path, root_len, &st);
}

static bool looks_like_upload_file(const char *path) {
        unsigned char head[512];
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, head, sizeof head);
        close(fd);
        return n > 0 && watch_looks_like_upload(head, (size_t) n);
}

/* A settled file becomes a job: the queue tells a file it has seen before from a new one. */
static void settle(struct watch *w, struct pending *p) {
        struct watch_counters *cnt = w->env.counters;
        const struct config *cfg = w->env.config(w->env.ctx);
        char case_id[80], why[512];
        struct stat st;

        if (lstat(p->path, &st) < 0 || !S_ISREG(st.st_mode))
                return; /* gone or replaced by something else: nothing to do */
        if (st.st_size != p->size || st.st_mtim.tv_sec != p->mtime.tv_sec || st.st_mtim.tv_nsec != p->mtime.tv_nsec) {
                add_pending(w, p->path, p->root_len, &st); /* still being written */
                return;
        }
        const char *rel = p->path + p->root_len + 1;
        if (!looks_like_upload_file(p->path)) {
                cnt->files_ignored++;
                log_info("watch: '%s' is neither a dump nor an archive: ignored", p->path);
                return;
        }
        if (case_of(w->case_re, w->md, rel, case_id, sizeof case_id) < 0) {
                cnt->files_ignored++;
                log_warning("watch: no case number in '%s' (watch.case_pattern): ignored", rel);
                return;
        }
        if (job_case_valid(cfg, case_id, why, sizeof why) < 0) {
                cnt->files_ignored++;
                log_warning("watch: '%s': %s: ignored", rel, why);
                return;
        }
        /* the file itself is the durable record: a restart's rescan finds it again */
        struct watch_upload u = { .case_id = case_id, .path = p->path, .size = (uint64_t) st.st_size };
        bool dup;
        int r = w->env.submit(w->env.ctx, &u, &dup);
        if (r == -ENOSPC || r == -EDQUOT || r == -ENOMEM || r == -EIO || r == -EAGAIN) {
                /* the file is the only record of the upload: it stays pending until it is queued */
                if (!p->retrying)
                        log_error_errno(r, "watch: cannot queue '%s' now: %m; tried again every %d s until it is",
                                        p->path, QUEUE_RETRY_MS / 1000);
                struct pending *again = pend_at(w, p->path, p->root_len, &st, clock_now_ms() + QUEUE_RETRY_MS);
                if (again)
                        again->retrying = true;
        } else if (r < 0)
                log_error_errno(r, "watch: cannot queue '%s': %m", p->path);
        else {
                if (p->retrying)
                        log_info("watch: '%s' is queued now", p->path);
                if (!dup)
                        cnt->files_queued++;
        }
}

/* Files settled per turn of the loop. */
#define SETTLE_BATCH 32

static void look_for_roots(struct watch *w);

static void on_timer(struct ev_source *s, uint32_t events) {
        struct watch *w = s->data;
        uint64_t n;
        int64_t now = clock_now_ms();
        (void) events;
        if (read(s->fd, &n, sizeof n) < 0 && errno != EAGAIN)
                return;
        if (w->retry_ms && w->retry_ms <= now)
                look_for_roots(w);
        /* take the due ones out first (settling one may add it back), a batch per turn of the
         * loop so that a burst of files never keeps the API waiting */
        size_t n_due = 0;
        for (size_t i = 0; i < w->n_pend && n_due < SETTLE_BATCH; i++)
                if (w->pend[i].due_ms <= now)
                        n_due++;
        struct pending *due = n_due ? malloc(n_due * sizeof *due) : NULL;
        if (n_due && !due) {
                arm(w);
                return;
        }
        size_t k = 0, j = 0;
        for (size_t i = 0; i < w->n_pend; i++) {
                if (w->pend[i].due_ms <= now && k < n_due)
                        due[k++] = w->pend[i];
                else
                        w->pend[j++] = w->pend[i];
        }
        w->n_pend = j;
        for (size_t i = 0; i < k; i++) {
                settle(w, &due[i]);
                free(due[i].path);
        }
        free(due);
        arm(w);
}

/* ---- watches ------------------------------------------------------------------------------- */

#define DIR_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

/* Watches path and everything under it: its watch descriptor, 0 past watch.max_depth, or -errno. */
static int add_dir(struct watch *w, const char *path, size_t root_len, unsigned depth);

/* Every file and folder under path, once: what was there before the watch is not missed. */
static void scan(struct watch *w, const char *path, size_t root_len, unsigned depth) {
        DIR *dir = opendir(path);
        if (!dir)
                return;
        for (struct dirent *e; (e = readdir(dir));) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char child[PATH_MAX];
                if (snprintf(child, sizeof child, "%s/%s", path, e->d_name) >= (int) sizeof child)
                        continue;
                unsigned char type = e->d_type;
                struct stat st;
                if (type == DT_UNKNOWN && lstat(child, &st) == 0) /* file systems that do not say */
                        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
                if (type == DT_DIR)
                        add_dir(w, child, root_len, depth + 1);
                else if (type == DT_REG)
                        consider(w, child, root_len);
        }
        closedir(dir);
}

static int add_dir(struct watch *w, const char *path, size_t root_len, unsigned depth) {
        if (depth > config_u64(w->env.config(w->env.ctx), CONF_WATCH_MAX_DEPTH))
                return 0;
        int wd = inotify_add_watch(w->ino.fd, path, DIR_MASK);
        if (wd < 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        log_warning("watch: cannot watch '%s': %s", path, strerror(errno));
                return -errno;
        }
        if ((size_t) wd >= w->n_dirs) {
                size_t n = (size_t) wd * 2 + 16;
                struct wdir *v = realloc(w->dirs, n * sizeof *v);
                if (!v)
                        return -ENOMEM;
                memset(v + w->n_dirs, 0, (n - w->n_dirs) * sizeof *v);
                w->dirs = v;
                w->n_dirs = n;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        free(w->dirs[wd].path);
        w->dirs[wd] = (struct wdir) { .path = p, .root_len = root_len, .depth = depth };
        /* added after the watch, so a file made in between is seen by one or the other */
        scan(w, path, root_len, depth);
        return wd;
}

/* Watches a root and everything under it; its watch descriptor, or -errno. */
static int add_root(struct watch *w, struct root *r) {
        return add_dir(w, r->path, strlen(r->path), 0);
}

static void rescan(struct watch *w) {
        for (size_t i = 0; i < w->n_roots; i++)
                if (w->roots[i].wd >= 0)
                        add_dir(w, w->roots[i].path, strlen(w->roots[i].path), 0);
}

/* A root was deleted or moved away: what is under it is no longer where the mirror puts
 * uploads, so its watch goes, and the folder is looked for until it is back. */
static void root_lost(struct watch *w, struct root *r, const char *how) {
        if (r->wd < 0)
                return;
        /* the folders under it, if it was moved, still exist elsewhere: their events would name
         * paths that are no longer theirs */
        size_t n = strlen(r->path);
        for (size_t i = 0; i < w->n_dirs; i++)
                if (w->dirs[i].path && w->dirs[i].root_len == n && !strncmp(w->dirs[i].path, r->path, n))
                        (void) inotify_rm_watch(w->ino.fd, (int) i); /* gone already when it was deleted */
        r->wd = -1;
        w->env.counters->roots_lost++;
        w->env.counters->roots_missing++;
        log_warning("watch: the watched folder '%s' was %s: new uploads there are not seen until it is back", r->path, how);
        if (!w->retry_ms)
                w->retry_ms = clock_now_ms() + ROOT_RETRY_MS;
}

static void look_for_roots(struct watch *w) {
        bool missing = false;
        for (size_t i = 0; i < w->n_roots; i++) {
                struct root *r = &w->roots[i];
                struct stat st;
                if (r->wd >= 0)
                        continue;
                if (stat(r->path, &st) == 0 && S_ISDIR(st.st_mode)) {
                        size_t before = w->n_pend;
                        r->wd = add_root(w, r);
                        if (r->wd >= 0) {
                                w->env.counters->roots_missing--;
                                log_info("watch: '%s' is back: watched again (%zu file(s) found to settle)", r->path,
                                         w->n_pend - before);
                                continue;
                        }
                }
                missing = true;
        }
        w->retry_ms = missing ? clock_now_ms() + ROOT_RETRY_MS : 0;
}

static struct root *root_of_wd(struct watch *w, int wd) {
        for (size_t i = 0; i < w->n_roots; i++)
                if (w->roots[i].wd == wd)
                        return &w->roots[i];
        return NULL;
}

const char *watch_lost(const struct watch *w) {
        for (size_t i = 0; w && i < w->n_roots; i++)
                if (w->roots[i].wd < 0)
                        return w->roots[i].path;
        return NULL;
}

static void on_inotify(struct ev_source *s, uint32_t events) {
        struct watch *w = s->data;
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool overflow = false;
        (void) events;
        for (;;) {
                ssize_t n = read(s->fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *) p;
                        p += sizeof *ev + ev->len;
                        w->env.counters->events++;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                overflow = true;
                                continue;
                        }
                        if (ev->wd < 0 || (size_t) ev->wd >= w->n_dirs || !w->dirs[ev->wd].path)
                                continue;
                        struct wdir *wd = &w->dirs[ev->wd];
                        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                                struct root *r = wd->depth == 0 ? root_of_wd(w, ev->wd) : NULL;
                                if (r)
                                        root_lost(w, r, ev->mask & IN_MOVE_SELF ? "moved away" : "deleted");
                                if (ev->mask & IN_IGNORED) {
                                        free(wd->path);
                                        wd->path = NULL;
                                }
                                continue;
                        }
                        if (!ev->len)
                                continue;
                        char path[PATH_MAX];
                        if (snprintf(path, sizeof path, "%s/%s", wd->path, ev->name) >= (int) sizeof path)
                                continue;
                        if (ev->mask & IN_ISDIR) {
                                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                                        add_dir(w, path, wd->root_len, wd->depth + 1);
                        } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                                consider(w, path, wd->root_len);
                }
        }
        if (overflow) {
                /* events were lost: look at everything again; the queue drops what it knows */
                w->env.counters->overflows++;
                log_warning("watch: the kernel's event queue overflowed: rescanning");
                rescan(w);
        }
        arm(w);
}

int watch_start(const struct watch_env *env, struct watch **ret, char *err, size_t err_size) {
        const struct config *cfg = env->config(env->ctx);
        *ret = NULL;
        if (!*config_string(cfg, CONF_WATCH_DIRS))
                return 0;
        struct watch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->env = *env;
        w->ino.fd = w->timer.fd = -1;
        w->ino.handler = on_inotify;
        w->timer.handler = on_timer;
        w->ino.data = w->timer.data = w;
        w->case_re = compile_case_pattern(config_string(cfg, CONF_WATCH_CASE_PATTERN), err, err_size);
        if (!w->case_re) {
                watch_free(w);
                return -EINVAL;
        }
        w->md = pcre2_match_data_create_from_pattern(w->case_re, NULL);
        w->ino.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        w->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (!w->md || w->ino.fd < 0 || w->timer.fd < 0 || loop_add(env->loop, &w->ino, EPOLLIN) < 0 ||
            loop_add(env->loop, &w->timer, EPOLLIN) < 0) {
                int r = w->md ? -errno : -ENOMEM;
                snprintf(err, err_size, "cannot set up inotify: %s", strerror(-r));
                watch_free(w);
                return r;
        }
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", config_string(cfg, CONF_WATCH_DIRS));
        for (char *save = NULL, *root = strtok_r(buf, " \t", &save); root; root = strtok_r(NULL, " \t", &save)) {
                struct stat st = { 0 };
                size_t n = strlen(root);
                while (n > 1 && root[n - 1] == '/')
                        root[--n] = 0;
                if (root[0] != '/') {
                        snprintf(err, err_size, "watch.dirs: '%s' is not an absolute path", root);
                        watch_free(w);
                        return -EINVAL;
                }
                if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        int e = errno;
                        snprintf(err, err_size, "watch.dirs: '%s' %s%s", root,
                                 st.st_mode && !S_ISDIR(st.st_mode) ? "is not a folder"
                                 : e == ENOENT                      ? "is missing"
                                                                    : "cannot be read: ",
                                 st.st_mode || e == ENOENT ? "" : strerror(e));
                        watch_free(w);
                        return -EINVAL;
                }
                struct root *v = realloc(w->roots, (w->n_roots + 1) * sizeof *v);
                if (!v || !(v[w->n_roots].path = strdup(root))) {
                        if (v)
                                w->roots = v;
                        watch_free(w);
                        return -ENOMEM;
                }
                w->roots = v;
                w->roots[w->n_roots++].wd = -1;
        }
        for (size_t i = 0; i < w->n_roots; i++) {
                w->roots[i].wd = add_root(w, &w->roots[i]);
                if (w->roots[i].wd < 0) {
                        snprintf(err, err_size, "watch.dirs: cannot watch '%s': %s", w->roots[i].path, strerror(-w->roots[i].wd));
                        watch_free(w);
                        return -EINVAL;
                }
        }
        arm(w);
        log_info("watching %s (%zu file(s) found to settle)", config_string(cfg, CONF_WATCH_DIRS), w->n_pend);
        *ret = w;
        return 0;
}

struct watch *watch_free(struct watch *w) {
        if (!w)
                return NULL;
        if (w->ino.fd >= 0) {
                loop_del(w->env.loop, &w->ino);
                close(w->ino.fd);
        }
        if (w->timer.fd >= 0) {
                loop_del(w->env.loop, &w->timer);
                close(w->timer.fd);
        }
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        for (size_t i = 0; i < w->n_pend; i++)
                free(w->pend[i].path);
        for (size_t i = 0; i < w->n_roots; i++)
                free(w->roots[i].path);
        free(w->roots);
        free(w->dirs);
        free(w->pend);
        pcre2_match_data_free(w->md);
        pcre2_code_free(w->case_re);
        free(w);
        return NULL;
}
