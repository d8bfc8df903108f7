/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: VMCOREINFO lookups over arbitrary text. */

#include <stddef.h>
#include <stdint.h>

#include "pipeline/identify/vmcoreinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const keys[] = { "OSRELEASE", "BUILD-ID", "PAGESIZE", "SYMBOL(init_uts_ns)",
                                            "NUMBER(phys_base)", "CRASHTIME", "" };
        char buf[80];
        uint64_t x;
        size_t len;

        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                (void) vmcoreinfo_get((const char *) data, size, keys[i], &len);
                (void) vmcoreinfo_get_string((const char *) data, size, keys[i], buf, sizeof buf);
                (void) vmcoreinfo_get_u64((const char *) data, size, keys[i], 10, &x);
                (void) vmcoreinfo_get_u64((const char *) data, size, keys[i], 16, &x);
        }
        return 0;
}
