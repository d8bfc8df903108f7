/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A growing byte buffer with a cap: what passes the cap is counted, not kept. For the output
 * of commands (crash, makedumpfile), which a damaged dump can make endless. */
#pragma once

#include <stddef.h>

struct capbuf {
        char *buf;      /* NUL-terminated, or NULL while empty */
        size_t len, cap;
        size_t max;     /* bytes kept at most */
        size_t dropped; /* bytes given beyond max */
};

int capbuf_add(struct capbuf *b, const void *data, size_t n);
/* Frees the bytes; keeps max, so that the buffer can be used again. */
void capbuf_free(struct capbuf *b);
