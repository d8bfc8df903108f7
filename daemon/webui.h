/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The web UI hotkdumpd serves: HTML made from the API's own view of the jobs (jobview), every
 * value escaped, no script, refreshed by the page itself while something runs. It renders; the
 * routes and the reading of the queue are daemon/http.c's. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* The job list's filters, as the form sends them (NULL or "": any). */
struct webui_filter {
        const char *case_id, *state, *cause, *kernel;
};

/* Whether a job (jobview's JSON) passes the filters: case and state exactly, cause and kernel
 * as a substring, ignoring case. */
bool webui_matches(json_object *job, const struct webui_filter *flt);

/* The page around a view: title (escaped), refresh in seconds (0: none). */
void webui_begin(FILE *f, const char *title, unsigned refresh);
void webui_end(FILE *f);

/* The job list: the filter form (unless case_page), one row per job with its state, the "read
 * with care" flag, cause, kernel, duration and live progress; total counts the jobs that
 * matched, of which the first jobs are shown. */
void webui_list(FILE *f, json_object *const *jobs, size_t n, size_t total, const struct webui_filter *flt, bool case_page);

/* One job: its stages with their timings, the live progress, the findings, the posts and their
 * delivery, the links to every file. */
void webui_job(FILE *f, json_object *job);

/* The daemon: version, queue by state, the running jobs, disk, why it refuses work. */
void webui_daemon(FILE *f, json_object *facts);
