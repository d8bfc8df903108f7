/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one table of signatures: what a file is from its first bytes. The watcher uses it to tell
 * an upload from a stray file, the unpacker to choose between opening an archive, decompressing
 * one file or keeping it, the identification to look inside a compressed dump. */
#pragma once

#include <stddef.h>

enum magic_kind {
        MAGIC_NONE,       /* nothing known: a plain file (a kernel log, text) */
        MAGIC_DUMP,       /* ELF, kdump-compressed, diskdump, makedumpfile's flattened stream */
        MAGIC_COMPRESSED, /* one compressed file: gzip, xz, zstd, bzip2, lz4 */
        MAGIC_ARCHIVE,    /* zip, 7-Zip, cpio, tar */
};

/* The kind of the n bytes at h (a file's first bytes; 262 are enough for all), and in *ret_name
 * (when not NULL) the format's name, or NULL. */
enum magic_kind magic_kind(const unsigned char *h, size_t n, const char **ret_name);
