/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text into HTML, for the pages hotkdump writes and serves. */

#include <string.h>

#include "common/html.h"

void html_write(FILE *f, const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                switch (c) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                case '\r': break;
                default:
                        if (c < 0x20 && c != '\n' && c != '\t')
                                fprintf(f, "\\x%02x", c);
                        else
                                fputc(c, f);
                }
        }
}

void html_write_str(FILE *f, const char *s) {
        if (s)
                html_write(f, s, strlen(s));
}

void html_write_items(FILE *f, json_object *array) {
        if (!array || !json_object_is_type(array, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(array); i++) {
                fputs("<li>", f);
                html_write_str(f, json_object_get_string(json_object_array_get_idx(array, i)));
                fputs("</li>\n", f);
        }
}
