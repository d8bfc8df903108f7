/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The web UI's pages, made from jobview's JSON. Every value from a job, a file name or a
 * server goes through the one HTML escaper (common/html). */

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/html.h"
#include "common/json.h"
#include "daemon/webui.h"

static const char css[] =
        ":root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7f9;--card:#fff;--bad:#b3261e;--ok:#1e7a3a;"
        "--warn:#9a6700;--run:#0b57d0}*{box-sizing:border-box}"
        "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,'DejaVu Sans',sans-serif}"
        "main{max-width:1200px;margin:0 auto;padding:20px}nav a{margin-right:16px}h1{font-size:22px;margin:8px 0 16px}"
        "table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}"
        "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}"
        "th{color:var(--muted);font-size:13px}.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".state{font-weight:600}.done{color:var(--ok)}.failed,.cancelled{color:var(--bad)}.running,.queued{color:var(--run)}"
        ".incomplete{color:var(--warn)}.care{background:#fff4d6;color:var(--warn);border-radius:4px;padding:0 6px;"
        "font-size:12px;font-weight:600;margin-left:6px}form{display:flex;gap:10px;flex-wrap:wrap;margin:0 0 14px}"
        "input,select{font:inherit;padding:4px 8px}progress{width:120px}.muted{color:var(--muted)}"
        "code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}"
        "section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 16px;margin:0 0 16px}";

void webui_begin(FILE *f, const char *title, unsigned refresh) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">", f);
        if (refresh)
                fprintf(f, "<meta http-equiv=\"refresh\" content=\"%u\">", refresh);
        fputs("<meta name=\"viewport\" content=\"width=device-width\"><title>", f);
        html_write_str(f, title);
        fprintf(f, " · hotkdump</title><style>%s</style></head>\n<body><main>\n"
                   "<nav><a href=\"/\">Jobs</a><a href=\"/ui/daemon\">Daemon</a><a href=\"/openapi.json\">API</a></nav>\n<h1>",
                css);
        html_write_str(f, title);
        fputs("</h1>\n", f);
}

void webui_end(FILE *f) {
        fputs("</main></body></html>\n", f);
}

static const char *str(json_object *o, const char *key) {
        return json_str(o, key);
}

static bool contains(const char *hay, const char *needle) {
        if (!needle || !*needle)
                return true;
        size_t n = strlen(needle);
        for (; hay && *hay; hay++)
                if (!strncasecmp(hay, needle, n))
                        return true;
        return false;
}

static const char *cause_of(json_object *job) {
        json_object *c = json_get(job, "cause");
        return c ? str(c, "summary") : NULL;
}

bool webui_matches(json_object *job, const struct webui_filter *flt) {
        const char *v;
        if (flt->case_id && *flt->case_id && (!(v = str(job, "case")) || strcmp(v, flt->case_id)))
                return false;
        if (flt->state && *flt->state && (!(v = str(job, "state")) || strcmp(v, flt->state)))
                return false;
        if (flt->cause && *flt->cause && !contains(cause_of(job) ? cause_of(job) : str(job, "error"), flt->cause))
                return false;
        if (flt->kernel && *flt->kernel && !contains(str(job, "kernel"), flt->kernel))
                return false;
        return true;
}

/* Seconds between two of the API's times, or from the first to now; < 0 when unknown. */
static double seconds_between(const char *from, const char *to) {
        int64_t a, b;
        if (clock_parse_utc(from, &a) < 0)
                return -1;
        if (!to || clock_parse_utc(to, &b) < 0)
                b = (int64_t) time(NULL);
        return (double) (b - a);
}

static void write_duration(FILE *f, double s) {
        if (s < 0)
                fputs("–", f);
        else if (s < 120)
                fprintf(f, "%.0f s", s);
        else if (s < 7200)
                fprintf(f, "%.0f min", s / 60);
        else
                fprintf(f, "%.1f h", s / 3600);
}

/* The live figure: the stage, then the step running with its share and time left. */
static void write_progress(FILE *f, json_object *job) {
        json_object *p = json_get(job, "progress"), *cur = json_get(p, "current");
        const char *state = str(job, "state");
        if (!p || !state || strcmp(state, "running"))
                return;
        fprintf(f, "<span class=stage>");
        html_write_str(f, str(job, "stage") ? str(job, "stage") : "starting");
        fprintf(f, "</span> <span class=muted>(%d of %d)</span>", json_object_get_int(json_get(p, "stages_done")) + 1,
                json_object_get_int(json_get(p, "stages")));
        if (!cur || json_object_get_boolean(json_get(cur, "finished")))
                return;
        int64_t done = json_object_get_int64(json_get(cur, "done")), total = json_object_get_int64(json_get(cur, "total"));
        fputs("<br><span class=live>", f);
        html_write_str(f, str(cur, "what"));
        if (total > 0) {
                fprintf(f, " <progress max=\"%lld\" value=\"%lld\"></progress> ", (long long) total, (long long) done);
                if (!strcmp(str(cur, "unit") ? str(cur, "unit") : "", "steps"))
                        fprintf(f, "%lld of %lld", (long long) done, (long long) total);
                else
                        fprintf(f, "%lld%%", (long long) (done * 100 / total));
        }
        json_object *left = json_get(cur, "seconds_left");
        if (left) {
                fputs(", ", f);
                write_duration(f, json_object_get_double(left));
                fputs(" left", f);
        }
        if (str(cur, "item")) {
                fputs(" <code>", f);
                html_write_str(f, str(cur, "item"));
                fputs("</code>", f);
        }
        fputs("</span>", f);
}

