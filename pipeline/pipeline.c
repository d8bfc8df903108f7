/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The analysis stage machine for one upload.
 * Each stage records its start, end and error in job.json before the next begins. */

/* A stage's start and end are recorded in job.json as they happen. When that write fails (the
 * disk full), the stage runs on and is simply run again on a resume, so those results are
 * dropped with (void); what a later stage or a resume relies on (a stage's findings, the
 * fetched file, the final state) is checked. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "common/shown.h"
#include "pipeline/identify/dumpfile.h"
#include "pipeline/crash/crash.h"
#include "pipeline/firstlook.h"
#include "pipeline/pipeline.h"
#include "pipeline/report/report.h"
#include "pipeline/storage/storage.h"
#include "pipeline/symbols/symbols.h"
#include "pipeline/triage/triage.h"
#include "pipeline/unpack.h"

struct found {
        char *path;  /* relative to the job folder: dump/… */
        struct dump_info *info;
};

struct scan {
        struct found *dumps, *logs;
        size_t n_dumps, n_logs, n_other;
        char other_names[256];
        char damaged[512];
};

static void scan_free(struct scan *s) {
        for (size_t i = 0; i < s->n_dumps; i++) {
                free(s->dumps[i].path);
                dump_info_free(s->dumps[i].info);
        }
        for (size_t i = 0; i < s->n_logs; i++) {
                free(s->logs[i].path);
                dump_info_free(s->logs[i].info);
        }
        free(s->dumps);
        free(s->logs);
        memset(s, 0, sizeof *s);
}

static int push(struct found **v, size_t *n, const char *path, struct dump_info *info) {
        struct found *nv = realloc(*v, (*n + 1) * sizeof **v);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n].path = strdup(path);
        nv[*n].info = info;
        if (!nv[*n].path)
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int cmp_found(const void *a, const void *b) {
        return strcmp(((const struct found *) a)->path, ((const struct found *) b)->path);
}

/* Identifies every file under dir (relative names from base), by content. */
static int scan_tree(struct job *j, const char *base, const char *rel, struct scan *s) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", base, rel);
        DIR *d = opendir(dir);
        int r = 0;
        if (!d)
                return -errno;
        for (struct dirent *e; r == 0 && (e = readdir(d));) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char relpath[PATH_MAX], full[PATH_MAX];
                struct stat st;
                snprintf(relpath, sizeof relpath, "%s/%s", rel, e->d_name);
                snprintf(full, sizeof full, "%s/%s", base, relpath);
                if (lstat(full, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = scan_tree(j, base, relpath, s);
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                struct dump_info *info = NULL;
                char reason[256];
                int q = dumpfile_identify(full, NULL, &info, reason, sizeof reason);
                if (q == 0 && info->format == DUMP_FORMAT_DMESG) {
                        job_log(j, "identify: '%s' is a kernel log (%s)", relpath, info->release[0] ? info->release : "release unknown");
                        r = push(&s->logs, &s->n_logs, relpath, info);
                } else if (q == 0) {
                        job_log(j, "identify: '%s' is a %s%s dump of %s%s", relpath, info->flattened ? "flattened " : "",
                                dump_format_to_string(info->format), info->release,
                                info->complete == DUMP_COMPLETE_NO ? " (incomplete)" : "");
                        r = push(&s->dumps, &s->n_dumps, relpath, info);
                } else {
                        job_log(j, "identify: '%s' is not used: %s", relpath, reason);
                        if (q == DUMPFILE_EDAMAGED && !s->damaged[0])
                                snprintf(s->damaged, sizeof s->damaged, "'%s' is a damaged dump: %s", relpath, reason);
                        size_t o = strlen(s->other_names);
                        if (s->n_other < 5 && o + strlen(relpath) + 3 < sizeof s->other_names)
                                snprintf(s->other_names + o, sizeof s->other_names - o, "%s%s", o ? ", " : "", relpath);
                        s->n_other++;
                }
        }
        closedir(d);
        if (r == 0 && s->n_dumps > 1)
                qsort(s->dumps, s->n_dumps, sizeof *s->dumps, cmp_found);
        if (r == 0 && s->n_logs > 1)
                qsort(s->logs, s->n_logs, sizeof *s->logs, cmp_found);
        return r;
}

