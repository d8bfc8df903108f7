/* SPDX-License-Identifier: GPL-3.0-or-later */
/* First look at a kernel log: panic line, oops headline, crashing task.
 * Plain string matching on the log's own words; the triage rules come later and go deeper. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/firstlook.h"

/* Headlines of an oops that may reach kdump without a "Kernel panic" line, most telling first. */
static const struct {
        const char *needle;
        const char *kind;
        const char *also;  /* a second needle the same line must hold, or NULL */
} headlines[] = {
        { "BUG: kernel NULL pointer dereference", "oops", NULL },
        { "BUG: unable to handle page fault", "oops", NULL },
        { "BUG: unable to handle kernel", "oops", NULL },
        { "kernel BUG at ", "bug", NULL },
        { "general protection fault", "oops", NULL },
        { "BUG: soft lockup", "lockup", NULL },
        { "watchdog: BUG: soft lockup", "lockup", NULL },
        { "Watchdog detected hard LOCKUP", "lockup", NULL },
        { "rcu_sched detected stalls", "rcu-stall", NULL },
        { "rcu: INFO: rcu_preempt detected stalls", "rcu-stall", NULL },
        { "self-detected stall on CPU", "rcu-stall", NULL },
        { "blocked for more than", "hung-task", NULL },
        { "Out of memory", "oom", NULL },
        { "kernel stack overflow", "stack", NULL },
        { "stack guard page was hit", "stack", NULL },
        { "Machine check", "mce", NULL },
        { "Oops:", "oops", NULL },
        { "WARNING: CPU:", "warning", NULL },
        /* newer kernels (7.x): "WARNING: drivers/…/bugs.c:164 at lkdtm_WARNING+0x17/0x20 [lkdtm], CPU#1: sh/135" */
        { "WARNING: ", "warning", ", CPU#" },
};

/* Frames that are how the kernel panics, handles an exception, an interrupt or a watchdog, or
 * waits: never where it went wrong. */
static const char *const machinery[] = {
        "machine_kexec", "__crash_kexec", "crash_kexec", "panic", "vpanic", "oops_end", "die", "__die", "__die_body",
        "die_body", "do_trap", "do_error_trap", "handle_bug", "exc_invalid_op", "asm_exc_invalid_op", "page_fault_oops",
        "kernelmode_fixup_or_oops", "__bad_area_nosemaphore", "bad_area_nosemaphore", "do_user_addr_fault",
        "exc_page_fault", "asm_exc_page_fault", "exc_general_protection", "asm_exc_general_protection",
        "check_panic_on_warn", "__warn", "report_bug", "do_int3", "exc_int3", "nmi_panic", "crash_save_cpu",
        "native_machine_crash_shutdown", "crash_nmi_callback", "nmi_handle", "default_do_nmi", "exc_nmi",
        "end_repeat_nmi", "panic_smp_self_stop", "__x64_sys_reboot", "dump_stack", "dump_stack_lvl", "show_stack",
        "show_trace_log_lvl", "watchdog_timer_fn", "__run_hrtimer", "__hrtimer_run_queues", "hrtimer_interrupt",
        "__sysvec_apic_timer_interrupt", "sysvec_apic_timer_interrupt", "asm_sysvec_apic_timer_interrupt",
        "watchdog_overflow_callback", "__perf_event_overflow", "perf_event_overflow", "handle_pmi_common",
        "intel_pmu_handle_irq", "perf_event_nmi_handler", "rcu_sched_clock_irq", "update_process_times",
        "tick_sched_handle", "tick_sched_timer", "print_cpu_stall", "check_cpu_stall", "rcu_pending",
        "out_of_memory_panic",
};

/* How a task waits: not where it went wrong when it is a frame of a trace (a fault at such a
 * RIP is real, though). */