/* A cell for each of keys (NULL-terminated): the value of that key of o, escaped; empty when none. */
static void write_cells(FILE *f, json_object *o, const char *const *keys) {
        for (; *keys; keys++) {
                fputs("<td>", f);
                html_write_str(f, str(o, *keys));
                fputs("</td>", f);
        }
}

static void write_link(FILE *f, const char *href, const char *text) {
        fputs("<a href=\"", f);
        html_write_str(f, href);
        fputs("\">", f);
        html_write_str(f, text);
        fputs("</a>", f);
}

static void write_option(FILE *f, const char *value, const char *chosen) {
        fputs("<option value=\"", f);
        html_write_str(f, value);
        fputs(chosen && !strcmp(chosen, value) ? "\" selected>" : "\">", f);
        html_write_str(f, value);
        fputs("</option>", f);
}

static void write_input(FILE *f, const char *name, const char *label, const char *value) {
        fprintf(f, "<label>%s <input name=%s value=\"", label, name);
        html_write_str(f, value ? value : "");
        fputs("\"></label>", f);
}

static size_t care_count(json_object *job) {
        json_object *c = json_get(job, "read_with_care");
        return c && json_object_is_type(c, json_type_array) ? json_object_array_length(c) : 0;
}

void webui_list(FILE *f, json_object *const *jobs, size_t n, size_t total, const struct webui_filter *flt, bool case_page) {
        static const char *const states[] = { "queued", "running", "done", "incomplete", "failed", "cancelled" };
        if (!case_page) {
                fputs("<form id=filters method=get action=\"/\">", f);
                write_input(f, "case", "Case", flt->case_id);
                fputs("<label>State <select name=state><option value=\"\">any</option>", f);
                for (size_t i = 0; i < sizeof states / sizeof *states; i++)
                        write_option(f, states[i], flt->state);
                fputs("</select></label>", f);
                write_input(f, "cause", "Cause", flt->cause);
                write_input(f, "kernel", "Kernel", flt->kernel);
                fputs("<button>Filter</button> <a href=\"/\">clear</a></form>\n", f);
        }
        fprintf(f, "<p id=shown>%zu job(s)%s</p>\n", total, n < total ? ", the newest shown" : "");
        fputs("<table id=jobs><thead><tr><th>Job</th><th>Case</th><th>State</th><th>Cause</th><th>Kernel</th>"
              "<th>Queued</th><th class=num>Took</th><th>Progress</th><th>Results</th></tr></thead><tbody>\n",
              f);
        for (size_t i = 0; i < n; i++) {
                json_object *j = jobs[i];
                const char *id = str(j, "id") ? str(j, "id") : "", *state = str(j, "state") ? str(j, "state") : "";
                char href[256];
                fputs("<tr class=job data-id=\"", f);
                html_write_str(f, id);
                fputs("\" data-case=\"", f);
                html_write_str(f, str(j, "case"));
                fputs("\" data-state=\"", f);
                html_write_str(f, state);
                fputs("\"><td>", f);
                snprintf(href, sizeof href, "/ui/jobs/%s", id);
                write_link(f, href, id);
                fputs("</td><td>", f);
                snprintf(href, sizeof href, "/ui/cases/%s", str(j, "case") ? str(j, "case") : "");
                write_link(f, href, str(j, "case") ? str(j, "case") : "");
                fputs("</td><td><span class=\"state ", f);
                html_write_str(f, state);
                fputs("\">", f);
                html_write_str(f, state);
                fputs("</span>", f);
                if (care_count(j))
                        fprintf(f, "<span class=care title=\"the report says what to read with care\">read with care</span>");
                fputs("</td><td>", f);
                html_write_str(f, cause_of(j) ? cause_of(j) : str(j, "error") ? str(j, "error") : "");
                fputs("</td><td><code>", f);
                html_write_str(f, str(j, "kernel") ? str(j, "kernel") : "");
                fputs("</code></td><td>", f);
                html_write_str(f, str(j, "created") ? str(j, "created") : "");
                fputs("</td><td class=num>", f);
                write_duration(f, str(j, "started") ? seconds_between(str(j, "started"), str(j, "finished")) : -1);
                fputs("</td><td>", f);
                write_progress(f, j);
                fputs("</td><td>", f);
                json_object *links = json_get(j, "links");
                if (links && json_object_is_type(links, json_type_object)) {
                        json_object_object_foreach(links, name, url) {
                                if (!strcmp(name, "self"))
                                        continue;
                                write_link(f, json_object_get_string(url), name);
                                fputs(" ", f);
                        }
                }
                fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
}

void webui_job(FILE *f, json_object *job) {
        const char *state = str(job, "state") ? str(job, "state") : "";
        fputs("<section id=summary><p><span class=\"state ", f);
        html_write_str(f, state);
        fputs("\" id=state>", f);
        html_write_str(f, state);
        fputs("</span> · case ", f);
        char href[256];
        snprintf(href, sizeof href, "/ui/cases/%s", str(job, "case") ? str(job, "case") : "");
        write_link(f, href, str(job, "case") ? str(job, "case") : "");
        fputs(" · <code>", f);
        html_write_str(f, str(job, "filename"));
        fputs("</code> · from <code>", f);
        html_write_str(f, str(job, "source"));
        fputs("</code></p>\n<p id=cause><b>", f);
        html_write_str(f, cause_of(job) ? cause_of(job) : str(job, "error") ? str(job, "error") : "no cause yet");
        fputs("</b></p><p id=progress>", f);
        write_progress(f, job);
        fputs("</p></section>\n", f);

        json_object *care = json_get(job, "read_with_care");
        if (care_count(job)) {
                fputs("<section id=care><b>Read with care</b><ul>", f);
                html_write_items(f, care);
                fputs("</ul></section>\n", f);
        }

        json_object *findings = json_get(job, "findings");
        if (findings && json_object_is_type(findings, json_type_array) && json_object_array_length(findings)) {
                fputs("<h2>Findings</h2><table id=findings><tr><th>Severity</th><th>Finding</th><th>What to do</th></tr>\n", f);
                for (size_t i = 0; i < json_object_array_length(findings); i++) {
                        json_object *fi = json_object_array_get_idx(findings, i);
                        fputs("<tr class=finding data-kind=\"", f);
                        html_write_str(f, str(fi, "kind"));
                        fputs("\">", f);
                        write_cells(f, fi, (const char *const[]) { "severity", "summary", "recommendation", NULL });
                        fputs("</tr>\n", f);
                }
                fputs("</table>\n", f);
        }
        fputs("<h2>Stages</h2><table id=stages><tr><th>Stage</th><th>State</th><th>Started</th><th class=num>Seconds</th>"
              "<th>Error</th></tr>\n",
              f);
        json_object *stages = json_get(job, "stages");
        if (stages && json_object_is_type(stages, json_type_object)) {
                json_object_object_foreach(stages, name, v) {
                        fputs("<tr data-stage=\"", f);
                        html_write_str(f, name);
                        fputs("\"><td>", f);
                        html_write_str(f, name);
                        fputs("</td>", f);
                        write_cells(f, v, (const char *const[]) { "state", "start", NULL });
                        fputs("<td class=num>", f);
                        if (json_get(v, "seconds"))
                                fprintf(f, "%.2f", json_object_get_double(json_get(v, "seconds")));
                        else if (str(v, "start"))
                                write_duration(f, seconds_between(str(v, "start"), NULL));
                        fputs("</td><td>", f);
                        html_write_str(f, str(v, "error") ? str(v, "error") : "");
                        fputs("</td></tr>\n", f);
                }
        }
        fputs("</table>\n<h2>Posts</h2><table id=posts><tr><th>Post</th><th>Delivery</th></tr>\n", f);
        json_object *posted = json_get(job, "posted");
        if (!posted || !json_object_is_type(posted, json_type_object) || !json_object_object_length(posted))
                fputs("<tr><td colspan=2 class=muted>nothing posted yet</td></tr>\n", f);
        else {
                json_object_object_foreach(posted, kind, v) {
                        fputs("<tr><td>", f);
                        html_write_str(f, kind);
                        fputs("</td><td><code>", f);
                        html_write_str(f, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                        fputs("</code></td></tr>\n", f);
                }
        }
        fputs("</table>\n<h2>Files</h2><ul id=files>", f);
        json_object *links = json_get(job, "links");
        if (links && json_object_is_type(links, json_type_object)) {
                json_object_object_foreach(links, name, url) {
                        fputs("<li>", f);
                        write_link(f, json_object_get_string(url), strcmp(name, "self") ? name : "the job as JSON");
                        fputs("</li>", f);
                }
        }
        fputs("</ul>\n", f);
}

void webui_daemon(FILE *f, json_object *facts) {
        fputs("<section><table id=facts>", f);
        json_object_object_foreach(facts, key, v) {
                fputs("<tr><th>", f);
                for (const char *k = key; *k; k++) /* the key is ours: words joined by '_' */
                        fputc(*k == '_' ? ' ' : *k, f);
                fputs("</th><td id=\"fact-", f);
                html_write_str(f, key);
                fputs("\">", f);
                html_write_str(f, json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                           : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                fputs("</td></tr>\n", f);
        }
        fputs("</table></section>\n", f);
}
