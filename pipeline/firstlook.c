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
} headlines[] = {
        { "BUG: kernel NULL pointer dereference", "oops" },
        { "BUG: unable to handle page fault", "oops" },
        { "BUG: unable to handle kernel", "oops" },
        { "kernel BUG at ", "bug" },
        { "general protection fault", "oops" },
        { "BUG: soft lockup", "lockup" },
        { "watchdog: BUG: soft lockup", "lockup" },
        { "Watchdog detected hard LOCKUP", "lockup" },
        { "rcu_sched detected stalls", "rcu-stall" },
        { "rcu: INFO: rcu_preempt detected stalls", "rcu-stall" },
        { "blocked for more than", "hung-task" },
        { "Out of memory", "oom" },
        { "kernel stack overflow", "stack" },
        { "Machine check", "mce" },
        { "Oops:", "oops" },
        { "WARNING: CPU:", "warning" },
};

/* Skips "[    1.234567] " and "<4>" prefixes. */
static const char *strip_prefix(const char *line, const char *end) {
        const char *p = line;
        if (p < end && *p == '<') {
                const char *q = p + 1;
                while (q < end && isdigit((unsigned char) *q))
                        q++;
                if (q < end && *q == '>')
                        p = q + 1;
        }
        if (p < end && *p == '[') {
                const char *q = memchr(p, ']', (size_t) (end - p));
                if (q) {
                        p = q + 1;
                        while (p < end && *p == ' ')
                                p++;
                }
        }
        return p;
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
                                if (find_in(body, le, headlines[i].needle)) {
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
        return o;
}