static const char *const waits[] = {
        "__schedule", "schedule", "schedule_timeout", "schedule_preempt_disabled",
        "io_schedule", "io_schedule_timeout", "schedule_hrtimeout_range_clock", "__wait_for_common",
        "wait_for_completion", "wait_for_completion_io", "wait_for_completion_timeout", "__mutex_lock",
        "mutex_lock", "__mutex_lock_slowpath", "rwsem_down_read_slowpath", "rwsem_down_write_slowpath",
        "down_read", "down_write", "__down", "__down_common", "down", "bit_wait_io", "bit_wait", "__wait_on_bit",
        "out_of_line_wait_on_bit", "__wait_on_bit_lock", "wait_on_page_bit_common", "folio_wait_bit_common",
};

static const char *const machinery_more[] = {
        "exc_machine_check", "asm_exc_machine_check", "do_machine_check", "mce_panic",
};

static bool listed(const char *function, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strcmp(function, list[i]))
                        return true;
        return false;
}

bool firstlook_is_machinery(const char *function) {
        return listed(function, machinery, sizeof machinery / sizeof machinery[0]) ||
               listed(function, machinery_more, sizeof machinery_more / sizeof machinery_more[0]) ||
               listed(function, waits, sizeof waits / sizeof waits[0]);
}

/* Machinery for a RIP: where the CPU was is real unless it is the panic or oops path itself. */
static bool rip_is_machinery(const char *function) {
        return listed(function, machinery, sizeof machinery / sizeof machinery[0]) ||
               listed(function, machinery_more, sizeof machinery_more / sizeof machinery_more[0]);
}

/* Skips a "<4>" log level. */
static const char *skip_level(const char *p, const char *end) {
        if (p < end && *p == '<') {
                const char *q = p + 1;
                while (q < end && isdigit((unsigned char) *q))
                        q++;
                if (q < end && *q == '>')
                        return q + 1;
        }
        return p;
}

/* Skips a printk caller id, "[  T123]" (a task) or "[    C1]" (a CPU), which kernels built
 * with CONFIG_PRINTK_CALLER print after the timestamp, and the blanks after it. */
static const char *skip_caller(const char *p, const char *end) {
        const char *q = p;
        if (q >= end || *q != '[')
                return p;
        for (q++; q < end && *q == ' '; q++)
                ;
        if (q >= end || (*q != 'T' && *q != 'C'))
                return p;
        const char *digits = ++q;
        while (q < end && isdigit((unsigned char) *q))
                q++;
        if (q == digits || q >= end || *q != ']')
                return p;
        for (q++; q < end && *q == ' '; q++)
                ;
        return q;
}

/* Skips "<4>", "[    1.234567] " and a caller id ("[  T123] "). */
static const char *strip_prefix(const char *line, const char *end) {
        const char *p = skip_level(line, end);
        if (p < end && *p == '[' && skip_caller(p, end) == p) {
                const char *q = memchr(p, ']', (size_t) (end - p));
                if (q) {
                        p = q + 1;
                        while (p < end && *p == ' ')
                                p++;
                }
        }
        return skip_caller(p, end);
}

static void copy_line(char *dst, size_t size, const char *s, const char *end) {
        size_t n = (size_t) (end - s);
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
                n--;
        if (n >= size)
                n = size - 1;
        for (size_t i = 0; i < n; i++)
                dst[i] = (unsigned char) s[i] >= 0x20 ? s[i] : ' ';
        dst[n] = 0;
}

static const char *find_in(const char *s, const char *end, const char *needle) {
        size_t nl = strlen(needle);
        for (const char *p = s; p + nl <= end; p++)
                if (*p == *needle && memcmp(p, needle, nl) == 0)
                        return p;
        return NULL;
}

/* A decimal number that stays inside [s, end): the log has no terminator. */
static int parse_int(const char *s, const char *end) {
        int x = 0;
        for (; s < end && isdigit((unsigned char) *s) && x < 100000000; s++)
                x = x * 10 + (*s - '0');
        return x;
}

