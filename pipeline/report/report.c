/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The report of a job, made from job.json and the case folder's files: summary.json,
 * report.html (one self-contained page) and comment.txt (the short text for the case). */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/html.h"
#include "common/json.h"
#include "common/log.h"
#include "pipeline/firstlook.h"
#include "casefolder/job.h"
#include "pipeline/report/report.h"

#define HTML_OUTPUT_MAX (1u << 20)  /* of one command's output in the page; the rest is linked */
#define LOG_MAX         (8u << 20)

/* "hotkdump crash [--root ROOT] CASE/N", as a shell takes it: the root is named when it is not
 * the default, in single quotes when it needs them. */
static void crash_command(struct job *j, char *buf, size_t size) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:@";
        const char *root = config_string(job_config(j), CONF_ROOT);
        size_t o = (size_t) snprintf(buf, size, "hotkdump crash ");
        if (root && strcmp(root, HOTKDUMP_STATEDIR) != 0) {
                bool plain = root[strspn(root, safe)] == 0;
                o += (size_t) snprintf(buf + o, size - o, "--root %s", plain ? "" : "'");
                for (const char *c = root; *c && o + 8 < size; c++) {
                        if (*c == '\'' && !plain)
                                o += (size_t) snprintf(buf + o, size - o, "'\\''");
                        else
                                buf[o++] = *c;
                }
                buf[o] = 0;
                o += (size_t) snprintf(buf + o, size - o, "%s ", plain ? "" : "'");
        }
        if (o < size)
                snprintf(buf + o, size - o, "%s/%u", job_case(j), job_number(j));
}

/* The whole file, or max bytes of it when it is larger: its last ones (from a line start) with
 * tail, for a kernel log, whose end is what matters; else its first ones. *ret_size: the
 * file's size. */
static int read_part(const char *path, size_t max, bool tail, char **ret, size_t *ret_len, size_t *ret_size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        off_t from = tail && st.st_size > (off_t) max ? st.st_size - (off_t) max : 0;
        size_t len = (size_t) (st.st_size - from) < max ? (size_t) (st.st_size - from) : max;
        char *buf = malloc(len + 1);
        ssize_t n = buf ? pread(fd, buf, len, from) : -1;
        close(fd);
        if (n < 0) {
                free(buf);
                return buf ? -EIO : -ENOMEM;
        }
        buf[n] = 0;
        size_t skip = 0;
        if (from) /* start at a whole line */
                while (skip < (size_t) n && buf[skip++] != '\n')
                        ;
        memmove(buf, buf + skip, (size_t) n - skip + 1);
        *ret = buf;
        *ret_len = (size_t) n - skip;
        if (ret_size)
                *ret_size = (size_t) st.st_size;
        return 0;
}

static int read_tail(const char *path, size_t max, char **ret, size_t *ret_len) {
        return read_part(path, max, true, ret, ret_len, NULL);
}

/* ---- reading crash's answers ------------------------------------------------------------ */

void report_sys_panic(const char *sys, size_t len, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t off = 0; off < len;) {
                const char *nl = memchr(sys + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (sys + off)) : len - off;
                const char *l = sys + off;
                off += ll + (nl ? 1 : 0);
                size_t sp = 0;
                while (sp < ll && l[sp] == ' ')
                        sp++;
                if (ll - sp < 8 || strncmp(l + sp, "PANIC: ", 7) != 0)
                        continue;
                const char *v = l + sp + 7, *e = l + ll;
                if (v < e && *v == '"')
                        v++;
                while (e > v && (e[-1] == '"' || e[-1] == '\r' || e[-1] == ' '))
                        e--;
                size_t n = (size_t) (e - v) < size - 1 ? (size_t) (e - v) : size - 1;
                memcpy(buf, v, n);
                buf[n] = 0;
                return;
        }
}

void report_crashing_function(const char *bt, size_t len, char *buf, size_t size) {
        char first[128] = "";
        buf[0] = 0;
        for (size_t off = 0; off < len;) {
                const char *nl = memchr(bt + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (bt + off)) : len - off;
                char line[512];
                size_t n = ll < sizeof line - 1 ? ll : sizeof line - 1;
                memcpy(line, bt + off, n);
                line[n] = 0;
                off += ll + (nl ? 1 : 0);
                const char *rip = strstr(line, "[exception RIP: ");
                if (rip) {
                        rip += 16;
                        size_t fl = strcspn(rip, "+]");
                        /* where the CPU trapped, when everything above it is the oops machinery;
                         * otherwise the kernel panicked while handling the trap (an OOM in a
                         * page fault), and the frame above says more */
                        if (!first[0] && fl && fl < size && strncmp(rip, "unknown", 7) != 0) {
                                memcpy(buf, rip, fl);
                                buf[fl] = 0;
                                return;
                        }
                        continue;
                }
                /* " #3 [ffffcf4ac0013d88] sysrq_handle_crash at ffffffffa50a8a06 [module]" */
                char fn[128];
                int used = 0;
                if (sscanf(line, " #%*u [%*[0-9a-fx]] %127s at %n", fn, &used) < 1 || used == 0)
                        continue;
                if (first[0])
                        continue;
                /* ".cold" and ".isra.0" parts are the same function to a reader */
                fn[strcspn(fn, ".")] = 0;
                if (!firstlook_is_machinery(fn) && fn[0])
                        snprintf(first, sizeof first, "%s", fn);
        }
        snprintf(buf, size, "%s", first);
}

int report_bt_task(const char *bt, size_t len, long *pid, int *cpu, char comm[64]) {
        const char *p = memmem(bt, len, "PID: ", 5);
        char line[256];
        if (!p)
                return -ENOENT;
        size_t n = (size_t) (bt + len - p);
        snprintf(line, sizeof line, "%.*s", (int) (n < sizeof line ? n : sizeof line - 1), p);
        return sscanf(line, "PID: %ld TASK: %*x CPU: %d COMMAND: \"%63[^\"]\"", pid, cpu, comm) == 3 ? 0 : -ENOENT;
}

/* ---- small helpers --------------------------------------------------------------------- */

/* The output of the first crash command given as `command`, read from its file. */
struct output {
        char *text;
        size_t len;
        const char *file, *status, *name, *reason;
        double seconds;
};

static int crash_output(struct job *j, const char *command, struct output *ret) {
        json_object *cmds = json_get(job_record_get(job_record(j), JOB_CRASH), "commands");
        memset(ret, 0, sizeof *ret);
        for (size_t i = 0; cmds && i < json_object_array_length(cmds); i++) {
                json_object *c = json_object_array_get_idx(cmds, i);
                const char *cmd = json_path_text(c, "command"), *file = json_path_text(c, "file");
                /* "%blocked" is whatever count the set gives it: "%blocked 5" */
                size_t n = strlen(command);
                if (!cmd || (strcmp(cmd, command) != 0 &&
                             !(command[0] == '%' && !strncmp(cmd, command, n) && cmd[n] == ' ')))
                        continue;
                ret->file = file;
                ret->status = json_path_text(c, "status");
                ret->name = json_path_text(c, "name");
                if (file) {
                        char path[PATH_MAX];
                        snprintf(path, sizeof path, "%s/crash/%s", job_dir(j), file);
                        if (read_tail(path, LOG_MAX, &ret->text, &ret->len) < 0)
                                ret->text = NULL;
                }
                return ret->text ? 0 : -ENOENT;
        }
        return -ENOENT;
}

/* ---- parsers of crash answers the report draws ----------------------------------------------- */

