/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Triage for one job: gathers the sources the rules read from the job folder and job.json
 * (kernel log, first look, crash's answers), runs the rules and records the findings. */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/fileio.h"
#include "common/json.h"
#include "pipeline/firstlook.h"
#include "casefolder/job.h"
#include "pipeline/report/report.h"
#include "pipeline/storage/storage.h"
#include "pipeline/triage/triage.h"

#define SOURCE_MAX (256u << 20)
#define MAX_SOURCES 96

struct sources {
        struct triage_source v[MAX_SOURCES];
        char *owned[MAX_SOURCES]; /* buffers to free */
        char names[MAX_SOURCES][48];
        size_t n;
};

#define get json_path

/* Adds (or replaces) source name, text[0..len); buf, when not NULL, is the malloc'd buffer
 * behind text, freed with the sources (and at once when there is no room). */
static int put_ref(struct sources *s, const char *name, const char *text, size_t len, char *buf) {
        size_t i = 0;
        while (i < s->n && strcmp(s->v[i].name, name) != 0)
                i++;
        if (i == MAX_SOURCES) {
                free(buf); /* more crash commands than sources: the rest stay unknown */
                return 0;
        }
        if (i == s->n) {
                snprintf(s->names[i], sizeof s->names[i], "%s", name);
                s->v[i].name = s->names[i];
                s->owned[i] = NULL;
                s->n++;
        }
        free(s->owned[i]);
        s->owned[i] = buf;
        s->v[i].text = text;
        s->v[i].len = len;
        return 0;
}

/* Adds a copy of text. */
static int put(struct sources *s, const char *name, const char *text, size_t len) {
        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, len);
        copy[len] = 0;
        return put_ref(s, name, copy, len, copy);
}

static int put_str(struct sources *s, const char *name, const char *text) {
        return text && *text ? put(s, name, text, strlen(text)) : 0;
}

/* A fact the first look looked for: known, and empty when it found nothing (so that a rule's
 * "not" on it can be decided). */
static int put_json(struct sources *s, const char *name, json_object *v) {
        const char *t = v && !json_object_is_type(v, json_type_null) ? json_object_get_string(v) : "";
        return put(s, name, t, strlen(t));
}

static void size_text(unsigned long long kb, char *buf, size_t size) {
        if (kb >= 1024ull * 1024)
                snprintf(buf, size, "%.1f GiB", (double) kb / (1024.0 * 1024.0));
        else
                snprintf(buf, size, "%.1f MiB", (double) kb / 1024.0);
}

/* Whether fact name is known and not empty. */
static bool have(const struct sources *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->v[i].name, name))
                        return s->v[i].len > 0;
        return false;
}

/* crash's `mod -t`: "NAME   TAINTS" then "lkdtm  OE" lines ("(U)" in older crash) → "lkdtm(OE)";
 * "no tainted modules" gives "" */
static int put_taint_modules(struct sources *s, const char *text, size_t len) {
        char out[256] = "", name[64], flags[16];
        size_t o = 0;
        for (size_t off = 0; off < len;) {
                const char *nl = memchr(text + off, '\n', len - off);
                size_t ll = nl ? (size_t) (nl - (text + off)) : len - off;
                char line[256];
                snprintf(line, sizeof line, "%.*s", (int) (ll < sizeof line ? ll : sizeof line - 1), text + off);
                off += ll + (nl ? 1 : 0);
                if (sscanf(line, "%63s %15s", name, flags) != 2 || !strcmp(name, "NAME"))
                        continue;
                char *f = flags + (flags[0] == '(');
                f[strcspn(f, ")")] = 0;
                bool letters = *f != 0;
                for (const char *c = f; *c && letters; c++)
                        letters = *c >= 'A' && *c <= 'Z';
                if (letters && o + strlen(name) + strlen(f) + 4 < sizeof out)
                        o += (size_t) snprintf(out + o, sizeof out - o, "%s%s(%s)", o ? " " : "", name, f);
        }
        return put(s, "taint_modules", out, o);
}

/* The facts from crash's answers: the crashing task and function from `bt`, the largest
 * memory user and the longest blocked task. */
