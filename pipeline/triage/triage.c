/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Triage rules: loading and validation, then evaluation against one job's sources.
 *
 * Regular expressions are PCRE2's: named captures feed the summaries, multi-line patterns follow
 * a backtrace from its headline to the frame that matters, and a match limit keeps a careless
 * pattern from spinning on a large log. POSIX regex has none of these. */

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "pipeline/triage/kdecode.h"
#include "pipeline/triage/triage.h"

#define RULE_FILE_MAX (1u << 20)
#define PATTERN_MAX 4096
#define DEPTH_MAX 16
#define EVIDENCE_PER_MATCH 12
#define EVIDENCE_MAX 30
#define LINE_MAX_CHARS 400
#define VALUE_MAX 160
#define SUMMARY_MAX 400

const char *const triage_fact_names[] = {
        "release", "panic", "function", "module", "task", "pid", "cpu", "taint", "taint_modules",
        "largest_task", "largest_rss", "blocked_task", "blocked_secs", NULL,
};

enum tri { T_FALSE, T_TRUE, T_UNKNOWN };
enum cond_kind { C_ALL, C_ANY, C_NOT, C_OPTIONAL, C_MATCH, C_RELEASE };

struct cond {
        enum cond_kind kind;
        struct cond **kids;
        size_t n;
        char *source;
        pcre2_code *re;
        bool evidence;
        char *min, *below;
};

static const char *const severities[] = { "info", "low", "medium", "high", "critical" };

struct rule {
        char *id, *file;
        bool note;
        int severity, priority;
        struct cond *when;
        char **summary;
        size_t n_summary;
        char *recommendation;
        json_object *links;
};

struct rules {
        struct rule **v;
        size_t n, cap;
        pcre2_match_context *mctx;
        char **used;            /* every source a condition names, so that only those are read */
        size_t n_used;
};

/* ---- freeing ------------------------------------------------------------------------------ */

static void cond_free(struct cond *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                cond_free(c->kids[i]);
        free(c->kids);
        free(c->source);
        pcre2_code_free(c->re);
        free(c->min);
        free(c->below);
        free(c);
}

static void rule_free(struct rule *r) {
        if (!r)
                return;
        free(r->id);
        free(r->file);
        cond_free(r->when);
        for (size_t i = 0; i < r->n_summary; i++)
                free(r->summary[i]);
        free(r->summary);
        free(r->recommendation);
        json_object_put(r->links);
        free(r);
}

struct rules *rules_new(uint64_t match_limit) {
        struct rules *rs = calloc(1, sizeof *rs);
        if (!rs)
                return NULL;
        rs->mctx = pcre2_match_context_create(NULL);
        if (!rs->mctx) {
                free(rs);
                return NULL;
        }
        uint32_t limit = match_limit > UINT32_MAX ? UINT32_MAX : match_limit ? (uint32_t) match_limit : 1;
        pcre2_set_match_limit(rs->mctx, limit);
        pcre2_set_depth_limit(rs->mctx, limit);
        pcre2_set_heap_limit(rs->mctx, 64 * 1024); /* KiB: backtracking memory of one match */
        return rs;
}

struct rules *rules_free(struct rules *rs) {
        if (!rs)
                return NULL;
        for (size_t i = 0; i < rs->n; i++)
                rule_free(rs->v[i]);
        free(rs->v);
        for (size_t i = 0; i < rs->n_used; i++)
                free(rs->used[i]);
        free(rs->used);
        pcre2_match_context_free(rs->mctx);
        free(rs);
        return NULL;
}

struct loader;
static void note_source(struct loader *l, const char *name);

bool rules_use_source(const struct rules *rs, const char *name) {
        for (size_t i = 0; rs && i < rs->n_used; i++)
                if (!strcmp(rs->used[i], name))
                        return true;
        return false;
}

size_t rules_count(const struct rules *rs) {
        return rs ? rs->n : 0;
}

void rules_get(const struct rules *rs, size_t i, const char **id, const char **file, const char **kind) {
        *id = rs->v[i]->id;
        *file = rs->v[i]->file;
        *kind = rs->v[i]->note ? "note" : "cause";
}

/* ---- loading ------------------------------------------------------------------------------ */

struct loader {
        struct rules *rs;
        const char *file, *rule;
        json_object *errors;
        int problems;
        bool nomem;
        /* capture names of the rule being read, for checking its templates */
        char names[256][65];
        size_t n_names;
};

static void problem(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct loader *l, const char *fmt, ...) {
        char msg[700], line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (l->rule)
                snprintf(line, sizeof line, "%s: rule '%s': %s", l->file, l->rule, msg);
        else
                snprintf(line, sizeof line, "%s: %s", l->file, msg);
        l->problems++;
        if (l->errors && json_object_array_add(l->errors, json_object_new_string(line)) < 0)
                l->nomem = true;
}

static void note_source(struct loader *l, const char *name) {
        struct rules *rs = l->rs;
        if (rules_use_source(rs, name))
                return;
        char **v = realloc(rs->used, (rs->n_used + 1) * sizeof *v);
        if (!v || !(v[rs->n_used] = strdup(name))) {
                if (v)
                        rs->used = v;
                l->nomem = true;
                return;
        }
        rs->used = v;
        rs->n_used++;
}

static bool is_fact(const char *name, size_t len) {
        for (size_t i = 0; triage_fact_names[i]; i++)
                if (strlen(triage_fact_names[i]) == len && !strncmp(triage_fact_names[i], name, len))
                        return true;
        return false;
}