/* The next line of text[*pos..len) into buf (NUL-terminated, cut at size); false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, char *buf, size_t size) {
        if (*pos >= len)
                return false;
        const char *nl = memchr(text + *pos, '\n', len - *pos);
        size_t n = (nl ? (size_t) (nl - text) : len) - *pos;
        snprintf(buf, size, "%.*s", (int) (n < size ? n : size - 1), text + *pos);
        *pos += n + (nl ? 1 : 0);
        return true;
}

int report_parse_kmem(const char *text, size_t len, struct report_kmem *k) {
        static const struct {
                const char *label;
                size_t off;
        } rows[] = {
                { "TOTAL MEM", offsetof(struct report_kmem, total) },     { "FREE", offsetof(struct report_kmem, free) },
                { "USED", offsetof(struct report_kmem, used) },           { "BUFFERS", offsetof(struct report_kmem, buffers) },
                { "CACHED", offsetof(struct report_kmem, cached) },       { "SLAB", offsetof(struct report_kmem, slab) },
                { "COMMIT LIMIT", offsetof(struct report_kmem, commit_limit) },
                { "COMMITTED", offsetof(struct report_kmem, committed) },
        };
        *k = (struct report_kmem) { -1, -1, -1, -1, -1, -1, -1, -1 };
        char line[512];
        for (size_t pos = 0; next_line(text, len, &pos, line, sizeof line);) {
                const char *p = line + strspn(line, " \t");
                for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                        size_t n = strlen(rows[i].label);
                        /* the label, then blanks, then the number of pages */
                        if (strncmp(p, rows[i].label, n) != 0 || (p[n] != ' ' && p[n] != '\t'))
                                continue;
                        char *end;
                        long long v = strtoll(p + n, &end, 10);
                        if (end != p + n && v >= 0)
                                *(int64_t *) (void *) ((char *) k + rows[i].off) = v;
                        break;
                }
        }
        return k->total > 0 ? 0 : -ENOENT;
}

int report_ps_states(const char *text, size_t len, struct report_states *r) {
        memset(r, 0, sizeof *r);
        char line[1024];
        int col = -1;
        for (size_t pos = 0; next_line(text, len, &pos, line, sizeof line);) {
                char *save = NULL, *tok;
                int i = 0;
                /* the current task's line starts with '>', a field of its own or not */
                char *p = line + strspn(line, " \t>");
                if (col < 0) {
                        for (tok = strtok_r(p, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), i++)
                                if (!strcmp(tok, "ST"))
                                        col = i;
                        continue;
                }
                for (tok = strtok_r(p, " \t", &save); tok && i < col; tok = strtok_r(NULL, " \t", &save))
                        i++;
                if (!tok || strlen(tok) > 3 || !isupper((unsigned char) tok[0]))
                        continue;
                size_t k = 0;
                while (k < r->n && strcmp(r->v[k].state, tok))
                        k++;
                if (k == r->n) {
                        if (r->n == REPORT_STATES_MAX)
                                continue;
                        snprintf(r->v[r->n++].state, sizeof r->v[0].state, "%s", tok);
                }
                r->v[k].count++;
                r->tasks++;
        }
        /* most first */
        for (size_t a = 1; a < r->n; a++)
                for (size_t b = a; b > 0 && r->v[b].count > r->v[b - 1].count; b--) {
                        struct report_state t = r->v[b];
                        r->v[b] = r->v[b - 1];
                        r->v[b - 1] = t;
                }
        return col < 0 ? -ENOENT : 0;
}

/* What a reader wants first. */
struct headline {
        const char *release, *version, *arch;
        char panic[512];
        char task[128];
        char function[128];
        const char *cause;       /* the headline finding's summary */
        json_object *finding;    /* the headline finding */
        bool unrecognised;       /* the rules ran and none names a cause */
        bool have_crash;
        char *bt;         /* the answer of `bt`, for the comment too */
        size_t bt_len;
};

static void make_headline(struct job *j, struct headline *h) {
        json_object *rec = job_record(j);
        struct output o;
        memset(h, 0, sizeof *h);
        h->release = json_path_text(job_record_get(rec, JOB_IDENTITY), "release");
        h->version = json_path_text(job_record_get(rec, JOB_IDENTITY), "version");
        h->arch = json_path_text(job_record_get(rec, JOB_IDENTITY), "arch");
        if (crash_output(j, "sys", &o) == 0) {
                report_sys_panic(o.text, o.len, h->panic, sizeof h->panic);
                h->have_crash = true;
                free(o.text);
        }
        if (!h->panic[0] && json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "panic_line"))
                snprintf(h->panic, sizeof h->panic, "%s", json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "panic_line"));
        /* the log's function first: see pipeline/triage/stage.c */
        if (json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "function"))
                snprintf(h->function, sizeof h->function, "%s", json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "function"));
        if (crash_output(j, "bt", &o) == 0) {
                if (!h->function[0])
                        report_crashing_function(o.text, o.len, h->function, sizeof h->function);
                long pid;
                int cpu;
                char comm[64];
                if (report_bt_task(o.text, o.len, &pid, &cpu, comm) == 0)
                        snprintf(h->task, sizeof h->task, "%s (PID %ld) on CPU %d", comm, pid, cpu);
                h->bt = o.text;
                h->bt_len = o.len;
        }
        if (!h->task[0] && json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "task"))
                snprintf(h->task, sizeof h->task, "%s (PID %s) on CPU %s", json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "task"),
                         json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "pid") ? json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "pid") : "?",
                         json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "cpu") ? json_path_text(job_record_get(rec, JOB_FIRST_LOOK), "cpu") : "?");
        json_object *findings = job_record_get(rec, JOB_FINDINGS);
        json_object *first = findings && json_object_array_length(findings) ? json_object_array_get_idx(findings, 0) : NULL;
        if (first && json_path_text(first, "kind") && !strcmp(json_path_text(first, "kind"), "cause")) {
                h->finding = first;
                h->cause = json_path_text(first, "summary");
        }
        h->unrecognised = findings && !h->finding;
}

#define NOT_RECOGNISED "Cause not recognised"

/* Whether findings[i] is shown under "also found" (everything but the headline). */
static bool also_found(const struct headline *h, json_object *findings, size_t i) {
        return json_object_array_get_idx(findings, i) != h->finding;
}

/* Counts of the crash commands by status, as "14 ok, 1 timeout". */
static void command_counts(json_object *cmds, char *buf, size_t size) {
        static const char *const st[] = { "ok", "error", "timeout", "died", "skipped" };
        size_t o = 0;
        buf[0] = 0;
        for (size_t s = 0; s < sizeof st / sizeof st[0]; s++) {
                unsigned n = 0;
                for (size_t i = 0; cmds && i < json_object_array_length(cmds); i++) {
                        const char *x = json_path_text(json_object_array_get_idx(cmds, i), "status");
                        n += x && !strcmp(x, st[s]);
                }
                if (n && o < size)
                        o += (size_t) snprintf(buf + o, size - o, "%s%u %s", o ? ", " : "", n, st[s]);
        }
}

/* The reasons the analysis is weaker than it should be, for the top of the page and the comment. */
static size_t warnings(struct job *j, char w[][512], size_t max) {
        json_object *rec = job_record(j), *crash = job_record_get(rec, JOB_CRASH);
        size_t n = 0;
        if (n < max && json_path_text(job_record_get(rec, JOB_IDENTITY), "complete") && !strcmp(json_path_text(job_record_get(rec, JOB_IDENTITY), "complete"), "no"))
                snprintf(w[n++], 512, "The dump is incomplete: %s.",
                         json_path_text(job_record_get(rec, JOB_IDENTITY), "complete_reason") ? json_path_text(job_record_get(rec, JOB_IDENTITY), "complete_reason") : "it was cut short");
        json_object *stages = job_record_get(rec, JOB_STAGES);
        static const char *const names[] = { "symbols", "crash" };
        for (size_t i = 0; i < 2 && n < max; i++) {
                const char *e = json_path_text(json_get(stages, names[i]), "error");
                if (e && !(i == 1 && json_get(crash, "too_old"))) /* said better just below */
                        snprintf(w[n++], 512, "%s: %s", names[i], e);
        }
        json_object *old = json_get(crash, "too_old");
        if (old && n < max) {
                json_object *lines = json_get(old, "lines");
                const char *first = lines && json_object_array_length(lines)
                                            ? json_object_get_string(json_object_array_get_idx(lines, 0)) : "";
                snprintf(w[n++], 512,
                         "crash %s does not fully understand kernel %s: it reported \"%s\". Task lists, backtraces "
                         "and blocked tasks may be wrong or missing; analyse this dump with a newer crash.",
                         json_path_text(old, "version") ? json_path_text(old, "version") : "?",
                         json_path_text(job_record_get(rec, JOB_IDENTITY), "release") ? json_path_text(job_record_get(rec, JOB_IDENTITY), "release") : "?", first);
        }
        const char *mode = json_path_text(crash, "mode");
        if (mode && strcmp(mode, "normal") != 0 && n < max)
                snprintf(w[n++], 512, "crash could open the dump only with --%s%s.", mode,
                         !strcmp(mode, "minimal") ? " (only log, dis, rd and sym work)" : " (excluded pages read as zeros)");
        json_object *cmds = json_get(crash, "commands");
        for (size_t i = 0; cmds && i < json_object_array_length(cmds) && n < max; i++) {
                json_object *c = json_object_array_get_idx(cmds, i);
                const char *st = json_path_text(c, "status");
                if (st && (!strcmp(st, "timeout") || !strcmp(st, "died") || !strcmp(st, "error")))
                        snprintf(w[n++], 512, "crash command '%s' %s: %s", json_path_text(c, "command"),
                                 !strcmp(st, "timeout") ? "timed out" : !strcmp(st, "died") ? "ended crash" : "failed",
                                 json_path_text(c, "reason") ? json_path_text(c, "reason") : st);
        }
        return n;
}

