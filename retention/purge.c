/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The purge: finished case folders past their age and the symbol cache's unused kernels, with
 * NOPURGE, running jobs and links respected, and a trash so that a crash never leaves half a
 * folder under its own name. */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "casefolder/record.h"
#include "common/fileio.h"
#include "retention/purge.h"
#include "pipeline/symbols/symbols.h"

#define NEW_FOLDER_GRACE 3600

struct folder {
        char *dir;        /* <root>/cases/CASE/N */
        char *case_dir;
        unsigned number;
        time_t ended;
};

struct run {
        const struct config *cfg;
        const struct purge_opts *o;
        struct purge_result *res;
        char root[PATH_MAX];
        struct folder *v;
        size_t n;
};

static void say(struct run *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *p, const char *fmt, ...) {
        char line[PATH_MAX + 512];
        va_list ap;
        if (!p->o->say)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        p->o->say(p->o->userdata, line);
}

int purge_disk_space(const char *path, uint64_t *ret_free, uint64_t *ret_total) {
        struct statvfs s;
        if (statvfs(path, &s) < 0)
                return -errno;
        *ret_free = (uint64_t) s.f_bavail * s.f_frsize;
        if (ret_total)
                *ret_total = (uint64_t) s.f_blocks * s.f_frsize;
        return 0;
}