/* name is 1 to max characters, each one accepted by ok */
static bool valid_name(const char *name, size_t max, bool (*ok)(unsigned char c)) {
        size_t n = strlen(name);
        for (const char *c = name; *c; c++)
                if (!ok((unsigned char) *c))
                        return false;
        return n && n <= max;
}

static bool command_char(unsigned char c) {
        return isalnum(c) || c == '-' || c == '_';
}

static bool key_char(unsigned char c) {
        return c > ' ' && c != '=' && c < 0x7f;
}

static bool valid_source(const char *s) {
        if (!strcmp(s, "log") || !strcmp(s, "storage") || is_fact(s, strlen(s)))
                return true;
        if (!strncmp(s, "crash:", 6))
                return valid_name(s + 6, 32, command_char);
        if (!strncmp(s, "vmcoreinfo:", 11))
                return valid_name(s + 11, 64, key_char);
        return false;
}

/* "6.1.0-56-cloud-amd64" → 6 1 0 56: the leading numeric fields of a release. */
static size_t release_fields(const char *s, unsigned long v[8]) {
        size_t n = 0;
        while (n < 8 && isdigit((unsigned char) *s)) {
                char *e;
                errno = 0;
                unsigned long x = strtoul(s, &e, 10);
                if (errno)
                        break;
                v[n++] = x;
                if (*e != '.' && *e != '-')
                        break;
                s = e + 1;
        }
        return n;
}

static int release_cmp(const char *a, const char *b) {
        unsigned long va[8] = { 0 }, vb[8] = { 0 };
        release_fields(a, va);
        release_fields(b, vb);
        for (size_t i = 0; i < 8; i++)
                if (va[i] != vb[i])
                        return va[i] < vb[i] ? -1 : 1;
        return 0;
}

static const char *type_name(json_object *o) {
        return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

static char *string_field(struct loader *l, json_object *v, const char *where) {
        if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v)) {
                problem(l, "%s must be a non-empty string, not %s", where, type_name(v));
                return NULL;
        }
        char *s = strdup(json_object_get_string(v));
        if (!s)
                l->nomem = true;
        return s;
}

static void note_names(struct loader *l, const pcre2_code *re) {
        uint32_t count = 0, size = 0;
        PCRE2_SPTR table = NULL;
        pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
        pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &size);
        pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
        for (uint32_t i = 0; i < count && l->n_names < sizeof l->names / sizeof l->names[0]; i++)
                snprintf(l->names[l->n_names++], sizeof l->names[0], "%s", (const char *) table + i * size + 2);
}

static struct cond *parse_cond(struct loader *l, json_object *o, const char *where, unsigned depth);

static struct cond *parse_list(struct loader *l, struct cond *c, json_object *v, const char *where, const char *key,
                               unsigned depth) {
        if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v)) {
                problem(l, "%s.%s must be a non-empty list of conditions, not %s", where, key, type_name(v));
                cond_free(c);
                return NULL;
        }
        size_t n = json_object_array_length(v);
        c->kids = calloc(n, sizeof *c->kids);
        if (!c->kids) {
                l->nomem = true;
                cond_free(c);
                return NULL;
        }
        c->n = n;
        bool ok = true;
        for (size_t i = 0; i < c->n; i++) {
                char sub[256];
                snprintf(sub, sizeof sub, "%s.%s[%zu]", where, key, i);
                c->kids[i] = parse_cond(l, json_object_array_get_idx(v, i), sub, depth + 1);
                ok = ok && c->kids[i];
        }
        if (!ok) {
                cond_free(c);
                return NULL;
        }
        return c;
}

