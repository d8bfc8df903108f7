/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the outbox's state machine, with the exec sink (hook scripts, local, so every
 * outcome can be made at will): a post per sink and script, written once however often it is
 * asked for; a delivery recorded in posted.json before the entry goes; a refusal kept, failed,
 * for a person; "try again later" (exit 75) waits its turn and is delivered on a later pass; an
 * early post nobody sent gives way to the full one; a forced pass sends what is not due. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/json.h"
#include "hooks/outbox.h"
#include "tests/tap.h"

static char tmp[] = "/tmp/hotkdump-outbox-XXXXXX";
static struct config *cfg;

static void script(const char *hooks, const char *name, const char *body) {
        char text[1024];
        int n = snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
        char path[PATH_MAX + 64];
        tap_ok(write_file_atomic(hooks, name, text, (size_t) n) == 0, "hook script %s", name);
        snprintf(path, sizeof path, "%s/%s", hooks, name);
        chmod(path, 0755);
}

/* A finished job with its report's comment and summary. */
static char *finished_job(const char *case_id) {
        struct job *j = NULL;
        char err[512];
        if (job_new(cfg, case_id, "/tmp/upload", "q-1", &j, err, sizeof err) < 0)
                return NULL;
        (void) job_finish(j, 0, NULL); /* read back below */
        char *dir = strdup(job_dir(j));
        job_free(j);
        const char *comment = "hotkdump analysis of the case\n", *summary = "{\"state\": \"done\"}\n";
        if (write_file_atomic(dir, "comment.txt", comment, strlen(comment)) < 0 ||
            write_file_atomic(dir, "summary.json", summary, strlen(summary)) < 0)
                return NULL;
        return dir;
}

static unsigned count(void) {
        int64_t next = 0;
        unsigned n = 0;
        return outbox_due(cfg, &next, &n) == 0 ? n : 9999;
}

static json_object *posted_of(const char *dir) {
        char path[PATH_MAX];
        json_object *o = NULL;
        snprintf(path, sizeof path, "%s/%s", dir, JOB_POSTED_FILE);
        return json_read_object(path, 1u << 20, &o) == 0 ? o : NULL;
}

