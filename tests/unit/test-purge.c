/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the purge's choice of what goes: a finished job's folder older than older_than
 * goes, and nothing else: not a younger one, a running one, one with NOPURGE (or in a case with
 * one), one the daemon says is busy, one being made, a link; a dry run removes nothing; the
 * case keeps its last number; under disk pressure age no longer protects a finished folder. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/config.h"
#include "common/fileio.h"
#include "retention/purge.h"
#include "tests/tap.h"

static char tmp[] = "/tmp/hotkdump-purge-XXXXXX";
static char root[PATH_MAX];
static struct config *cfg;

/* A job folder of case_id, finished (state) or running, whose job ended days ago. */
static char *make_job(const char *case_id, int state, double days) {
        struct job *j = NULL;
        char err[512];
        if (job_new(cfg, case_id, "/tmp/upload", NULL, &j, err, sizeof err) < 0) {
                printf("# job_new: %s\n", err);
                return NULL;
        }
        if (state == JOB_DONE)
                (void) job_finish(j, 0, NULL); /* the test checks the state below */
        else if (state == JOB_FAILED)
                (void) job_finish(j, -EIO, "it broke");
        char *dir = strdup(job_dir(j));
        job_free(j);
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/%s", dir, JOB_RECORD_FILE);
        time_t when = time(NULL) - (time_t) (days * 86400);
        struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when } };
        if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 || utimensat(AT_FDCWD, dir, ts, 0) < 0)
                printf("# cannot age %s\n", dir);
        return dir;
}

static bool gone(const char *dir) {
        struct stat st;
        return lstat(dir, &st) < 0 && errno == ENOENT;
}

static const char *busy_dir;
static bool busy(void *userdata, const char *dir) {
        (void) userdata;
        return busy_dir && !strcmp(dir, busy_dir);
}

static char said[16384];
static void say(void *userdata, const char *line) {
        (void) userdata;
        size_t n = strlen(said);
        snprintf(said + n, sizeof said - n, "%s\n", line);
}

int main(void) {
        char err[512], path[PATH_MAX + 32];
        if (!mkdtemp(tmp))
                return 99;
        snprintf(root, sizeof root, "%s/root", tmp);
        if (config_new(&cfg) < 0 || config_set(cfg, "root", root, err, sizeof err) < 0)
                return 99;

        char *old_done = make_job("00100001", JOB_DONE, 20);
        char *old_failed = make_job("00100001", JOB_FAILED, 30);
        char *young = make_job("00100001", JOB_DONE, 2);
        char *running = make_job("00100001", JOB_RUNNING, 40);
        char *kept = make_job("00100001", JOB_DONE, 40);
        char *busy_one = make_job("00100001", JOB_DONE, 40);
        char *case_kept = make_job("00100002", JOB_DONE, 40);
        tap_ok(old_done && old_failed && young && running && kept && busy_one && case_kept, "the case folders are made");
        snprintf(path, sizeof path, "%s/NOPURGE", kept);
        tap_ok(write_file_atomic(kept, "NOPURGE", "", 0) == 0, "a NOPURGE in one folder");
        snprintf(path, sizeof path, "%s/cases/00100002", root);
        tap_ok(write_file_atomic(path, "NOPURGE", "", 0) == 0, "a NOPURGE in a case's folder");
        /* a folder being made: no job.json yet, just now */
        char making[PATH_MAX + 32];
        snprintf(making, sizeof making, "%s/cases/00100001/90", root);
        tap_ok(mkdir(making, 0755) == 0, "a folder a job is being made in");
        /* a link where a job folder would be, pointing at something to keep */
        char outside[PATH_MAX + 32], link[PATH_MAX + 32];
        snprintf(outside, sizeof outside, "%s/precious", tmp);
        mkdir(outside, 0755);
        snprintf(link, sizeof link, "%s/cases/00100001/91", root);
        tap_ok(symlink(outside, link) == 0, "a link in a case's folder");

        struct purge_result res = { 0 };
        struct purge_opts o = { .dry_run = true, .older_than = 14 * 86400, .busy = busy, .say = say };
        busy_dir = busy_one;
        tap_is_int(purge_run(cfg, &o, &res), 0, "a dry run");
        tap_is_int(res.removed, 2, "it would remove the two old finished folders");
        tap_ok(!gone(old_done) && !gone(old_failed), "a dry run removes nothing");
        tap_ok(strstr(said, "would remove: cases/00100001/1") != NULL, "it says what would go:\n%s", said);

        said[0] = 0;
        memset(&res, 0, sizeof res);
        o.dry_run = false;
        tap_is_int(purge_run(cfg, &o, &res), 0, "a purge");
        tap_is_int(res.removed, 2, "two folders removed");
        tap_ok(res.bytes_freed > 0, "the bytes freed are counted (%llu)", (unsigned long long) res.bytes_freed);
        tap_ok(gone(old_done), "an old done job's folder is gone");
        tap_ok(gone(old_failed), "an old failed job's folder is gone");
        tap_ok(!gone(young), "a job that ended two days ago stays");
        tap_ok(!gone(running), "a running job's folder stays, however old");
        tap_ok(!gone(kept), "a folder with NOPURGE stays");
        tap_ok(!gone(case_kept), "a folder of a case with NOPURGE stays");
        tap_ok(!gone(busy_one), "a folder the daemon has a job in stays");
        tap_ok(!gone(making), "a folder being made stays");
        tap_ok(!gone(link) && !gone(outside), "a link is left alone, and what it points to");
        snprintf(path, sizeof path, "%s/trash", root);
        struct stat st;
        tap_ok(stat(path, &st) != 0 || st.st_nlink == 2, "nothing is left in the trash");
        char *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/cases/00100001/.last", root);
        tap_ok(read_file_max(path, 64, &text, &len) == 0 && atoi(text) >= 2, "the case keeps its last number (%s)",
               text ? text : "none");
        free(text);

        /* under disk pressure, finished folders go whatever their age; the rest still stays */
        said[0] = 0;
        memset(&res, 0, sizeof res);
        o.older_than = 365 * 86400;
        o.want_free = UINT64_MAX / 2;
        busy_dir = NULL;
        tap_is_int(purge_run(cfg, &o, &res), 0, "a purge under disk pressure");
        tap_ok(gone(young), "a young finished folder goes when the disk is short");
        tap_ok(gone(busy_one), "… and one no longer busy");
        tap_ok(!gone(running) && !gone(kept) && !gone(case_kept), "a running job and NOPURGE still win");

        free(old_done), free(old_failed), free(young), free(running), free(kept), free(busy_one), free(case_kept);
        config_free(cfg);
        tap_remove_tree(tmp);
        return tap_done();
}