/* Rewrites flattened dumps as plain kdump files, which crash reads far faster. */
static int reassemble_flattened(struct job *j, struct scan *s, char *err, size_t err_size) {
        for (size_t i = 0; i < s->n_dumps; i++) {
                if (!s->dumps[i].info->flattened)
                        continue;
                char in[PATH_MAX], out[PATH_MAX], rel[PATH_MAX];
                snprintf(in, sizeof in, "%s/%s", job_dir(j), s->dumps[i].path);
                snprintf(rel, sizeof rel, "%s.kdump", s->dumps[i].path);
                snprintf(out, sizeof out, "%s/%s", job_dir(j), rel);
                job_log(j, "reassembling flattened '%s' into '%s'", s->dumps[i].path, rel);
                int r = unpack_reassemble_flattened(in, out, err, err_size);
                if (r < 0)
                        return r;
                (void) unlink(in); /* the stream, once reassembled: disk space only */
                struct dump_info *info = NULL;
                char reason[256];
                r = dumpfile_identify(out, NULL, &info, reason, sizeof reason);
                if (r < 0) {
                        snprintf(err, err_size, "the reassembled '%s' cannot be read: %s", rel, reason);
                        return r;
                }
                /* keep what only the flattened form told (QEMU leaves fields the stream's
                 * reading filled in), and remember the upload was flattened */
                info->flattened = true;
                dump_info_free(s->dumps[i].info);
                s->dumps[i].info = info;
                free(s->dumps[i].path);
                s->dumps[i].path = strdup(rel);
                if (!s->dumps[i].path)
                        return -ENOMEM;
        }
        return 0;
}

/* The kernel log: read by makedumpfile from the dump, else an uploaded dmesg of the same kernel. */
static int first_look(struct job *j, const struct found *dump, const struct scan *s, const struct rules *rules,
                      json_object *rule_errors, char *err, size_t err_size) {
        const struct config *cfg = job_config(j);
        const struct dump_info *info = dump->info;
        char vmcore[PATH_MAX], out[PATH_MAX], part[PATH_MAX], source[PATH_MAX + 64] = "", log_file[PATH_MAX] = "";
        char *log = NULL;
        size_t log_len = 0;
        int r;

        snprintf(vmcore, sizeof vmcore, "%s/vmcore", job_dir(j));
        snprintf(out, sizeof out, "%s/dmesg.txt", job_dir(j));
        snprintf(part, sizeof part, "%s/dmesg.txt.part", job_dir(j));
        if (info->vmcoreinfo) {
                const char *argv[] = { config_string(cfg, CONF_MAKEDUMPFILE), "--dump-dmesg", vmcore, part, NULL };
                struct subprocess_opts o = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1,
                                             .timeout_ms = config_u64(cfg, CONF_COMMAND_TIMEOUT) * 1000 };
                struct subprocess_result res;
                (void) unlink(part); /* a .part file is never taken for a whole one */
                r = job_run_command(j, &o, &res);
                if (r == 0 && res.status == 0 && rename(part, out) == 0 && read_file_max(out, 256u << 20, &log, &log_len) == 0) {
                        snprintf(source, sizeof source, "makedumpfile --dump-dmesg");
                        snprintf(log_file, sizeof log_file, "dmesg.txt");
                }
                else
                        (void) unlink(part); /* a .part file is never taken for a whole one */
                if (r == 0)
                        subprocess_result_clear(&res);
        }
        for (size_t i = 0; !log && i < s->n_logs; i++) {
                const struct dump_info *li = s->logs[i].info;
                if (li->release[0] && info->release[0] && strcmp(li->release, info->release) != 0)
                        continue;
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", job_dir(j), s->logs[i].path);
                if (read_file_max(path, 256u << 20, &log, &log_len) == 0) {
                        snprintf(source, sizeof source, "%s (uploaded)", s->logs[i].path);
                        snprintf(log_file, sizeof log_file, "%s", s->logs[i].path);
                }
        }

        struct firstlook f;
        firstlook_parse(log ? log : "", log_len, &f);
        FILE *txt = NULL;
        char *text = NULL;
        size_t text_len = 0;
        txt = open_memstream(&text, &text_len);
        if (!txt) {
                free(log);
                return -ENOMEM;
        }
        char when[64] = "unknown";
        if (info->has_crash_time)
                clock_format_utc(info->crash_time, false, when, sizeof when);
        fprintf(txt, "hotkdump first look: case %s, job %u\n\n", job_case(j), job_number(j));
        fprintf(txt, "dump:        %s (%s%s%s%s)\n", dump->path, info->flattened ? "flattened upload, " : "",
                dump_format_to_string(info->format), info->page_compression[0] ? ", " : "", info->page_compression);
        fprintf(txt, "kernel:      %s %s\n", info->release[0] ? info->release : "unknown", info->version);
        fprintf(txt, "arch:        %s\n", info->arch[0] ? info->arch : "unknown");
        fprintf(txt, "build-id:    %s\n", info->build_id[0] ? info->build_id : "unknown");
        fprintf(txt, "crash time:  %s\n", when);
        if (info->complete == DUMP_COMPLETE_NO)
                fprintf(txt, "WARNING:     the dump is incomplete: %s\n", info->complete_reason);
        fprintf(txt, "panic:       %s\n", f.panic_line[0] ? f.panic_line : log ? "no panic or oops line in the log" : "unknown");
        if (f.pid >= 0)
                fprintf(txt, "task:        %s (PID %d) on CPU %d%s%s\n", f.task, f.pid, f.cpu, f.tainted[0] ? ", " : "",
                        f.tainted);
        fprintf(txt, "kernel log:  %s\n", log ? source : "not available (makedumpfile could not read it and no dmesg was uploaded)");
        if (log) {
                fprintf(txt, "\nLast lines of the kernel log:\n\n");
                fputs(firstlook_tail(log, log_len, 60), txt);
                if (log_len && log[log_len - 1] != '\n')
                        fputc('\n', txt);
        }
        if (fclose(txt) != 0) {
                free(text);
                free(log);
                return -ENOMEM;
        }
        r = write_file_atomic(job_dir(j), "first-look.txt", text, text_len);
        free(text);
        if (r < 0) {
                free(log);
                snprintf(err, err_size, "cannot write first-look.txt: %s", strerror(-r));
                return r;
        }

        json_object *fl = firstlook_to_json(&f);
        json_object_object_add(fl, "log_source", log ? json_object_new_string(source) : NULL);
        json_object_object_add(fl, "log_file", log ? json_object_new_string(log_file) : NULL);
        json_object_object_add(fl, "release", info->release[0] ? json_object_new_string(info->release) : NULL);
        char iso[32];
        clock_format_utc(info->crash_time, true, iso, sizeof iso);
        json_object_object_add(fl, "crash_time", info->has_crash_time ? json_object_new_string(iso) : NULL);
        r = job_set(j, JOB_FIRST_LOOK, fl);
        if (r == 0)
                r = triage_job(j, rules, rule_errors, log, log_len, info->vmcoreinfo, info->vmcoreinfo_len, "first look");
        free(log);
        if (r < 0) {
                snprintf(err, err_size, "cannot record the first look: %s", strerror(-r));
                return r;
        }
        /* an early report: what the log alone says, before symbols and crash */
        return report_write(j, err, err_size);
}

