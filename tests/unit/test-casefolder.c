/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the case folder: job.json's vocabulary (every name round-trips, nothing else
 * parses), the reading of a folder's record from outside (missing, damaged, a link, a record
 * without its case), checked path building, folder numbers taken with mkdir (and never given
 * again after a purge), a job's life from new to finished, and finding a run's folder. */

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
#include "tests/tap.h"

static char tmp[] = "/tmp/hotkdump-casefolder-XXXXXX";

static void put(const char *dir, const char *name, const char *text) {
        tap_ok(write_file_atomic(dir, name, text, strlen(text)) == 0, "wrote %s", name);
}

static void test_vocabulary(void) {
        for (int s = 0; s < _JOB_STATE_MAX; s++)
                tap_is_int(job_state_from_string(job_state_to_string((enum job_state) s)), s, "a state round-trips");
        for (int s = 0; s < _STAGE_MAX; s++)
                tap_is_int(job_stage_from_string(job_stage_to_string((enum job_stage) s)), s, "a stage round-trips");
        tap_is_str(job_state_to_string(JOB_INCOMPLETE), "incomplete", "the states are spelled as job.json has them");
        tap_is_str(job_stage_to_string(STAGE_FIRSTLOOK), "first-look", "the stages are spelled as job.json has them");
        tap_is_int(job_state_from_string("Done"), -EINVAL, "a state in the wrong case is no state");
        tap_is_int(job_state_from_string("cancelled"), -EINVAL, "the queue's 'cancelled' is not a case folder's state");
        tap_is_int(job_state_from_string(NULL), -EINVAL, "no name is no state");
        tap_is_str(job_state_to_string((enum job_state) 99), "unknown", "a state out of range is 'unknown'");
        tap_is_int(job_stage_from_string("firstlook"), -EINVAL, "a misspelt stage is refused");
        int distinct = 1;
        for (int a = 0; a < _JOB_FIELD_MAX; a++)
                for (int b = a + 1; b < _JOB_FIELD_MAX; b++)
                        distinct &= strcmp(job_field_name((enum job_field) a), job_field_name((enum job_field) b)) != 0;
        tap_ok(distinct, "every field of job.json has its own name");
        tap_is_str(job_field_name(JOB_FIRST_LOOK), "first_look", "first_look as the record has it");
}

static void test_path(void) {
        char buf[32], big[PATH_MAX + 10];
        tap_is_int(job_path("/srv/cases/1/2", JOB_RECORD_FILE, buf, sizeof buf), 0, "job_path: a path that fits");
        tap_is_str(buf, "/srv/cases/1/2/job.json", "job_path: dir/name");
        tap_is_int(job_path("/a/very/long/root/of/cases/00345677/1", JOB_RECORD_FILE, buf, sizeof buf), -ENAMETOOLONG,
                   "job_path: a path that does not fit is refused");
        tap_is_str(buf, "", "job_path: no truncated path is left in the buffer");
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = 0;
        json_object *rec = (json_object *) 1;
        tap_is_int(job_record_read(big, &rec), -ENAMETOOLONG, "job_record_read: a folder name past PATH_MAX");
        tap_ok(rec == (json_object *) 1, "job_record_read: *ret untouched on failure");
}