int main(void) {
        char err[512], root[PATH_MAX], hooks[PATH_MAX + 16], state[PATH_MAX + 16];
        if (!mkdtemp(tmp))
                return 99;
        snprintf(root, sizeof root, "%s/root", tmp);
        snprintf(hooks, sizeof hooks, "%s/hooks", tmp);
        snprintf(state, sizeof state, "%s/flaky-ran", tmp);
        mkdir(hooks, 0755);
        char flaky[PATH_MAX + 128];
        snprintf(flaky, sizeof flaky, "if [ -e '%s' ]; then exit 0; fi; touch '%s'; echo busy >&2; exit 75", state, state);
        script(hooks, "10-ok", "echo \"$HOTKDUMP_EVENT $HOTKDUMP_CASE attempt $HOTKDUMP_ATTEMPT\"; exit 0");
        script(hooks, "20-flaky", flaky);
        script(hooks, "30-bad", "echo 'no such ticket' >&2; exit 3");
        tap_ok(config_new(&cfg) == 0 && config_set(cfg, "root", root, err, sizeof err) == 0 &&
                       config_set(cfg, "post.sinks", "exec", err, sizeof err) == 0 &&
                       config_set(cfg, "hooks.dir", hooks, err, sizeof err) == 0 &&
                       config_set(cfg, "post.retry_min", "1h", err, sizeof err) == 0,
               "config: the exec sink, a retry an hour later");

        char *dir = finished_job("00345677");
        tap_ok(dir != NULL, "a finished job");
        tap_is_int(outbox_enqueue(cfg, dir, "full", err, sizeof err), 0, "its full post is written");
        tap_is_int(count(), 3, "one post per hook script");
        tap_is_int(outbox_enqueue(cfg, dir, "full", err, sizeof err), 0, "asked for again");
        tap_is_int(count(), 3, "… it is not written twice");

        struct outbox_run run = { 0 };
        tap_is_int(outbox_deliver(cfg, &run), 0, "a pass");
        tap_is_int(run.delivered, 1, "the good script's post is delivered");
        tap_is_int(run.retrying, 1, "the one that said 'later' (75) is retried");
        tap_is_int(run.failed, 1, "the refused one has failed");
        tap_is_int(count(), 2, "the delivered post left the outbox, the others stay");
        json_object *posted = posted_of(dir);
        tap_ok(json_get(posted, "00345677/1/full exec:10-ok") != NULL, "posted.json records the delivery");
        tap_ok(json_get(posted, "00345677/1/full exec:30-bad") == NULL, "… and not the refused one");
        json_object_put(posted);
        tap_is_int(outbox_enqueue(cfg, dir, "full", err, sizeof err), 0, "the job asks again (a resume)");
        tap_is_int(count(), 2, "… a delivered post is not written again");

        memset(&run, 0, sizeof run);
        tap_is_int(outbox_deliver(cfg, &run), 0, "a pass before the retry is due");
        tap_is_int(run.delivered + run.retrying, 0, "… sends nothing");
        tap_ok(run.waiting >= 1, "… the retried post waits (%u)", run.waiting);

        memset(&run, 0, sizeof run);
        run.force = true;
        tap_is_int(outbox_deliver(cfg, &run), 0, "a forced pass");
        tap_is_int(run.delivered, 1, "the script that said 'later' is delivered now");
        tap_is_int(run.failed, 1, "the refused one is tried and fails again");
        tap_is_int(count(), 1, "only the refused post is left, for a person");
        posted = posted_of(dir);
        tap_ok(json_get(posted, "00345677/1/full exec:20-flaky") != NULL, "posted.json records the second delivery");
        json_object_put(posted);

        json_object *list = NULL;
        tap_is_int(outbox_list(cfg, &list), 0, "the outbox lists");
        json_object *e = json_object_array_length(list) ? json_object_array_get_idx(list, 0) : NULL;
        tap_is_str(json_str(e, "sink"), "exec:30-bad", "the post left is the refused one");
        tap_is_str(json_str(e, "state"), "failed", "… failed");
        json_object_put(list);

        /* an early post gives way to the full one when nobody started sending it */
        char *dir2 = finished_job("00345678");
        tap_is_int(outbox_enqueue(cfg, dir2, "early", err, sizeof err), 0, "an early post");
        tap_is_int(count(), 4, "… one per script");
        tap_is_int(outbox_enqueue(cfg, dir2, "full", err, sizeof err), 0, "the full post of that job");
        tap_is_int(count(), 4, "… takes the early ones' place");
        tap_is_int(outbox_list(cfg, &list), 0, "the outbox lists");
        unsigned early = 0;
        for (size_t i = 0; i < json_object_array_length(list); i++)
                early += !strcmp(json_str_or(json_object_array_get_idx(list, i), "kind", ""), "early");
        tap_is_int(early, 0, "no early post is left");
        json_object_put(list);

        /* no sink configured: nothing is written */
        tap_is_int(config_set(cfg, "post.sinks", "", err, sizeof err), 0, "no sinks");
        char *dir3 = finished_job("00345679");
        tap_is_int(outbox_enqueue(cfg, dir3, "full", err, sizeof err), 0, "a post with no sink");
        tap_is_int(count(), 4, "… writes nothing");
        tap_is_int(config_set(cfg, "post.sinks", "exec pigeon", err, sizeof err) == 0 ? outbox_check_config(cfg, err, sizeof err) : 0,
                   -EINVAL, "an unknown sink is refused");
        tap_ok(strstr(err, "pigeon") != NULL, "… by name (%s)", err);

        free(dir), free(dir2), free(dir3);
        config_free(cfg);
        tap_remove_tree(tmp);
        return tap_done();
}