static struct cond *parse_cond(struct loader *l, json_object *o, const char *where, unsigned depth) {
        if (depth > DEPTH_MAX) {
                problem(l, "%s: conditions nest deeper than %d", where, DEPTH_MAX);
                return NULL;
        }
        if (!json_object_is_type(o, json_type_object)) {
                problem(l, "%s must be a condition object ({\"source\", \"match\"}, {\"all\"}, {\"any\"}, {\"not\"} "
                           "or {\"release\"}), not %s", where, type_name(o));
                return NULL;
        }
        struct cond *c = calloc(1, sizeof *c);
        if (!c) {
                l->nomem = true;
                return NULL;
        }
        c->evidence = true;
        json_object *v;
        int kinds = json_object_object_get_ex(o, "all", NULL) + json_object_object_get_ex(o, "any", NULL) +
                    json_object_object_get_ex(o, "not", NULL) + json_object_object_get_ex(o, "optional", NULL) +
                    json_object_object_get_ex(o, "source", NULL) + json_object_object_get_ex(o, "release", NULL);
        if (kinds != 1) {
                problem(l, "%s must have exactly one of \"all\", \"any\", \"not\", \"optional\", \"source\", "
                           "\"release\"", where);
                cond_free(c);
                return NULL;
        }
        json_object_object_foreach(o, key, val) {
                (void) val;
                static const char *const known[] = { "all", "any", "not", "optional", "source", "match", "evidence", "release" };
                bool ok = false;
                for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                        ok = ok || !strcmp(key, known[i]);
                if (!ok || ((!strcmp(key, "match") || !strcmp(key, "evidence")) && !json_object_object_get_ex(o, "source", NULL))) {
                        problem(l, "%s: unexpected key '%s'", where, key);
                        cond_free(c);
                        return NULL;
                }
        }
        if (json_object_object_get_ex(o, "all", &v)) {
                c->kind = C_ALL;
                return parse_list(l, c, v, where, "all", depth);
        }
        if (json_object_object_get_ex(o, "any", &v)) {
                c->kind = C_ANY;
                return parse_list(l, c, v, where, "any", depth);
        }
        if (json_object_object_get_ex(o, "not", &v) || json_object_object_get_ex(o, "optional", &v)) {
                char sub[256];
                c->kind = json_object_object_get_ex(o, "not", NULL) ? C_NOT : C_OPTIONAL;
                c->kids = calloc(1, sizeof *c->kids);
                c->n = c->kids ? 1 : 0;
                snprintf(sub, sizeof sub, "%s.%s", where, c->kind == C_NOT ? "not" : "optional");
                if (!c->kids || !(c->kids[0] = parse_cond(l, v, sub, depth + 1))) {
                        l->nomem = l->nomem || !c->kids;
                        cond_free(c);
                        return NULL;
                }
                return c;
        }
        if (json_object_object_get_ex(o, "release", &v)) {
                c->kind = C_RELEASE;
                json_object *mn = NULL, *bl = NULL;
                bool ok = json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0;
                json_object_object_foreach(v, k, x) {
                        (void) x;
                        ok = ok && (!strcmp(k, "min") || !strcmp(k, "below"));
                }
                if (!ok) {
                        problem(l, "%s.release must be {\"min\": VERSION, \"below\": VERSION} (either or both)", where);
                        cond_free(c);
                        return NULL;
                }
                bool has[2] = { json_object_object_get_ex(v, "min", &mn), json_object_object_get_ex(v, "below", &bl) };
                unsigned long f[8];
                json_object *b[2] = { mn, bl };
                char **dst[2] = { &c->min, &c->below };
                for (int i = 0; i < 2; i++) {
                        if (!has[i])
                                continue;
                        const char *s = json_object_is_type(b[i], json_type_string) ? json_object_get_string(b[i]) : "";
                        if (!release_fields(s, f)) {
                                problem(l, "%s.release.%s: '%s' is not a kernel version such as \"5.15.0-91\"", where,
                                        i ? "below" : "min", s ? s : "");
                                cond_free(c);
                                return NULL;
                        }
                        if (!(*dst[i] = strdup(s)))
                                l->nomem = true;
                }
                return c;
        }
        c->kind = C_MATCH;
        json_object_object_get_ex(o, "source", &v);
        char sub[300];
        snprintf(sub, sizeof sub, "%s.source", where);
        if (!(c->source = string_field(l, v, sub))) {
                cond_free(c);
                return NULL;
        }
        note_source(l, c->source);
        if (!valid_source(c->source)) {
                problem(l, "%s: unknown source '%s' (log, release, panic, function, module, task, pid, cpu, taint, "
                           "taint_modules, largest_task, largest_rss, blocked_task, blocked_secs, crash:NAME, "
                           "vmcoreinfo:KEY)", where, c->source);
                cond_free(c);
                return NULL;
        }
        if (json_object_object_get_ex(o, "evidence", &v)) {
                if (!json_object_is_type(v, json_type_boolean)) {
                        problem(l, "%s.evidence must be true or false", where);
                        cond_free(c);
                        return NULL;
                }
                c->evidence = json_object_get_boolean(v);
        }
        snprintf(sub, sizeof sub, "%s.match", where);
        if (!json_object_object_get_ex(o, "match", &v)) {
                problem(l, "%s: a \"source\" condition needs \"match\" (a regular expression)", where);
                cond_free(c);
                return NULL;
        }
        char *pat = string_field(l, v, sub);
        if (!pat) {
                cond_free(c);
                return NULL;
        }
        if (strlen(pat) > PATTERN_MAX) {
                problem(l, "%s is longer than %d characters", sub, PATTERN_MAX);
                free(pat);
                cond_free(c);
                return NULL;
        }
        int err;
        PCRE2_SIZE off;
        c->re = pcre2_compile((PCRE2_SPTR) pat, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &err, &off, NULL);
        if (!c->re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(err, msg, sizeof msg);
                problem(l, "%s: bad regular expression at offset %zu: %s (in \"%s\")", sub, (size_t) off, (char *) msg,
                        pat);
                free(pat);
                cond_free(c);
                return NULL;
        }
        free(pat);
        note_names(l, c->re);
        return c;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* A placeholder at p: "{name}" or "{name:decoder}". Returns its length (0: not one), the
 * name's length in *n and the decoder's name and length in *dec, *dec_len (0: none). */
static size_t placeholder(const char *p, size_t *n, const char **dec, size_t *dec_len) {
        if (*p != '{')
                return 0;
        *n = strspn(p + 1, NAME_CHARS);
        *dec = NULL;
        *dec_len = 0;
        if (!*n)
                return 0;
        const char *q = p + 1 + *n;
        if (*q == ':') {
                *dec = q + 1;
                *dec_len = strspn(q + 1, NAME_CHARS);
                q += 1 + *dec_len;
                if (!*dec_len)
                        return 0;
        }
        return *q == '}' ? (size_t) (q + 1 - p) : 0;
}

/* Checks that every {name} of a template is captured by the rule or is a fact, and that every
 * {name:decoder} names a decoder there is. */
static bool check_template(struct loader *l, const char *t, const char *where) {
        for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
                size_t n, dl;
                const char *dec;
                if (!placeholder(p, &n, &dec, &dl))
                        continue;
                if (dec && !kdecode_find(dec, dl)) {
                        problem(l, "%s uses {%.*s:%.*s}: there is no decoder '%.*s' (pf_error, exit_status, subsystem)",
                                where, (int) n, p + 1, (int) dl, dec, (int) dl, dec);
                        return false;
                }
                bool found = is_fact(p + 1, n);
                for (size_t i = 0; i < l->n_names && !found; i++)
                        found = strlen(l->names[i]) == n && !strncmp(l->names[i], p + 1, n);
                if (!found) {
                        problem(l, "%s uses {%.*s}, which no condition captures (?<%.*s>…) and is not a fact (release, "
                                   "panic, function, module, task, pid, cpu, taint, taint_modules, largest_task, "
                                   "largest_rss, blocked_task, blocked_secs)", where, (int) n, p + 1, (int) n, p + 1);
                        return false;
                }
        }
        return true;
}

