/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unpack: turn what was fetched into plain files under <job>/dump/: archives of any kind
 * libarchive reads (nested too), whole-file compression, flattened dumps reassembled.
 * Hostile archives are refused whole; every limit comes from the configuration. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct job;

struct unpack_stats {
        uint64_t entries;
        uint64_t bytes_out;   /* data bytes written (holes not counted) */
        uint64_t bytes_in;    /* compressed bytes read from the input */
        unsigned archives;    /* archives and compressed files opened */
};

/* Unpacks input into dest (which must not exist yet). On failure dest is removed entirely
 * and err names the entry and the reason. -EPERM: hostile or over a limit. */
int unpack_run(struct job *j, const char *input, const char *dest, struct unpack_stats *stats, char *err,
               size_t err_size);

/* Rewrites a makedumpfile flattened stream as the plain dump it describes (holes kept).
 * Writes out.part, renames it to out when whole. */
int unpack_reassemble_flattened(const char *in, const char *out, char *err, size_t err_size);