/* "CPU: 1 PID: 123 Comm: bash Not tainted 6.1.0 #1" (also "CPU: 1 UID: 0 PID: …" on newer kernels) */
static int parse_cpu_line(const char *s, const char *end, struct firstlook *f) {
        const char *p = find_in(s, end, "CPU: ");
        if (!p)
                return 0;
        const char *pid = find_in(p, end, " PID: "), *comm = find_in(p, end, " Comm: ");
        if (!pid || !comm)
                return 0;
        f->cpu = parse_int(p + 5, end);
        f->pid = parse_int(pid + 6, end);
        const char *c = comm + 7, *ce = c;
        while (ce < end && *ce != ' ')
                ce++;
        copy_line(f->task, sizeof f->task, c, ce);
        const char *t = find_in(ce, end, "Not tainted");
        if (!t)
                t = find_in(ce, end, "Tainted: ");
        if (t) {
                const char *te = t;
                /* up to the release, which starts with a digit after the flags */
                while (te < end && !(te > t + 9 && isdigit((unsigned char) *te) && te[-1] == ' '))
                        te++;
                copy_line(f->tainted, sizeof f->tainted, t, te);
        }
        return 1;
}

/* "name+0x1a/0x40 [module]" or "RIP: 0010:name+0x1a/0x40 [module]": the function and module of a
 * reliable frame (not "? name+…"); false for anything else. */
static bool parse_frame(const char *s, const char *end, bool *rip, char *fn, size_t fn_size, char *mod,
                        size_t mod_size) {
        while (s < end && *s == ' ')
                s++;
        *rip = false;
        if (end - s > 10 && !memcmp(s, "RIP: 0010:", 10)) {
                *rip = true;
                s += 10;
        }
        const char *n = s;
        while (n < end && (isalnum((unsigned char) *n) || *n == '_' || *n == '.'))
                n++;
        if (n == s || end - n < 4 || memcmp(n, "+0x", 3) != 0)
                return false;
        const char *dot = memchr(s, '.', (size_t) (n - s)); /* "out_of_memory.cold" */
        copy_line(fn, fn_size, s, dot ? dot : n);
        mod[0] = 0;
        const char *b = memchr(n, '[', (size_t) (end - n)), *be = b ? memchr(b, ']', (size_t) (end - b)) : NULL;
        if (b && be && be > b + 1)
                copy_line(mod, mod_size, b + 1, be);
        return true;
}

/* The crashing function: from the start of the crash region on, the first reliable frame that
 * is not machinery; after an oops headline, the first kernel-mode RIP that is not, when there is
 * one (a bare panic's trace can hold the RIP of a fault it interrupted, which is not the cause). */
static void find_function(const char *region, const char *end, bool prefer_rip, struct firstlook *f) {
        unsigned lines = 0;
        char fn[128], mod[64];
        bool have[2] = { false, false }; /* [0]: a plain frame, [1]: a RIP */
        char best[2][128], best_mod[2][64];
        for (const char *line = region; line < end && lines < 400; lines++) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                const char *le = nl ? nl : end;
                bool rip;
                if (parse_frame(strip_prefix(line, le), le, &rip, fn, sizeof fn, mod, sizeof mod) &&
                    !(rip ? rip_is_machinery(fn) : firstlook_is_machinery(fn)) && !have[rip]) {
                        snprintf(best[rip], sizeof best[rip], "%s", fn);
                        snprintf(best_mod[rip], sizeof best_mod[rip], "%s", mod);
                        have[rip] = true;
                        if (rip == prefer_rip)
                                break;
                }
                line = nl ? nl + 1 : end;
        }
        int k = have[prefer_rip] ? prefer_rip : !prefer_rip;
        if (have[k]) {
                snprintf(f->function, sizeof f->function, "%s", best[k]);
                snprintf(f->module, sizeof f->module, "%s", best_mod[k]);
        }
}

