/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Capped output buffers, shared by the subprocess capture and the crash runner.
 * A buffer grows by doubling up to its cap; the bytes past the cap are only counted. */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/capbuf.h"

int capbuf_add(struct capbuf *b, const void *data, size_t n) {
        assert(b && (data || n == 0));
        size_t keep = b->len + n > b->max ? (b->max > b->len ? b->max - b->len : 0) : n;
        b->dropped += n - keep;
        if (!keep)
                return 0;
        if (b->len + keep + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                while (cap < b->len + keep + 1)
                        cap *= 2;
                char *nb = realloc(b->buf, cap);
                if (!nb)
                        return -ENOMEM;
                b->buf = nb;
                b->cap = cap;
        }
        memcpy(b->buf + b->len, data, keep);
        b->len += keep;
        b->buf[b->len] = 0;
        return 0;
}

void capbuf_free(struct capbuf *b) {
        assert(b);
        free(b->buf);
        *b = (struct capbuf) { .max = b->max };
}
