/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Job record and case folder.
 * job.json is rewritten atomically after every change, so it always tells the truth after a crash. */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/shown.h"

struct job {
        const struct config *cfg;
        char *dir;
        char *case_id;
        unsigned number;
        json_object *record;
        FILE *log;
        struct timespec stage_start[_STAGE_MAX];
};

static void iso_now(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int job_case_valid(const struct config *cfg, const char *case_id, char *err, size_t err_size) {
        assert(cfg && case_id && err);
        const char *pattern = config_string(cfg, CONF_CASE_PATTERN);
        regex_t re;
        int r;

        /* whatever the pattern allows, a case number is one plain path component */
        if (!*case_id || strchr(case_id, '/') || case_id[0] == '.' || strlen(case_id) > 64) {
                snprintf(err, err_size, "case number '%s' is not valid", case_id);
                return -EINVAL;
        }
        r = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                snprintf(err, err_size, "case_pattern '%s' is not a valid regular expression", pattern);
                return -EINVAL;
        }
        r = regexec(&re, case_id, 0, NULL, 0);
        regfree(&re);
        if (r != 0) {
                snprintf(err, err_size, "case number '%s' does not match the case pattern '%s'", case_id, pattern);
                return -EINVAL;
        }
        return 0;
}

static int save(struct job *j) {
        char now[40];
        iso_now(now, sizeof now);
        json_object_object_add(j->record, job_field_name(JOB_UPDATED), json_object_new_string(now));
        const char *text = json_object_to_json_string_ext(j->record, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(j->dir, JOB_RECORD_FILE, text, strlen(text));
}

/* mkdir of N = highest existing + 1; EEXIST means another job took it: try the next. */
/* The next number for a folder of the case: past every folder there and every one purged. */
static int next_number(const char *case_dir, unsigned *ret_n) {
        unsigned max = 0;
        DIR *d = opendir(case_dir);
        if (!d)
                return -errno;
        for (struct dirent *e; (e = readdir(d));) {
                char *end;
                unsigned long n = strtoul(e->d_name, &end, 10);
                if (*end == 0 && e->d_name[0] >= '1' && e->d_name[0] <= '9' && n > max && n < 1000000)
                        max = (unsigned) n;
        }
        closedir(d);
        /* the numbers of purged folders are not given again (retention/purge.c) */
        char last[PATH_MAX], *text = NULL;
        size_t len;
        snprintf(last, sizeof last, "%s/.last", case_dir);
        if (read_file_max(last, 64, &text, &len) == 0) {
                unsigned long n = strtoul(text, NULL, 10);
                if (n > max && n < 1000000)
                        max = (unsigned) n;
                free(text);
        }
        if (max >= 999999)
                return -EMFILE;
        *ret_n = max + 1;
        return 0;
}

/* Folders being made (".new-PID-…") whose maker is gone: a process killed while it made one. */
static void remove_stale_new(const char *case_dir) {
        DIR *d = opendir(case_dir);
        if (!d)
                return;
        for (struct dirent *e; (e = readdir(d));) {
                if (strncmp(e->d_name, ".new-", 5) != 0)
                        continue;
                long pid = strtol(e->d_name + 5, NULL, 10);
                if (pid > 0 && kill((pid_t) pid, 0) < 0 && errno == ESRCH) {
                        char path[PATH_MAX];
                        snprintf(path, sizeof path, "%s/%s", case_dir, e->d_name);
                        remove_tree(path);
                }
        }
        closedir(d);
}

static int open_log(struct job *j, char *err, size_t err_size) {
        char logpath[PATH_MAX];
        snprintf(logpath, sizeof logpath, "%s/%s", j->dir, JOB_LOG_FILE);
        j->log = fopen(logpath, "ae");
        if (!j->log) {
                int r = -errno;
                snprintf(err, err_size, "cannot open '%s': %s", logpath, strerror(errno));
                return r;
        }
        setvbuf(j->log, NULL, _IOLBF, 0);
        return 0;
}

static int job_create(const struct config *cfg, const char *case_id, const char *source, const char *queue_id,
                      struct job **ret, char *err, size_t err_size) {
        char case_dir[PATH_MAX], now[40], id[128];
        struct job *j;
        int r;

        if (snprintf(case_dir, sizeof case_dir, "%s/cases/%s", config_string(cfg, CONF_ROOT), case_id) >=
            (int) sizeof case_dir) {
                snprintf(err, err_size, "root folder path is too long");
                return -ENAMETOOLONG;
        }
        r = mkdir_parents(case_dir);
        if (r < 0) {
                snprintf(err, err_size, "cannot make the case folder '%s': %s", case_dir, strerror(-r));
                return r;
        }
        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->cfg = cfg;
        j->case_id = strdup(case_id);
        if (!j->case_id) {
                job_free(j);
                return -ENOMEM;
        }
        /* The folder is made under a hidden name, with its log and job.json, and renamed to its
         * number whole: a folder N never lacks its record, so a daemon killed while making it
         * finds it again by its queue id, or finds nothing and makes one, never two. */
        remove_stale_new(case_dir);
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s/.new-%ld-XXXXXX", case_dir, (long) getpid());
        if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0 || !(j->dir = strdup(tmp))) {
                r = -errno;
                snprintf(err, err_size, "cannot make a job folder in '%s': %s", case_dir, strerror(errno));
                if (!j->dir)
                        (void) rmdir(tmp); /* empty: made just now */
                job_free(j);
                return r ? r : -ENOMEM;
        }
        r = open_log(j, err, err_size);
        if (r < 0) {
                remove_tree(tmp);
                job_free(j);
                return r;
        }

        iso_now(now, sizeof now);
        j->record = json_object_new_object();
        json_object_object_add(j->record, job_field_name(JOB_CASE), json_object_new_string(case_id));
        char shown[PATH_MAX + 1024];
        /* the request itself keeps the whole URL; what is written and served has no credentials */
        json_object_object_add(j->record, job_field_name(JOB_SOURCE),
                               json_object_new_string(shown_text(source, shown, sizeof shown, false)));
        if (queue_id)
                json_object_object_add(j->record, job_field_name(JOB_QUEUE_ID), json_object_new_string(queue_id));
        json_object_object_add(j->record, job_field_name(JOB_STATE), json_object_new_string(job_state_to_string(JOB_RUNNING)));
        json_object_object_add(j->record, job_field_name(JOB_CREATED), json_object_new_string(now));
        json_object_object_add(j->record, job_field_name(JOB_STAGES), json_object_new_object());
        char final[PATH_MAX];
        for (int tries = 0;; tries++) {
                r = next_number(case_dir, &j->number);
                if (r == 0 && snprintf(final, sizeof final, "%s/%u", case_dir, j->number) >= (int) sizeof final)
                        r = -ENAMETOOLONG;
                if (r < 0) {
                        snprintf(err, err_size, "cannot make a job folder in '%s': %s", case_dir, strerror(-r));
                        break;
                }
                snprintf(id, sizeof id, "%s/%u", case_id, j->number);
                json_object_object_add(j->record, job_field_name(JOB_ID), json_object_new_string(id));
                json_object_object_add(j->record, job_field_name(JOB_NUMBER), json_object_new_int((int) j->number));
                r = save(j);
                if (r < 0) {
                        snprintf(err, err_size, "cannot write %s in '%s': %s", JOB_RECORD_FILE, j->dir, strerror(-r));
                        break;
                }
                if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
                        break;
                r = -errno;
                if (r != -EEXIST || tries >= 1000) { /* EEXIST: another process took the number */
                        snprintf(err, err_size, "cannot make the job folder '%s': %s", final, strerror(-r));
                        break;
                }
        }
        if (r < 0) {
                remove_tree(tmp);
                job_free(j);
                return r;
        }
        free(j->dir);
        j->dir = strdup(final);
        (void) fsync_dir(case_dir); /* a folder lost to a power cut is made again: its queue entry says so */
        if (!j->dir) {
                job_free(j);
                return -ENOMEM;
        }
        job_log(j, "job %s created for %s", id, shown);
        *ret = j;
        return 0;
}

