/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the stage machine's resume and sibling rules, on synthetic dumps, up to the
 * first look (no symbols, no crash): an upload of two dumps makes two jobs, the second carrying
 * the upload's id; a finished upload run again makes nothing new; a job stopped after its fetch
 * or after its unpack goes on without fetching again (its source is gone by then) or without
 * unpacking again; a further dump whose job had not finished is taken up in its own folder. */

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
#include "pipeline/pipeline.h"
#include "tests/tap.h"
#include "tests/unit/synth.h"

static char tmp[] = "/tmp/hotkdump-pipeline-XXXXXX";
static struct config *cfg;

static int run(const char *source, const char *queue_id, const char *job_dir, enum job_stage stop_after,
               struct pipeline_result *res) {
        struct fetch_request fr = { .source = source };
        struct pipeline_request pr = { .case_id = "00100001", .fetch = &fr, .stop_after = stop_after,
                                       .queue_id = queue_id, .job_dir = job_dir };
        return pipeline_run(cfg, &pr, res);
}

static json_object *record(const char *dir) {
        json_object *rec = NULL;
        return job_record_read(dir, &rec) == 0 ? rec : NULL;
}

/* What a crash of the process leaves: the record still running. */
static void mark_running(const char *dir) {
        json_object *rec = record(dir);
        json_object_object_add(rec, job_field_name(JOB_STATE), json_object_new_string(job_state_to_string(JOB_RUNNING)));
        tap_is_int(json_write_atomic(dir, JOB_RECORD_FILE, rec), 0, "the job is made to look interrupted");
        json_object_put(rec);
}

static bool log_has(const char *dir, const char *s) {
        char path[PATH_MAX], *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, JOB_LOG_FILE);
        bool has = read_file_max(path, 16u << 20, &text, &len) == 0 && strstr(text, s);
        free(text);
        return has;
}

static unsigned folders(void) {
        char path[PATH_MAX + 32];
        unsigned n = 0;
        for (unsigned i = 1; i < 20; i++) {
                snprintf(path, sizeof path, "%s/root/cases/00100001/%u", tmp, i);
                n += access(path, F_OK) == 0;
        }
        return n;
}

static void write_dump(const char *path, bool elf) {
        size_t n = 0;
        uint8_t *d = elf ? synth_elf(true, false, 4, &n) : synth_kdump(&(struct synth_kdump) { .compression = 1, .uts_in_header = true }, &n);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = 0;
        tap_ok(d && write_file_atomic(dir, strrchr(path, '/') + 1, d, n) == 0, "a synthetic dump at %s", strrchr(path, '/') + 1);
        free(d);
}

