/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Byte sources for reading dump headers: a file, a buffer, the first part of a compressed
 * stream, or the logical view of a makedumpfile flattened stream. Parsers see one pread(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dumpsrc;

/* Reads through fd (not closed by the source). */
int dumpsrc_new_fd(int fd, struct dumpsrc **ret);
/* Reads from a caller-owned buffer that outlives the source. */
int dumpsrc_new_memory(const void *buf, size_t len, struct dumpsrc **ret);
/* Decompresses inner (gzip, xz, zstd, bzip2, lz4 … as libarchive knows them) and lets the
 * caller read at most max_bytes of the result; the source takes ownership of inner (and frees
 * it on failure). -EBADMSG comes with the decompressor's reason in reason. */
int dumpsrc_new_decompress(struct dumpsrc *inner, size_t max_bytes, struct dumpsrc **ret,
                           char *reason, size_t reason_size);
/* Presents the dump inside a makedumpfile flattened stream (records of offset + size) as a
 * plain file, indexing at most max_records records; takes ownership of inner. */
int dumpsrc_new_flattened(struct dumpsrc *inner, size_t max_records, struct dumpsrc **ret);

struct dumpsrc *dumpsrc_free(struct dumpsrc *s);

/* Reads up to len bytes at off. Returns the count (short only at the end of the data),
 * -ENODATA when the bytes lie beyond what this source lets us see (a stream read only in
 * part), -EBADMSG when the container is damaged (see dumpsrc_error()), or another -errno. */
ssize_t dumpsrc_pread(struct dumpsrc *s, void *buf, size_t len, uint64_t off);

/* The total size when known without reading everything. */
bool dumpsrc_size(struct dumpsrc *s, uint64_t *ret);

/* The name of the compression a decompressing source undid ("gzip", "xz", …), else NULL. */
const char *dumpsrc_filter_name(struct dumpsrc *s);

/* For a flattened source: whether the stream ends with the end-of-stream record. */
int dumpsrc_flattened_complete(struct dumpsrc *s, bool *ret);

/* The reason for the last -EBADMSG, or "". */
const char *dumpsrc_error(struct dumpsrc *s);
