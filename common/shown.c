/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text as it may be shown: URLs without their credentials, valid UTF-8, one line for logs. */

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/shown.h"

struct sink {
        char *out;
        size_t size, len;
};

static void put(struct sink *s, const char *p, size_t n) {
        for (size_t i = 0; i < n && s->len + 1 < s->size; i++)
                s->out[s->len++] = p[i];
        s->out[s->len] = 0;
}

/* The length of a scheme and its "://" at p, or 0. */
static size_t scheme_len(const char *p, size_t n) {
        size_t i = 0;
        if (!n || !isalpha((unsigned char) p[0]))
                return 0;
        while (i < n && (isalnum((unsigned char) p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'))
                i++;
        return i + 3 <= n && !memcmp(p + i, "://", 3) ? i + 3 : 0;
}

/* Redacts the URL of n bytes at p into s (p begins with a scheme). */
static void redact(struct sink *s, const char *p, size_t n) {
        size_t i = scheme_len(p, n);
        put(s, p, i);
        size_t auth_end = i;
        while (auth_end < n && p[auth_end] != '/' && p[auth_end] != '?' && p[auth_end] != '#')
                auth_end++;
        const char *at = NULL;
        for (size_t k = i; k < auth_end; k++)
                if (p[k] == '@')
                        at = p + k; /* the last '@' ends the user information */
        if (at) {
                put(s, "***", 3);
                i = (size_t) (at - p);
        }
        size_t q = i;
        while (q < n && p[q] != '?' && p[q] != '#')
                q++;
        put(s, p + i, q - i);
        if (q < n && p[q] == '?') {
                put(s, "?", 1);
                q++;
                while (q < n && p[q] != '#') {
                        size_t e = q;
                        while (e < n && p[e] != '&' && p[e] != '#' && p[e] != '=')
                                e++;
                        put(s, p + q, e - q); /* the key stays: it says what was there */
                        if (e < n && p[e] == '=') {
                                put(s, "=***", 4);
                                while (e < n && p[e] != '&' && p[e] != '#')
                                        e++;
                        }
                        if (e < n && p[e] == '&') {
                                put(s, "&", 1);
                                e++;
                        }
                        q = e;
                }
        }
}

char *url_redact(const char *in, char *out, size_t size) {
        assert(in && out && size);
        struct sink s = { out, size, 0 };
        out[0] = 0;
        size_t n = strlen(in);
        if (scheme_len(in, n))
                redact(&s, in, n);
        else
                put(&s, in, n);
        return out;
}

static bool url_end(char c) {
        return !c || isspace((unsigned char) c) || c == '\'' || c == '"' || c == '<' || c == '>' || c == '`';
}

char *url_redact_text(const char *in, char *out, size_t size) {
        assert(in && out && size);
        struct sink s = { out, size, 0 };
        out[0] = 0;
        const char *p = in, *end = in + strlen(in);
        while (*p) {
                /* a scheme starts at a letter that does not continue a word */
                size_t k = (p == in || !isalnum((unsigned char) p[-1])) ? scheme_len(p, (size_t) (end - p)) : 0;
                if (k) {
                        size_t n = 0;
                        while (!url_end(p[n]))
                                n++;
                        redact(&s, p, n);
                        p += n;
                } else
                        put(&s, p++, 1);
        }
        return out;
}

/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n) {
        size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || len > n)
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
        uint32_t cp = len == 1 ? p[0] : len == 2 ? p[0] & 0x1fu : len == 3 ? p[0] & 0x0fu : p[0] & 0x07u;
        for (size_t i = 1; i < len; i++)
                cp = cp << 6 | (p[i] & 0x3fu);
        /* overlong forms, surrogates and past U+10FFFF are not valid */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

char *shown_text(const char *in, char *out, size_t size, bool one_line) {
        assert(in && out && size);
        size_t n = strlen(in) + 1;
        char *redacted = malloc(n + 16);
        const char *src = in;
        if (redacted)
                src = url_redact_text(in, redacted, n + 16);
        struct sink s = { out, size, 0 };
        out[0] = 0;
        const unsigned char *p = (const unsigned char *) src;
        size_t left = strlen(src);
        while (left) {
                size_t k = utf8_len(p, left);
                if (k && !(one_line && k == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
                        put(&s, (const char *) p, k);
                } else {
                        char esc[8];
                        k = k ? k : 1;
                        snprintf(esc, sizeof esc, "\\x%02x", p[0]);
                        put(&s, esc, strlen(esc));
                        k = 1;
                }
                p += k;
                left -= k;
        }
        free(redacted);
        return out;
}
