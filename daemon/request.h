/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a client sends the API, parsed and checked: the body of POST /analyze (a JSON object of
 * known fields, each of its type) and the path of GET /cases/CASE/N/FILE. What needs the
 * configuration (the case pattern, the roots) the caller checks. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct analyze_request {
        const char *case_id;
        const char *url;      /* http:// or https://, or NULL */
        const char *path;     /* as given, or NULL */
        const char *filename; /* a plain name, or NULL */
        const char *sha256;   /* 64 hex digits, or NULL */
        uint64_t size;        /* 0: not given */
        json_object *doc;     /* owns the strings above */
};

/* Returns 0, or -EINVAL with err naming the field and what is wrong with it. */
int request_parse_analyze(const char *body, size_t len, struct analyze_request *ret, char *err, size_t err_size);
void request_clear(struct analyze_request *r);

/* GET /cases/<rest>: rest split into the case (one plain path part), the folder number N (no
 * leading zero) and a file of the folder a person reads (report.html, summary.json, job.json,
 * comment.txt, first-look.txt, hotkdump.log, hotkdump.out, dmesg.txt, crash/NAME.txt), never
 * the dump, never a path that climbs; *ret_name points into rest, *ret_type is its MIME type.
 * -ENOENT when rest names nothing that is served. */
int request_case_file(const char *rest, char *case_id, size_t case_size, unsigned *ret_number, const char **ret_name,
                      const char **ret_type);