static int crash_facts(struct job *j, const struct rules *rs, struct sources *s, json_object *crash) {
        json_object *cmds = get(crash, "commands");
        int r = 0;
        for (size_t i = 0; cmds && i < json_object_array_length(cmds) && r == 0; i++) {
                json_object *c = json_object_array_get_idx(cmds, i);
                const char *name = json_object_get_string(get(c, "name")), *file = json_object_get_string(get(c, "file"));
                const char *status = json_object_get_string(get(c, "status")), *cmd = json_object_get_string(get(c, "command"));
                if (!name || !file || !status || !cmd || strcmp(status, "ok") != 0 || strchr(file, '/'))
                        continue;
                char path[PATH_MAX], key[48];
                char *text = NULL;
                size_t len = 0;
                snprintf(key, sizeof key, "crash:%.40s", name);
                /* read what a rule or a fact needs, not every answer (each may be 256 MiB) */
                bool log = !strcmp(cmd, "log") && !have(s, "log");
                if (!rules_use_source(rs, key) && strcmp(cmd, "bt") != 0 && strcmp(cmd, "mod -t") != 0 && !log)
                        continue;
                snprintf(path, sizeof path, "%s/crash/%s", job_dir(j), file);
                if (read_file_max(path, SOURCE_MAX, &text, &len) < 0)
                        continue;
                /* no kernel log from the dump or the upload: crash's `log` stands in */
                if (log)
                        r = put(s, "log", text, len);
                if (r == 0 && cmd && !strcmp(cmd, "mod -t") && !have(s, "taint_modules"))
                        r = put_taint_modules(s, text, len);
                if (r == 0 && cmd && !strcmp(cmd, "bt")) {
                        char fn[128];
                        /* the log's function is the kernel's own unwinder's, right where crash is
                         * not (a call to a noreturn function ends its caller: crash names the next
                         * function), so crash's counts only when the log had none */
                        report_crashing_function(text, len, fn, sizeof fn);
                        if (!have(s, "function"))
                                r = put_str(s, "function", fn);
                        long pid;
                        int cpu;
                        char comm[64], num[32];
                        if (r == 0 && report_bt_task(text, len, &pid, &cpu, comm) == 0) {
                                r = put_str(s, "task", comm);
                                snprintf(num, sizeof num, "%ld", pid);
                                r = r ? r : put_str(s, "pid", num);
                                snprintf(num, sizeof num, "%d", cpu);
                                r = r ? r : put_str(s, "cpu", num);
                        }
                }
                /* kept for the rules that read it, else dropped now */
                if (r == 0 && rules_use_source(rs, key))
                        r = put_ref(s, key, text, len, text);
                else
                        free(text);
        }
        json_object *top = get(crash, "top_memory");
        if (r == 0 && top && json_object_array_length(top)) {
                json_object *t = json_object_array_get_idx(top, 0);
                char size[32];
                size_text((unsigned long long) json_object_get_int64(get(t, "rss_kb")), size, sizeof size);
                r = put_str(s, "largest_task", json_object_get_string(get(t, "comm")));
                r = r ? r : put_str(s, "largest_rss", size);
        }
        json_object *blocked = get(crash, "blocked");
        if (r == 0 && blocked && json_object_array_length(blocked)) {
                json_object *t = json_object_array_get_idx(blocked, 0);
                char secs[32];
                snprintf(secs, sizeof secs, "%lld", (long long) (json_object_get_int64(get(t, "blocked_ms")) / 1000));
                r = put_str(s, "blocked_task", json_object_get_string(get(t, "comm")));
                r = r ? r : put_str(s, "blocked_secs", secs);
        }
        return r;
}

/* The facts the first look found in the kernel log. */
static int first_look_facts(struct sources *s, json_object *fl) {
        static const struct {
                const char *fact, *key;
        } map[] = {
                { "panic", "panic_line" }, { "function", "function" }, { "module", "module" },
                { "task", "task" },        { "pid", "pid" },           { "cpu", "cpu" },
                { "taint", "tainted" },    { "taint_modules", "taint_modules" }, { "largest_task", "largest_task" },
        };
        int r = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0] && r == 0; i++)
                r = put_json(s, map[i].fact, get(fl, map[i].key));
        if (r == 0 && get(fl, "largest_rss_kb")) {
                char size[32];
                size_text((unsigned long long) json_object_get_int64(get(fl, "largest_rss_kb")), size, sizeof size);
                r = put_str(s, "largest_rss", size);
        }
        return r;
}

