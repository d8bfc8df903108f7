/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: dump identification over arbitrary bytes, the way a customer's upload
 * reaches it. Seeds: the real fixture dumps (their first megabytes). */

#include <stddef.h>
#include <stdint.h>

#include "pipeline/identify/dumpfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* small limits keep each run fast without hiding any code path */
        static const struct dumpfile_limits limits = {
                .stream_prefix_max = 1 << 20,
                .flattened_records_max = 4096,
                .notes_max = 1 << 20,
                .bitmap_max = 1 << 20,
        };
        struct dump_info *info = NULL;
        char reason[256];

        if (dumpfile_identify_buffer(data, size, &limits, &info, reason, sizeof reason) == 0)
                dump_info_free(info);
        return 0;
}