/* The debug symbols of the dump, for the modules its log names too. The entry stays locked
 * (sym->lock_fd) while crash uses it. */
static int find_symbols(struct job *j, const struct found *dump, const char *debug_file, struct symbols_query *ret_q,
                        struct symbols_result *sym, char *err, size_t err_size) {
        const struct dump_info *info = dump->info;
        struct symbols_query q = { 0 };
        char path[PATH_MAX], *log = NULL;
        size_t len = 0;

        snprintf(q.release, sizeof q.release, "%s", info->release);
        snprintf(q.version, sizeof q.version, "%s", info->version);
        snprintf(q.arch, sizeof q.arch, "%s", info->arch[0] ? info->arch : "x86_64");
        snprintf(q.build_id, sizeof q.build_id, "%s", info->build_id);
        snprintf(q.vmcore, sizeof q.vmcore, "%s/vmcore", job_dir(j));
        snprintf(path, sizeof path, "%s/dmesg.txt", job_dir(j));
        if (read_file_max(path, 256u << 20, &log, &len) == 0) {
                q.modules = symbols_modules_from_log(log, len);
                free(log);
        }
        int r = symbols_find(job_config(j), &q, debug_file, j, sym, err, err_size);
        symbols_strv_free(q.modules);
        q.modules = NULL;
        *ret_q = q;
        if (r < 0)
                return r;
        job_log(j, "symbols: %s (from %s)", sym->vmlinux, sym->source);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "vmlinux", json_object_new_string(sym->vmlinux));
        json_object_object_add(o, "modules", sym->modules_found ? json_object_new_string(sym->modules) : NULL);
        char shown[sizeof sym->source + 64];
        json_object_object_add(o, "source", json_object_new_string(shown_text(sym->source, shown, sizeof shown, false)));
        return job_set(j, JOB_SYMBOLS, o);
}