static bool exists_nofollow(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

/* A real folder, not a link to one. */
static bool is_dir_nofollow(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *rel(struct run *p, const char *path) {
        size_t l = strlen(p->root);
        return !strncmp(path, p->root, l) && path[l] == '/' ? path + l + 1 : path;
}

static void human(uint64_t b, char *buf, size_t size) {
        if (b >= (1ull << 30))
                snprintf(buf, size, "%.1f GiB", (double) b / (double) (1ull << 30));
        else if (b >= (1ull << 20))
                snprintf(buf, size, "%.1f MiB", (double) b / (double) (1ull << 20));
        else
                snprintf(buf, size, "%.1f KiB", (double) b / 1024.0);
}

static void when(time_t t, char *buf, size_t size) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The job's state, -1 when its record cannot be read (a folder made just before a crash);
 * *ret_ended: when it ended, which is the job's last write of job.json. */
static int job_state_of(const char *dir, time_t *ret_ended) {
        char path[PATH_MAX];
        struct stat st;
        json_object *rec = NULL;
        *ret_ended = job_path(dir, JOB_RECORD_FILE, path, sizeof path) == 0 && lstat(path, &st) == 0 && S_ISREG(st.st_mode)
                             ? st.st_mtime
                     : lstat(dir, &st) == 0 ? st.st_mtime
                                            : 0;
        if (job_record_read(dir, &rec) < 0)
                return -1;
        int s = job_record_state(rec);
        json_object_put(rec);
        return s < 0 ? -1 : s;
}

static int add_folder(struct run *p, const char *dir, const char *case_dir, unsigned number, time_t ended) {
        struct folder *v = realloc(p->v, (p->n + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        p->v = v;
        v[p->n] = (struct folder) { .dir = strdup(dir), .case_dir = strdup(case_dir), .number = number, .ended = ended };
        if (!v[p->n].dir || !v[p->n].case_dir) {
                free(v[p->n].dir);
                free(v[p->n].case_dir);
                return -ENOMEM;
        }
        p->n++;
        return 0;
}

static bool is_number(const char *s, unsigned *ret) {
        char *end;
        if (s[0] < '1' || s[0] > '9')
                return false;
        unsigned long n = strtoul(s, &end, 10);
        if (*end || n >= 1000000)
                return false;
        *ret = (unsigned) n;
        return true;
}

/* The folders that may go, each case's NOPURGE and running jobs left out. */
static int collect(struct run *p) {
        char cases[PATH_MAX];
        snprintf(cases, sizeof cases, "%s/cases", p->root);
        DIR *d = opendir(cases);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int r = 0;
        for (struct dirent *e; r >= 0 && (e = readdir(d));) {
                char case_dir[PATH_MAX], path[PATH_MAX];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(case_dir, sizeof case_dir, "%s/%s", cases, e->d_name);
                if (!is_dir_nofollow(case_dir)) {
                        say(p, "left alone: %s is not a folder (a link is never followed)", rel(p, case_dir));
                        continue;
                }
                snprintf(path, sizeof path, "%s/NOPURGE", case_dir);
                if (exists_nofollow(path)) {
                        say(p, "kept: %s (NOPURGE: every dump of the case)", rel(p, case_dir));
                        p->res->kept++;
                        continue;
                }
                DIR *cd = opendir(case_dir);
                if (!cd)
                        continue;
                for (struct dirent *f; r >= 0 && (f = readdir(cd));) {
                        char dir[PATH_MAX];
                        unsigned number;
                        time_t ended;
                        if (!is_number(f->d_name, &number))
                                continue;
                        snprintf(dir, sizeof dir, "%s/%s", case_dir, f->d_name);
                        if (!is_dir_nofollow(dir)) {
                                say(p, "left alone: %s is not a folder (a link is never followed)", rel(p, dir));
                                continue;
                        }
                        snprintf(path, sizeof path, "%s/NOPURGE", dir);
                        if (exists_nofollow(path)) {
                                say(p, "kept: %s (NOPURGE)", rel(p, dir));
                                p->res->kept++;
                                continue;
                        }
                        if (p->o->busy && p->o->busy(p->o->userdata, dir)) {
                                say(p, "kept: %s (its job is queued or running)", rel(p, dir));
                                p->res->kept++;
                                continue;
                        }
                        int state = job_state_of(dir, &ended);
                        if (state == JOB_RUNNING) {
                                say(p, "kept: %s (its job is running)", rel(p, dir));
                                p->res->kept++;
                                continue;
                        }
                        /* a folder whose job.json is not written yet is being made */
                        if (state < 0 && time(NULL) - ended < NEW_FOLDER_GRACE) {
                                say(p, "kept: %s (a job is starting in it)", rel(p, dir));
                                p->res->kept++;
                                continue;
                        }
                        r = add_folder(p, dir, case_dir, number, ended);
                }
                closedir(cd);
        }
        closedir(d);
        return r;
}

static int cmp_ended(const void *a, const void *b) {
        const struct folder *x = a, *y = b;
        return x->ended < y->ended ? -1 : x->ended > y->ended ? 1 : strcmp(x->dir, y->dir);
}

/* The case's highest number so far, in CASE/.last, so that a new job never takes the number of
 * one purged: posts carry CASE/N in their keys, and Athena keeps the old comments. */
static int keep_number(const char *case_dir, unsigned number) {
        char path[PATH_MAX], *text = NULL, buf[32];
        size_t len;
        snprintf(path, sizeof path, "%s/.last", case_dir);
        if (read_file_max(path, 64, &text, &len) == 0 && strtoul(text, NULL, 10) >= number) {
                free(text);
                return 0;
        }
        free(text);
        int n = snprintf(buf, sizeof buf, "%u\n", number);
        return write_file_atomic(case_dir, ".last", buf, (size_t) n);
}

/* What a purge killed midway left in the trash. */
static void empty_trash(struct run *p, const char *trash) {
        DIR *d = opendir(trash);
        if (!d)
                return;
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX];
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                snprintf(path, sizeof path, "%s/%s", trash, e->d_name);
                if (p->o->dry_run) {
                        say(p, "would remove: %s (left by an interrupted purge)", rel(p, path));
                        continue;
                }
                int64_t b = tree_disk_usage(path);
                remove_tree(path);
                say(p, "removed: %s (left by an interrupted purge)", rel(p, path));
                p->res->leftovers++;
                p->res->bytes_freed += b > 0 ? (uint64_t) b : 0;
        }
        closedir(d);
}

static int remove_folder(struct run *p, const struct folder *f, const char *trash, const char *why) {
        char to[PATH_MAX], size[32], ended[40];
        static unsigned seq;
        int64_t b = tree_disk_usage(f->dir);
        uint64_t bytes = b > 0 ? (uint64_t) b : 0;
        human(bytes, size, sizeof size);
        when(f->ended, ended, sizeof ended);
        if (p->o->dry_run) {
                say(p, "would remove: %s (%s, ended %s, %s)", rel(p, f->dir), size, ended, why);
                p->res->removed++;
                p->res->bytes_freed += bytes;
                return 0;
        }
        /* a job may have started in it since the scan (a resumed one, a retry) */
        time_t ended_now;
        if (job_state_of(f->dir, &ended_now) == JOB_RUNNING || ended_now != f->ended) {
                say(p, "kept: %s (its job started again)", rel(p, f->dir));
                p->res->kept++;
                return -EBUSY;
        }
        int r = keep_number(f->case_dir, f->number);
        if (r < 0) {
                say(p, "kept: %s (cannot record its number in %s/.last: %s)", rel(p, f->dir), rel(p, f->case_dir),
                    strerror(-r));
                return r;
        }
        const char *case_name = strrchr(f->case_dir, '/') + 1;
        snprintf(to, sizeof to, "%s/%s-%u-%ld-%u", trash, case_name, f->number, (long) getpid(), seq++);
        if (rename(f->dir, to) < 0) {
                r = -errno;
                say(p, "kept: %s (cannot move it into %s: %s)", rel(p, f->dir), rel(p, trash), strerror(errno));
                return r;
        }
        (void) fsync_dir(f->case_dir); /* a rename a power cut undoes is purged again */
        remove_tree(to);
        say(p, "removed: %s (%s, ended %s, %s)", rel(p, f->dir), size, ended, why);
        p->res->removed++;
        p->res->bytes_freed += bytes;
        return 0;
}

int purge_run(const struct config *cfg, const struct purge_opts *o, struct purge_result *ret) {
        struct run p = { .cfg = cfg, .o = o, .res = ret };
        char trash[PATH_MAX];
        int r;

        memset(ret, 0, sizeof *ret);
        if (!realpath(config_string(cfg, CONF_ROOT), p.root))
                return errno == ENOENT ? 0 : -errno;
        snprintf(trash, sizeof trash, "%s/trash", p.root);
        /* the two folders everything below is removed from or into: never through a link */
        char cases[PATH_MAX];
        snprintf(cases, sizeof cases, "%s/cases", p.root);
        if ((exists_nofollow(cases) && !is_dir_nofollow(cases)) || (exists_nofollow(trash) && !is_dir_nofollow(trash))) {
                say(&p, "nothing removed: %s or %s is not a folder (a link is never followed)", cases, trash);
                return -ENOTDIR;
        }
        if (!o->dry_run) {
                r = mkdir_parents(trash);
                if (r < 0)
                        return r;
        }
        empty_trash(&p, trash);

        r = collect(&p);
        if (r < 0)
                goto out;
        if (p.n > 1)
                qsort(p.v, p.n, sizeof *p.v, cmp_ended);
        time_t now = time(NULL);
        uint64_t free_b = 0;
        bool pressure = o->want_free && purge_disk_space(p.root, &free_b, NULL) == 0 && free_b < o->want_free;
        for (size_t i = 0; i < p.n; i++) {
                const struct folder *f = &p.v[i];
                bool old = now - f->ended >= (time_t) o->older_than;
                if (!old && !(pressure && free_b < o->want_free))
                        continue;
                char why[96];
                if (old)
                        snprintf(why, sizeof why, "older than %" PRIu64 " s", o->older_than);
                else
                        snprintf(why, sizeof why, "disk pressure: less than %" PRIu64 " bytes free", o->want_free);
                uint64_t before = ret->bytes_freed;
                if (remove_folder(&p, f, trash, why) < 0)
                        continue;
                if (o->dry_run)
                        free_b += ret->bytes_freed - before; /* as a real run would find it */
                else if (pressure)
                        purge_disk_space(p.root, &free_b, NULL);
        }
        uint64_t sym_freed = 0;
        int s = symbols_cache_trim(cfg, NULL, o->dry_run, &sym_freed);
        if (s > 0) {
                ret->symbols_removed = (unsigned) s;
                ret->bytes_freed += sym_freed;
        }
        r = 0;
out:
        for (size_t i = 0; i < p.n; i++) {
                free(p.v[i].dir);
                free(p.v[i].case_dir);
        }
        free(p.v);
        return r;
}
