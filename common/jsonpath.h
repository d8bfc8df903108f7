/* A value inside nested json-c objects, named by a dotted path ("identity.release"). */
#pragma once

#include <json-c/json.h>

/* NULL when a step is missing or o is NULL. */
json_object *json_path(json_object *o, const char *path);