int main(void) {
        char err[512], root[PATH_MAX], up[PATH_MAX + 16], a[PATH_MAX + 32], b[PATH_MAX + 32], tarball[PATH_MAX + 32],
                cmd[4 * PATH_MAX];
        if (!mkdtemp(tmp))
                return 99;
        snprintf(root, sizeof root, "%s/root", tmp);
        snprintf(up, sizeof up, "%s/up", tmp);
        mkdir(up, 0755);
        tap_ok(config_new(&cfg) == 0 && config_set(cfg, "root", root, err, sizeof err) == 0, "config");

        /* --- two dumps in one upload: two jobs ----------------------------------------------- */
        snprintf(a, sizeof a, "%s/a.kdump", up);
        snprintf(b, sizeof b, "%s/b.elf", up);
        write_dump(a, false);
        write_dump(b, true);
        snprintf(tarball, sizeof tarball, "%s/two.tar", tmp);
        snprintf(cmd, sizeof cmd, "tar -C '%s' -cf '%s' a.kdump b.elf", up, tarball);
        tap_is_int(system(cmd), 0, "a tarball of two dumps");
        struct pipeline_result res = { 0 };
        tap_is_int(run(tarball, "q-7", NULL, STAGE_FIRSTLOOK, &res), 0, "the upload is analysed");
        tap_is_int(res.n_dirs, 2, "… in two folders, one per dump");
        json_object *r1 = record(res.dirs[0]), *r2 = record(res.n_dirs > 1 ? res.dirs[1] : res.dirs[0]);
        tap_is_int(job_record_state(r1), JOB_DONE, "the first job is done");
        tap_is_int(job_record_state(r2), JOB_DONE, "the second job is done");
        tap_is_int(json_object_array_length(job_record_get(r1, JOB_DUMPS)), 2, "the first job lists both dumps");
        const char *qid = job_record_string(r2, JOB_QUEUE_ID);
        tap_ok(qid && !strncmp(qid, "q-7:", 4), "the second carries the upload's id and its dump (%s)", qid ? qid : "none");
        tap_ok(job_record_stage_done(r2, STAGE_FIRSTLOOK) && job_record_stage_done(r2, STAGE_IDENTIFY),
               "the second job has its own stages");
        json_object_put(r1);
        json_object_put(r2);
        char first[PATH_MAX], second[PATH_MAX];
        snprintf(first, sizeof first, "%s", res.dirs[0]);
        snprintf(second, sizeof second, "%s", res.n_dirs > 1 ? res.dirs[1] : "");
        pipeline_result_clear(&res);

        /* --- run again once finished: nothing new -------------------------------------------- */
        unlink(tarball);
        tap_is_int(run(tarball, "q-7", first, STAGE_FIRSTLOOK, &res), 0, "the finished upload run again");
        tap_is_int(res.n_dirs, 1, "… names its folder");
        tap_is_int(folders(), 2, "… and makes no other");
        pipeline_result_clear(&res);

        /* --- a further dump whose job had not finished is taken up in its folder ------------- */
        tap_is_int(system(cmd), 0, "the tarball again (a daemon restart finds its source)");
        mark_running(second);
        tap_is_int(run(tarball, "q-7", first, STAGE_FIRSTLOOK, &res), 0, "the upload resumed");
        tap_is_int(folders(), 2, "the unfinished dump is not given a third folder");
        r2 = record(second);
        tap_is_int(job_record_state(r2), JOB_DONE, "its own folder's job is finished now");
        json_object_put(r2);
        pipeline_result_clear(&res);

        /* --- stopped after the fetch: the fetch is not done again ---------------------------- */
        char src[PATH_MAX + 32];
        snprintf(src, sizeof src, "%s/c.kdump", up);
        write_dump(src, false);
        tap_is_int(run(src, "q-8", NULL, STAGE_FETCH, &res), 0, "a job stopped after its fetch");
        char third[PATH_MAX];
        snprintf(third, sizeof third, "%s", res.dirs[0]);
        pipeline_result_clear(&res);
        mark_running(third);
        unlink(src);
        tap_is_int(run(src, "q-8", third, STAGE_FIRSTLOOK, &res), 0, "resumed, its source gone");
        tap_ok(log_has(third, "stage fetch: done before the restart"), "the fetched file was used");
        r1 = record(third);
        tap_ok(job_record_stage_done(r1, STAGE_UNPACK) && job_record_stage_done(r1, STAGE_IDENTIFY),
               "the unpack and the identification ran");
        tap_is_int(job_record_state(r1), JOB_DONE, "the job is done");
        json_object_put(r1);
        pipeline_result_clear(&res);

        /* --- stopped after the unpack: no fetch, no unpack ----------------------------------- */
        write_dump(src, false);
        tap_is_int(run(src, "q-9", NULL, STAGE_UNPACK, &res), 0, "a job stopped after its unpack");
        char fourth[PATH_MAX], input[PATH_MAX + 16];
        snprintf(fourth, sizeof fourth, "%s", res.dirs[0]);
        pipeline_result_clear(&res);
        snprintf(input, sizeof input, "%s/input", fourth);
        tap_ok(access(input, F_OK) != 0, "its input/ went once unpacked");
        mark_running(fourth);
        unlink(src);
        tap_is_int(run(src, "q-9", fourth, STAGE_FIRSTLOOK, &res), 0, "resumed, source and input gone");
        tap_ok(log_has(fourth, "stage unpack: done before the restart"), "the unpacked files were used");
        r1 = record(fourth);
        tap_is_str(json_path_text(job_record_get(r1, JOB_IDENTITY), "release"), SYNTH_RELEASE, "and identified");
        json_object_put(r1);
        pipeline_result_clear(&res);

        /* --- a refused upload: the job fails with the reason, nothing is left running -------- */
        char text[PATH_MAX + 32];
        snprintf(text, sizeof text, "%s/notes.txt", up);
        tap_ok(write_file_atomic(up, "notes.txt", "not a dump\n", 11) == 0, "a text file");
        tap_ok(run(text, NULL, NULL, STAGE_FIRSTLOOK, &res) < 0, "an upload with no dump fails");
        tap_is_int(res.error_class, PIPELINE_EINPUT, "… as refused input");
        tap_ok(strstr(res.error, "no kernel dump") != NULL, "… saying why (%s)", res.error);
        r1 = record(res.dirs[0]);
        tap_is_int(job_record_state(r1), JOB_FAILED, "its job is failed");
        tap_is_int(job_record_int(r1, JOB_ERROR_CLASS, -1), PIPELINE_EINPUT, "… with the class recorded");
        json_object_put(r1);
        pipeline_result_clear(&res);

        config_free(cfg);
        tap_remove_tree(tmp);
        return tap_done();
}
