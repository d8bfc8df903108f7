/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the daemon's pure parts: the durable queue (dedupe, claim, ack, requeue, reload
 * after a crash, a damaged entry), the parser of POST /analyze, and the watcher's decisions on
 * a dropped file (its case number, a temporary name, whether its first bytes can be a dump). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fileio.h"
#include "daemon/queue.h"
#include "daemon/request.h"
#include "tests/tap.h"
#include "watcher/watch.h"

static void test_queue(void) {
        char tmpl[] = "/tmp/hotkdump-queue.XXXXXX", err[512], bad[600];
        char *dir = mkdtemp(tmpl);
        struct queue *q = NULL;
        const struct queue_entry *e, *e2;
        bool dup;
        char id1[96], id2[96];

        tap_ok(dir && queue_open(dir, &q, err, sizeof err) == 0 && !err[0], "an empty queue opens");
        struct queue_request r = { .case_id = "00345677", .source = "http://x/up/vmcore.tar.gz?sig=1", .trigger = "http" };
        tap_is_int(queue_put(q, &r, &e, &dup), 0, "put");
        tap_ok(!dup && e->state == QUEUE_QUEUED, "a new job is queued");
        tap_is_str(e->filename, "vmcore.tar.gz", "the file name comes from the URL's path, without its query");
        snprintf(id1, sizeof id1, "%s", e->id);
        tap_ok(!strncmp(id1, "00345677-", 9), "the id starts with the case number (%s)", id1);

        struct queue_request same = { .case_id = "00345677", .source = "/mirror/00345677/vmcore.tar.gz", .size = 1234,
                                      .trigger = "watch" };
        tap_ok(queue_put(q, &same, &e, &dup) == 0 && dup && !strcmp(e->id, id1),
               "the mirror announcing the same file (size unknown to the first) is the same job");
        struct queue_request sized = { .case_id = "00345677", .source = "/m/vmcore.tar.gz", .size = 99, .trigger = "watch" };
        tap_ok(queue_put(q, &sized, &e, &dup) == 0 && dup, "a size only one side knows does not tell them apart");
        struct queue_request other_case = { .case_id = "00345678", .source = "/m/vmcore.tar.gz", .trigger = "watch" };
        tap_ok(queue_put(q, &other_case, &e, &dup) == 0 && !dup, "the same name in another case is another job");
        snprintf(id2, sizeof id2, "%s", e->id);
        struct queue_request s1 = { .case_id = "00345679", .source = "/m/a.gz", .size = 10, .trigger = "watch" };
        struct queue_request s2 = { .case_id = "00345679", .source = "/m/a.gz", .size = 11, .trigger = "watch" };
        queue_put(q, &s1, &e, &dup);
        tap_ok(queue_put(q, &s2, &e, &dup) == 0 && !dup, "sizes that differ make two jobs");
        struct queue_request h1 = { .case_id = "00345680", .source = "/m/b.gz", .sha256 = "aa", .trigger = "http" };
        struct queue_request h2 = { .case_id = "00345680", .source = "/m/b.gz", .sha256 = "AA", .trigger = "http" };
        struct queue_request h3 = { .case_id = "00345680", .source = "/m/b.gz", .sha256 = "bb", .trigger = "http" };
        queue_put(q, &h1, &e, &dup);
        tap_ok(queue_put(q, &h2, &e, &dup) == 0 && dup, "sha256 compares without case");
        tap_ok(queue_put(q, &h3, &e, &dup) == 0 && !dup, "sha256s that differ make two jobs");
        tap_is_int(queue_count(q, QUEUE_QUEUED), 6, "6 jobs queued");

        /* many more: the indexes grow and still find every one */
        for (int i = 0; i < 600; i++) {
                char c[16], src[64];
                snprintf(c, sizeof c, "%08d", 500000 + i % 37);
                snprintf(src, sizeof src, "/m/%d/dump.%d", i, i);
                struct queue_request m = { .case_id = c, .source = src, .trigger = "watch", .rebuildable = true };
                queue_put(q, &m, &e, &dup);
        }
        int found = 0;
        for (int i = 0; i < 600; i++) {
                char c[16], src[64];
                snprintf(c, sizeof c, "%08d", 500000 + i % 37);
                snprintf(src, sizeof src, "/elsewhere/dump.%d", i);
                struct queue_request m = { .case_id = c, .source = src, .trigger = "http" };
                found += queue_put(q, &m, &e, &dup) == 0 && dup;
        }
        tap_is_int(found, 600, "after 600 more puts, each is found again by case and name");
        tap_ok(queue_get(q, id1) && queue_get(q, id2), "the first jobs are still found by id");

        tap_ok(queue_claim(q, NULL, NULL, &e) == 1 && !strcmp(e->id, id1) && e->state == QUEUE_RUNNING && e->attempts == 1,
               "claim takes the oldest");
        tap_is_int(queue_set_dir(q, id1, "/root/cases/00345677/1"), 0, "set_dir");
        tap_ok(queue_claim(q, NULL, NULL, &e2) == 1 && !strcmp(e2->id, id2), "the next claim takes the next");
        tap_is_int(queue_ack(q, id2, QUEUE_FAILED, "no dump in the upload", 3), 0, "ack failed");
        tap_is_int(queue_ack(q, id2, QUEUE_RUNNING, NULL, 0), -EINVAL, "ack needs a final state");
        tap_is_int(queue_ack(q, "nope", QUEUE_DONE, NULL, 0), -ENOENT, "ack of an unknown id");
        q = queue_free(q);

        /* a damaged entry next to the good ones, as a disk might leave it */
        snprintf(bad, sizeof bad, "%s/broken.json", dir);
        write_file_atomic(dir, "broken.json", "{\"id\": 3", 8);
        tap_ok(queue_open(dir, &q, err, sizeof err) == 0, "the queue opens again, as after kill -9");
        tap_ok(strstr(err, "broken.json") && strstr(err, ".bad"), "the damaged entry is named and moved aside: %s", err);
        snprintf(bad, sizeof bad, "%s/broken.json.bad", dir);
        tap_ok(access(bad, F_OK) == 0, "it is kept as .bad");
        e = queue_get(q, id1);
        tap_ok(e && e->state == QUEUE_QUEUED && e->dir && !strcmp(e->dir, "/root/cases/00345677/1") && e->attempts == 1,
               "a job left running is queued again, with its folder and attempts");
        e = queue_get(q, id2);
        tap_ok(e && e->state == QUEUE_FAILED && e->error && !strcmp(e->error, "no dump in the upload") && e->error_class == 3,
               "a finished job keeps its state and error");
        tap_is_int(queue_count(q, QUEUE_QUEUED), 605, "every queued job came back");
        tap_ok(queue_claim(q, NULL, NULL, &e) == 1 && !strcmp(e->id, id1), "the requeued one is claimed first again");
        char run0[128], run1[128];
        queue_run_id(queue_get(q, id2), run0, sizeof run0);
        tap_is_int(queue_requeue(q, id2, QUEUE_REQUEUE_NEW_RUN), 0, "a failed job is retried");
        e = queue_get(q, id2);
        tap_ok(e->state == QUEUE_QUEUED && !e->dir && !e->error && e->attempts == 0, "in a new folder, with no error");
        queue_run_id(e, run1, sizeof run1);
        tap_ok(strcmp(run0, run1) != 0, "as a new run (%s, then %s)", run0, run1);
        tap_is_int(queue_requeue(q, id1, QUEUE_REQUEUE_UNCOUNTED), 0, "a job stopped by a shutdown is queued again");
        tap_is_int(queue_get(q, id1)->attempts, 1, "without counting that attempt");
        q = queue_free(q);
        remove_tree(dir);
}