int job_new(const struct config *cfg, const char *case_id, const char *source, const char *queue_id, struct job **ret,
            char *err, size_t err_size) {
        int r = job_case_valid(cfg, case_id, err, err_size);
        if (r < 0)
                return r;
        return job_create(cfg, case_id, source, queue_id, ret, err, err_size);
}

int job_new_sibling(struct job *parent, const char *source, const char *queue_id, struct job **ret, char *err,
                    size_t err_size) {
        return job_create(parent->cfg, parent->case_id, source, queue_id, ret, err, err_size);
}

int job_open(const struct config *cfg, const char *dir, struct job **ret, char *err, size_t err_size) {
        assert(cfg && dir && ret && err);
        json_object *rec = NULL;
        int r = job_record_read(dir, &rec);
        if (r < 0) {
                if (r == -EBADMSG)
                        snprintf(err, err_size, "'%s/%s' is not a job record", dir, JOB_RECORD_FILE);
                else
                        snprintf(err, err_size, "cannot read '%s/%s': %s", dir, JOB_RECORD_FILE, strerror(-r));
                return r;
        }
        struct job *j = calloc(1, sizeof *j);
        if (!j) {
                json_object_put(rec);
                return -ENOMEM;
        }
        j->cfg = cfg;
        j->record = rec;
        j->case_id = strdup(job_record_string(rec, JOB_CASE));
        j->dir = strdup(dir);
        j->number = (unsigned) job_record_int(rec, JOB_NUMBER, 0);
        if (!j->case_id || !j->dir) {
                job_free(j);
                return -ENOMEM;
        }
        r = open_log(j, err, err_size);
        if (r < 0) {
                job_free(j);
                return r;
        }
        job_log(j, "job %s/%u resumed", j->case_id, j->number);
        *ret = j;
        return 0;
}

