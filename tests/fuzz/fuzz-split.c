/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: splitting a comment (made from what a customer's kernel printed) into the
 * parts Salesforce takes. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/athena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        size_t max = 200 + (size_t) data[0] * 16; /* 200 … 4280 */
        char *text = strndup((const char *) data + 1, size - 1);
        char **parts = NULL;
        size_t n = 0;
        if (!text)
                return 0;
        if (athena_split(text, max, "00012345/1/full", &parts, &n) == 0) {
                size_t kept = 0;
                for (size_t i = 0; i < n; i++) {
                        char mark[128];
                        athena_mark("00012345/1/full", i + 1, mark, sizeof mark);
                        size_t l = strlen(parts[i]);
                        /* every part fits and ends with its own mark */
                        if (l > max || l < strlen(mark) || strcmp(parts[i] + l - strlen(mark), mark) != 0)
                                __builtin_trap();
                        for (const char *p = parts[i]; *p; p++)
                                kept += *p != '\n';
                        free(parts[i]);
                }
                free(parts);
                /* nothing lost: the parts hold every byte but newlines, plus headers and marks */
                size_t want = 0;
                for (const char *p = text; *p; p++)
                        want += *p != '\n';
                if (kept < want)
                        __builtin_trap();
        }
        free(text);
        return 0;
}