static void test_request(void) {
        static const struct {
                const char *body;
                const char *want; /* NULL: accepted; else a word of the error */
        } cases[] = {
                { "{\"case\": \"00345677\", \"url\": \"https://u/x.tar\"}", NULL },
                { "{\"case\": \"00345677\", \"path\": \"/m/x\", \"size\": 12, \"filename\": \"x.tar\"}", NULL },
                { " {\"case\": \"1\", \"url\": \"HTTP://u/x\", \"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef\"}\n ", NULL },
                { "", "ends too soon" },
                { "{\"case\": \"00345677\", \"url\": ", "ends too soon" },
                { "[1]", "JSON object" },
                { "\"x\"", "JSON object" },
                { "{\"case\": 1, \"url\": \"http://u/x\"}", "'case' must be a string" },
                { "{\"case\": \"1\", \"url\": \"http://u/x\", \"size\": \"9\"}", "whole number" },
                { "{\"case\": \"1\", \"url\": \"http://u/x\", \"size\": 1.5}", "whole number" },
                { "{\"case\": \"1\", \"url\": \"http://u/x\", \"size\": -1}", "negative" },
                { "{\"case\": \"1\", \"url\": \"http://u/x\", \"extra\": 1}", "unknown field 'extra'" },
                { "{\"url\": \"http://u/x\"}", "'case' is required" },
                { "{\"case\": \"1\"}", "one of 'url' and 'path'" },
                { "{\"case\": \"1\", \"url\": \"http://u\", \"path\": \"/x\"}", "one of 'url' and 'path'" },
                { "{\"case\": \"1\", \"url\": \"file:///etc/shadow\"}", "http://" },
                { "{\"case\": \"1\", \"url\": \"ftp://u/x\"}", "http://" },
                { "{\"case\": \"1\", \"path\": \"relative/x\"}", "absolute" },
                { "{\"case\": \"1\", \"path\": \"/x\", \"filename\": \"../x\"}", "plain file name" },
                { "{\"case\": \"1\", \"path\": \"/x\", \"filename\": \"a\\nb\"}", "plain file name" },
                { "{\"case\": \"1\", \"path\": \"/x\", \"sha256\": \"abc\"}", "64 hex" },
                { "{\"case\": \"1\", \"path\": \"/x\"} {}", "text after" },
                { "{\"case\": \"1\", \"path\": \"/x\", \"case\": {\"a\": [[[[[[[[[[1]]]]]]]]]]}}", "not valid JSON" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct analyze_request r;
                char err[512] = "";
                int x = request_parse_analyze(cases[i].body, strlen(cases[i].body), &r, err, sizeof err);
                if (!cases[i].want)
                        tap_ok(x == 0 && r.case_id, "accepted: %s", cases[i].body);
                else
                        tap_ok(x == -EINVAL && strstr(err, cases[i].want) && !r.doc, "refused (%s): %s", err, cases[i].body);
                request_clear(&r);
        }
        struct analyze_request r;
        char err[256];
        const char *body = "{\"case\": \"00345677\", \"path\": \"/m/x\", \"size\": 12, \"filename\": \"x.tar\"}";
        request_parse_analyze(body, strlen(body), &r, err, sizeof err);
        tap_ok(r.size == 12 && !strcmp(r.filename, "x.tar") && !strcmp(r.path, "/m/x") && !r.url,
               "the fields are read");
        request_clear(&r);
}

static void test_case_file(void) {
        char c[16];
        unsigned n = 0;
        const char *name = NULL, *type = NULL;
        tap_is_int(request_case_file("00345677/2/report.html", c, sizeof c, &n, &name, &type), 0, "cases: a report");
        tap_is_str(c, "00345677", "cases: its case");
        tap_is_int(n, 2, "cases: its folder number");
        tap_is_str(name, "report.html", "cases: its file");
        tap_is_str(type, "text/html; charset=utf-8", "cases: served as HTML");
        tap_is_int(request_case_file("00345677/12/crash/02-bt.txt", c, sizeof c, &n, &name, &type), 0,
                   "cases: a crash command's output");
        tap_is_str(name, "crash/02-bt.txt", "cases: … under crash/");
        static const char *const refused[] = {
                "00345677/2/vmcore",             /* the dump is never served */
                "00345677/2/dump/vmcore",        /* nor what was unpacked */
                "00345677/2/../../etc/passwd",   /* nothing climbs */
                "00345677/2/crash/../job.json",
                "00345677/2/crash/.hidden.txt",
                "00345677/2/crash/a/b.txt",
                "00345677/02/report.html",       /* one spelling of each folder */
                "00345677/0/report.html",
                "00345677/1234567/report.html",
                "00345677/2x/report.html",
                "../00345677/2/report.html",
                ".00345677/2/report.html",
                "/2/report.html",
                "00345677/report.html",
                "00345677",
                "0034567700345677/2/report.html", /* longer than the buffer */
                "",
        };
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
                tap_is_int(request_case_file(refused[i], c, sizeof c, &n, &name, &type), -ENOENT, refused[i]);
}

static void test_watch_case(void) {
        struct config *cfg = NULL;
        char c[32], err[256];
        tap_is_int(config_new(&cfg), 0, "watch: config");
        static const struct {
                const char *path, *want;
        } cases[] = {
                { "00345677/vmcore.tar.gz", "00345677" },          /* the case's folder */
                { "upload-00345679/vmcore.kdump", "00345679" },    /* a folder that carries it */
                { "incoming/00345680-dump.tar", "00345680" },      /* the file name, when no folder has one */
                { "00345681/00999999-old.tar", "00345681" },       /* folders first, then the file name */
                { "2026/vmcore.tar", NULL },                        /* 4 digits: no case number */
                { "123456789012/vmcore", NULL },                    /* 12 digits: part of something longer */
                { "x00345682y/vmcore", "00345682" },                /* letters around it are fine, digits not */
                { "ab1234567890123cd/vmcore", NULL },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                int r = watch_case_of(cfg, cases[i].path, c, sizeof c);
                if (cases[i].want) {
                        tap_is_int(r, 0, cases[i].path);
                        tap_is_str(c, cases[i].want, "watch: its case number");
                } else
                        tap_is_int(r, -ENOENT, cases[i].path);
        }
        tap_is_int(config_set(cfg, "watch.case_pattern", "case-(?<case>[0-9]+)", err, sizeof err), 0,
                   "watch: a pattern with a named group");
        tap_is_int(watch_case_of(cfg, "in/case-42/dump", c, sizeof c), 0, "watch: the named group is the case");
        tap_is_str(c, "42", "watch: … without the prefix");
        tap_is_int(watch_case_of(cfg, "in/case-/dump", c, sizeof c), -ENOENT, "watch: an empty match is none");
        tap_is_int(config_set(cfg, "watch.case_pattern", "([0-9]+", err, sizeof err) < 0 ||
                           watch_case_of(cfg, "00345677/x", c, sizeof c) == -EINVAL,
                   1, "watch: a broken pattern is refused, never matched");
        config_free(cfg);

        static const char *const ignored[] = { ".vmcore.kdump.Xa12Bc", "dump.part", "DUMP.PART", "x.tmp", "y.crdownload",
                                               "z.filepart", "notes~", ".hidden", "" };
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                tap_ok(watch_name_ignored(ignored[i]), "watch: '%s' is still being written", ignored[i]);
        static const char *const taken[] = { "vmcore", "dump.202611271435", "vmcore.tar.gz", "part.vmcore" };
        for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
                tap_ok(!watch_name_ignored(taken[i]), "watch: '%s' is an upload's name", taken[i]);

        unsigned char head[512] = { 0 };
        memcpy(head, "KDUMP   ", 8);
        tap_ok(watch_looks_like_upload(head, sizeof head), "watch: a kdump-compressed header");
        memcpy(head, "\x7f" "ELF", 4);
        tap_ok(watch_looks_like_upload(head, 4), "watch: an ELF header, in 4 bytes");
        tap_ok(!watch_looks_like_upload(head, 3), "watch: 3 bytes are not enough to tell");
        memset(head, 0, sizeof head);
        memcpy(head + 257, "ustar", 5);
        tap_ok(watch_looks_like_upload(head, sizeof head), "watch: a tar header at 257");
        tap_ok(!watch_looks_like_upload(head, 260), "watch: a tar cut before its magic");
        memcpy(head, "Dear support, attached", 22);
        memset(head + 257, 0, 5);
        tap_ok(!watch_looks_like_upload(head, sizeof head), "watch: a text file is no upload");
}

int main(void) {
        test_queue();
        test_request();
        test_watch_case();
        test_case_file();
        return tap_done();
}