/* "Modules linked in: lkdtm(OE) virtio_blk ext4" → "lkdtm(OE)" */
static void find_taint_modules(const char *body, const char *le, struct firstlook *f) {
        size_t o = 0;
        f->taint_modules[0] = 0;
        for (const char *w = body; w < le;) {
                while (w < le && *w == ' ')
                        w++;
                const char *we = w;
                while (we < le && *we != ' ')
                        we++;
                const char *p = memchr(w, '(', (size_t) (we - w));
                if (p && p > w && we[-1] == ')' && *w != '[' && o + (size_t) (we - w) + 2 < sizeof f->taint_modules)
                        o += (size_t) snprintf(f->taint_modules + o, sizeof f->taint_modules - o, "%s%.*s", o ? " " : "",
                                               (int) (we - w), w);
                w = we;
        }
}

/* Skips "<4>", a "[    1.234567]" timestamp and a caller id, not other brackets ("[  pid  ]"). */
static const char *strip_timestamp(const char *line, const char *end) {
        const char *p = skip_level(line, end);
        if (p < end && *p == '[') {
                const char *q = p + 1;
                while (q < end && (*q == ' ' || isdigit((unsigned char) *q)))
                        q++;
                if (q < end && *q == '.') {
                        q++;
                        while (q < end && isdigit((unsigned char) *q))
                                q++;
                        if (q < end && *q == ']') {
                                p = q + 1;
                                while (p < end && *p == ' ')
                                        p++;
                        }
                }
        }
        return skip_caller(p, end);
}

/* The OOM report's task table: the column named rss (in pages) and the name, the last column. */
static void find_largest(const char *log, const char *end, struct firstlook *f) {
        const char *table = NULL;
        for (const char *p = log; (p = find_in(p, end, "Tasks state (memory values in pages):")); p++)
                table = p;
        if (!table)
                return;
        int rss_col = -1;
        unsigned long long best = 0;
        for (const char *line = table; line < end;) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                const char *le = nl ? nl : end;
                const char *b = strip_timestamp(line, le);
                line = nl ? nl + 1 : end;
                if (b == le || *b != '[')
                        continue;
                const char *close = memchr(b, ']', (size_t) (le - b));
                if (!close)
                        break;
                char words[16][64];
                int n = 0;
                for (const char *w = close + 1; w < le && n < 16;) {
                        while (w < le && *w == ' ')
                                w++;
                        const char *we = w;
                        while (we < le && *we != ' ')
                                we++;
                        if (we > w)
                                copy_line(words[n++], sizeof words[0], w, we);
                        w = we;
                }
                if (rss_col < 0) { /* the header: "[  pid  ]   uid  tgid total_vm      rss …  name" */
                        for (int i = 0; i < n; i++)
                                if (!strcmp(words[i], "rss"))
                                        rss_col = i;
                        if (rss_col < 0)
                                return;
                        continue;
                }
                if (n <= rss_col + 1 || !isdigit((unsigned char) words[rss_col][0]))
                        break;
                unsigned long long pages = strtoull(words[rss_col], NULL, 10);
                if (pages > best) {
                        best = pages;
                        snprintf(f->largest_task, sizeof f->largest_task, "%s", words[n - 1]);
                        f->largest_rss_kb = pages * 4; /* 4 KiB pages, as on x86_64 */
                }
        }
}