struct modules_ctx {
        struct job *job;
        const struct symbols_query *q;
        struct symbols_result *sym;
};

/* The modules crash found loaded: their debug files, when the package has them. */
static int want_modules(void *userdata, char **names) {
        struct modules_ctx *m = userdata;
        char err[2048];
        /* what each package said is in the log already */
        return symbols_add_modules(job_config(m->job), m->q, m->job, m->sym, names, err, sizeof err);
}

static int run_crash(struct job *j, const struct symbols_query *q, struct symbols_result *sym, char *err,
                     size_t err_size) {
        const struct config *cfg = job_config(j);
        const char *set_path = config_string(cfg, CONF_CRASH_COMMANDS);
        struct crash_cmdset set;
        char vmcore[PATH_MAX];
        int r = crash_cmdset_load(set_path, &set, err, err_size);
        if (r == -ENOENT && !strcmp(set_path, HOTKDUMP_CONFDIR "/crash-commands")) {
                job_log(j, "%s is not there: using the built-in command set", set_path);
                r = crash_cmdset_parse(crash_cmdset_builtin, strlen(crash_cmdset_builtin), "built-in crash-commands", &set,
                                       err, err_size);
        }
        if (r < 0)
                return r;
        snprintf(vmcore, sizeof vmcore, "%s/vmcore", job_dir(j));
        bool fallback = false;
        char **builds = NULL;
        r = crash_binaries(cfg, &builds, &fallback);
        if (r < 0) {
                crash_cmdset_clear(&set);
                return log_reason(err, err_size, r, "crash.binary names no crash build (%s)", config_string(cfg, CONF_CRASH_BINARY));
        }
        struct crash_opts o = {
                .binary = builds[0],
                .binaries = (const char *const *) builds,
                .vmlinux = sym->vmlinux,
                .vmcore = vmcore,
                .pykdump = config_string(cfg, CONF_CRASH_PYKDUMP),
                .dir = job_dir(j),
                .open_timeout_ms = config_u64(cfg, CONF_CRASH_OPEN_TIMEOUT) * 1000,
                .command_timeout_ms = config_u64(cfg, CONF_CRASH_COMMAND_TIMEOUT) * 1000,
                .total_timeout_ms = config_u64(cfg, CONF_CRASH_TIMEOUT) * 1000,
                .max_output = (size_t) config_u64(cfg, CONF_CRASH_MAX_OUTPUT),
        };
        struct modules_ctx mc = { .job = j, .q = q, .sym = sym };
        o.want_modules = want_modules;
        o.userdata = &mc;
        o.modules_dir = sym->modules; /* filled in by want_modules() when it was not there yet */
        if (fallback)
                job_log(j, "%s is not there (scripts/build-crash makes it): using crash from PATH", CRASH_DEFAULT);
        json_object *crec = NULL;
        r = crash_run(j, &o, &set, &crec, err, err_size);
        crash_cmdset_clear(&set);
        crash_binaries_free(builds);
        json_object *old = crec ? json_get(crec, "too_old") : NULL;
        if (r == 0 && old) {
                /* its answers are there, but may be wrong: never a green "done" */
                json_object *lines = json_get(old, "lines");
                const char *first = lines && json_object_array_length(lines)
                                            ? json_object_get_string(json_object_array_get_idx(lines, 0)) : "";
                const char *version = json_path_text(old, "version");
                r = log_reason(err, err_size, -ENODATA, "crash %s is too old for kernel %s: it reported \"%s\"",
                               version ? version : "?", q->release[0] ? q->release : "?", first);
        }
        if (crec) {
                int w = job_set(j, JOB_CRASH, crec);
                if (r == 0)
                        r = w;
        }
        return r;
}

