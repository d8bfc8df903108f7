/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the first-look parser over arbitrary kernel-log text, which comes from the
 * customer's dump or an uploaded dmesg file. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/firstlook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct firstlook f;
        firstlook_parse((const char *) data, size, &f);
        /* what the parser returns is used as C strings: they must be terminated in bounds */
        if (strlen(f.panic_line) >= sizeof f.panic_line || strlen(f.task) >= sizeof f.task ||
            strlen(f.tainted) >= sizeof f.tainted)
                __builtin_trap();
        const char *t = firstlook_tail((const char *) data, size, 5);
        if (t < (const char *) data || t > (const char *) data + size)
                __builtin_trap();
        return 0;
}
