/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the job queue's pruning: finished jobs whose case folders are gone leave the
 * queue, their uploads stay known (a mirror rescan or a second webhook is still a duplicate,
 * after a reopen too), the record survives a cut append and a prune cut between its steps, and
 * a record of a local file that is gone is dropped at the next open. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "daemon/queue.h"
#include "tests/tap.h"

static char tmp[] = "/tmp/hotkdump-queue-XXXXXX";
static char qdir[PATH_MAX];

/* The test's rule: a job is gone when its folder is. */
static bool folder_gone(const struct queue_entry *e, void *userdata) {
        (void) userdata;
        struct stat st;
        return e->dir && lstat(e->dir, &st) < 0 && errno == ENOENT;
}

/* The test's rule of the shared queue: what it holds may run. */
static bool may_hold(const struct queue_entry *e, void *userdata) {
        return !e->remote || *(bool *) userdata;
}

static int count_files(const char *dir, const char *suffix) {
        char cmd[PATH_MAX + 128];
        snprintf(cmd, sizeof cmd, "ls -1 '%s' | grep -c -- '%s$'", dir, suffix);
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (p && fscanf(p, "%d", &n) != 1)
                n = -1;
        if (p)
                pclose(p);
        return n;
}

/* Queues CASE/NAME (from SOURCE), runs it to done in a folder of its own; the id in id. */
static int finished_job(struct queue *q, const char *case_id, const char *source, const char *name, char *id,
                        size_t id_size, char *dir, size_t dir_size) {
        struct queue_request req = { .case_id = case_id, .source = source, .filename = name, .size = 1234,
                                     .trigger = "watch", .rebuildable = true };
        const struct queue_entry *e;
        bool dup;
        if (queue_put(q, &req, &e, &dup) < 0 || dup)
                return -1;
        snprintf(id, id_size, "%s", e->id);
        if (queue_claim(q, NULL, NULL, &e) != 1 || strcmp(e->id, id) != 0)
                return -1;
        snprintf(dir, dir_size, "%s/cases/%s-%s", tmp, case_id, name);
        if (mkdir_parents(dir) < 0 || queue_set_dir(q, id, dir) < 0)
                return -1;
        return queue_ack(q, id, QUEUE_DONE, NULL, 0);
}

static bool is_dup(struct queue *q, const char *case_id, const char *source, const char *name, bool *pruned,
                   char *id, size_t id_size) {
        struct queue_request req = { .case_id = case_id, .source = source, .filename = name, .size = 1234,
                                     .trigger = "watch", .rebuildable = true };
        const struct queue_entry *e = NULL;
        bool dup = false;
        if (queue_put(q, &req, &e, &dup) < 0 || !e)
                return false;
        *pruned = e->pruned;
        snprintf(id, id_size, "%s", e->id);
        return dup;
}

