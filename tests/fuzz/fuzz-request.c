/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the body of POST /analyze, as any client may send it. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct analyze_request r;
        char err[512];
        if (request_parse_analyze((const char *) data, size, &r, err, sizeof err) == 0) {
                /* what it accepted holds what the daemon relies on */
                if (!r.case_id || !r.url == !r.path || (r.filename && strchr(r.filename, '/')))
                        __builtin_trap();
        } else if (!err[0])
                __builtin_trap();
        request_clear(&r);
        return 0;
}
