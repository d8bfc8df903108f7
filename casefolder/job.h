/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A job: one dump's case folder (<root>/cases/<CASE>/<N>/), its durable record job.json, and
 * its log hotkdump.log, which receives every stage and every external command's output. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "casefolder/record.h"
#include "common/config.h"
#include "common/subprocess.h"

struct job;

/* Whether case_id is a valid case number (the configured pattern, and one plain path part). */
int job_case_valid(const struct config *cfg, const char *case_id, char *err, size_t err_size);

/* Checks the case number against the configured pattern (before anything is made), then
 * takes the next free folder number N with mkdir, so concurrent jobs never share a folder.
 * queue_id (or NULL) is the daemon's id for the job, kept in job.json. */
int job_new(const struct config *cfg, const char *case_id, const char *source, const char *queue_id, struct job **ret,
            char *err, size_t err_size);
/* A further job of the same case for another dump found in this job's upload. */
int job_new_sibling(struct job *parent, const char *source, const char *queue_id, struct job **ret, char *err,
                    size_t err_size);
/* A job folder made earlier, to go on with (after a restart of the daemon). */
int job_open(const struct config *cfg, const char *dir, struct job **ret, char *err, size_t err_size);
/* The folder of the case whose job.json carries queue_id (the daemon's id of one run of a job),
 * or -ENOENT: a job whose folder was made just before a crash is not given a second one.
 * *ret_finished (if not NULL): whether that folder's job has ended. */
int job_find(const struct config *cfg, const char *case_id, const char *queue_id, char **ret_dir, bool *ret_finished);
enum job_state job_state(struct job *j);
bool job_stage_done(struct job *j, enum job_stage s);
struct job *job_free(struct job *j);

const char *job_dir(const struct job *j);
const char *job_case(const struct job *j);
unsigned job_number(const struct job *j);
const struct config *job_config(const struct job *j);

/* A timestamped line in hotkdump.log. */
void job_log(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A timestamped line in the hotkdump.log of a folder, from outside the job (the outbox), written
 * whole with one append so that it never splits a line of the job's own. */
void job_log_dir(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, or a line on stderr when there is no job (a command run by hand). */
void job_say(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int job_stage_begin(struct job *j, enum job_stage s);
/* r < 0 marks the stage failed with error (a one-line reason). */
int job_stage_end(struct job *j, enum job_stage s, int r, const char *error);
/* The job's final state: done (r == 0), incomplete (r > 0: the report was written, but crash
 * gave nothing, error says why), or failed (r < 0) with the reason. */
int job_finish(struct job *j, int r, const char *error);

/* job.json as it stands (borrowed). */
json_object *job_record(struct job *j);

/* Adds or replaces a top-level field of job.json (takes the reference) and saves it. */
int job_set(struct job *j, enum job_field f, json_object *value);

/* Runs a command with its line and output logged; see subprocess_run(). */
int job_run_command(struct job *j, const struct subprocess_opts *opts, struct subprocess_result *ret);