/* " (crash 8.0.6 was too old for this kernel)": the builds the runner passed over, or "". */
static void too_old_note(json_object *crash, char *buf, size_t size) {
        json_object *older = json_get(crash, "too_old_builds");
        size_t n = older ? json_object_array_length(older) : 0, o = 0;
        buf[0] = 0;
        for (size_t i = 0; i < n && o < size; i++)
                o += (size_t) snprintf(buf + o, size - o, "%s%s", i ? ", " : " (crash ",
                                       json_object_get_string(json_object_array_get_idx(older, i)));
        if (n && o < size)
                snprintf(buf + o, size - o, " %s too old for this kernel)", n > 1 ? "were" : "was");
}

/* ---- the kernel log, with the panic region marked --------------------------------------- */

static const char *const region_start[] = {
        "BUG ", "BUG: ", "Oops: ", "kernel BUG at", "general protection fault", "WARNING: ", "sysrq: Trigger a crash",
        "INFO: task ", "watchdog: ", "invoked oom-killer", "Kernel panic - not syncing", "NMI watchdog", "rcu: INFO:",
        "Machine check", "stack-protector:", "Unable to handle kernel", "list_add corruption", "list_del corruption",
        "kernel tried to execute NX-protected page", "Attempted to kill init",
};

/* The panic region: from the start of the last oops (or its headline) before the final panic
 * line to the end of the log. Returns its offset, or len when there is none. */
static size_t panic_region(const char *log, size_t len) {
        size_t panic = len, start = len;
        for (size_t off = 0; off < len;) {
                const char *nl = memchr(log + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (log + off)) : len - off;
                if (memmem(log + off, ll, "Kernel panic - not syncing", 26))
                        panic = off;
                off += ll + (nl ? 1 : 0);
        }
        for (size_t off = 0; off < len;) {
                const char *nl = memchr(log + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (log + off)) : len - off;
                if (off > panic)
                        break;
                for (size_t i = 0; i < sizeof region_start / sizeof region_start[0]; i++)
                        if (memmem(log + off, ll, region_start[i], strlen(region_start[i]))) {
                                /* the last such start at or before the panic, unless it is part of
                                 * the same block as an earlier start (lines close together) */
                                if (start == len || off > start + 8192)
                                        start = off;
                                break;
                        }
                off += ll + (nl ? 1 : 0);
        }
        return start < len ? start : panic;
}

/* ---- summary.json --------------------------------------------------------------------------- */

static json_object *make_summary(struct job *j, const struct headline *h) {
        json_object *rec = job_record(j), *s = json_object_new_object(), *hl = json_object_new_object();
        /* 2: times are ISO 8601 (identity.crash_time and first_look.crash_time were seconds) */
        json_object_object_add(s, "schema_version", json_object_new_int(SUMMARY_SCHEMA_VERSION));
        json_object_object_add(s, "case", json_object_new_string(job_case(j)));
        json_object_object_add(s, "job", json_object_new_int((int) job_number(j)));
        json_object_object_add(s, "state", job_record_string(rec, JOB_STATE) ? json_object_new_string(job_record_string(rec, JOB_STATE)) : NULL);
#define HL(k, v) json_object_object_add(hl, k, (v) && *(v) ? json_object_new_string(v) : NULL)
        HL("release", h->release);
        HL("panic", h->panic);
        HL("task", h->task);
        HL("function", h->function);
        HL("cause", h->unrecognised ? NOT_RECOGNISED : h->cause);
        HL("cause_id", h->finding ? json_path_text(h->finding, "id") : NULL);
#undef HL
        json_object_object_add(s, "headline", hl);
        static const enum job_field copy[] = { JOB_IDENTITY, JOB_FIRST_LOOK, JOB_SYMBOLS, JOB_STORAGE, JOB_FINDINGS,
                                               JOB_TRIAGE,   JOB_STAGES,     JOB_ERROR };
        for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
                json_object *v = job_record_get(rec, copy[i]);
                if (v)
                        json_object_object_add(s, job_field_name(copy[i]), json_object_get(v));
        }
        json_object *crash = job_record_get(rec, JOB_CRASH);
        if (crash) {
                json_object *c = json_object_new_object();
                json_object_object_foreach(crash, k, v) json_object_object_add(c, k, json_object_get(v));
                json_object_object_add(s, "crash", c);
        }
        return s;
}

/* ---- report.html ------------------------------------------------------------------------- */

static const char css[] =
        ":root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7f9;--card:#fff;--accent:#b3261e;--ok:#1e7a3a;"
        "--warn:#9a6700;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace}"
        "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
        "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
        "main{max-width:1100px;margin:0 auto;padding:24px 20px 64px}"
        "header.top{display:flex;justify-content:space-between;align-items:baseline;gap:16px;flex-wrap:wrap;color:var(--muted)}"
        "header.top b{color:var(--fg)}"
        "#headline{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--accent);"
        "border-radius:8px;padding:18px 22px;margin:14px 0 20px}"
        "#headline h1{font-size:21px;line-height:1.35;margin:0 0 10px;word-break:break-word}"
        "#headline dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}"
        "dt{color:var(--muted)}dd{margin:0;word-break:break-word}code,pre{font-family:var(--mono);font-size:13px}"
        ".warn{background:#fff8e1;border:1px solid #f0d68a;border-radius:8px;padding:10px 16px;margin:0 0 20px}"
        ".warn li{margin:4px 0}h2{font-size:17px;margin:28px 0 10px}"
        "table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px}"
        "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}"
        "th{font-weight:600;color:var(--muted);font-size:13px}.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:4px 18px 12px;margin:0 0 18px}"
        "svg.bar{display:block;border-radius:4px;background:var(--line)}dl.figures{display:grid;grid-template-columns:max-content max-content;gap:2px 18px}"
        "dl.figures dd{margin:0}table.states td.chart{width:50%}"
        "details{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:8px 0}"
        "summary{cursor:pointer;padding:8px 14px;display:flex;gap:12px;align-items:baseline}"
        "summary code{font-weight:600}summary .t{margin-left:auto;color:var(--muted);font-size:13px}"
        "pre{margin:0;padding:12px 14px;overflow-x:auto;border-top:1px solid var(--line);white-space:pre}"
        ".badge{font-size:12px;padding:1px 8px;border-radius:10px;border:1px solid currentColor}"
        ".critical,.high{color:var(--accent)}.medium{color:var(--warn)}.low,.info{color:var(--muted)}"
        ".finding .body{padding:0 14px 10px;border-top:1px solid var(--line)}.finding pre{border:1px solid var(--line);"
        "border-radius:6px;background:var(--bg)}.evidence .src{color:var(--muted)}.rule{color:var(--muted);font-size:13px}"
        ".ok{color:var(--ok)}.error,.died,.timeout{color:var(--accent)}.skipped{color:var(--muted)}"
        ".log .panic{display:block;background:#fdecea;border-left:4px solid var(--accent);margin-left:-14px;padding-left:10px}"
        "tr.stuck td,td.bad{color:var(--accent);font-weight:600}code.target{display:block}.paths{font-size:13px;margin:2px 0 6px 12px}"
        "ul.files{columns:2;padding-left:18px}a{color:#0b57d0}footer{margin-top:40px;color:var(--muted);font-size:13px}";

