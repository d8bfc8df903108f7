/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job.json, the durable record of one job, as the rest of the tree sees it: the file's name, its
 * top-level fields, the job's states and its stages, and the reading of a folder's record from
 * outside the job (the daemon, the outbox, the purge, `hotkdump crash`). Only casefolder/
 * spells these names; a new field is one line in enum job_field and its name in record.c.
 *
 * What a stage keeps under its own field (crash.commands, symbols.source …) is that stage's:
 * its module writes and reads it. posted.json, what went out to the case, is the outbox's. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_RECORD_FILE "job.json"
#define JOB_POSTED_FILE "posted.json"
#define JOB_LOG_FILE "hotkdump.log"
/* the largest job.json read; a record is a few kilobytes */
#define JOB_RECORD_MAX (64u << 20)

enum job_stage {
        STAGE_FETCH,
        STAGE_UNPACK,
        STAGE_IDENTIFY,
        STAGE_FIRSTLOOK,
        STAGE_SYMBOLS,
        STAGE_CRASH,
        STAGE_STORAGE,
        STAGE_REPORT,
        _STAGE_MAX,
};

/* "fetch" … "report"; "unknown" out of range. */
const char *job_stage_to_string(enum job_stage s);
/* The stage of that name, or -EINVAL. */
int job_stage_from_string(const char *s);

enum job_state {
        JOB_RUNNING,    /* begun and not ended (or ended by a crash of its process: resumable) */
        JOB_DONE,       /* every stage ran */
        JOB_INCOMPLETE, /* the report was written, crash gave nothing: error says why */
        JOB_FAILED,     /* stopped at a stage: error and error_class say why */
        _JOB_STATE_MAX,
};

const char *job_state_to_string(enum job_state s);
/* The state of that name, or -EINVAL. */
int job_state_from_string(const char *s);

enum job_field {
        JOB_ID,          /* "CASE/N" */
        JOB_CASE,        /* the case number */
        JOB_NUMBER,      /* N */
        JOB_SOURCE,      /* what was asked for: a path or a URL */
        JOB_QUEUE_ID,    /* the daemon's id of this run, when it made the job */
        JOB_CREATED,     /* ISO 8601 UTC */
        JOB_UPDATED,     /* each save */
        JOB_STATE,       /* enum job_state */
        JOB_STAGE,       /* the stage running now, while one is */
        JOB_STAGES,      /* {stage: {state, start, end, seconds, error}} */
        JOB_ERROR,       /* why the job failed or is incomplete */
        JOB_ERROR_CLASS, /* the exit class of a failure (pipeline.h) */
        JOB_INPUT,       /* the fetched upload, relative to the folder */
        JOB_INPUT_BYTES, /* its size */
        JOB_DUMPS,       /* the dumps the upload held, one job each */
        JOB_IDENTITY,    /* format, release, build-id … (pipeline/identify) */
        JOB_FIRST_LOOK,  /* the kernel log's panic line and cause (pipeline/firstlook) */
        JOB_SYMBOLS,     /* where the vmlinux came from (pipeline/symbols) */
        JOB_CRASH,       /* crash's commands and answers (pipeline/crash) */
        JOB_STORAGE,     /* the storage view, or why there is none (pipeline/storage) */
        JOB_FINDINGS,    /* the triage rules' findings (pipeline/triage) */
        JOB_TRIAGE,      /* which pass made them, how many rules ran, the rules' errors */
        _JOB_FIELD_MAX,
};

const char *job_field_name(enum job_field f);

/* Getters on a record (borrowed; NULL or the fallback when the field is absent or of another
 * type). */
json_object *job_record_get(json_object *rec, enum job_field f);
const char *job_record_string(json_object *rec, enum job_field f);
int64_t job_record_int(json_object *rec, enum job_field f, int64_t fallback);
/* The record's state, or -EBADMSG when it names none. */
int job_record_state(json_object *rec);
/* Whether the stage has ended well; and its seconds, or -1 when it has not ended. */
bool job_record_stage_done(json_object *rec, enum job_stage s);
double job_record_stage_seconds(json_object *rec, enum job_stage s);
/* How many stages have ended well. */
unsigned job_record_stages_done(json_object *rec);

/* dir/name into buf: 0, or -ENAMETOOLONG when it does not fit (never a truncated path). */
int job_path(const char *dir, const char *name, char *buf, size_t size);
/* Reads dir/job.json, a regular file (a link in its place is not followed): 0 and *ret (the
 * caller puts it); -ENOENT when there is none yet, -EBADMSG when it is not a job record. */
int job_record_read(const char *dir, json_object **ret);