static void test_record_read(void) {
        char dir[PATH_MAX], path[PATH_MAX + 16];
        json_object *rec = NULL;
        snprintf(dir, sizeof dir, "%s/read", tmp);
        mkdir(dir, 0755);
        tap_is_int(job_record_read(dir, &rec), -ENOENT, "no job.json yet: -ENOENT");
        put(dir, JOB_RECORD_FILE, "{\"case\": \"00345677\", \"stages\": {");
        tap_is_int(job_record_read(dir, &rec), -EBADMSG, "cut-off JSON: -EBADMSG");
        put(dir, JOB_RECORD_FILE, "[\"00345677\"]");
        tap_is_int(job_record_read(dir, &rec), -EBADMSG, "an array: -EBADMSG");
        put(dir, JOB_RECORD_FILE, "{\"case\": 345677, \"stages\": {}}");
        tap_is_int(job_record_read(dir, &rec), -EBADMSG, "a case that is not a string: -EBADMSG");
        put(dir, JOB_RECORD_FILE, "{\"case\": \"00345677\"}");
        tap_is_int(job_record_read(dir, &rec), -EBADMSG, "no stages: not a job record");
        put(dir, JOB_RECORD_FILE,
            "{\"case\": \"00345677\", \"number\": 3, \"state\": \"incomplete\", \"error\": \"no symbols\", "
            "\"input_bytes\": 16777216, \"stages\": {\"fetch\": {\"state\": \"done\", \"seconds\": 1.5}, "
            "\"unpack\": {\"state\": \"failed\", \"seconds\": 0.25}, \"identify\": {\"state\": \"running\"}}}");
        tap_is_int(job_record_read(dir, &rec), 0, "a record reads");
        tap_is_str(job_record_string(rec, JOB_CASE), "00345677", "its case");
        tap_is_int(job_record_int(rec, JOB_NUMBER, -1), 3, "its number");
        tap_is_int(job_record_int(rec, JOB_INPUT_BYTES, -1), 16777216, "its input's size");
        tap_is_int(job_record_int(rec, JOB_ERROR_CLASS, -1), -1, "a field it lacks gives the fallback");
        tap_is_int(job_record_int(rec, JOB_CASE, -1), -1, "a string is no integer");
        tap_ok(job_record_string(rec, JOB_NUMBER) == NULL, "a number is no string");
        tap_is_int(job_record_state(rec), JOB_INCOMPLETE, "its state");
        tap_ok(job_record_stage_done(rec, STAGE_FETCH), "fetch is done");
        tap_ok(!job_record_stage_done(rec, STAGE_UNPACK), "a failed unpack is not done");
        tap_ok(!job_record_stage_done(rec, STAGE_IDENTIFY), "a running identify is not done");
        tap_ok(job_record_stage_seconds(rec, STAGE_FETCH) == 1.5, "fetch took 1.5 s");
        tap_ok(job_record_stage_seconds(rec, STAGE_IDENTIFY) < 0, "a stage not ended has no seconds");
        tap_is_int(job_record_stages_done(rec), 1, "one stage done");
        json_object_put(rec);

        put(dir, JOB_RECORD_FILE, "{\"case\": \"1\", \"state\": \"cancelled\", \"stages\": {}}");
        rec = NULL;
        tap_is_int(job_record_read(dir, &rec), 0, "a record with an unknown state reads");
        tap_is_int(job_record_state(rec), -EBADMSG, "… and names no state");
        json_object_put(rec);

        snprintf(path, sizeof path, "%s/" JOB_RECORD_FILE, dir);
        unlink(path);
        tap_ok(symlink("/etc/passwd", path) == 0, "job.json replaced by a link");
        tap_is_int(job_record_read(dir, &rec), -EBADMSG, "a link in job.json's place is not followed");
}

