/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One HTTP request of a post-back sink (Salesforce, a webhook): the whole answer read into memory,
 * and what went wrong said in a way that tells a post to try again from a post to give up. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct httpcall {
        const char *method;            /* "GET" or "POST" */
        const char *url;
        const char *const *headers;    /* "Name: value" lines, NULL-terminated, or NULL */
        const char *body;              /* for POST */
        size_t body_len;
        unsigned timeout_s;            /* the whole call */
};

struct httpcall_answer {
        long status;            /* 0 when no answer came */
        char *body;             /* NUL-terminated; an answer over 4 MiB is an error */
        size_t len;
        unsigned retry_after_s; /* a Retry-After in seconds, or 0 */
        bool sent;              /* the request went out (so the far side may have acted on it) */
        char error[256];        /* without an answer: why (libcurl's words) */
};

/* Makes the call. 0 when an answer came (whatever its status), -EIO (error set) when none did:
 * refused, reset, timed out, an empty reply. -ENOMEM. Redirects are not followed. */
int httpcall_run(const struct httpcall *c, struct httpcall_answer *ret);
void httpcall_answer_clear(struct httpcall_answer *a);

/* Whether a status (or no answer: 0) is worth trying again: none, 408, 429 and 5xx. */
bool httpcall_transient(long status);
