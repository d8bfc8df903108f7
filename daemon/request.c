/* Parsing POST /analyze: untrusted input, so it is a function of its own, with a fuzz target.
 * Nesting is capped, every field is checked for its type, and anything unknown is refused. */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/request.h"

static int fail(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

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