static void test_job_life(void) {
        struct config *cfg = NULL;
        struct job *j = NULL, *k = NULL;
        char err[512], root[PATH_MAX], casedir[PATH_MAX + 16];
        snprintf(root, sizeof root, "%s/root", tmp);
        tap_is_int(config_new(&cfg), 0, "config");
        tap_is_int(config_set(cfg, "root", root, err, sizeof err), 0, "root set");

        tap_is_int(job_new(cfg, "../etc", "/tmp/x", NULL, &j, err, sizeof err), -EINVAL, "a case number with a path in it");
        tap_ok(strstr(err, "../etc") != NULL, "the refusal names it (%s)", err);
        tap_is_int(job_new(cfg, "12", "/tmp/x", NULL, &j, err, sizeof err), -EINVAL, "a case number off the pattern");
        tap_ok(access(root, F_OK) != 0, "nothing is made for a refused case");

        tap_is_int(job_new(cfg, "00345677", "/tmp/x", "q-1", &j, err, sizeof err), 0, "a job");
        tap_is_int(job_number(j), 1, "the case's first folder is 1");
        tap_is_int(job_state(j), JOB_RUNNING, "a new job is running");
        tap_is_int(job_new_sibling(j, "/tmp/x:dump2", "q-1:dump2", &k, err, sizeof err), 0, "a sibling");
        tap_is_int(job_number(k), 2, "the sibling takes the next folder");
        k = job_free(k);

        /* a purge keeps the case's last number: 5 was given and removed */
        snprintf(casedir, sizeof casedir, "%s/cases/00345677", root);
        put(casedir, ".last", "5\n");
        tap_is_int(job_new(cfg, "00345677", "/tmp/y", "q-2", &k, err, sizeof err), 0, "a third job");
        tap_is_int(job_number(k), 6, "a number a purged folder had is not given again");

        /* a folder a killed process was making is removed, and never has a number */
        char stale[PATH_MAX + 64];
        snprintf(stale, sizeof stale, "%s/.new-2147483646-abcdef", casedir);
        tap_is_int(mkdir(stale, 0755), 0, "a folder left half made by a killed process");
        put(stale, "hotkdump.log", "x\n");
        struct job *m = NULL;
        tap_is_int(job_new(cfg, "00345677", "/tmp/z", "q-3", &m, err, sizeof err), 0, "a fourth job");
        tap_is_int(job_number(m), 7, "… takes the next number");
        tap_ok(access(stale, F_OK) != 0, "… and the half-made folder is gone");
        snprintf(stale, sizeof stale, "%s/7/job.json", casedir);
        tap_ok(access(stale, F_OK) == 0, "a numbered folder has its job.json from the start");
        m = job_free(m);

        tap_is_int(job_stage_begin(j, STAGE_FETCH), 0, "fetch begins");
        tap_ok(!job_stage_done(j, STAGE_FETCH), "… and is not done");
        tap_is_str(job_record_string(job_record(j), JOB_STAGE), "fetch", "the running stage is recorded");
        tap_is_int(job_stage_end(j, STAGE_FETCH, 0, NULL), 0, "fetch ends");
        tap_ok(job_stage_done(j, STAGE_FETCH), "fetch is done");
        tap_ok(job_record_stage_seconds(job_record(j), STAGE_FETCH) >= 0, "with its seconds");
        tap_is_int(job_stage_begin(j, STAGE_UNPACK), 0, "unpack begins");
        tap_is_int(job_stage_end(j, STAGE_UNPACK, -EBADMSG, "not an archive"), 0, "unpack fails");
        tap_ok(!job_stage_done(j, STAGE_UNPACK), "a failed stage is not done");
        tap_is_int(job_set(j, JOB_INPUT, json_object_new_string("input/x")), 0, "a field set");
        tap_is_int(job_finish(j, -EBADMSG, "not an archive"), 0, "the job fails");
        tap_is_int(job_state(j), JOB_FAILED, "failed");
        tap_ok(job_record_get(job_record(j), JOB_STAGE) == NULL, "no stage is running once it ended");

        /* what an outsider reads is what the job wrote */
        json_object *rec = NULL;
        tap_is_int(job_record_read(job_dir(j), &rec), 0, "the folder's record reads from outside");
        tap_is_int(job_record_state(rec), JOB_FAILED, "… failed");
        tap_is_str(job_record_string(rec, JOB_ERROR), "not an archive", "… with its reason");
        tap_is_str(job_record_string(rec, JOB_INPUT), "input/x", "… and the field set");
        tap_is_str(job_record_string(rec, JOB_QUEUE_ID), "q-1", "… and the daemon's id");
        json_object_put(rec);

        char *found = NULL;
        bool finished = false;
        tap_is_int(job_find(cfg, "00345677", "q-1", &found, &finished), 0, "the run's folder is found by its id");
        tap_is_str(found, job_dir(j), "… it is the job's");
        tap_ok(finished, "… and it has ended");
        free(found);
        found = NULL;
        tap_is_int(job_find(cfg, "00345677", "q-2", &found, &finished), 0, "the other run is found");
        tap_ok(!finished, "… still running");
        free(found);
        tap_is_int(job_find(cfg, "00345677", "q-9", &found, NULL), -ENOENT, "an unknown run: -ENOENT");
        tap_is_int(job_find(cfg, "00999999", "q-1", &found, NULL), -ENOENT, "an unknown case: -ENOENT");

        struct job *again = NULL;
        tap_is_int(job_open(cfg, job_dir(j), &again, err, sizeof err), 0, "the folder opens again");
        tap_is_int(job_state(again), JOB_FAILED, "… as it was left");
        tap_is_int(job_number(again), 1, "… with its number");
        tap_ok(job_stage_done(again, STAGE_FETCH) && !job_stage_done(again, STAGE_UNPACK), "… and its stages");
        again = job_free(again);
        tap_ok(job_free(NULL) == NULL, "job_free(NULL)");
        j = job_free(j);
        k = job_free(k);
        config_free(cfg);
}

int main(void) {
        if (!mkdtemp(tmp))
                return 99;
        test_vocabulary();
        test_path();
        test_record_read();
        test_job_life();
        tap_remove_tree(tmp);
        return tap_done();
}