int main(void) {
        char err[4096], a[96], b[96], c[96], got[96], dir_a[PATH_MAX], dir_b[PATH_MAX], dir_c[PATH_MAX];
        char mirror_a[PATH_MAX], mirror_c[PATH_MAX];
        struct queue *q = NULL;
        size_t n = 0;
        bool pruned = false;

        if (!mkdtemp(tmp))
                return 1;
        snprintf(qdir, sizeof qdir, "%s/queue", tmp);
        snprintf(mirror_a, sizeof mirror_a, "%s/mirror-a.tar", tmp);
        snprintf(mirror_c, sizeof mirror_c, "%s/mirror-c.tar", tmp);
        for (int i = 0; i < 2; i++) {
                FILE *f = fopen(i ? mirror_c : mirror_a, "w");
                if (f)
                        fclose(f);
        }

        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0, "the queue opens");
        tap_ok(finished_job(q, "00100001", mirror_a, "a.tar", a, sizeof a, dir_a, sizeof dir_a) == 0,
               "job a is done");
        tap_ok(finished_job(q, "00100002", "http://files.example/b.tar", "b.tar", b, sizeof b, dir_b, sizeof dir_b) == 0,
               "job b is done");
        tap_ok(finished_job(q, "00100003", mirror_c, "c.tar", c, sizeof c, dir_c, sizeof dir_c) == 0, "job c is done");
        struct queue_request later = { .case_id = "00100004", .source = "/srv/mirror/00100004/d.tar", .trigger = "watch" };
        const struct queue_entry *e;
        bool dup;
        tap_ok(queue_put(q, &later, &e, &dup) == 0 && !dup, "job d is queued");
        char d[96];
        snprintf(d, sizeof d, "%s", e->id);

        /* nothing gone: nothing pruned */
        tap_ok(queue_prune(q, folder_gone, NULL, &n) == 0 && n == 0, "no folder gone: nothing pruned");
        tap_is_int(queue_known_count(q), 0, "no upload known yet");

        /* a and b's folders are purged, c's stays */
        tap_remove_tree(dir_a);
        tap_remove_tree(dir_b);
        tap_ok(queue_prune(q, folder_gone, NULL, &n) == 0, "the prune runs");
        tap_is_int(n, 2, "the two jobs whose folders are gone are pruned");
        size_t total;
        queue_entries(q, &total);
        tap_is_int(total, 2, "two jobs are left (c, done, and d, queued)");
        tap_ok(queue_get(q, a) == NULL && queue_get(q, b) == NULL, "a pruned job is no longer a job of the queue");
        tap_ok(queue_get(q, c) != NULL, "the job whose folder is there stays");
        tap_is_int(queue_known_count(q), 2, "two uploads known");
        tap_is_int(count_files(qdir, ".json"), 2, "two entry files left in the queue's folder");
        tap_ok(is_dup(q, "00100001", mirror_a, "a.tar", &pruned, got, sizeof got),
               "the pruned upload queued again (a rescan) is a duplicate");
        tap_ok(pruned && !strcmp(got, a), "and names the pruned job");
        tap_ok(is_dup(q, "00100002", "http://files.example/b.tar", "b.tar", &pruned, got, sizeof got) && pruned,
               "a second webhook for the other is a duplicate too");
        struct queue_request other = { .case_id = "00100002", .source = "http://files.example/b.tar", .filename = "b.tar",
                                       .size = 99 };
        tap_ok(queue_put(q, &other, &e, &dup) == 0 && !dup && !e->pruned,
               "the same name with another size is another upload: a new job");
        char other_b[96];
        snprintf(other_b, sizeof other_b, "%s", e->id);
        e = queue_get(q, d);
        tap_ok(e && !strcmp(e->case_id, "00100004") && e->state == QUEUE_QUEUED, "the jobs left are found by id");
        queue_free(q);

        /* reopened: still known, and the pruned entries did not come back */
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0 && !err[0], "the queue reopens without a warning");
        queue_entries(q, &total);
        tap_is_int(total, 3, "three jobs after the reopen (c, d and the other b)");
        tap_is_int(queue_known_count(q), 2, "the two uploads are still known");
        tap_ok(is_dup(q, "00100001", mirror_a, "a.tar", &pruned, got, sizeof got) && pruned,
               "after a reopen, the pruned upload is still a duplicate");

        /* c's folder and its mirror file go: the record of a local file that is gone is dropped at
         * the next open (a rescan cannot find it again) */
        tap_remove_tree(dir_c);
        tap_ok(queue_prune(q, folder_gone, NULL, &n) == 0 && n == 1, "c is pruned");
        unlink(mirror_c);
        queue_free(q);
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0, "the queue reopens");
        tap_is_int(queue_known_count(q), 2, "the record of the mirror file that is gone was dropped");
        queue_free(q);

        /* an append cut by a crash: the half line is left out with a warning, the rest kept */
        char known[PATH_MAX];
        snprintf(known, sizeof known, "%s/known-uploads", qdir);
        int fd = open(known, O_WRONLY | O_APPEND);
        tap_ok(fd >= 0 && write(fd, "{\"id\":\"0010", 11) == 11, "a cut line is appended");
        if (fd >= 0)
                close(fd);
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0, "the queue opens after a cut append");
        tap_ok(strstr(err, "known-uploads") && strstr(err, "1 line(s)"), "the cut line is named in the warning (%s)", err);
        tap_is_int(queue_known_count(q), 2, "the whole records are kept");
        queue_free(q);
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0 && !err[0], "the file was written again: no warning the next time");
        queue_free(q);

        /* a prune cut between its two steps: the record was written, the entry file is still
         * there. The entry wins and the record goes. */
        char path[PATH_MAX], text[1024];
        snprintf(path, sizeof path, "%s/%s.json", qdir, a);
        snprintf(text, sizeof text,
                 "{\"id\":\"%s\",\"case\":\"00100001\",\"source\":\"%s\",\"filename\":\"a.tar\","
                 "\"size\":1234,\"trigger\":\"watch\",\"state\":\"done\",\"dir\":\"%s\",\"created_us\":1}",
                 a, mirror_a, dir_a);
        tap_ok(write_file_atomic(qdir, strrchr(path, '/') + 1, text, strlen(text)) == 0, "a's entry file is put back");
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0, "the queue opens");
        tap_ok(queue_get(q, a) != NULL, "the entry is a job again");
        tap_is_int(queue_known_count(q), 1, "and its record is gone");
        tap_ok(queue_prune(q, folder_gone, NULL, &n) == 0 && n == 1 && queue_known_count(q) == 2,
               "the next prune finishes it");
        queue_free(q);

        /* many: 20,000 finished jobs pruned, then the reopen reads one file */
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0, "the queue opens for the big prune");
        /* the two queued jobs end first, so that each claim below takes the job just queued; a
         * cancelled job that never had a folder is not pruned by this rule */
        tap_ok(queue_ack(q, d, QUEUE_CANCELLED, "cancelled", 0) == 0 && queue_ack(q, other_b, QUEUE_CANCELLED, "cancelled", 0) == 0,
               "d and the other b are cancelled");
        int made = 0;
        for (int i = 0; i < 20000; i++) {
                char cs[16], name[32];
                const struct queue_entry *x;
                snprintf(cs, sizeof cs, "%08d", 20000000 + i % 500);
                snprintf(name, sizeof name, "dump-%d.tar", i);
                struct queue_request r = { .case_id = cs, .source = "http://files.example/x", .filename = name,
                                           .trigger = "http", .rebuildable = true };
                if (queue_put(q, &r, &x, &dup) == 0 && !dup && queue_claim(q, NULL, NULL, &x) == 1 &&
                    !strcmp(x->filename, name) && queue_set_dir(q, x->id, "/nonexistent/hotkdump-test/folder") == 0 &&
                    queue_ack(q, x->id, QUEUE_DONE, NULL, 0) == 0)
                        made++;
        }
        tap_is_int(made, 20000, "20,000 jobs done");
        tap_ok(queue_prune(q, folder_gone, NULL, &n) == 0 && n == 20000, "all 20,000 pruned at once");
        queue_free(q);
        tap_is_int(count_files(qdir, ".json"), 2, "the queue's folder holds only the live entries");
        tap_ok(queue_open(qdir, &q, err, sizeof err) == 0 && !err[0], "the queue reopens");
        tap_is_int(queue_known_count(q), 20002, "every upload is known");
        const struct queue_entry *x;
        struct queue_request r = { .case_id = "20000123", .source = "http://files.example/x", .filename = "dump-123.tar" };
        tap_ok(queue_put(q, &r, &x, &dup) == 0 && dup && x->pruned, "one of them is a duplicate");
        queue_free(q);

        /* jobs of the shared queue: put under their id there, run only while held */
        char sdir[PATH_MAX + 8];
        snprintf(sdir, sizeof sdir, "%s/shared", tmp);
        tap_ok(queue_open(sdir, &q, err, sizeof err) == 0, "a queue for the shared queue's jobs");
        struct queue_request sr = { .case_id = "30100001", .source = "/srv/a/vmcore", .filename = "vmcore", .trigger = "http",
                                    .rebuildable = true, .id = "30100001-0badcafe" };
        struct queue_request lr = { .case_id = "30100001", .source = "/srv/a/vmcore", .filename = "vmcore", .trigger = "http",
                                    .rebuildable = true };
        const struct queue_entry *se = NULL, *le = NULL;
        tap_ok(queue_put(q, &sr, &se, &dup) == 0 && !dup && !strcmp(se->id, "30100001-0badcafe") && se->remote,
               "a job of the shared queue keeps its id there and is marked remote");
        tap_ok(queue_put(q, &sr, &se, &dup) == 0 && dup && !strcmp(se->id, "30100001-0badcafe"),
               "the same id again is that job (its host taking it up again)");
        tap_ok(queue_put(q, &lr, &le, &dup) == 0 && dup, "a local request for that upload is its duplicate");
        struct queue_request bad = sr;
        bad.id = "";
        tap_is_int(queue_put(q, &bad, &se, &dup), -EINVAL, "an empty id is refused");
        bool hold = false;
        tap_ok(queue_claim(q, may_hold, &hold, &se) == 0 && queue_count(q, QUEUE_QUEUED) == 1,
               "not held: it is not claimed, and stays queued");
        hold = true;
        tap_ok(queue_claim(q, may_hold, &hold, &se) == 1 && !strcmp(se->id, "30100001-0badcafe") && se->state == QUEUE_RUNNING,
               "held: claimed");
        queue_free(q);
        tap_ok(queue_open(sdir, &q, err, sizeof err) == 0 && (se = queue_get(q, "30100001-0badcafe")) && se->remote &&
                       se->state == QUEUE_QUEUED,
               "reopened: still remote, queued again (it runs when the shared queue hands it here again)");
        queue_free(q);

        if (getenv("KEEP")) { printf("# %s\n", tmp); return tap_done(); }
        tap_remove_tree(tmp);
        return tap_done();
}
