/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the triage rule loader (files people write) and the rules run on a kernel
 * log (the customer's). The input is a rule file, then a NUL byte, then a log; without the NUL
 * the whole input is both. The shipped rules run on the log too. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/firstlook.h"
#include "pipeline/triage/triage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        const char *nul = memchr(text, 0, size);
        size_t rules_len = nul ? (size_t) (nul - text) : size;
        const char *log = nul ? nul + 1 : text;
        size_t log_len = nul ? size - rules_len - 1 : size;
        static struct rules *shipped;
        json_object *errors = json_object_new_array();

        if (!shipped && rules_load(NULL, 100000, &shipped, errors) != 0)
                __builtin_trap(); /* the shipped rules must always load */
        struct rules *rs = rules_new(100000);
        if (!rs || !errors)
                return 0;
        rules_add_text(rs, "fuzz.json", text, rules_len, errors);

        struct firstlook f;
        firstlook_parse(log, log_len, &f);
        struct triage_source src[] = {
                { "log", log, log_len },
                { "panic", f.panic_line, strlen(f.panic_line) },
                { "function", f.function, strlen(f.function) },
                { "task", f.task, strlen(f.task) },
                { "taint", f.tainted, strlen(f.tainted) },
                { "release", "6.1.0-56-cloud-amd64", 20 },
                { "crash:bt", log, log_len },
        };
        struct triage_input in = { .sources = src, .n_sources = sizeof src / sizeof src[0], .vmcoreinfo = log,
                                   .vmcoreinfo_len = log_len };
        json_object_put(triage_run(rs, &in, errors));
        json_object_put(triage_run(shipped, &in, errors));
        rules_free(rs);
        json_object_put(errors);
        return 0;
}
