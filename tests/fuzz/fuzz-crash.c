/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: everything read from crash's answers (whose content comes from the
 * customer's dump) and the command-set parser (a file people edit). */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/crash/crash.h"
#include "pipeline/report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        struct crash_task *t = NULL;
        size_t n = 0;
        char err[256], fn[128], panic[512];

        if (crash_parse_ps(text, size, &t, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        if (strlen(t[i].comm) >= sizeof t[i].comm || strlen(t[i].state) >= sizeof t[i].state)
                                __builtin_trap();
                free(t);
        }
        if (crash_parse_ps_m(text, size, &t, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                        if (strlen(t[i].comm) >= sizeof t[i].comm)
                                __builtin_trap();
                free(t);
        }
        report_crashing_function(text, size, fn, sizeof fn);
        report_sys_panic(text, size, panic, sizeof panic);
        if (strlen(fn) >= sizeof fn || strlen(panic) >= sizeof panic)
                __builtin_trap();
        struct report_kmem k;
        if (report_parse_kmem(text, size, &k) == 0 && k.total <= 0)
                __builtin_trap();
        struct report_states st;
        if (report_ps_states(text, size, &st) == 0) {
                size_t sum = 0;
                for (size_t i = 0; i < st.n; i++) {
                        if (strlen(st.v[i].state) >= sizeof st.v[i].state || (i && st.v[i].count > st.v[i - 1].count))
                                __builtin_trap();
                        sum += st.v[i].count;
                }
                if (st.n > REPORT_STATES_MAX || sum != st.tasks)
                        __builtin_trap();
        }
        struct crash_cmdset s;
        if (crash_cmdset_parse(text, size, "fuzz", &s, err, sizeof err) == 0)
                crash_cmdset_clear(&s);
        return 0;
}