int job_find(const struct config *cfg, const char *case_id, const char *queue_id, char **ret_dir, bool *ret_finished) {
        assert(cfg && case_id && queue_id && ret_dir);
        char case_dir[PATH_MAX];
        int r = -ENOENT;

        snprintf(case_dir, sizeof case_dir, "%s/cases/%s", config_string(cfg, CONF_ROOT), case_id);
        DIR *d = opendir(case_dir);
        if (!d)
                return errno == ENOENT ? -ENOENT : -errno;
        for (struct dirent *e; r == -ENOENT && (e = readdir(d));) {
                char path[PATH_MAX];
                json_object *rec = NULL;
                if (e->d_name[0] < '1' || e->d_name[0] > '9' || strspn(e->d_name, "0123456789") != strlen(e->d_name))
                        continue;
                if (job_path(case_dir, e->d_name, path, sizeof path) < 0 || job_record_read(path, &rec) < 0)
                        continue;
                const char *id = job_record_string(rec, JOB_QUEUE_ID);
                if (id && !strcmp(id, queue_id)) {
                        if (ret_finished)
                                *ret_finished = job_record_state(rec) != JOB_RUNNING;
                        *ret_dir = strdup(path);
                        r = *ret_dir ? 0 : -ENOMEM;
                }
                json_object_put(rec);
        }
        closedir(d);
        return r;
}

enum job_state job_state(struct job *j) {
        assert(j);
        int s = job_record_state(j->record);
        /* a record that names no state was never finished */
        return s < 0 ? JOB_RUNNING : (enum job_state) s;
}

bool job_stage_done(struct job *j, enum job_stage s) {
        assert(j);
        return job_record_stage_done(j->record, s);
}

struct job *job_free(struct job *j) {
        if (!j)
                return NULL;
        if (j->log)
                fclose(j->log);
        json_object_put(j->record);
        free(j->dir);
        free(j->case_id);
        free(j);
        return NULL;
}

const char *job_dir(const struct job *j) {
        assert(j);
        return j->dir;
}
const char *job_case(const struct job *j) {
        assert(j);
        return j->case_id;
}
unsigned job_number(const struct job *j) {
        assert(j);
        return j->number;
}
const struct config *job_config(const struct job *j) {
        assert(j);
        return j->cfg;
}

void job_log(struct job *j, const char *fmt, ...) {
        assert(j && fmt);
        char now[40];
        va_list ap;
        if (!j->log)
                return;
        char line[8192], shown[16384];
        iso_now(now, sizeof now);
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        /* one line, whatever a file name or a server put in it, and no credentials: the log
         * is served */
        fprintf(j->log, "%s %s\n", now, shown_text(line, shown, sizeof shown, true));
}

void job_log_dir(const char *dir, const char *fmt, ...) {
        assert(dir && fmt);
        char line[8192], path[PATH_MAX];
        va_list ap;
        iso_now(line, sizeof line);
        size_t n = strlen(line);
        line[n++] = ' ';
        char msg[4096];
        va_start(ap, fmt);
        int m = vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (m < 0)
                return;
        shown_text(msg, line + n, sizeof line - n - 1, true);
        n = strlen(line);
        line[n++] = '\n';
        snprintf(path, sizeof path, "%s/%s", dir, JOB_LOG_FILE);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        ssize_t w = write(fd, line, n);
        (void) w; /* a log line that cannot be written has nowhere else to go */
        close(fd);
}

