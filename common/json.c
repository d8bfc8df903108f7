/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/json.h"

json_object *json_get(json_object *o, const char *key) {
        json_object *v;
        assert(key);
        return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *json_str_or(json_object *o, const char *key, const char *fallback) {
        json_object *v = json_get(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : fallback;
}

int64_t json_int(json_object *o, const char *key, int64_t fallback) {
        json_object *v = json_get(o, key);
        return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
                       ? json_object_get_int64(v)
                       : fallback;
}

json_object *json_path(json_object *o, const char *path) {
        char key[64];
        assert(path);
        while (o && *path) {
                size_t n = strcspn(path, ".");
                if (n >= sizeof key)
                        return NULL;
                memcpy(key, path, n);
                key[n] = 0;
                if (!json_object_object_get_ex(o, key, &o))
                        return NULL;
                path += n + (path[n] == '.');
        }
        return o;
}

const char *json_path_text(json_object *o, const char *path) {
        o = json_path(o, path);
        return o && !json_object_is_type(o, json_type_object) && !json_object_is_type(o, json_type_array)
                       ? json_object_get_string(o)
                       : NULL;
}

int json_read_object(const char *path, size_t max, json_object **ret) {
        char *text = NULL;
        size_t len;
        assert(path && ret);
        int r = read_file_max(path, max, &text, &len);
        if (r < 0)
                return r;
        json_object *o = json_tokener_parse(text);
        free(text);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

int json_write_atomic(const char *dir, const char *name, json_object *o) {
        assert(dir && name && o);
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        return text ? write_file_atomic(dir, name, text, strlen(text)) : -ENOMEM;
}
