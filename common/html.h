/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text into HTML: the one escaper of the report and the web UI. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

/* Writes len bytes of s to f with & < > " ' escaped, carriage returns dropped and other control
 * characters but newline and tab shown as \xNN (a dump's strings are not to be trusted). */
void html_write(FILE *f, const char *s, size_t len);
/* The same for a NUL-terminated string; NULL writes nothing. */
void html_write_str(FILE *f, const char *s);
/* Each string of a JSON array as an item (<li>…</li>, escaped, one per line); nothing for what
 * is not an array. */
void html_write_items(FILE *f, json_object *array);
