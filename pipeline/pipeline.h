/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The stage machine: fetch → unpack → identify → first look, for one upload. An upload that
 * holds several dumps gives one job per dump, each with its own case folder. */
#pragma once

#include <stddef.h>

#include "pipeline/fetch.h"
#include "casefolder/job.h"

struct pipeline_result {
        char **dirs;      /* the job folders made, the first one for the upload itself */
        size_t n_dirs;
        int error_class;  /* for a failure: PIPELINE_E* */
        char error[512];  /* one line, naming the input and the reason */
};

enum {
        PIPELINE_OK = 0,
        PIPELINE_EINCOMPLETE = 1, /* the report was written, but without crash's analysis */
        PIPELINE_EINPUT = 3,    /* refused input: bad case number, URL, hostile archive, no dump */
        PIPELINE_EDAMAGED = 4,  /* a damaged dump or archive */
        PIPELINE_EFETCH = 5,    /* cannot read or download the source */
        PIPELINE_EINTERNAL = 6, /* out of memory, … */
        PIPELINE_ENOSPACE = 7,  /* the disk is full (EXIT_NO_SPACE): with resume_on_full_disk, the job is left to go on */
};

struct pipeline_request {
        const char *case_id;
        const struct fetch_request *fetch;
        const char *debug_file;  /* a vmlinux or debug package to use, or NULL */
        enum job_stage stop_after;
        const char *queue_id;    /* the daemon's id for the job, or NULL */
        const char *job_dir;     /* a folder made before, to go on in (stages done are not redone), or NULL */
        /* Called when a job has something to post on its case: "early" once the first look's
         * report is written, "full" or "failed" when the job ended. NULL: nothing is posted. */
        void (*on_post)(void *userdata, const char *dir, const char *kind);
        void *userdata;
        /* a job stopped by a full disk is left running in its folder (no "failed" and no post),
         * for the caller to run again when there is room: the daemon's queue */
        bool resume_on_full_disk;
};

/* Runs the stages up to and including stop_after. Returns 0; 1 when the report was written
 * but crash could not analyse the dump (result->error says why); or -errno with result->error
 * set. result->dirs lists the folders either way. */
int pipeline_run(const struct config *cfg, const struct pipeline_request *req, struct pipeline_result *result);

void pipeline_result_clear(struct pipeline_result *r);