void firstlook_parse(const char *log, size_t len, struct firstlook *f) {
        const char *end = log + len;
        const char *panic = NULL, *panic_end = NULL, *head = NULL, *head_end = NULL;
        const char *head_kind = NULL;
        size_t head_rank = sizeof headlines / sizeof headlines[0];

        memset(f, 0, sizeof *f);
        f->pid = f->cpu = -1;
        for (const char *line = log; line < end;) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                const char *le = nl ? nl : end;
                const char *body = strip_prefix(line, le);
                if (find_in(body, le, "Kernel panic - not syncing")) {
                        panic = find_in(body, le, "Kernel panic - not syncing");
                        panic_end = le;
                } else if (!panic) {
                        /* the first oops headline, preferring the most telling kind */
                        for (size_t i = 0; i < head_rank; i++)
                                if (find_in(body, le, headlines[i].needle) &&
                                    (!headlines[i].also || find_in(body, le, headlines[i].also))) {
                                        if (!head || i < head_rank) {
                                                head = body;
                                                head_end = le;
                                                head_kind = headlines[i].kind;
                                                head_rank = i;
                                        }
                                        break;
                                }
                }
                line = nl ? nl + 1 : end;
        }
        const char *at = panic ? panic : head;
        if (panic) {
                copy_line(f->panic_line, sizeof f->panic_line, panic, panic_end);
                snprintf(f->panic_kind, sizeof f->panic_kind, "panic");
        } else if (head) {
                copy_line(f->panic_line, sizeof f->panic_line, head, head_end);
                snprintf(f->panic_kind, sizeof f->panic_kind, "%s", head_kind);
        }
        /* The crashing task: the last "CPU: … PID: … Comm:" line before the panic (after it,
         * for an oops, where the register dump follows the headline). */
        const char *best = NULL;
        for (const char *line = log; line < end;) {
                const char *nl = memchr(line, '\n', (size_t) (end - line));
                const char *le = nl ? nl : end;
                if (find_in(line, le, " PID: ") && find_in(line, le, " Comm: ") && find_in(line, le, "CPU: ")) {
                        if (!at || line <= at || !best)
                                best = line;
                        if (at && line > at && best != line)
                                break;
                }
                line = nl ? nl + 1 : end;
        }
        if (best) {
                const char *nl = memchr(best, '\n', (size_t) (end - best));
                parse_cpu_line(best, nl ? nl : end, f);
        }
        const char *region = head ? head : panic;
        if (region) {
                while (region > log && region[-1] != '\n')
                        region--;
                find_function(region, end, head != NULL, f);
        }
        const char *mods = NULL;
        for (const char *p = log; (p = find_in(p, end, "Modules linked in:")); p++)
                mods = p;
        if (mods) {
                const char *nl = memchr(mods, '\n', (size_t) (end - mods));
                find_taint_modules(mods + 18, nl ? nl : end, f);
        }
        find_largest(log, end, f);
}

const char *firstlook_tail(const char *log, size_t len, unsigned n) {
        const char *p = log + len;
        if (p > log && p[-1] == '\n')
                p--;
        while (p > log) {
                if (p[-1] == '\n' && --n == 0)
                        break;
                p--;
        }
        return p;
}

json_object *firstlook_to_json(const struct firstlook *f) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "panic_line", f->panic_line[0] ? json_object_new_string(f->panic_line) : NULL);
        json_object_object_add(o, "panic_kind", f->panic_kind[0] ? json_object_new_string(f->panic_kind) : NULL);
        json_object_object_add(o, "task", f->task[0] ? json_object_new_string(f->task) : NULL);
        json_object_object_add(o, "pid", f->pid >= 0 ? json_object_new_int(f->pid) : NULL);
        json_object_object_add(o, "cpu", f->cpu >= 0 ? json_object_new_int(f->cpu) : NULL);
        json_object_object_add(o, "tainted", f->tainted[0] ? json_object_new_string(f->tainted) : NULL);
        json_object_object_add(o, "function", f->function[0] ? json_object_new_string(f->function) : NULL);
        json_object_object_add(o, "module", f->module[0] ? json_object_new_string(f->module) : NULL);
        json_object_object_add(o, "taint_modules", f->taint_modules[0] ? json_object_new_string(f->taint_modules) : NULL);
        json_object_object_add(o, "largest_task", f->largest_task[0] ? json_object_new_string(f->largest_task) : NULL);
        json_object_object_add(o, "largest_rss_kb", f->largest_task[0] ? json_object_new_int64((int64_t) f->largest_rss_kb) : NULL);
        return o;
}
