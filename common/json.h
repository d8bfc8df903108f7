/* SPDX-License-Identifier: GPL-3.0-or-later */
/* json-c, the way the tree uses it: typed getters that accept NULL and the wrong type, dotted
 * paths into nested objects, and whole-file reads and atomic writes of one JSON object. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* The member key of o; NULL when o is NULL, not an object, or has no such member. */
json_object *json_get(json_object *o, const char *key);
/* The string member key of o, or fallback when it is absent or not a string. */
const char *json_str_or(json_object *o, const char *key, const char *fallback);
static inline const char *json_str(json_object *o, const char *key) {
        return json_str_or(o, key, NULL);
}
/* The integer member key of o (a number of another type is converted), or fallback. */
int64_t json_int(json_object *o, const char *key, int64_t fallback);

/* A value inside nested objects, named by a dotted path ("identity.release"); NULL when a step
 * is missing or o is NULL. */
json_object *json_path(json_object *o, const char *path);
/* The text of the scalar at path (a string as it is, a number or boolean as JSON writes it);
 * NULL when there is none or it is an object or an array. */
const char *json_path_text(json_object *o, const char *path);

/* Reads the file at path (max bytes at most) as one JSON object: 0 and *ret (the caller puts
 * it); -errno when it cannot be read, -EFBIG over max, -EBADMSG when it is not a JSON object. */
int json_read_object(const char *path, size_t max, json_object **ret);
/* Writes o, pretty-printed, to dir/name atomically (write_file_atomic). */
int json_write_atomic(const char *dir, const char *name, json_object *o);
