/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An HTTP(S) download read as a stream, pulled by its consumer (libarchive), so a package can
 * be unpacked while it downloads. A cut or stalled transfer is resumed with a Range request
 * (or restarted from the first byte when the server cannot resume and nothing was consumed
 * yet), transparently to the reader. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct job;

struct httpstream_opts {
        uint64_t max_bytes;
        unsigned connect_timeout_s, stall_timeout_s, retries, backoff_ms, max_redirects;
        const char *bearer; /* a bearer token (another host's cache), or NULL */
};

struct httpstream;

int httpstream_open(const char *url, const struct httpstream_opts *o, struct job *log, struct httpstream **ret);
struct httpstream *httpstream_free(struct httpstream *s);

/* Up to len bytes; 0 at the end; -errno on failure with httpstream_error() saying why.
 * -ENOENT: the server has no such file (HTTP 404/410). */
ssize_t httpstream_read(struct httpstream *s, void *buf, size_t len);
const char *httpstream_error(const struct httpstream *s);
uint64_t httpstream_bytes(const struct httpstream *s);