static void sources_free(struct sources *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->owned[i]);
}

json_object *triage_log(const struct rules *rs, const char *log, size_t len, const char *release, json_object *errors) {
        struct sources s = { .n = 0 };
        struct firstlook f;
        firstlook_parse(log, len, &f);
        json_object *fl = firstlook_to_json(&f), *found = NULL;
        int r = fl ? put_ref(&s, "log", log, len, NULL) : -ENOMEM;
        r = r ? r : put_str(&s, "release", release);
        r = r ? r : first_look_facts(&s, fl);
        if (r == 0) {
                struct triage_input in = { .sources = s.v, .n_sources = s.n };
                found = triage_run(rs, &in, errors);
        }
        json_object_put(fl);
        sources_free(&s);
        return found;
}

int triage_job(struct job *j, const struct rules *rs, json_object *load_errors, const char *given_log,
               size_t given_len, const char *vmcoreinfo, size_t vmcoreinfo_len, const char *pass) {
        json_object *rec = job_record(j), *fl = job_record_get(rec, JOB_FIRST_LOOK);
        struct sources s = { .n = 0 };
        char path[PATH_MAX];
        char *log = NULL;
        size_t log_len = 0;
        int r = 0;

        /* the log the first look read: the dump's own, or the uploaded dmesg */
        const char *log_file = json_object_get_string(get(fl, "log_file"));
        if (log_file && given_log) {
                r = put_ref(&s, "log", given_log, given_len, NULL);
        } else if (log_file && *log_file && !strstr(log_file, "..")) {
                snprintf(path, sizeof path, "%s/%s", job_dir(j), log_file);
                if (read_file_max(path, SOURCE_MAX, &log, &log_len) == 0)
                        r = put_ref(&s, "log", log, log_len, log);
        }
        r = r ? r : put_json(&s, "release", get(job_record_get(rec, JOB_IDENTITY), "release"));
        /* without a log the first look's facts are unknown, not empty */
        if (r == 0 && log_file)
                r = first_look_facts(&s, fl);
        /* after crash, its answers are the better facts */
        json_object *crash = job_record_get(rec, JOB_CRASH);
        if (r == 0 && crash)
                r = crash_facts(j, rs, &s, crash);
        /* the storage view, as lines */
        json_object *view = json_get(job_record_get(rec, JOB_STORAGE), "view");
        if (r == 0 && view && rules_use_source(rs, "storage")) {
                size_t len = 0;
                char *text = storage_facts(view, (double) config_u64(job_config(j), CONF_STORAGE_STUCK_AFTER), &len);
                r = text ? put_ref(&s, "storage", text, len, text) : -ENOMEM;
        }

        json_object *errors = json_object_new_array(), *found = NULL;
        if (r == 0 && errors) {
                for (size_t i = 0; load_errors && i < json_object_array_length(load_errors); i++)
                        json_object_array_add(errors, json_object_get(json_object_array_get_idx(load_errors, i)));
                size_t n_load = json_object_array_length(errors);
                struct triage_input in = { .sources = s.v, .n_sources = s.n, .vmcoreinfo = vmcoreinfo,
                                           .vmcoreinfo_len = vmcoreinfo_len };
                found = triage_run(rs, &in, errors);
                for (size_t i = n_load; i < json_object_array_length(errors); i++)
                        job_log(j, "triage: %s", json_object_get_string(json_object_array_get_idx(errors, i)));
        }
        sources_free(&s);
        if (r < 0 || !errors || !found) {
                json_object_put(errors);
                json_object_put(found);
                return r < 0 ? r : -ENOMEM;
        }
        size_t n = json_object_array_length(found);
        json_object *first = n ? json_object_array_get_idx(found, 0) : NULL;
        job_log(j, "triage after the %s: %zu rules, %zu findings%s%s", pass, rules_count(rs), n,
                first ? "; headline: " : "", first ? json_object_get_string(get(first, "summary")) : "");
        json_object *t = json_object_new_object();
        json_object_object_add(t, "pass", json_object_new_string(pass));
        json_object_object_add(t, "rules", json_object_new_int64((int64_t) rules_count(rs)));
        json_object_object_add(t, "errors", errors);
        json_object_object_add(rec, job_field_name(JOB_TRIAGE), t);
        return job_set(j, JOB_FINDINGS, found);
}
