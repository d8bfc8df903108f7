/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: what drgn prints for the storage view (it comes from a dump), checked,
 * then turned into the lines the triage rules read. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/storage/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[128] = "";
        json_object *v = storage_parse((const char *) data, size, err, sizeof err);
        if (!v) {
                if (!err[0])
                        __builtin_trap(); /* a refusal says why */
                return 0;
        }
        size_t len = 0;
        char *text = storage_facts(v, 30, &len);
        /* lines of printable text only: a dump's strings cannot forge a line */
        for (size_t i = 0; text && i < len; i++)
                if ((unsigned char) text[i] < 0x20 && text[i] != '\n')
                        __builtin_trap();
        if (text && len && text[len - 1] != '\n')
                __builtin_trap();
        free(text);
        json_object_put(v);
        return 0;
}
