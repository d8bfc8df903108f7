/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Triage: declarative rules (etc/rules.d, JSON) that name the cause of a crash from the kernel
 * log, crash's answers, VMCOREINFO and the kernel release, with the lines that prove it.
 * The format is described in etc/rules.d/README and in README.md. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rules;

/* An empty rule set; match_limit bounds each regular expression's backtracking. */
struct rules *rules_new(uint64_t match_limit);
struct rules *rules_free(struct rules *rs);

/* Adds the rules of one file (name is how errors name it). A rule with the id of an earlier one
 * replaces it; {"id": X, "disabled": true} removes X. Each problem is appended to errors as
 * "NAME: rule 'ID': what is wrong" and skips that rule (or, for a syntax error, the file); the
 * other rules load. Returns the number of problems, or -ENOMEM. */
int rules_add_text(struct rules *rs, const char *name, const char *text, size_t len, json_object *errors);

/* The shipped rules (built in), then every *.json file of site_dir, sorted by name; a site file
 * named like a shipped one replaces it. A missing site_dir is not an error. */
int rules_load(const char *site_dir, uint64_t match_limit, struct rules **ret, json_object *errors);

/* The shipped rules, then the files paths (in that order); a file whose name (after its last
 * '/') is a shipped file's and that is valid JSON replaces that file. */
int rules_load_paths(const char *const *paths, size_t n, uint64_t match_limit, struct rules **ret, json_object *errors);

/* Whether some condition reads source name ("crash:bt", …): the others need not be read. */
bool rules_use_source(const struct rules *rs, const char *name);

size_t rules_count(const struct rules *rs);
/* id, file and kind ("cause" or "note") of rule i, in evaluation order */
void rules_get(const struct rules *rs, size_t i, const char **id, const char **file, const char **kind);

/* One named text a rule can match: "log", "release", "panic", "function", "crash:bt", … */
struct triage_source {
        const char *name;
        const char *text;
        size_t len;
};

struct triage_input {
        const struct triage_source *sources; /* a name not listed is unknown (e.g. crash:* before crash) */
        size_t n_sources;
        const char *vmcoreinfo;              /* for vmcoreinfo:KEY; NULL when the dump has none */
        size_t vmcoreinfo_len;
};

/* Evaluates every rule. Returns the findings, causes first, then by priority and severity:
 * [{id, file, kind, severity, priority, summary, recommendation, links, evidence, captures}].
 * Problems met while matching (a match limit hit) are appended to errors. */
json_object *triage_run(const struct rules *rs, const struct triage_input *in, json_object *errors);

/* The shipped rule files, generated from etc/rules.d by make; ends with { NULL, NULL }. */
struct builtin_rule_file {
        const char *name, *text;
};
extern const struct builtin_rule_file triage_builtin_rules[];

/* The names of the built-in facts a summary may use without capturing them. */
extern const char *const triage_fact_names[];

/* The rules on a kernel log alone, with the facts the first look finds in it. */
json_object *triage_log(const struct rules *rs, const char *log, size_t len, const char *release, json_object *errors);

struct job;
/* Runs the rules on what job j knows so far (pass: "first look" or "crash") and records
 * "findings" and "triage" {pass, rules, errors} in job.json; load_errors are the rule files'
 * problems, repeated there. log is the kernel log when the caller has it in hand; NULL: the
 * one the first look recorded (first_look.log_file) is read. */
int triage_job(struct job *j, const struct rules *rs, json_object *load_errors, const char *log, size_t log_len,
               const char *vmcoreinfo, size_t vmcoreinfo_len, const char *pass);