static bool valid_id(const char *s) {
        size_t n = strlen(s);
        if (!n || n > 64 || !isalnum((unsigned char) s[0]))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_' && *s != '.')
                        return false;
        return true;
}

static ssize_t find_rule(const struct rules *rs, const char *id) {
        for (size_t i = 0; i < rs->n; i++)
                if (!strcmp(rs->v[i]->id, id))
                        return (ssize_t) i;
        return -1;
}

static void remove_rule(struct rules *rs, size_t i) {
        rule_free(rs->v[i]);
        memmove(rs->v + i, rs->v + i + 1, (rs->n - i - 1) * sizeof *rs->v);
        rs->n--;
}

static struct rule *parse_rule(struct loader *l, json_object *o, size_t index, bool *disabled) {
        static const char *const known[] = { "id", "description", "kind", "severity", "priority", "when",
                                             "summary", "recommendation", "links", "disabled" };
        char where[64];
        json_object *v;
        *disabled = false;
        l->rule = NULL;
        l->n_names = 0;
        if (!json_object_is_type(o, json_type_object)) {
                problem(l, "rule #%zu is %s, not an object", index + 1, type_name(o));
                return NULL;
        }
        if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_string) ||
            !valid_id(json_object_get_string(v))) {
                problem(l, "rule #%zu: \"id\" must be letters, digits, '-', '_' or '.' (up to 64), starting with a "
                           "letter or digit", index + 1);
                return NULL;
        }
        l->rule = json_object_get_string(v);
        json_object_object_foreach(o, key, val) {
                (void) val;
                bool ok = false;
                for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                        ok = ok || !strcmp(key, known[i]);
                if (!ok) {
                        problem(l, "unknown key '%s' (id, description, kind, severity, priority, when, summary, "
                                   "recommendation, links, disabled)", key);
                        return NULL;
                }
        }
        if (json_object_object_get_ex(o, "disabled", &v)) {
                if (!json_object_is_type(v, json_type_boolean)) {
                        problem(l, "\"disabled\" must be true or false");
                        return NULL;
                }
                if (json_object_get_boolean(v)) {
                        *disabled = true;
                        return NULL;
                }
        }
        struct rule *r = calloc(1, sizeof *r);
        if (!r || !(r->id = strdup(l->rule)) || !(r->file = strdup(l->file))) {
                l->nomem = true;
                rule_free(r);
                return NULL;
        }
        r->priority = 50;
        r->severity = 2;
        if (json_object_object_get_ex(o, "kind", &v)) {
                const char *k = json_object_get_string(v);
                if (!json_object_is_type(v, json_type_string) || (strcmp(k, "cause") && strcmp(k, "note"))) {
                        problem(l, "\"kind\" must be \"cause\" or \"note\"");
                        goto bad;
                }
                r->note = !strcmp(k, "note");
        }
        if (json_object_object_get_ex(o, "severity", &v)) {
                const char *s = json_object_get_string(v);
                r->severity = -1;
                for (int i = 0; json_object_is_type(v, json_type_string) && i < 5; i++)
                        if (!strcmp(s, severities[i]))
                                r->severity = i;
                if (r->severity < 0) {
                        problem(l, "\"severity\" must be one of critical, high, medium, low, info");
                        goto bad;
                }
        }
        if (json_object_object_get_ex(o, "priority", &v)) {
                int64_t p = json_object_get_int64(v);
                if (!json_object_is_type(v, json_type_int) || p < 0 || p > 1000) {
                        problem(l, "\"priority\" must be a whole number from 0 to 1000");
                        goto bad;
                }
                r->priority = (int) p;
        }
        if (!json_object_object_get_ex(o, "when", &v)) {
                problem(l, "no \"when\": a rule needs a condition");
                goto bad;
        }
        if (!(r->when = parse_cond(l, v, "when", 0)))
                goto bad;
        if (!json_object_object_get_ex(o, "summary", &v)) {
                problem(l, "no \"summary\"");
                goto bad;
        }
        if (json_object_is_type(v, json_type_array) && json_object_array_length(v)) {
                r->n_summary = json_object_array_length(v);
                if (!(r->summary = calloc(r->n_summary, sizeof *r->summary))) {
                        l->nomem = true;
                        goto bad;
                }
                for (size_t i = 0; i < r->n_summary; i++) {
                        snprintf(where, sizeof where, "summary[%zu]", i);
                        if (!(r->summary[i] = string_field(l, json_object_array_get_idx(v, i), where)) ||
                            !check_template(l, r->summary[i], where))
                                goto bad;
                }
        } else {
                if (!(r->summary = calloc(1, sizeof *r->summary))) {
                        l->nomem = true;
                        goto bad;
                }
                r->n_summary = 1;
                if (!(r->summary[0] = string_field(l, v, "summary")) || !check_template(l, r->summary[0], "summary"))
                        goto bad;
        }
        if (json_object_object_get_ex(o, "recommendation", &v) &&
            (!(r->recommendation = string_field(l, v, "recommendation")) ||
             !check_template(l, r->recommendation, "recommendation")))
                goto bad;
        if (json_object_object_get_ex(o, "links", &v)) {
                bool ok = json_object_is_type(v, json_type_array);
                for (size_t i = 0; ok && i < json_object_array_length(v); i++) {
                        json_object *ln = json_object_array_get_idx(v, i), *t, *u;
                        ok = json_object_is_type(ln, json_type_object) && json_object_object_length(ln) == 2 &&
                             json_object_object_get_ex(ln, "title", &t) && json_object_is_type(t, json_type_string) &&
                             json_object_get_string_len(t) && json_object_object_get_ex(ln, "url", &u) &&
                             json_object_is_type(u, json_type_string) &&
                             (!strncmp(json_object_get_string(u), "https://", 8) ||
                              !strncmp(json_object_get_string(u), "http://", 7));
                }
                if (!ok) {
                        problem(l, "\"links\" must be a list of {\"title\": TEXT, \"url\": \"https://…\"}");
                        goto bad;
                }
                r->links = json_object_get(v);
        }
        return r;
