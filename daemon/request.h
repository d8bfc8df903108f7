/* The body of POST /analyze, parsed and checked: a JSON object of known fields, each of its
 * type. What needs the configuration (the case pattern, the roots) the caller checks. */
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