void job_say(struct job *j, const char *fmt, ...) {
        char msg[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (j)
                job_log(j, "%s", msg);
        else
                fprintf(stderr, "hotkdump: %s\n", msg);
}

static json_object *stage_obj(struct job *j, enum job_stage s) {
        json_object *stages = job_record_get(j->record, JOB_STAGES), *st;
        if (!json_object_object_get_ex(stages, job_stage_to_string(s), &st)) {
                st = json_object_new_object();
                json_object_object_add(stages, job_stage_to_string(s), st);
        }
        return st;
}

int job_stage_begin(struct job *j, enum job_stage s) {
        assert(j);
        char now[40];
        iso_now(now, sizeof now);
        j->stage_start[s] = clock_now();
        json_object *st = stage_obj(j, s);
        json_object_object_add(st, "state", json_object_new_string(job_state_to_string(JOB_RUNNING)));
        json_object_object_add(st, "start", json_object_new_string(now));
        json_object_object_add(j->record, job_field_name(JOB_STAGE), json_object_new_string(job_stage_to_string(s)));
        job_log(j, "stage %s: start", job_stage_to_string(s));
        return save(j);
}

int job_stage_end(struct job *j, enum job_stage s, int r, const char *error) {
        assert(j);
        char now[40];
        iso_now(now, sizeof now);
        struct timespec t = clock_now();
        double secs = clock_seconds(&j->stage_start[s], &t);
        json_object *st = stage_obj(j, s);
        json_object_object_add(st, "state", json_object_new_string(job_state_to_string(r < 0 ? JOB_FAILED : JOB_DONE)));
        json_object_object_add(st, "end", json_object_new_string(now));
        char secs_text[32];
        snprintf(secs_text, sizeof secs_text, "%.3f", secs);
        json_object_object_add(st, "seconds", json_object_new_double_s(secs, secs_text));
        if (r < 0)
                json_object_object_add(st, "error", json_object_new_string(error && *error ? error : strerror(-r)));
        job_log(j, "stage %s: %s in %.3f s%s%s", job_stage_to_string(s), job_state_to_string(r < 0 ? JOB_FAILED : JOB_DONE), secs, r < 0 ? ": " : "",
                r < 0 ? (error && *error ? error : strerror(-r)) : "");
        return save(j);
}

int job_finish(struct job *j, int r, const char *error) {
        assert(j);
        const char *state = job_state_to_string(r < 0 ? JOB_FAILED : r > 0 ? JOB_INCOMPLETE : JOB_DONE);
        json_object_object_add(j->record, job_field_name(JOB_STATE), json_object_new_string(state));
        json_object_object_del(j->record, job_field_name(JOB_STAGE));
        if (r != 0)
                json_object_object_add(j->record, job_field_name(JOB_ERROR),
                                       json_object_new_string(error && *error ? error : strerror(r < 0 ? -r : r)));
        job_log(j, "job %s%s%s", state, r > 0 && error ? ": " : "", r > 0 && error ? error : "");
        return save(j);
}

json_object *job_record(struct job *j) {
        assert(j);
        return j->record;
}

int job_set(struct job *j, enum job_field f, json_object *value) {
        assert(j);
        json_object_object_add(j->record, job_field_name(f), value);
        return save(j);
}

static void log_output(struct job *j, const char *name, const char *text, size_t len) {
        if (!text || len == 0)
                return;
        fprintf(j->log, "---- %s (%zu bytes)\n", name, len);
        fwrite(text, 1, len, j->log);
        if (text[len - 1] != '\n')
                fputc('\n', j->log);
        fprintf(j->log, "---- end of %s\n", name);
}

int job_run_command(struct job *j, const struct subprocess_opts *opts, struct subprocess_result *ret) {
        assert(j && opts && ret);
        char line[8192];
        if (subprocess_format_argv(opts->argv, line, sizeof line) < 0)
                snprintf(line, sizeof line, "%s …", opts->argv[0]);
        job_log(j, "run: %s", line);
        int r = subprocess_run(opts, ret);
        if (r < 0) {
                job_log(j, "could not start %s: %s", opts->argv[0], strerror(-r));
                return r;
        }
        log_output(j, "stdout", ret->out, ret->out_len);
        log_output(j, "stderr", ret->err, ret->err_len);
        if (ret->dropped)
                job_log(j, "(%zu bytes of output not kept)", ret->dropped);
        job_log(j, "exit: %d%s", ret->status, ret->timed_out ? " (killed: timed out)" : "");
        return 0;
}