bad:
        rule_free(r);
        return NULL;
}

/* "line 3, column 7" for a byte offset */
static void position(const char *text, size_t len, size_t off, char *buf, size_t size) {
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < off && i < len; i++) {
                if (text[i] == '\n')
                        line++, col = 1;
                else
                        col++;
        }
        snprintf(buf, size, "line %u, column %u", line, col);
}

int rules_add_text(struct rules *rs, const char *name, const char *text, size_t len, json_object *errors) {
        struct loader l = { .rs = rs, .file = name, .errors = errors };
        json_tokener *tok = json_tokener_new_ex(DEPTH_MAX * 3 + 8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *doc = NULL;
        if (len > INT_MAX || memchr(text, 0, len)) {
                problem(&l, "not a text file");
                json_tokener_free(tok);
                return l.problems;
        }
        doc = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        char pos[64];
        if (!doc || jerr != json_tokener_success) {
                position(text, len, end, pos, sizeof pos);
                problem(&l, "not valid JSON at %s: %s", pos,
                        jerr == json_tokener_continue ? "the text ends too early" : json_tokener_error_desc(jerr));
                json_object_put(doc);
                json_tokener_free(tok);
                return l.problems;
        }
        json_tokener_free(tok);
        while (end < len && isspace((unsigned char) text[end]))
                end++;
        if (end < len) {
                position(text, len, end, pos, sizeof pos);
                problem(&l, "not valid JSON at %s: text after the end of the document", pos);
                json_object_put(doc);
                return l.problems;
        }
        json_object *list = NULL;
        if (json_object_is_type(doc, json_type_object) && json_object_object_get_ex(doc, "rules", &list)) {
                if (json_object_object_length(doc) != 1 || !json_object_is_type(list, json_type_array)) {
                        problem(&l, "a rule file is {\"rules\": [RULE, …]} or a single RULE object");
                        json_object_put(doc);
                        return l.problems;
                }
        } else if (!json_object_is_type(doc, json_type_object)) {
                problem(&l, "a rule file is {\"rules\": [RULE, …]} or a single RULE object, not %s", type_name(doc));
                json_object_put(doc);
                return l.problems;
        }
        size_t n = list ? json_object_array_length(list) : 1;
        for (size_t i = 0; i < n && !l.nomem; i++) {
                bool disabled;
                struct rule *r = parse_rule(&l, list ? json_object_array_get_idx(list, i) : doc, i, &disabled);
                ssize_t at = l.rule ? find_rule(rs, l.rule) : -1;
                if (disabled) {
                        if (at >= 0)
                                remove_rule(rs, (size_t) at);
                        continue;
                }
                if (!r)
                        continue;
                if (at >= 0 && !strcmp(rs->v[at]->file, name)) {
                        problem(&l, "defined twice in this file; the first one is used");
                        rule_free(r);
                        continue;
                }
                if (at >= 0) {
                        rule_free(rs->v[at]);
                        rs->v[at] = r;
                        continue;
                }
                if (rs->n == rs->cap) {
                        size_t cap = rs->cap ? rs->cap * 2 : 32;
                        struct rule **v = realloc(rs->v, cap * sizeof *v);
                        if (!v) {
                                rule_free(r);
                                l.nomem = true;
                                break;
                        }
                        rs->v = v;
                        rs->cap = cap;
                }
                rs->v[rs->n++] = r;
        }
        json_object_put(doc);
        return l.nomem ? -ENOMEM : l.problems;
}

/* Whether text is one JSON document: a site file that is not does not replace a shipped one. */
static bool parses(const char *text, size_t len) {
        json_tokener *tok = json_tokener_new();
        if (!tok || len > INT_MAX)
                return json_tokener_free(tok), false;
        json_object *o = json_tokener_parse_ex(tok, text, (int) len);
        bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
        json_object_put(o);
        json_tokener_free(tok);
        return ok;
}

int rules_load_paths(const char *const *paths, size_t n, uint64_t match_limit, struct rules **ret, json_object *errors) {
        struct rules *rs = rules_new(match_limit);
        char **texts = calloc(n ? n : 1, sizeof *texts);
        size_t *lens = calloc(n ? n : 1, sizeof *lens);
        int r = 0, problems = 0;
        if (!rs || !texts || !lens) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t k = 0; k < n; k++) {
                int q = read_file_max(paths[k], RULE_FILE_MAX, &texts[k], &lens[k]);
                if (q < 0) {
                        char msg[PATH_MAX + 128];
                        texts[k] = NULL;
                        snprintf(msg, sizeof msg, "%s: cannot read: %s", paths[k],
                                 q == -EFBIG ? "larger than 1 MiB" : strerror(-q));
                        json_object_array_add(errors, json_object_new_string(msg));
                        problems++;
                }
        }
        for (size_t i = 0; triage_builtin_rules[i].name; i++) {
                bool replaced = false;
                for (size_t k = 0; k < n && !replaced; k++) {
                        const char *base = strrchr(paths[k], '/');
                        replaced = !strcmp(base ? base + 1 : paths[k], triage_builtin_rules[i].name) && texts[k] &&
                                   parses(texts[k], lens[k]);
                }
                if (replaced)
                        continue;
                char label[128];
                snprintf(label, sizeof label, "%s (built in)", triage_builtin_rules[i].name);
                int q = rules_add_text(rs, label, triage_builtin_rules[i].text, strlen(triage_builtin_rules[i].text),
                                       errors);
                if (q < 0) {
                        r = q;
                        goto out;
                }
                problems += q;
        }
        for (size_t k = 0; k < n; k++) {
                if (!texts[k])
                        continue;
                int q = rules_add_text(rs, paths[k], texts[k], lens[k], errors);
                if (q < 0) {
                        r = q;
                        goto out;
                }
                problems += q;
        }
out:
        for (size_t k = 0; texts && k < n; k++)
                free(texts[k]);
        free(texts);
        free(lens);
        if (r < 0) {
                rules_free(rs);
                return r;
        }
        *ret = rs;
        return problems;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int rules_load(const char *site_dir, uint64_t match_limit, struct rules **ret, json_object *errors) {
        char **paths = NULL;
        size_t n = 0, cap = 0;
        int r = 0, problems = 0;
        DIR *d = site_dir && *site_dir ? opendir(site_dir) : NULL;
        if (!d && site_dir && *site_dir && errno != ENOENT) {
                char msg[PATH_MAX + 128];
                snprintf(msg, sizeof msg, "%s: cannot read the site rules folder: %s", site_dir, strerror(errno));
                json_object_array_add(errors, json_object_new_string(msg));
                problems++;
        }
        for (struct dirent *e; d && (e = readdir(d));) {
                size_t len = strlen(e->d_name);
                if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
                        continue;
                if (n == cap) {
                        char **v = realloc(paths, (cap = cap ? cap * 2 : 16) * sizeof *v);
                        if (!v) {
                                r = -ENOMEM;
                                goto out;
                        }
                        paths = v;
                }
                if (asprintf(&paths[n], "%s/%s", site_dir, e->d_name) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        if (n)
                qsort(paths, n, sizeof *paths, cmp_str);
        r = rules_load_paths((const char *const *) paths, n, match_limit, ret, errors);
out:
        if (d)
                closedir(d);
        for (size_t k = 0; k < n; k++)
                free(paths[k]);
        free(paths);
        return r < 0 ? r : r + problems;
}

/* ---- evaluation --------------------------------------------------------------------------- */

struct eval {
        const struct rules *rs;
        const struct triage_input *in;
        const struct rule *rule;
        pcre2_match_data *md;
        json_object *errors;
        bool nomem;
};

/* The text of a source: 1 found, 0 known to be absent, -1 unknown. */
static int source_text(const struct triage_input *in, const char *name, const char **text, size_t *len) {
        if (!strncmp(name, "vmcoreinfo:", 11)) {
                const char *key = name + 11, *v = in->vmcoreinfo, *end = v ? v + in->vmcoreinfo_len : NULL;
                size_t kl = strlen(key);
                if (!v)
                        return -1;
                for (const char *line = v; line < end;) {
                        const char *nl = memchr(line, '\n', (size_t) (end - line));
                        const char *le = nl ? nl : end;
                        if ((size_t) (le - line) > kl && !memcmp(line, key, kl) && line[kl] == '=') {
                                *text = line + kl + 1;
                                *len = (size_t) (le - *text);
                                return 1;
                        }
                        line = nl ? nl + 1 : end;
                }
                return 0;
        }
        for (size_t i = 0; i < in->n_sources; i++)
                if (!strcmp(in->sources[i].name, name)) {
                        *text = in->sources[i].text ? in->sources[i].text : "";
                        *len = in->sources[i].text ? in->sources[i].len : 0;
                        return 1;
                }
        return -1;
}

/* A printable copy of s[0..n), at most max bytes. */
static json_object *clean_string(const char *s, size_t n, size_t max) {
        char buf[LINE_MAX_CHARS + 4];
        if (max > LINE_MAX_CHARS)
                max = LINE_MAX_CHARS;
        while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
                n--;
        size_t k = 0;
        for (size_t i = 0; i < n && k < max; i++)
                buf[k++] = (unsigned char) s[i] >= 0x20 && s[i] != 0x7f ? s[i] : ' ';
        if (n > max)
                memcpy(buf + k, "…", 3), k += 3;
        buf[k] = 0;
        return json_object_new_string_len(buf, (int) k);
}

static void add_evidence(struct eval *ev, json_object *evidence, const char *source, const char *text, size_t len,
                         size_t start, size_t end) {
        size_t ls = start;
        while (ls > 0 && text[ls - 1] != '\n')
                ls--;
        if (end > start)
                end--; /* the last character matched */
        size_t last = end; /* the line of the match's end: for a multi-line match, often the proof */
        while (last > ls && text[last - 1] != '\n')
                last--;
        for (size_t line = ls, k = 0; line <= end && line < len; k++) {
                if (k == EVIDENCE_PER_MATCH - 1 && line < last)
                        line = last;
                else if (k >= EVIDENCE_PER_MATCH)
                        break;
                const char *nl = memchr(text + line, '\n', len - line);
                size_t le = nl ? (size_t) (nl - text) : len;
                if (json_object_array_length(evidence) >= EVIDENCE_MAX)
                        return;
                json_object *s = clean_string(text + line, le - line, LINE_MAX_CHARS);
                bool dup = false;
                for (size_t i = 0; i < json_object_array_length(evidence) && !dup; i++) {
                        json_object *e = json_object_array_get_idx(evidence, i), *t, *src;
                        dup = json_object_object_get_ex(e, "line", &t) && json_object_object_get_ex(e, "source", &src) &&
                              !strcmp(json_object_get_string(t), json_object_get_string(s)) &&
                              !strcmp(json_object_get_string(src), source);
                }
                if (dup) {
                        json_object_put(s);
                } else {
                        json_object *e = json_object_new_object();
                        if (!e || json_object_object_add(e, "source", json_object_new_string(source)) < 0 ||
                            json_object_object_add(e, "line", s) < 0 || json_object_array_add(evidence, e) < 0) {
                                ev->nomem = true;
                                json_object_put(e);
                                return;
                        }
                }
                line = le + 1;
        }
}

static enum tri eval_cond(struct eval *ev, const struct cond *c, json_object *caps, json_object *evidence);

static void merge(json_object *dst_caps, json_object *dst_ev, json_object *caps, json_object *evidence) {
        json_object_object_foreach(caps, k, v) {
                if (!json_object_object_get_ex(dst_caps, k, NULL))
                        json_object_object_add(dst_caps, k, json_object_get(v));
        }
        for (size_t i = 0; i < json_object_array_length(evidence) && json_object_array_length(dst_ev) < EVIDENCE_MAX; i++)
                json_object_array_add(dst_ev, json_object_get(json_object_array_get_idx(evidence, i)));
}

static enum tri eval_match(struct eval *ev, const struct cond *c, json_object *caps, json_object *evidence) {
        const char *text;
        size_t len;
        int have = source_text(ev->in, c->source, &text, &len);
        if (have < 0)
                return T_UNKNOWN;
        if (have == 0)
                return T_FALSE;
        int rc = pcre2_match(c->re, (PCRE2_SPTR) text, len, 0, 0, ev->md, ev->rs->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
                return T_FALSE;
        if (rc < 0) {
                PCRE2_UCHAR msg[256];
                char line[512];
                pcre2_get_error_message(rc, msg, sizeof msg);
                snprintf(line, sizeof line, "%s: rule '%s': matching %s: %s", ev->rule->file, ev->rule->id, c->source,
                         (char *) msg);
                json_object_array_add(ev->errors, json_object_new_string(line));
                return T_UNKNOWN;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ev->md);
        uint32_t count = 0, size = 0;
        PCRE2_SPTR table = NULL;
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
        pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
        for (uint32_t i = 0; i < count; i++) {
                const unsigned char *ent = table + i * size;
                unsigned g = (unsigned) (ent[0] << 8 | ent[1]);
                if ((int) g >= rc || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] <= ov[2 * g])
                        continue;
                const char *name = (const char *) ent + 2;
                if (!json_object_object_get_ex(caps, name, NULL))
                        json_object_object_add(caps, name, clean_string(text + ov[2 * g], ov[2 * g + 1] - ov[2 * g], VALUE_MAX));
        }
        if (c->evidence)
                add_evidence(ev, evidence, c->source, text, len, ov[0], ov[1]);
        return T_TRUE;
}

static enum tri eval_cond(struct eval *ev, const struct cond *c, json_object *caps, json_object *evidence) {
        switch (c->kind) {
        case C_MATCH:
                return eval_match(ev, c, caps, evidence);
        case C_RELEASE: {
                const char *rel;
                size_t len;
                char buf[128];
                if (source_text(ev->in, "release", &rel, &len) <= 0 || !len)
                        return T_UNKNOWN;
                snprintf(buf, sizeof buf, "%.*s", (int) (len < sizeof buf ? len : sizeof buf - 1), rel);
                if (c->min && release_cmp(buf, c->min) < 0)
                        return T_FALSE;
                if (c->below && release_cmp(buf, c->below) >= 0)
                        return T_FALSE;
                return T_TRUE;
        }
        case C_NOT:
        case C_OPTIONAL: {
                json_object *tc = json_object_new_object(), *te = json_object_new_array();
                if (!tc || !te) {
                        ev->nomem = true;
                        json_object_put(tc);
                        json_object_put(te);
                        return T_UNKNOWN;
                }
                enum tri t = eval_cond(ev, c->kids[0], tc, te);
                /* optional: its captures and evidence when it holds, true whatever it is */
                if (c->kind == C_OPTIONAL && t == T_TRUE)
                        merge(caps, evidence, tc, te);
                json_object_put(tc);
                json_object_put(te);
                if (c->kind == C_OPTIONAL)
                        return T_TRUE;
                return t == T_UNKNOWN ? T_UNKNOWN : t == T_TRUE ? T_FALSE : T_TRUE;
        }
        case C_ALL:
        case C_ANY: {
                enum tri res = c->kind == C_ALL ? T_TRUE : T_FALSE;
                for (size_t i = 0; i < c->n; i++) {
                        json_object *tc = json_object_new_object(), *te = json_object_new_array();
                        if (!tc || !te) {
                                ev->nomem = true;
                                json_object_put(tc);
                                json_object_put(te);
                                return T_UNKNOWN;
                        }
                        enum tri t = eval_cond(ev, c->kids[i], tc, te);
                        if (t == T_TRUE)
                                merge(caps, evidence, tc, te);
                        json_object_put(tc);
                        json_object_put(te);
                        if (c->kind == C_ALL && t == T_FALSE)
                                return T_FALSE;
                        if (c->kind == C_ANY && t == T_TRUE)
                                return T_TRUE;
                        if (t == T_UNKNOWN)
                                res = T_UNKNOWN;
                }
                return res;
        }
        }
        return T_UNKNOWN;
}

/* The value of {name}: a capture, else a fact's first line. */
static bool lookup(const struct eval *ev, json_object *caps, const char *name, size_t n, char *buf, size_t size) {
        char key[40];
        json_object *v;
        snprintf(key, sizeof key, "%.*s", (int) (n < sizeof key ? n : sizeof key - 1), name);
        if (json_object_object_get_ex(caps, key, &v) && json_object_get_string_len(v)) {
                snprintf(buf, size, "%s", json_object_get_string(v));
                return true;
        }
        const char *text;
        size_t len;
        if (is_fact(name, n) && source_text(ev->in, key, &text, &len) > 0 && len) {
                const char *nl = memchr(text, '\n', len);
                size_t l = nl ? (size_t) (nl - text) : len;
                json_object *s = clean_string(text, l, VALUE_MAX);
                snprintf(buf, size, "%s", json_object_get_string(s));
                json_object_put(s);
                return buf[0] != 0;
        }
        return false;
}

/* Renders template t; false when a placeholder has no value ("?" stands in). */
static bool render(const struct eval *ev, json_object *caps, const char *t, char *out, size_t size) {
        size_t o = 0;
        bool complete = true;
        for (const char *p = t; *p && o + 1 < size;) {
                size_t n = 0, dl = 0, whole = 0;
                const char *dec = NULL;
                if (*p == '{')
                        whole = placeholder(p, &n, &dec, &dl);
                if (!whole) {
                        out[o++] = *p++;
                        continue;
                }
                char val[VALUE_MAX + 8], words[VALUE_MAX + 8];
                kdecode_fn fn = dec ? kdecode_find(dec, dl) : NULL;
                if (!lookup(ev, caps, p + 1, n, val, sizeof val)) {
                        snprintf(val, sizeof val, "?");
                        complete = false;
                } else if (fn && fn(val, words, sizeof words)) {
                        snprintf(val, sizeof val, "%s", words);
                }
                o += (size_t) snprintf(out + o, size - o, "%s", val);
                if (o >= size)
                        o = size - 1;
                p += whole;
        }
        out[o] = 0;
        return complete;
}

static int field_int(json_object *o, const char *key) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : 0;
}

static bool is_note(json_object *o) {
        json_object *v = NULL;
        return json_object_object_get_ex(o, "kind", &v) && !strcmp(json_object_get_string(v), "note");
}

/* causes before notes, then higher priority, then higher severity, then file order */
static int cmp_finding(const void *a, const void *b) {
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
        if (is_note(x) != is_note(y))
                return is_note(x) - is_note(y);
        static const char *const keys[] = { "priority", "severity_rank" };
        for (size_t i = 0; i < 2; i++)
                if (field_int(x, keys[i]) != field_int(y, keys[i]))
                        return field_int(y, keys[i]) - field_int(x, keys[i]);
        return field_int(x, "order") - field_int(y, "order");
}

json_object *triage_run(const struct rules *rs, const struct triage_input *in, json_object *errors) {
        struct eval ev = { .rs = rs, .in = in, .errors = errors };
        json_object *found = json_object_new_array();
        if (!found || !(ev.md = pcre2_match_data_create(64, NULL))) {
                json_object_put(found);
                return NULL;
        }
        for (size_t i = 0; rs && i < rs->n && !ev.nomem; i++) {
                const struct rule *r = ev.rule = rs->v[i];
                json_object *caps = json_object_new_object(), *evidence = json_object_new_array();
                if (!caps || !evidence || eval_cond(&ev, r->when, caps, evidence) != T_TRUE) {
                        ev.nomem = ev.nomem || !caps || !evidence;
                        json_object_put(caps);
                        json_object_put(evidence);
                        continue;
                }
                char summary[SUMMARY_MAX], rec[2 * SUMMARY_MAX];
                bool done = false;
                for (size_t k = 0; k < r->n_summary && !done; k++)
                        done = render(&ev, caps, r->summary[k], summary, sizeof summary);
                if (!done) /* none complete: the last, most general one, with "?" */
                        render(&ev, caps, r->summary[r->n_summary - 1], summary, sizeof summary);
                json_object *f = json_object_new_object();
                if (!f) {
                        json_object_put(caps);
                        json_object_put(evidence);
                        ev.nomem = true;
                        break;
                }
                json_object_object_add(f, "id", json_object_new_string(r->id));
                json_object_object_add(f, "file", json_object_new_string(r->file));
                json_object_object_add(f, "kind", json_object_new_string(r->note ? "note" : "cause"));
                json_object_object_add(f, "severity", json_object_new_string(severities[r->severity]));
                json_object_object_add(f, "severity_rank", json_object_new_int(r->severity));
                json_object_object_add(f, "priority", json_object_new_int(r->priority));
                json_object_object_add(f, "order", json_object_new_int((int) i));
                json_object_object_add(f, "summary", json_object_new_string(summary));
                if (r->recommendation) {
                        render(&ev, caps, r->recommendation, rec, sizeof rec);
                        json_object_object_add(f, "recommendation", json_object_new_string(rec));
                }
                if (r->links)
                        json_object_object_add(f, "links", json_object_get(r->links));
                json_object_object_add(f, "evidence", evidence);
                json_object_object_add(f, "captures", caps);
                if (json_object_array_add(found, f) < 0) {
                        json_object_put(f);
                        ev.nomem = true;
                }
        }
        pcre2_match_data_free(ev.md);
        if (ev.nomem) {
                json_object_put(found);
                return NULL;
        }
        json_object_array_sort(found, cmp_finding);
        for (size_t i = 0; i < json_object_array_length(found); i++) {
                json_object *f = json_object_array_get_idx(found, i);
                json_object_object_del(f, "severity_rank");
                json_object_object_del(f, "order");
        }
        return found;
}
