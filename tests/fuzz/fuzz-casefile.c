/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the path of GET /cases/CASE/N/FILE, as any client may send it. Whatever it
 * accepts must name one plain case part, a folder number and a file a person reads, with nothing
 * that climbs out of the case folder. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *rest = malloc(size + 1), case_id[80];
        const char *name = NULL, *type = NULL;
        unsigned n = 0;
        if (!rest)
                return 0;
        memcpy(rest, data, size);
        rest[size] = 0;
        if (request_case_file(rest, case_id, sizeof case_id, &n, &name, &type) == 0) {
                const char *slash = strchr(name, '/');
                /* the file is one plain name, or one under crash/; neither starts with a dot, so
                 * neither is "." or ".." */
                const char *leaf = slash ? slash + 1 : name;
                if (!case_id[0] || strchr(case_id, '/') || case_id[0] == '.' || n == 0 || n > 999999 || !type ||
                    !leaf[0] || leaf[0] == '.' || (slash && (strncmp(name, "crash/", 6) || strchr(leaf, '/'))))
                        __builtin_trap();
        }
        free(rest);
        return 0;
}