static int add_dir(struct pipeline_result *res, const char *dir) {
        char **v = realloc(res->dirs, (res->n_dirs + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        res->dirs = v;
        v[res->n_dirs] = strdup(dir);
        if (!v[res->n_dirs])
                return -ENOMEM;
        res->n_dirs++;
        return 0;
}

static int classify(int r) {
        switch (r) {
        case -EPERM:
        case -EINVAL:
        case -EPROTONOSUPPORT:
        case -ENOEXEC:
        case -EFBIG:
                return PIPELINE_EINPUT;
        case -EBADMSG:
                return PIPELINE_EDAMAGED;
        case -ENOSPC:
        case -EDQUOT:
                return PIPELINE_ENOSPACE;
        case -ENOENT:
        case -EACCES:
        case -EIO:
        case -EISDIR:
                return PIPELINE_EFETCH;
        default:
                return PIPELINE_EINTERNAL;
        }
}

/* Everything after the upload is unpacked, for one dump in its own job folder. Returns 0,
 * 1 when the report was written but crash gave nothing useful (err says why), or -errno. */
static void post(const struct pipeline_request *req, struct job *j, const char *kind) {
        if (req->on_post)
                req->on_post(req->userdata, job_dir(j), kind);
}

/* The end of a job, then its post: what failed, or what was found. */
static void finish(const struct pipeline_request *req, struct job *j, int r, const char *error) {
        (void) job_finish(j, r, error); /* its folder has the log; the caller has r */
        post(req, j, r < 0 ? "failed" : "full");
}

static int analyze_dump(struct job *j, const struct found *dump, const struct scan *s, const char *link_from,
                        const struct pipeline_request *req, char *err, size_t err_size) {
        enum job_stage stop_after = req->stop_after;
        char vmcore[PATH_MAX], why[1024] = "";
        struct symbols_result sym = { .lock_fd = -1 };
        struct symbols_query q = { 0 };
        int r;

        snprintf(vmcore, sizeof vmcore, "%s/vmcore", job_dir(j));
        (void) job_stage_begin(j, STAGE_IDENTIFY);
        (void) unlink(vmcore); /* the link is made again below; making it fails if this did */
        if (link_from)
                r = link(link_from, vmcore) < 0 ? -errno : 0; /* a sibling: its own name for the file */
        else
                r = symlink(dump->path, vmcore) < 0 ? -errno : 0;
        if (r < 0) {
                snprintf(err, err_size, "cannot make '%s': %s", vmcore, strerror(-r));
                (void) job_stage_end(j, STAGE_IDENTIFY, r, err);
                return r;
        }
        r = job_set(j, JOB_IDENTITY, dump_info_to_json(dump->path, dump->info));
        (void) job_stage_end(j, STAGE_IDENTIFY, r, NULL);
        if (r < 0 || stop_after < STAGE_FIRSTLOOK)
                return r;
        /* the rules as they are now: a rule file added since the last job counts */
        struct rules *rules = NULL;
        json_object *rule_errors = json_object_new_array();
        r = rule_errors ? rules_load(config_string(job_config(j), CONF_TRIAGE_RULES_DIR),
                                     config_u64(job_config(j), CONF_TRIAGE_MATCH_LIMIT), &rules, rule_errors)
                        : -ENOMEM;
        if (r < 0) {
                json_object_put(rule_errors);
                snprintf(err, err_size, "cannot load the triage rules: %s", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < json_object_array_length(rule_errors); i++)
                job_log(j, "triage rules: %s", json_object_get_string(json_object_array_get_idx(rule_errors, i)));
        (void) job_stage_begin(j, STAGE_FIRSTLOOK);
        r = first_look(j, dump, s, rules, rule_errors, err, err_size);
        (void) job_stage_end(j, STAGE_FIRSTLOOK, r, err);
        if (r == 0 && stop_after >= STAGE_SYMBOLS)
                post(req, j, "early");
        if (r < 0 || stop_after < STAGE_SYMBOLS) {
                rules_free(rules);
                json_object_put(rule_errors);
                return r;
        }

        /* From here a failure still leaves a report: what the first look found, and why
         * the rest is missing. */
        (void) job_stage_begin(j, STAGE_SYMBOLS);
        int rs = find_symbols(j, dump, req->debug_file, &q, &sym, why, sizeof why);
        (void) job_stage_end(j, STAGE_SYMBOLS, rs, why);
        int rc = rs;
        if (rs == 0 && stop_after >= STAGE_CRASH) {
                (void) job_stage_begin(j, STAGE_CRASH);
                rc = run_crash(j, &q, &sym, why, sizeof why);
                (void) job_stage_end(j, STAGE_CRASH, rc, why);
        }
        /* with the symbols, whatever crash made of the dump; a view that cannot be had is said
         * in the report, and is not the job's failure */
        if (rs == 0 && rc != -ENOMEM && stop_after >= STAGE_STORAGE) {
                char swhy[512] = "";
                (void) job_stage_begin(j, STAGE_STORAGE);
                int rv = storage_run(j, &sym, swhy, sizeof swhy);
                (void) job_stage_end(j, STAGE_STORAGE, rv, swhy);
                if (rv < 0 && rc >= 0) {
                        snprintf(why, sizeof why, "%s", swhy);
                        rc = rv;
                }
        }
        if (sym.lock_fd >= 0)
                close(sym.lock_fd);
        /* crash's answers (backtraces, memory, tasks) and the storage view make the second
         * triage richer */
        if ((job_record_get(job_record(j), JOB_CRASH) || job_record_get(job_record(j), JOB_STORAGE)) && rc != -ENOMEM) {
                int rt = triage_job(j, rules, rule_errors, NULL, 0, dump->info->vmcoreinfo, dump->info->vmcoreinfo_len,
                                    "crash");
                if (rt < 0 && rc >= 0) {
                        snprintf(why, sizeof why, "cannot record the findings: %s", strerror(-rt));
                        rc = rt;
                }
        }
        rules_free(rules);
        json_object_put(rule_errors);
        if (rc < 0)
                snprintf(err, err_size, "%s", why);
        /* stopped early, the stage's failure is the job's; out of memory is never "incomplete" */
        if (stop_after < STAGE_REPORT || rc == -ENOMEM)
                return rc < 0 ? rc : 0;
        (void) job_stage_begin(j, STAGE_REPORT);
        r = job_set(j, JOB_STATE, json_object_new_string(job_state_to_string(rc < 0 ? JOB_INCOMPLETE : JOB_DONE)));
        if (r == 0)
                r = report_write(j, why, sizeof why);
        (void) job_stage_end(j, STAGE_REPORT, r, why);
        if (r < 0) {
                snprintf(err, err_size, "%s", why);
                return r;
        }
        return rc < 0 ? 1 : 0;
}

/* A job found finished when the daemon restarts: what it recorded, nothing run again. */
static int recorded_result(struct job *j, struct pipeline_result *res) {
        enum job_state state = job_state(j);
        json_object *rec = job_record(j);
        if (state == JOB_DONE)
                return 0;
        if (job_record_string(rec, JOB_ERROR))
                snprintf(res->error, sizeof res->error, "%s", job_record_string(rec, JOB_ERROR));
        if (state == JOB_INCOMPLETE) {
                res->error_class = PIPELINE_EINCOMPLETE;
                return 1;
        }
        res->error_class = (int) job_record_int(rec, JOB_ERROR_CLASS, PIPELINE_EINTERNAL);
        return -EIO;
}

/* The id a further dump of the upload carries in its folder: the job's, and the dump's path. */
static void sibling_id(const char *queue_id, const char *path, char *buf, size_t size) {
        snprintf(buf, size, "%s:%s", queue_id, path);
}

/* Whether a further dump of the upload has no folder yet or one not finished. */
static bool siblings_pending(struct job *j, const char *queue_id) {
        json_object *dumps = job_record_get(job_record(j), JOB_DUMPS);
        if (!queue_id || !dumps || !json_object_is_type(dumps, json_type_array))
                return false;
        for (size_t i = 1; i < json_object_array_length(dumps); i++) {
                char id[PATH_MAX + 64], *dir = NULL;
                bool pending = true;
                sibling_id(queue_id, json_object_get_string(json_object_array_get_idx(dumps, i)), id, sizeof id);
                bool finished = false;
                if (job_find(job_config(j), job_case(j), id, &dir, &finished) == 0)
                        pending = !finished;
                free(dir);
                if (pending)
                        return true;
        }
        return false;
}

/* The upload, fetched into input/: again only when the last run did not finish fetching it. */
static int stage_fetch(struct job *j, const struct fetch_request *req, char **ret_input, char *err, size_t err_size) {
        json_object *in;
        int r;
        if (job_stage_done(j, STAGE_UNPACK)) {
                /* unpacked before the restart: input/ has gone, and is not needed */
                job_log(j, "stage fetch: done before the restart");
                *ret_input = NULL;
                return 0;
        }
        if (job_stage_done(j, STAGE_FETCH) && (in = job_record_get(job_record(j), JOB_INPUT))) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", job_dir(j), json_object_get_string(in));
                if (access(path, F_OK) == 0) {
                        job_log(j, "stage fetch: done before the restart ('%s')", json_object_get_string(in));
                        *ret_input = strdup(path);
                        return *ret_input ? 0 : -ENOMEM;
                }
        }
        (void) job_stage_begin(j, STAGE_FETCH);
        r = fetch_run(j, req, ret_input, err, err_size);
        if (r == 0) {
                /* where it is, before the stage counts as done */
                const char *rel = *ret_input + strlen(job_dir(j)) + 1;
                struct stat st;
                if (stat(*ret_input, &st) == 0)
                        json_object_object_add(job_record(j), job_field_name(JOB_INPUT_BYTES),
                                               json_object_new_int64((int64_t) st.st_size));
                r = job_set(j, JOB_INPUT, json_object_new_string(rel));
                if (r < 0)
                        snprintf(err, err_size, "cannot record the fetched file: %s", strerror(-r));
        }
        (void) job_stage_end(j, STAGE_FETCH, r, err);
        return r;
}

/* input/ unpacked into dump/, and the files there identified. A restart after the stage ended
 * only identifies them again; one in the middle of it starts over from input/. */
static int stage_unpack(struct job *j, const char *input, struct scan *s, char *err, size_t err_size) {
        const struct config *cfg = job_config(j);
        char dest[PATH_MAX];
        bool again = job_stage_done(j, STAGE_UNPACK);
        int r = 0;

        snprintf(dest, sizeof dest, "%s/dump", job_dir(j));
        if (!again) {
                (void) job_stage_begin(j, STAGE_UNPACK);
                r = remove_tree_via_trash(dest); /* what a run stopped in the middle left */
                struct unpack_stats st;
                if (r == 0)
                        r = unpack_run(j, input, dest, &st, err, err_size);
                else
                        snprintf(err, err_size, "cannot remove the part unpacked before: %s", strerror(-r));
                if (r == 0)
                        job_log(j, "unpacked %llu entries, %llu bytes from %u archive(s)", (unsigned long long) st.entries,
                                (unsigned long long) st.bytes_out, st.archives);
        } else
                job_log(j, "stage unpack: done before the restart");
        if (r == 0) {
                r = scan_tree(j, job_dir(j), "dump", s);
                if (r < 0)
                        snprintf(err, err_size, "cannot read the unpacked files: %s", strerror(-r));
        }
        if (r == 0)
                r = reassemble_flattened(j, s, err, err_size);
        if (again)
                return r;
        (void) job_stage_end(j, STAGE_UNPACK, r, err);
        /* only now: until the stage is recorded done, a restart unpacks input/ again */
        if (r == 0 && input && !config_bool(cfg, CONF_KEEP_INPUT)) {
                char in_dir[PATH_MAX];
                snprintf(in_dir, sizeof in_dir, "%s/input", job_dir(j));
                /* disk space only: a restart after the unpack does not read input/ */
                (void) unlink(input);
                (void) rmdir(in_dir);
        }
        return r;
}

int pipeline_run(const struct config *cfg, const struct pipeline_request *preq, struct pipeline_result *res) {
        const struct fetch_request *req = preq->fetch;
        const char *case_id = preq->case_id;
        enum job_stage stop_after = preq->stop_after;
        struct job *j = NULL;
        struct scan s = { 0 };
        char *input = NULL, err[512] = "";
        bool first_done = false;
        int r, recorded = 0;

        memset(res, 0, sizeof *res);
        if (preq->job_dir)
                r = job_open(cfg, preq->job_dir, &j, err, sizeof err);
        else
                r = job_new(cfg, case_id, req->source, preq->queue_id, &j, err, sizeof err);
        if (r < 0) {
                snprintf(res->error, sizeof res->error, "%s", err);
                res->error_class = r == -EINVAL ? PIPELINE_EINPUT : PIPELINE_EINTERNAL;
                return r;
        }
        r = add_dir(res, job_dir(j));
        if (r < 0)
                goto done;
        /* the upload's first dump finished before a restart: nothing to do, unless a further
         * dump of it was still waiting or being analysed */
        first_done = job_state(j) != JOB_RUNNING;
        if (first_done)
                recorded = recorded_result(j, res);
        if (first_done && !siblings_pending(j, preq->queue_id)) {
                /* again, in case the last run ended before its post was in the outbox */
                post(preq, j, job_state(j) != JOB_FAILED ? "full" : "failed");
                job_free(j);
                return recorded;
        }

        r = stage_fetch(j, req, &input, err, sizeof err);
        if (r < 0 || stop_after == STAGE_FETCH)
                goto done;
        r = stage_unpack(j, input, &s, err, sizeof err);
        if (r < 0 || stop_after == STAGE_UNPACK)
                goto done;

        if (s.n_dumps == 0) {
                if (s.damaged[0])
                        snprintf(err, sizeof err, "%s", s.damaged), r = -EBADMSG;
                else
                        snprintf(err, sizeof err, "no kernel dump in the upload (%zu kernel log(s), %zu other file(s)%s%s)",
                                 s.n_logs, s.n_other, s.n_other ? ": " : "", s.other_names), r = -ENOEXEC;
                (void) job_stage_begin(j, STAGE_IDENTIFY);
                (void) job_stage_end(j, STAGE_IDENTIFY, r, err);
                goto done;
        }
        json_object *list = json_object_new_array();
        for (size_t i = 0; i < s.n_dumps; i++)
                json_object_array_add(list, json_object_new_string(s.dumps[i].path));
        (void) job_set(j, JOB_DUMPS, list); /* without it a restart lists the dumps again */

        if (first_done)
                r = recorded < 0 ? -EIO : 0; /* its error stays in res */
        else
                r = analyze_dump(j, &s.dumps[0], &s, NULL, preq, err, sizeof err);
        /* one more job per further dump, so that each is analysed and reported on its own */
        for (size_t i = 1; i < s.n_dumps && r >= 0; i++) {
                struct job *sib = NULL;
                char src[PATH_MAX + 64], from[PATH_MAX], serr[512] = "", sib_id[PATH_MAX + 64], *sib_dir = NULL;
                const char *qid = NULL;
                snprintf(src, sizeof src, "%s/%u:%s", job_case(j), job_number(j), s.dumps[i].path);
                snprintf(from, sizeof from, "%s/%s", job_dir(j), s.dumps[i].path);
                if (preq->queue_id) {
                        /* a restart finds the sibling made before it, instead of making another */
                        sibling_id(preq->queue_id, s.dumps[i].path, sib_id, sizeof sib_id);
                        qid = sib_id;
                }
                int q = qid && job_find(cfg, job_case(j), qid, &sib_dir, NULL) == 0
                                ? job_open(cfg, sib_dir, &sib, serr, sizeof serr)
                                : job_new_sibling(j, src, qid, &sib, serr, sizeof serr);
                free(sib_dir);
                if (q == 0) {
                        job_log(j, "dump '%s' goes to job %s/%u", s.dumps[i].path, job_case(j), job_number(sib));
                        add_dir(res, job_dir(sib));
                        if (job_state(sib) == JOB_RUNNING) {
                                q = analyze_dump(sib, &s.dumps[i], &s, from, preq, serr, sizeof serr);
                                finish(preq, sib, q, serr);
                        }
                        job_free(sib);
                }
                if (q < 0)
                        job_log(j, "dump '%s': %s", s.dumps[i].path, serr);
        }
done:
        if (first_done) {
                /* what the first dump recorded stands; its siblings are done now */
                job_free(j);
                scan_free(&s);
                free(input);
                return recorded;
        }
        if (r < 0) {
                res->error_class = classify(r);
                snprintf(res->error, sizeof res->error, "%s", err[0] ? err : strerror(-r));
        } else if (r > 0) {
                res->error_class = PIPELINE_EINCOMPLETE;
                snprintf(res->error, sizeof res->error, "the analysis is incomplete: %s", err);
        }
        if (r < 0 && res->error_class == PIPELINE_ENOSPACE && preq->resume_on_full_disk) {
                /* not a failure of the job: it goes on where it stopped when there is room */
                job_log(j, "stopped: %s; the job goes on when the disk has room", res->error);
                job_free(j);
                scan_free(&s);
                free(input);
                return r;
        }
        if (r < 0) /* lost with a full disk, a resume classifies the failure again */
                (void) job_set(j, JOB_ERROR_CLASS, json_object_new_int(res->error_class));
        finish(preq, j, r, res->error);
        job_free(j);
        scan_free(&s);
        free(input);
        return r;
}

void pipeline_result_clear(struct pipeline_result *r) {
        for (size_t i = 0; i < r->n_dirs; i++)
                free(r->dirs[i]);
        free(r->dirs);
        memset(r, 0, sizeof *r);
}