/* text: the first len bytes of a file of size bytes */
static void html_output(FILE *f, const char *text, size_t len, size_t size, const char *file) {
        fputs("<pre>", f);
        html_write(f, text, len);
        if (len < size) {
                fprintf(f, "\n[… %zu more bytes in <a href=\"", size - len);
                html_write_str(f, file);
                fputs("\">the raw file</a>]", f);
        }
        fputs("</pre>\n", f);
}

static void html_tasks(FILE *f, json_object *list, bool blocked) {
        fputs(blocked ? "<table><tr><th class=num>Blocked for</th><th class=num>PID</th><th>Command</th></tr>\n"
                      : "<table><tr><th class=num>PID</th><th class=num>RSS</th><th class=num>%MEM</th><th>Command</th></tr>\n", f);
        for (size_t i = 0; i < json_object_array_length(list) && i < 50; i++) {
                json_object *t = json_object_array_get_idx(list, i);
                if (blocked) {
                        int64_t ms = json_object_get_int64(json_get(t, "blocked_ms"));
                        fprintf(f, "<tr><td class=num>%.1f s</td><td class=num>%s</td><td><code>", (double) ms / 1000.0,
                                json_path_text(t, "pid"));
                } else
                        fprintf(f, "<tr><td class=num>%s</td><td class=num>%.1f MiB</td><td class=num>%.1f</td><td><code>",
                                json_path_text(t, "pid"), (double) json_object_get_int64(json_get(t, "rss_kb")) / 1024.0,
                                json_object_get_double(json_get(t, "mem_pct")));
                html_write_str(f, json_path_text(t, "comm"));
                fputs("</code></td></tr>\n", f);
        }
        fputs("</table>\n", f);
}

static void html_tasks(FILE *f, json_object *list, bool blocked);

static void html_blocked(FILE *f, json_object *blocked) {
        fprintf(f, "<h2 id=blocked>Blocked tasks (state UN): %zu</h2>\n", json_object_array_length(blocked));
        html_tasks(f, blocked, true);
}

/* One bar of a chart: an SVG rect and its label, x and w in percent of the width. */
static void svg_bar(FILE *f, double x, double w, const char *fill, const char *label) {
        fprintf(f, "<rect x=\"%.2f%%\" y=\"0\" width=\"%.2f%%\" height=\"22\" fill=\"%s\"><title>", x, w, fill);
        html_write_str(f, label);
        fputs("</title></rect>", f);
}

static bool cause_is(const struct headline *h, const char *prefix) {
        const char *id = h->finding ? json_path_text(h->finding, "id") : NULL;
        return id && !strncmp(id, prefix, strlen(prefix));
}

/* kmem -i as one bar (used without the page cache, the cache, free) and the commit ratio. */
static void html_memory(FILE *f, struct job *j, unsigned page_size) {
        struct output out;
        struct report_kmem k;
        if (crash_output(j, "kmem -i", &out) < 0 || report_parse_kmem(out.text, out.len, &k) < 0) {
                free(out.text);
                return;
        }
        free(out.text);
        int64_t cache = (k.cached > 0 ? k.cached : 0) + (k.buffers > 0 ? k.buffers : 0);
        int64_t freep = k.free >= 0 ? k.free : 0, used = k.used >= 0 ? k.used : k.total - freep;
        int64_t program = used - cache > 0 ? used - cache : 0;
        double t = (double) k.total, mib = (double) (page_size ? page_size : 4096) / 1048576.0;
        fprintf(f, "<section id=memory class=panel data-page-size=\"%u\" data-total=\"%lld\" data-used=\"%lld\" "
                   "data-cache=\"%lld\" data-free=\"%lld\" data-committed=\"%lld\" data-commit-limit=\"%lld\">\n",
                page_size, (long long) k.total, (long long) used, (long long) cache, (long long) freep,
                (long long) k.committed, (long long) k.commit_limit);
        fputs("<h2>Memory <small>(kmem -i)</small></h2>\n<svg class=bar role=img aria-label=\"memory use\" "
              "width=\"100%\" height=\"22\">", f);
        char label[96];
        snprintf(label, sizeof label, "used, not cache: %.0f MiB", (double) program * mib);
        svg_bar(f, 0, 100.0 * (double) program / t, "#b3261e", label);
        snprintf(label, sizeof label, "page cache and buffers: %.0f MiB", (double) cache * mib);
        svg_bar(f, 100.0 * (double) program / t, 100.0 * (double) cache / t, "#9a6700", label);
        snprintf(label, sizeof label, "free: %.0f MiB", (double) freep * mib);
        svg_bar(f, 100.0 * (double) (program + cache) / t, 100.0 * (double) freep / t, "#1e7a3a", label);
        fputs("</svg>\n<dl class=figures>", f);
        fprintf(f, "<dt>Total</dt><dd class=num id=mem-total>%.1f MiB</dd>", (double) k.total * mib);
        fprintf(f, "<dt>Used</dt><dd class=num id=mem-used>%.0f%%</dd>", 100.0 * (double) used / t);
        fprintf(f, "<dt>Used, not cache</dt><dd class=num id=mem-program>%.0f%%</dd>", 100.0 * (double) program / t);
        fprintf(f, "<dt>Cache and buffers</dt><dd class=num id=mem-cache>%.0f%%</dd>", 100.0 * (double) cache / t);
        fprintf(f, "<dt>Free</dt><dd class=num id=mem-free>%.0f%%</dd>", 100.0 * (double) freep / t);
        if (k.commit_limit > 0 && k.committed >= 0)
                fprintf(f, "<dt>Committed</dt><dd class=num id=mem-commit>%.0f%% of the commit limit</dd>",
                        100.0 * (double) k.committed / (double) k.commit_limit);
        fputs("</dl></section>\n", f);
}

/* The tasks of ps by state, as a table and a bar chart. */
static void html_task_states(FILE *f, struct job *j) {
        struct output out;
        struct report_states st;
        if (crash_output(j, "ps", &out) < 0 || report_ps_states(out.text, out.len, &st) < 0 || !st.tasks) {
                free(out.text);
                return;
        }
        free(out.text);
        static const struct {
                const char *state, *meaning, *fill;
        } known[] = {
                { "RU", "running", "#1e7a3a" },     { "IN", "sleeping", "#5b6475" },  { "UN", "blocked (D)", "#b3261e" },
                { "ID", "idle", "#a0a8b8" },        { "ZO", "zombie", "#9a6700" },    { "ST", "stopped", "#6b4fbb" },
                { "TR", "traced", "#6b4fbb" },      { "DE", "dead", "#000" },         { "PA", "parked", "#a0a8b8" },
                { "NE", "new", "#a0a8b8" },         { "WA", "waking", "#1e7a3a" },
        };
        fprintf(f, "<section id=tasks class=panel data-tasks=\"%zu\">\n<h2>Tasks by state <small>(ps: %zu tasks)</small></h2>\n",
                st.tasks, st.tasks);
        fputs("<table class=states><tr><th>State</th><th></th><th class=num>Tasks</th><th class=chart></th></tr>\n", f);
        for (size_t i = 0; i < st.n; i++) {
                const char *meaning = "", *fill = "#5b6475";
                for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                        if (!strcmp(known[k].state, st.v[i].state)) {
                                meaning = known[k].meaning;
                                fill = known[k].fill;
                        }
                fputs("<tr data-state=\"", f);
                html_write_str(f, st.v[i].state);
                fputs("\"><td><code>", f);
                html_write_str(f, st.v[i].state);
                fprintf(f, "</code></td><td>%s</td><td class=num>%zu</td><td class=chart><svg width=\"100%%\" height=\"14\">"
                           "<rect width=\"%.2f%%\" height=\"14\" fill=\"%s\"/></svg></td></tr>\n",
                        meaning, st.v[i].count, 100.0 * (double) st.v[i].count / (double) st.v[0].count, fill);
        }
        fputs("</table></section>\n", f);
}

/* ---- the storage view ---- */

static void cell(FILE *f, const char *cls, const char *s) {
        fprintf(f, cls ? "<td class=%s>" : "<td>", cls);
        html_write_str(f, s);
        fputs("</td>", f);
}

