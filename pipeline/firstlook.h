/* SPDX-License-Identifier: GPL-3.0-or-later */
/* First look: what the kernel log alone says about the crash, before any debug symbols: the
 * panic line (or the oops headline when an oops went straight to kdump), the crashing task
 * and CPU, and the log's last lines. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct firstlook {
        char panic_line[512];  /* without the [timestamp] prefix; "" when none was found */
        char panic_kind[32];   /* "panic", "oops", "bug", "lockup", … */
        char task[64];         /* Comm of the crashing task */
        int pid, cpu;          /* -1 when unknown */
        char tainted[128];     /* "Not tainted" or "Tainted: P O …" */
        char function[128];    /* where it went wrong: the oops's kernel RIP, else the first frame of
                                * the trace that is not panic or oops machinery (or a wait) */
        char module[64];       /* the module of that function, "" for the kernel */
        char taint_modules[256]; /* modules with taint flags in "Modules linked in:", "lkdtm(OE) …" */
        char largest_task[64]; /* the OOM report's largest resident task, and its size */
        unsigned long long largest_rss_kb;
};

/* Frames that are how the kernel panics, oopses or waits, never where it went wrong. */
bool firstlook_is_machinery(const char *function);

/* Parses a kernel log (makedumpfile --dump-dmesg output or a saved dmesg). */
void firstlook_parse(const char *log, size_t len, struct firstlook *ret);

/* The last n lines of log, as a pointer into it. */
const char *firstlook_tail(const char *log, size_t len, unsigned n);

json_object *firstlook_to_json(const struct firstlook *f);
