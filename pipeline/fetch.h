/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fetch: bring the upload into the job's input/ folder, from a local path (hard link, or a
 * copy that keeps holes) or an http(s) URL (resumed, retried, capped, verified). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job;

struct fetch_request {
        const char *source;        /* a path, or an http:// or https:// URL */
        const char *filename;      /* name to give it; NULL: from the path or URL */
        uint64_t expected_size;    /* 0: not checked */
        const char *sha256;        /* hex; NULL: not checked */
        bool no_follow;            /* a path whose last part must not be a symbolic link */
        const char *within;        /* a folder the path was checked to be under, or NULL: every
                                    * part below it is opened then without following a link, so a
                                    * link put in place of a folder since cannot lead outside */
        const char *bearer;        /* a URL's bearer token (another host's /uploads/), or NULL; never
                                    * sent on to a redirect's other host */
};

/* On success *ret_path is the fetched file (malloc'd). On failure err says why in one line,
 * naming the source, and nothing is left under input/. */
int fetch_run(struct job *j, const struct fetch_request *req, char **ret_path, char *err, size_t err_size);

/* Whether fetch.deny and fetch.allow can be read: -EINVAL with err naming the entry. */
struct config;
int fetch_check_config(const struct config *cfg, char *err, size_t err_size);

/* Whether source is a URL (has a scheme), so callers can tell paths from URLs. */
int fetch_is_url(const char *source);