/* A number's cell, with decimals places after the point. */
static void cell_num(FILE *f, json_object *v, int decimals) {
        fputs("<td class=num>", f);
        if (v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
                fprintf(f, "%.*f", decimals, json_object_get_double(v));
        fputs("</td>", f);
}

static size_t items(json_object *o, const char *key) {
        json_object *a = json_get(o, key);
        return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* A row's opening, with a data attribute of its name and "stuck" when its oldest request is. */
static void row_open(FILE *f, const char *attr, const char *name, json_object *age, double stuck_after) {
        bool stuck = age && json_object_get_double(age) >= stuck_after;
        fprintf(f, "<tr data-%s=\"", attr);
        html_write_str(f, name);
        fputs(stuck ? "\" class=stuck>" : "\">", f);
}

static void html_storage_dm(FILE *f, json_object *dm) {
        json_object *devs = json_get(dm, "devices");
        fputs("<h3>Device-mapper</h3><table id=storage-dm><tr><th>Name</th><th>Device</th><th>UUID</th><th class=num>Open</th>"
              "<th>State</th><th class=num>Waiting</th><th>Live table</th></tr>\n", f);
        for (size_t i = 0; i < items(dm, "devices"); i++) {
                json_object *d = json_object_array_get_idx(devs, i), *t = json_get(d, "table");
                bool susp = json_object_get_boolean(json_get(d, "suspended"));
                row_open(f, "dm", json_path_text(d, "name"), NULL, 0);
                cell(f, NULL, json_path_text(d, "name"));
                cell(f, NULL, json_path_text(d, "dm"));
                cell(f, NULL, json_path_text(d, "uuid"));
                cell_num(f, json_get(d, "open_count"), 0);
                cell(f, susp ? "bad" : NULL, susp ? "suspended" : "live");
                cell_num(f, json_get(d, "deferred"), 0);
                fputs("<td>", f);
                for (size_t k = 0; k < items(d, "table"); k++) {
                        json_object *tg = json_object_array_get_idx(t, k), *groups = json_get(tg, "path_groups");
                        fprintf(f, "<code class=target>%lld %lld ", (long long) json_object_get_int64(json_get(tg, "start")),
                                (long long) json_object_get_int64(json_get(tg, "length")));
                        html_write_str(f, json_path_text(tg, "type"));
                        fputs(" ", f);
                        html_write_str(f, json_path_text(tg, "params") ? json_path_text(tg, "params") : "(parameters not read)");
                        fputs("</code>", f);
                        for (size_t g = 0; g < items(tg, "path_groups"); g++) {
                                json_object *pg = json_object_array_get_idx(groups, g), *paths = json_get(pg, "paths");
                                fprintf(f, "<div class=paths>group %lld (", (long long) json_object_get_int64(json_get(pg, "group")));
                                html_write_str(f, json_path_text(pg, "selector"));
                                fputs(json_object_get_boolean(json_get(pg, "current")) ? ", current):" : "):", f);
                                for (size_t p = 0; p < items(pg, "paths"); p++) {
                                        json_object *pa = json_object_array_get_idx(paths, p);
                                        bool up = json_object_get_boolean(json_get(pa, "active"));
                                        fputs(" <span class=path data-dev=\"", f);
                                        html_write_str(f, json_path_text(pa, "dev"));
                                        fprintf(f, "\" data-active=%s>", up ? "yes" : "no");
                                        html_write_str(f, json_path_text(pa, "dev"));
                                        if (json_path_text(pa, "disk")) {
                                                fputs(" ", f);
                                                html_write_str(f, json_path_text(pa, "disk"));
                                        }
                                        fputs(up ? " active" : " <b>failed</b>", f);
                                        fputs("</span>", f);
                                }
                                fputs("</div>", f);
                        }
                }
                fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
}

static void html_storage_scsi(FILE *f, json_object *scsi, double stuck_after) {
        json_object *hosts = json_get(scsi, "hosts"), *devs = json_get(scsi, "devices");
        fputs("<h3>SCSI</h3><table id=storage-scsi-hosts><tr><th>Host</th><th>Driver</th><th>State</th><th class=num>Busy</th>"
              "<th class=num>Blocked</th><th class=num>Failed</th></tr>\n", f);
        for (size_t i = 0; i < items(scsi, "hosts"); i++) {
                json_object *h = json_object_array_get_idx(hosts, i);
                fprintf(f, "<tr data-host=%lld>", (long long) json_object_get_int64(json_get(h, "host_no")));
                cell_num(f, json_get(h, "host_no"), 0);
                cell(f, NULL, json_path_text(h, "driver"));
                cell(f, NULL, json_path_text(h, "state"));
                cell_num(f, json_get(h, "busy"), 0);
                cell_num(f, json_get(h, "blocked"), 0);
                cell_num(f, json_get(h, "failed"), 0);
                fputs("</tr>\n", f);
        }
        fputs("</table>\n<table id=storage-scsi><tr><th>H:C:T:L</th><th>Vendor</th><th>Model</th><th>State</th>"
              "<th class=num>Queue depth</th><th class=num>Timeout (s)</th><th class=num>In flight</th><th class=num>Oldest (s)</th></tr>\n",
              f);
        for (size_t i = 0; i < items(scsi, "devices"); i++) {
                json_object *d = json_object_array_get_idx(devs, i), *cmds = json_get(d, "in_flight");
                json_object *age = items(d, "in_flight") ? json_get(json_object_array_get_idx(cmds, 0), "age_s") : NULL;
                row_open(f, "hctl", json_path_text(d, "hctl"), age, stuck_after);
                cell(f, NULL, json_path_text(d, "hctl"));
                cell(f, NULL, json_path_text(d, "vendor"));
                cell(f, NULL, json_path_text(d, "model"));
                cell(f, NULL, json_path_text(d, "state"));
                cell_num(f, json_get(d, "queue_depth"), 0);
                cell_num(f, json_get(d, "timeout_s"), 0);
                fprintf(f, "<td class=num>%zu</td>", items(d, "in_flight"));
                cell_num(f, age, 1);
                fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
}

/* The storage view: disks, SCSI, device-mapper, as drgn read them. */
static void html_storage(FILE *f, json_object *st, double stuck_after) {
        json_object *view = json_get(st, "view"), *dm = json_get(view, "device_mapper"), *scsi = json_get(view, "scsi");
        if (!st)
                return;
        fputs("<section id=storage class=panel>\n<h2>Storage <small>(read with drgn)</small></h2>\n", f);
        if (!view) {
                fputs("<p id=storage-none>No storage view: ", f);
                html_write_str(f, json_path_text(st, "unavailable"));
                fputs("</p></section>\n", f);
                return;
        }
        json_object *disks = json_get(json_get(view, "block"), "disks");
        if (!items(dm, "devices") && !items(scsi, "devices"))
                fputs("<p id=storage-none>No device-mapper or SCSI devices in this dump.</p>\n", f);
        fputs("<table id=storage-disks><tr><th>Disk</th><th>Driver</th><th class=num>In flight</th><th class=num>Oldest (s)</th></tr>\n", f);
        for (size_t i = 0; i < items(json_get(view, "block"), "disks"); i++) {
                json_object *d = json_object_array_get_idx(disks, i);
                row_open(f, "disk", json_path_text(d, "name"), json_get(d, "oldest_age_s"), stuck_after);
                cell(f, NULL, json_path_text(d, "name"));
                cell(f, NULL, json_path_text(d, "driver"));
                cell_num(f, json_get(d, "in_flight"), 0);
                cell_num(f, json_get(d, "oldest_age_s"), 1);
                fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
        if (items(scsi, "devices") || items(scsi, "hosts"))
                html_storage_scsi(f, scsi, stuck_after);
        if (items(dm, "devices"))
                html_storage_dm(f, dm);
        json_object *errors = json_get(view, "errors");
        if (items(view, "errors")) {
                fputs("<p class=muted>Not read:</p><ul>", f);
                html_write_items(f, errors);
                fputs("</ul>\n", f);
        }
        fputs("</section>\n", f);
}

/* How long each stage took. */
static void html_timings(FILE *f, json_object *stages) {
        if (!stages || !json_object_is_type(stages, json_type_object))
                return;
        fputs("<h2>Stages</h2><table id=stages><tr><th>Stage</th><th>State</th><th class=num>Seconds</th></tr>\n", f);
        json_object_object_foreach(stages, name, v) {
                fputs("<tr><td>", f);
                html_write_str(f, name);
                fputs("</td><td>", f);
                html_write_str(f, json_path_text(v, "state"));
                json_object *secs = json_get(v, "seconds");
                if (secs)
                        fprintf(f, "</td><td class=num>%.2f</td></tr>\n", json_object_get_double(secs));
                else
                        fputs("</td><td class=num>–</td></tr>\n", f);
        }
        fputs("</table>\n", f);
}

/* One folded block of the log: log[from..to), with a note of what came before from. */
static void log_block(FILE *f, const char *id, bool open, const char *title, const char *figure, const char *log,
                      size_t from, size_t to, bool panic) {
        fprintf(f, "<details%s id=%s><summary><code>%s</code><span class=t>%s</span></summary>\n<pre class=log>",
                open ? " open" : "", id, title, figure);
        if (from && !panic)
                fprintf(f, "[… %zu earlier bytes in dmesg.txt]\n", from);
        if (panic)
                fputs("<span class=panic id=panic>", f);
        html_write(f, log + from, to - from);
        fputs(panic ? "</span></pre></details>\n" : "</pre></details>\n", f);
}

static void html_log(FILE *f, const char *log, size_t len) {
        size_t start = panic_region(log, len);
        char figure[64];
        /* a long log: its last part, which holds the crash */
        size_t from = len > HTML_OUTPUT_MAX ? len - HTML_OUTPUT_MAX : 0;
        if (from > start)
                from = start;
        while (from && from < len && log[from - 1] != '\n')
                from++;
        if (start >= len) { /* no panic region: the whole log, open */
                snprintf(figure, sizeof figure, "%zu bytes", len);
                log_block(f, "log", true, "kernel log", figure, log, from, len, false);
                return;
        }
        /* the panic region open; what came before it a click away */
        size_t lines = 0;
        for (size_t i = from; i < start; i++)
                lines += log[i] == '\n';
        snprintf(figure, sizeof figure, "%zu lines", lines);
        log_block(f, "log-before", false, "kernel log before the panic", figure, log, from, start, false);
        snprintf(figure, sizeof figure, "%zu bytes", len - start);
        log_block(f, "log", true, "kernel log: the panic", figure, log, start, len, true);
}

static void fmt_time(const char *when, char *buf, size_t size) {
        int64_t t;
        if (clock_parse_utc(when, &t) < 0)
                snprintf(buf, size, "unknown");
        else
                clock_format_utc(t, false, buf, size);
}

static void html_finding(FILE *f, json_object *x, bool open) {
        fprintf(f, "<details class=finding%s><summary><span class=\"badge ", open ? " open" : "");
        html_write_str(f, json_path_text(x, "severity"));
        fputs("\">", f);
        html_write_str(f, json_path_text(x, "severity"));
        fputs("</span><b>", f);
        html_write_str(f, json_path_text(x, "summary"));
        fputs("</b><span class=t>", f);
        html_write_str(f, json_path_text(x, "id"));
        fputs("</span></summary><div class=body>\n", f);
        if (json_path_text(x, "recommendation")) {
                fputs("<p>", f);
                html_write_str(f, json_path_text(x, "recommendation"));
                fputs("</p>\n", f);
        }
        json_object *links = json_get(x, "links");
        for (size_t i = 0; links && i < json_object_array_length(links); i++) {
                json_object *l = json_object_array_get_idx(links, i);
                fputs("<p>See <a href=\"", f);
                html_write_str(f, json_path_text(l, "url"));
                fputs("\">", f);
                html_write_str(f, json_path_text(l, "title"));
                fputs("</a></p>\n", f);
        }
        json_object *ev = json_get(x, "evidence");
        if (ev && json_object_array_length(ev)) {
                fputs("<pre class=evidence>", f);
                const char *last = "";
                for (size_t i = 0; i < json_object_array_length(ev); i++) {
                        json_object *e = json_object_array_get_idx(ev, i);
                        const char *src = json_path_text(e, "source") ? json_path_text(e, "source") : "";
                        if (strcmp(src, last) != 0) {
                                fputs("<span class=src>", f);
                                html_write_str(f, src);
                                fputs(":</span>\n", f);
                                last = src;
                        }
                        html_write_str(f, json_path_text(e, "line"));
                        fputc('\n', f);
                }
                fputs("</pre>", f);
        }
        fprintf(f, "<p class=rule>Rule <code>");
        html_write_str(f, json_path_text(x, "id"));
        fputs("</code> in ", f);
        html_write_str(f, json_path_text(x, "file"));
        fputs("</p></div></details>\n", f);
}

/* The triage findings: the headline one open, with its evidence; then the rest. */
static void html_findings(FILE *f, const struct headline *h, json_object *findings, json_object *triage) {
        if (!findings)
                return;
        fprintf(f, "<h2 id=findings>Findings <small>(%zu, after the ", json_object_array_length(findings));
        html_write_str(f, json_path_text(triage, "pass") ? json_path_text(triage, "pass") : "first look");
        fputs(")</small></h2>\n", f);
        if (!h->finding)
                fputs("<p>No rule names the cause of this crash; the panic line and the kernel log below are what "
                      "there is.</p>\n", f);
        else
                html_finding(f, h->finding, true);
        for (size_t i = 0; i < json_object_array_length(findings); i++)
                if (also_found(h, findings, i))
                        html_finding(f, json_object_array_get_idx(findings, i), false);
        json_object *errors = json_get(triage, "errors");
        if (errors && json_object_array_length(errors)) {
                fputs("<section class=warn><b>Rules that did not load or run</b><ul>\n", f);
                html_write_items(f, errors);
                fputs("</ul></section>\n", f);
        }
}

static int write_html(struct job *j, const struct headline *h, char w[][512], size_t nw, const char *log,
                      size_t log_len, char **ret, size_t *ret_len) {
        json_object *rec = job_record(j), *crash = job_record_get(rec, JOB_CRASH);
        FILE *f = open_memstream(ret, ret_len);
        if (!f)
                return -ENOMEM;
        fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
              "<meta name=viewport content=\"width=device-width,initial-scale=1\">\n<title>", f);
        fputs("Case ", f);
        html_write_str(f, job_case(j));
        fprintf(f, "/%u: ", job_number(j));
        html_write_str(f, h->panic[0] ? h->panic : "crash dump report");
        fprintf(f, "</title>\n<style>%s</style></head><body><main>\n", css);
        fputs("<header class=top><div>hotkdump · case <b>", f);
        html_write_str(f, job_case(j));
        fprintf(f, "</b> · dump <b>%u</b></div><div>", job_number(j));
        html_write_str(f, job_state_to_string(job_state(j)));
        fputs("</div></header>\n", f);

        fputs("<section id=headline><h1>", f);
        html_write_str(f, h->cause ? h->cause : h->unrecognised ? NOT_RECOGNISED : h->panic[0] ? h->panic : "No panic line was found");
        fputs("</h1><dl>\n", f);
        if ((h->cause || h->unrecognised) && h->panic[0]) {
                fputs("<dt>Panic</dt><dd>", f);
                html_write_str(f, h->panic);
                fputs("</dd>\n", f);
        }
        fputs("<dt>Kernel</dt><dd><code>", f);
        html_write_str(f, h->release ? h->release : "unknown");
        fputs("</code> ", f);
        html_write_str(f, h->version);
        if (h->arch) {
                fputs(" · ", f);
                html_write_str(f, h->arch);
        }
        fputs("</dd>\n", f);
        if (h->task[0]) {
                fputs("<dt>Task</dt><dd>", f);
                html_write_str(f, h->task);
                fputs("</dd>\n", f);
        }
        if (h->function[0]) {
                fputs("<dt>Crashed in</dt><dd><code>", f);
                html_write_str(f, h->function);
                fputs("()</code></dd>\n", f);
        }
        char when[64];
        fmt_time(json_path_text(job_record_get(rec, JOB_IDENTITY), "crash_time"), when, sizeof when);
        fprintf(f, "<dt>Crash time</dt><dd>%s</dd>\n", when);
        if (log_len && panic_region(log, log_len) < log_len)
                fputs("<dt>Kernel log</dt><dd><a href=\"#panic\">the panic in the log</a></dd>\n", f);
        fputs("</dl></section>\n", f);

        if (nw) {
                fputs("<section class=warn><b>Read with care</b><ul>\n", f);
                for (size_t i = 0; i < nw; i++) {
                        fputs("<li>", f);
                        html_write_str(f, w[i]);
                        fputs("</li>\n", f);
                }
                fputs("</ul></section>\n", f);
        }

        /* what the cause calls for comes before the findings: the memory for a memory cause,
         * the blocked tasks and their stacks for a hang */
        json_object *identity = job_record_get(rec, JOB_IDENTITY);
        unsigned page_size = (unsigned) json_object_get_int(json_get(identity, "page_size"));
        json_object *blocked = json_get(crash, "blocked"), *top = json_get(crash, "top_memory");
        bool storage_cause = cause_is(h, "io-stuck") || cause_is(h, "dm-suspended");
        bool memory_cause = cause_is(h, "oom"), hang_cause = cause_is(h, "hung-task") || storage_cause;
        double stuck_after = (double) config_u64(job_config(j), CONF_STORAGE_STUCK_AFTER);
        if (memory_cause)
                html_memory(f, j, page_size);
        if (storage_cause)
                html_storage(f, job_record_get(rec, JOB_STORAGE), stuck_after);
        if (hang_cause && blocked && json_object_array_length(blocked)) {
                html_blocked(f, blocked);
        }
        html_findings(f, h, job_record_get(rec, JOB_FINDINGS), job_record_get(rec, JOB_TRIAGE));

        fputs("<h2>The dump</h2><table>\n", f);
        static const struct {
                const char *label;
                enum job_field field;
                const char *path;
        } facts[] = {
                { "File", JOB_IDENTITY, "file" },          { "Format", JOB_IDENTITY, "format" },
                { "Compression", JOB_IDENTITY, "page_compression" }, { "Build-id", JOB_IDENTITY, "build_id" },
                { "Host", JOB_IDENTITY, "hostname" },      { "CPUs", JOB_IDENTITY, "cpus" },
                { "Debug symbols", JOB_SYMBOLS, "source" }, { "vmlinux", JOB_SYMBOLS, "vmlinux" },
                { "crash", JOB_CRASH, "version" },         { "crash mode", JOB_CRASH, "mode" },
        };
        for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
                const char *v = json_path_text(job_record_get(rec, facts[i].field), facts[i].path);
                if (!v)
                        continue;
                fprintf(f, "<tr><th>%s</th><td><code>", facts[i].label);
                html_write_str(f, v);
                fputs("</code>", f);
                if (facts[i].field == JOB_CRASH && !strcmp(facts[i].path, "version")) {
                        char older[160];
                        too_old_note(crash, older, sizeof older);
                        html_write_str(f, older);
                }
                fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);

        html_task_states(f, j);
        if (!hang_cause && blocked && json_object_array_length(blocked)) {
                html_blocked(f, blocked);
        }
        if (!memory_cause)
                html_memory(f, j, page_size);
        if (top && json_object_array_length(top)) {
                fputs("<h2>Largest memory users</h2>\n", f);
                html_tasks(f, top, false);
        }
        if (!storage_cause)
                html_storage(f, job_record_get(rec, JOB_STORAGE), stuck_after);
        html_timings(f, job_record_get(rec, JOB_STAGES));

        json_object *cmds = json_get(crash, "commands");
        if (cmds && json_object_array_length(cmds)) {
                char counts[128];
                command_counts(cmds, counts, sizeof counts);
                fprintf(f, "<h2>crash commands <small>(%s)</small></h2>\n", counts);
                for (size_t i = 0; i < json_object_array_length(cmds); i++) {
                        json_object *c = json_object_array_get_idx(cmds, i);
                        const char *st = json_path_text(c, "status") ? json_path_text(c, "status") : "?", *file = json_path_text(c, "file");
                        const char *name = json_path_text(c, "name") ? json_path_text(c, "name") : "";
                        bool open = !strcmp(name, "sys") || !strcmp(name, "bt");
                        fprintf(f, "<details id=\"cmd-");
                        html_write_str(f, name);
                        fprintf(f, "\"%s><summary><code>", open ? " open" : "");
                        html_write_str(f, json_path_text(c, "command"));
                        fprintf(f, "</code><span class=\"badge %s\">%s</span>", st, st);
                        if (json_path_text(c, "reason")) {
                                fputs("<span>", f);
                                html_write_str(f, json_path_text(c, "reason"));
                                fputs("</span>", f);
                        }
                        fprintf(f, "<span class=t>%.2f s", json_object_get_double(json_get(c, "seconds")));
                        if (file) {
                                fputs(" · <a href=\"crash/", f);
                                html_write_str(f, file);
                                fputs("\">raw</a>", f);
                        }
                        fputs("</span></summary>\n", f);
                        char *text = NULL;
                        size_t len = 0;
                        char path[PATH_MAX], rel[PATH_MAX];
                        if (file) {
                                snprintf(path, sizeof path, "%s/crash/%s", job_dir(j), file);
                                snprintf(rel, sizeof rel, "crash/%s", file);
                                size_t size = 0;
                                if (read_part(path, HTML_OUTPUT_MAX, false, &text, &len, &size) == 0) {
                                        if (len)
                                                html_output(f, text, len, size, rel);
                                        else
                                                fputs("<pre>(no output)</pre>\n", f);
                                }
                                free(text);
                        }
                        fputs("</details>\n", f);
                }
        }

        if (log_len) {
                fputs("<h2>Kernel log</h2>\n", f);
                html_log(f, log, log_len);
        }

        fputs("<h2>Files</h2><ul class=files>\n", f);
        static const char *const files[] = { "first-look.txt", "dmesg.txt",    "hotkdump.out", JOB_LOG_FILE,
                                             "summary.json",   JOB_RECORD_FILE,     "comment.txt",  "vmcore" };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", job_dir(j), files[i]);
                if (!access(path, F_OK) || !strcmp(files[i], "comment.txt") || !strcmp(files[i], "summary.json"))
                        fprintf(f, "<li><a href=\"%s\">%s</a></li>\n", files[i], files[i]);
        }
        fputs("</ul>\n", f);
        char command[PATH_MAX * 4 + 64];
        crash_command(j, command, sizeof command);
        fputs("<footer>Open this dump in crash: <code>", f);
        html_write_str(f, command);
        fputs("</code></footer>\n", f);
        fputs("</main></body></html>\n", f);
        return fclose(f) == 0 ? 0 : -ENOMEM;
}

/* ---- comment.txt --------------------------------------------------------------------------- */

/* Lines appended while they fit under max characters (bytes: the text is ASCII but for what the
 * kernel printed), keeping room for the tail. */
struct text {
        char *buf;
        size_t len, max;
        bool full;
};

static void text_line(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_line(struct text *t, const char *fmt, ...) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0 || t->full)
                return;
        size_t l = strlen(line);
        if (t->len + l + 1 > t->max) {
                t->full = true;
                return;
        }
        memcpy(t->buf + t->len, line, l);
        t->len += l;
        t->buf[t->len++] = '\n';
        t->buf[t->len] = 0;
}

static int make_comment(struct job *j, const struct headline *h, char w[][512], size_t nw, char **ret,
                        size_t *ret_len) {
        const struct config *cfg = job_config(j);
        json_object *rec = job_record(j), *crash = job_record_get(rec, JOB_CRASH);
        size_t max = config_u64(cfg, CONF_REPORT_COMMENT_MAX);
        char where[PATH_MAX + 256];
        const char *base = config_string(cfg, CONF_REPORT_BASE_URL);
        if (base && *base)
                snprintf(where, sizeof where, "Full report: %s%s%s/%u/report.html", base,
                         base[strlen(base) - 1] == '/' ? "" : "/", job_case(j), job_number(j));
        else
                snprintf(where, sizeof where, "Full report: %s/report.html", job_dir(j));
        char open_line[PATH_MAX * 4 + 128], command[PATH_MAX * 4 + 64];
        crash_command(j, command, sizeof command);
        snprintf(open_line, sizeof open_line, "Open in crash: %s", command);
        /* the tail is always there: room is kept for it */
        size_t tail = strlen(where) + strlen(open_line) + 4;
        struct text t = { .buf = malloc(max + 1), .max = max > tail ? max - tail : 0 };
        if (!t.buf)
                return -ENOMEM;
        t.buf[0] = 0;

        text_line(&t, "hotkdump analysis of case %s, dump %u%s", job_case(j), job_number(j),
                  job_state(j) == JOB_INCOMPLETE ? " (incomplete)" : "");
        text_line(&t, "%s", "");
        if (h->cause)
                text_line(&t, "Cause:   %s", h->cause);
        else if (h->unrecognised)
                text_line(&t, "Cause:   not recognised (see the panic line)");
        text_line(&t, "Panic:   %s", h->panic[0] ? h->panic : "no panic line found");
        text_line(&t, "Kernel:  %s %s%s%s", h->release ? h->release : "unknown", h->version ? h->version : "",
                  h->arch ? ", " : "", h->arch ? h->arch : "");
        if (h->task[0])
                text_line(&t, "Task:    %s", h->task);
        if (h->function[0])
                text_line(&t, "In:      %s()", h->function);
        if (h->finding && json_path_text(h->finding, "recommendation")) {
                text_line(&t, "%s", "");
                text_line(&t, "Next:    %s", json_path_text(h->finding, "recommendation"));
        }
        json_object *links = h->finding ? json_get(h->finding, "links") : NULL;
        for (size_t i = 0; links && i < json_object_array_length(links); i++)
                text_line(&t, "See:     %s <%s>", json_path_text(json_object_array_get_idx(links, i), "title"),
                          json_path_text(json_object_array_get_idx(links, i), "url"));
        json_object *findings = job_record_get(rec, JOB_FINDINGS);
        size_t n_also = 0;
        for (size_t i = 0; findings && i < json_object_array_length(findings); i++)
                n_also += also_found(h, findings, i);
        if (n_also) {
                text_line(&t, "%s", "");
                text_line(&t, "Also found:");
                for (size_t i = 0; i < json_object_array_length(findings); i++)
                        if (also_found(h, findings, i))
                                text_line(&t, "  - %s", json_path_text(json_object_array_get_idx(findings, i), "summary"));
        }
        json_object *blocked = json_get(crash, "blocked"), *top = json_get(crash, "top_memory");
        /* what bears on the cause: the blocked tasks for a hang or an unknown cause, the memory
         * users for a memory cause */
        bool memory_cause = cause_is(h, "oom"), hang_cause = cause_is(h, "hung-task") || cause_is(h, "rcu-stall") ||
                                                             cause_is(h, "soft-lockup") || cause_is(h, "hard-lockup");
        if (blocked && json_object_array_length(blocked) && (hang_cause || !h->finding)) {
                json_object *b = json_object_array_get_idx(blocked, 0);
                text_line(&t, "Blocked: %zu task(s) in state UN; longest: %s (PID %s), %.0f s", json_object_array_length(blocked),
                          json_path_text(b, "comm"), json_path_text(b, "pid"), (double) json_object_get_int64(json_get(b, "blocked_ms")) / 1000.0);
        }
        if (top && json_object_array_length(top) && (memory_cause || !h->finding)) {
                json_object *m = json_object_array_get_idx(top, 0);
                text_line(&t, "Memory:  largest user %s (PID %s), %.1f MiB resident", json_path_text(m, "comm"), json_path_text(m, "pid"),
                          (double) json_object_get_int64(json_get(m, "rss_kb")) / 1024.0);
        }
        /* a hung task's panic is khungtaskd's: the stack that tells is the blocked task's */
        struct output bl = { 0 };
        const char *bt = h->bt, *first = NULL;
        size_t bt_len = h->bt_len;
        if (cause_is(h, "hung-task") && blocked && json_object_array_length(blocked) &&
            crash_output(j, "%blocked", &bl) == 0 && (first = memmem(bl.text, bl.len, "crash> bt ", 10))) {
                const char *body = memchr(first, '\n', bl.len - (size_t) (first - bl.text));
                const char *next = body ? memmem(body, bl.len - (size_t) (body - bl.text), "\ncrash> ", 8) : NULL;
                if (body) {
                        bt = body + 1;
                        bt_len = (next ? (size_t) (next - bt) : bl.len - (size_t) (bt - bl.text));
                }
        }
        if (bt) {
                text_line(&t, "%s", "");
                json_object *b0 = blocked ? json_object_array_get_idx(blocked, 0) : NULL;
                if (bt != h->bt && b0)
                        text_line(&t, "Backtrace of the longest-blocked task, %s (PID %s):", json_path_text(b0, "comm"),
                                  json_path_text(b0, "pid"));
                else
                        text_line(&t, "Backtrace of the crashing task:");
                unsigned n = 0;
                for (size_t off = 0; off < bt_len && n < 24;) {
                        const char *nl = memchr(bt + off, '\n', bt_len - off);
                        size_t ll = nl ? (size_t) (nl - (bt + off)) : bt_len - off;
                        const char *l = bt + off;
                        size_t sp = strspn(l, " ");
                        /* the task line and the frames; the registers are in the report */
                        bool frame = sp < ll && (l[sp] == '#' || !strncmp(l + sp, "PID: ", 5) ||
                                                 !strncmp(l + sp, "[exception RIP", 14));
                        if (frame && ll < 300)
                                text_line(&t, "  %.*s", (int) ll, l), n++;
                        off += ll + (nl ? 1 : 0);
                }
        }
        free(bl.text);
        if (nw) {
                text_line(&t, "%s", "");
                text_line(&t, "Read with care:");
                for (size_t i = 0; i < nw; i++)
                        text_line(&t, "  - %s", w[i]);
        }
        char counts[128];
        command_counts(json_get(crash, "commands"), counts, sizeof counts);
        if (counts[0]) {
                text_line(&t, "%s", "");
                char older[160];
                too_old_note(crash, older, sizeof older);
                text_line(&t, "crash %s: %s commands%s", json_path_text(crash, "version") ? json_path_text(crash, "version") : "", counts, older);
        }
        t.max = max;
        t.full = false;
        text_line(&t, "%s", "");
        text_line(&t, "%s", where);
        text_line(&t, "%s", open_line);
        *ret = t.buf;
        *ret_len = t.len;
        return 0;
}

/* ---- all three -------------------------------------------------------------------------------- */

static char *read_log(struct job *j, size_t *ret_len) {
        char path[PATH_MAX], *log = NULL;
        snprintf(path, sizeof path, "%s/dmesg.txt", job_dir(j));
        if (read_tail(path, LOG_MAX, &log, ret_len) == 0)
                return log;
        struct output o; /* crash's own `log`, for dumps makedumpfile cannot read */
        if (crash_output(j, "log", &o) == 0) {
                *ret_len = o.len;
                return o.text;
        }
        *ret_len = 0;
        return NULL;
}

int report_write(struct job *j, char *err, size_t err_size) {
        struct headline h;
        char w[16][512];
        char *log = NULL, *page = NULL, *comment = NULL;
        size_t log_len = 0, page_len = 0, comment_len = 0;
        int r;

        make_headline(j, &h);
        size_t nw = warnings(j, w, sizeof w / sizeof w[0]);
        log = read_log(j, &log_len);

        json_object *s = make_summary(j, &h);
        /* what the report's "Read with care" says, for the API and the job list's flag */
        json_object *care = json_object_new_array();
        for (size_t i = 0; care && i < nw; i++)
                json_object_array_add(care, json_object_new_string(w[i]));
        json_object_object_add(s, "read_with_care", care);
        const char *js = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = js ? write_file_atomic(job_dir(j), "summary.json", js, strlen(js)) : -ENOMEM;
        json_object_put(s);
        if (r < 0) {
                log_reason(err, err_size, r, "cannot write summary.json: %s", strerror(-r));
                goto out;
        }
        r = make_comment(j, &h, w, nw, &comment, &comment_len);
        if (r == 0)
                r = write_file_atomic(job_dir(j), "comment.txt", comment, comment_len);
        if (r < 0) {
                log_reason(err, err_size, r, "cannot write comment.txt: %s", strerror(-r));
                goto out;
        }
        r = write_html(j, &h, w, nw, log ? log : "", log_len, &page, &page_len);
        if (r == 0)
                r = write_file_atomic(job_dir(j), "report.html", page, page_len);
        if (r < 0)
                log_reason(err, err_size, r, "cannot write report.html: %s", strerror(-r));
out:
        free(h.bt);
        free(log);
        free(page);
        free(comment);
        return r;
}
