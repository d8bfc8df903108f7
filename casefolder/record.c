/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job.json's vocabulary: the one place its names are spelled. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "casefolder/record.h"
#include "common/json.h"

static const char *const stage_names[_STAGE_MAX] = {
        [STAGE_FETCH] = "fetch",     [STAGE_UNPACK] = "unpack", [STAGE_IDENTIFY] = "identify",
        [STAGE_FIRSTLOOK] = "first-look", [STAGE_SYMBOLS] = "symbols", [STAGE_CRASH] = "crash", [STAGE_STORAGE] = "storage",
        [STAGE_REPORT] = "report",
};

static const char *const state_names[_JOB_STATE_MAX] = {
        [JOB_RUNNING] = "running",
        [JOB_DONE] = "done",
        [JOB_INCOMPLETE] = "incomplete",
        [JOB_FAILED] = "failed",
};

static const char *const field_names[_JOB_FIELD_MAX] = {
        [JOB_ID] = "id",
        [JOB_CASE] = "case",
        [JOB_NUMBER] = "number",
        [JOB_SOURCE] = "source",
        [JOB_QUEUE_ID] = "queue_id",
        [JOB_CREATED] = "created",
        [JOB_UPDATED] = "updated",
        [JOB_STATE] = "state",
        [JOB_STAGE] = "stage",
        [JOB_STAGES] = "stages",
        [JOB_ERROR] = "error",
        [JOB_ERROR_CLASS] = "error_class",
        [JOB_INPUT] = "input",
        [JOB_INPUT_BYTES] = "input_bytes",
        [JOB_DUMPS] = "dumps",
        [JOB_IDENTITY] = "identity",
        [JOB_FIRST_LOOK] = "first_look",
        [JOB_SYMBOLS] = "symbols",
        [JOB_CRASH] = "crash",
        [JOB_STORAGE] = "storage",
        [JOB_FINDINGS] = "findings",
        [JOB_TRIAGE] = "triage",
};

static int lookup(const char *const *names, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (strcmp(s, names[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *job_stage_to_string(enum job_stage s) {
        return (unsigned) s < _STAGE_MAX ? stage_names[s] : "unknown";
}

int job_stage_from_string(const char *s) {
        return lookup(stage_names, _STAGE_MAX, s);
}

const char *job_state_to_string(enum job_state s) {
        return (unsigned) s < _JOB_STATE_MAX ? state_names[s] : "unknown";
}

int job_state_from_string(const char *s) {
        return lookup(state_names, _JOB_STATE_MAX, s);
}

const char *job_field_name(enum job_field f) {
        assert((unsigned) f < _JOB_FIELD_MAX);
        return field_names[f];
}

json_object *job_record_get(json_object *rec, enum job_field f) {
        return json_get(rec, job_field_name(f));
}

const char *job_record_string(json_object *rec, enum job_field f) {
        return json_str(rec, job_field_name(f));
}

int64_t job_record_int(json_object *rec, enum job_field f, int64_t fallback) {
        return json_int(rec, job_field_name(f), fallback);
}

int job_record_state(json_object *rec) {
        int s = job_state_from_string(job_record_string(rec, JOB_STATE));
        return s < 0 ? -EBADMSG : s;
}

static json_object *stage_of(json_object *rec, enum job_stage s) {
        return json_get(job_record_get(rec, JOB_STAGES), job_stage_to_string(s));
}

bool job_record_stage_done(json_object *rec, enum job_stage s) {
        const char *state = json_str(stage_of(rec, s), "state");
        return state && strcmp(state, state_names[JOB_DONE]) == 0;
}

double job_record_stage_seconds(json_object *rec, enum job_stage s) {
        json_object *v = json_get(stage_of(rec, s), "seconds");
        return v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
                       ? json_object_get_double(v)
                       : -1;
}

unsigned job_record_stages_done(json_object *rec) {
        unsigned n = 0;
        for (int s = 0; s < _STAGE_MAX; s++)
                n += job_record_stage_done(rec, (enum job_stage) s);
        return n;
}

int job_path(const char *dir, const char *name, char *buf, size_t size) {
        assert(dir && name && buf);
        int n = snprintf(buf, size, "%s/%s", dir, name);
        if (n < 0 || (size_t) n >= size) {
                if (size)
                        buf[0] = 0;
                return -ENAMETOOLONG;
        }
        return 0;
}

int job_record_read(const char *dir, json_object **ret) {
        char path[4096];
        struct stat st;
        json_object *rec = NULL;
        assert(ret);
        int r = job_path(dir, JOB_RECORD_FILE, path, sizeof path);
        if (r < 0)
                return r;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        r = json_read_object(path, JOB_RECORD_MAX, &rec);
        if (r < 0)
                return r;
        if (!job_record_string(rec, JOB_CASE) || !job_record_get(rec, JOB_STAGES)) {
                json_object_put(rec);
                return -EBADMSG;
        }
        *ret = rec;
        return 0;
}
