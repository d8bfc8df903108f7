/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsing what clients send: untrusted input, so these are functions of their own, each with a
 * fuzz target. Nesting is capped, every field is checked for its type, anything unknown is
 * refused; a /cases/ path names only the files a person reads. */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "casefolder/record.h"
#include "common/log.h"
#include "daemon/request.h"

/* the reason a request is refused, in err */
#define fail(err, err_size, ...) log_reason((err), (err_size), -EINVAL, __VA_ARGS__)

static int plain_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, "..") || strchr(s, '/'))
                return 0;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return 0;
        return 1;
}

void request_clear(struct analyze_request *r) {
        json_object_put(r->doc);
        memset(r, 0, sizeof *r);
}

int request_parse_analyze(const char *body, size_t len, struct analyze_request *ret, char *err, size_t err_size) {
        static const char *const known[] = { "case", "url", "path", "filename", "size", "sha256", NULL };
        struct analyze_request r = { 0 };
        json_object *v;

        memset(ret, 0, sizeof *ret);
        if (len > (size_t) INT32_MAX)
                return fail(err, err_size, "the body is too large");
        struct json_tokener *tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        r.doc = json_tokener_parse_ex(tok, body ? body : "", (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!r.doc || jerr != json_tokener_success) {
                request_clear(&r);
                return fail(err, err_size, "the body is not valid JSON: %s",
                            jerr == json_tokener_continue ? "it ends too soon" : json_tokener_error_desc(jerr));
        }
        while (used < len && isspace((unsigned char) body[used]))
                used++;
        int e = 0;
        if (used != len)
                e = fail(err, err_size, "the body is not valid JSON: text after the object");
        else if (!json_object_is_type(r.doc, json_type_object))
                e = fail(err, err_size, "the body must be a JSON object");
        if (e < 0) {
                request_clear(&r);
                return e;
        }
        json_object_object_foreach(r.doc, key, val) {
                size_t i = 0;
                while (known[i] && strcmp(known[i], key))
                        i++;
                int want_int = !strcmp(key, "size");
                if (!known[i])
                        e = fail(err, err_size, "unknown field '%.64s' (known: case, url, path, filename, size, sha256)", key);
                else if (want_int ? !json_object_is_type(val, json_type_int) : !json_object_is_type(val, json_type_string))
                        e = fail(err, err_size, "'%s' must be %s", key, want_int ? "a whole number of bytes" : "a string");
                if (e < 0) {
                        request_clear(&r);
                        return e;
                }
        }
        if (json_object_object_get_ex(r.doc, "case", &v))
                r.case_id = json_object_get_string(v);
        if (json_object_object_get_ex(r.doc, "url", &v))
                r.url = json_object_get_string(v);
        if (json_object_object_get_ex(r.doc, "path", &v))
                r.path = json_object_get_string(v);
        if (json_object_object_get_ex(r.doc, "filename", &v))
                r.filename = json_object_get_string(v);
        if (json_object_object_get_ex(r.doc, "sha256", &v))
                r.sha256 = json_object_get_string(v);
        if (json_object_object_get_ex(r.doc, "size", &v)) {
                int64_t n = json_object_get_int64(v);
                if (n < 0)
                        e = fail(err, err_size, "'size' must not be negative");
                r.size = (uint64_t) n;
        }
        if (e < 0)
                ;
        else if (!r.case_id)
                e = fail(err, err_size, "'case' is required");
        else if (!r.url == !r.path)
                e = fail(err, err_size, "give one of 'url' and 'path'");
        else if (r.url && (strlen(r.url) > 4096 || (strncasecmp(r.url, "http://", 7) && strncasecmp(r.url, "https://", 8))))
                e = fail(err, err_size, "'url' must be an http:// or https:// URL of at most 4096 characters");
        else if (r.path && (r.path[0] != '/' || strlen(r.path) > 4096))
                e = fail(err, err_size, "'path' must be an absolute path of at most 4096 characters");
        else if (r.filename && !plain_name(r.filename))
                e = fail(err, err_size, "'filename' must be a plain file name");
        else if (r.sha256 && (strlen(r.sha256) != 64 || strspn(r.sha256, "0123456789abcdefABCDEF") != 64))
                e = fail(err, err_size, "'sha256' must be 64 hex digits");
        if (e < 0) {
                request_clear(&r);
                return e;
        }
        *ret = r;
        return 0;
}

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"

/* The files of a case folder a person reads; never the dump, never a link. */
static const char *served_type(const char *name) {
        static const char *const files[][2] = {
                { "report.html", "text/html; charset=utf-8" }, { "summary.json", JSON_TYPE },
                { JOB_RECORD_FILE, JSON_TYPE },                { "comment.txt", TEXT_TYPE },
                { "first-look.txt", TEXT_TYPE },               { JOB_LOG_FILE, TEXT_TYPE },
                { "hotkdump.out", TEXT_TYPE },                 { "dmesg.txt", TEXT_TYPE },
        };
        for (size_t i = 0; i < sizeof files / sizeof *files; i++)
                if (!strcmp(name, files[i][0]))
                        return files[i][1];
        if (!strncmp(name, "crash/", 6)) {
                const char *p = name + 6;
                size_t n = strlen(p);
                if (n > 4 && n < 128 && p[0] != '.' &&
                    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
                    !strcmp(p + n - 4, ".txt"))
                        return TEXT_TYPE;
        }
        return NULL;
}

int request_case_file(const char *rest, char *case_id, size_t case_size, unsigned *ret_number, const char **ret_name,
                      const char **ret_type) {
        const char *slash = strchr(rest, '/'), *slash2 = slash ? strchr(slash + 1, '/') : NULL;
        if (!slash || !slash2 || slash == rest || (size_t) (slash - rest) >= case_size)
                return -ENOENT;
        size_t case_len = (size_t) (slash - rest), num_len = (size_t) (slash2 - slash - 1);
        const char *num = slash + 1, *name = slash2 + 1, *type = served_type(name);
        if (!type || num_len == 0 || num_len > 6 || num[0] == '0' || strspn(num, "0123456789") < num_len ||
            rest[0] == '.')
                return -ENOENT;
        unsigned n = 0;
        for (size_t i = 0; i < num_len; i++)
                n = n * 10 + (unsigned) (num[i] - '0');
        memcpy(case_id, rest, case_len);
        case_id[case_len] = 0;
        *ret_number = n;
        *ret_name = name;
        *ret_type = type;
        return 0;
}
