/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The storage stage. drgn reads the dump's structures by their debug types, which is what this
 * view needs (idr walks, lists of paths, per-CPU counters, request tags) and what crash's batch
 * mode would make us parse back out of `struct` dumps, kernel by kernel; the script it runs is
 * ours and built in, and what it prints is checked here as untrusted: it comes from a dump. */

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "casefolder/job.h"
#include "casefolder/record.h"
#include "common/config.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/subprocess.h"
#include "pipeline/storage/storage.h"
#include "pipeline/symbols/symbols.h"

#define STR_MAX 256
#define ITEMS_MAX 4096
/* the deepest a view nests: view.device_mapper.devices[].table[].path_groups[].paths[].dev */
#define DEPTH_MAX 12
#define MODULES_MAX 4096

/* ---- the view, checked --------------------------------------------------------------------- */

/* A copy of o with strings made printable and clipped, arrays and depth bounded, keys of
 * [a-z0-9_] only; NULL for what has no place in a view. */
static json_object *clean(json_object *o, int depth) {
        if (!o || depth > DEPTH_MAX)
                return NULL;
        switch (json_object_get_type(o)) {
        case json_type_boolean:
                return json_object_new_boolean(json_object_get_boolean(o));
        case json_type_int:
                return json_object_new_int64(json_object_get_int64(o));
        case json_type_double:
                return json_object_new_double(json_object_get_double(o));
        case json_type_string: {
                char buf[STR_MAX + 1];
                const char *s = json_object_get_string(o);
                size_t n = 0;
                for (; s[n] && n < STR_MAX; n++)
                        buf[n] = (unsigned char) s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
                buf[n] = 0;
                return json_object_new_string(buf);
        }
        case json_type_array: {
                json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < json_object_array_length(o) && i < ITEMS_MAX; i++) {
                        json_object *v = clean(json_object_array_get_idx(o, i), depth + 1);
                        if (v)
                                json_object_array_add(a, v);
                }
                return a;
        }
        case json_type_object: {
                json_object *c = json_object_new_object();
                size_t n = 0;
                json_object_object_foreach(o, key, v) {
                        if (!c || n++ >= ITEMS_MAX || strlen(key) > 32 || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key))
                                continue;
                        json_object *cv = clean(v, depth + 1);
                        if (cv)
                                json_object_object_add(c, key, cv);
                }
                return c;
        }
        default:
                return NULL;
        }
}

static bool is(json_object *o, const char *key, json_type t) {
        json_object *v = json_get(o, key);
        return v && json_object_is_type(v, t);
}

/* Each item of the array at key is an object (the array may be absent). */
static bool objects(json_object *o, const char *key) {
        json_object *a = json_get(o, key);
        if (!a)
                return true;
        if (!json_object_is_type(a, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(a); i++)
                if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_object))
                        return false;
        return true;
}

json_object *storage_parse(const char *text, size_t len, char *err, size_t err_size) {
        json_tokener *tok = json_tokener_new();
        json_object *raw = tok ? json_tokener_parse_ex(tok, text, (int) (len > INT_MAX ? INT_MAX : len)) : NULL;
        bool whole = tok && json_tokener_get_error(tok) == json_tokener_success;
        /* one value, then nothing but blanks */
        for (size_t i = whole ? json_tokener_get_parse_end(tok) : len; i < len; i++)
                if (!strchr(" \t\r\n", text[i]) || !text[i])
                        whole = false;
        json_tokener_free(tok);
        json_object *v = whole && json_object_is_type(raw, json_type_object) ? clean(raw, 0) : NULL;
        json_object_put(raw);
        const char *why = !whole ? "not one JSON value" : !v ? "not a JSON object" : NULL;
        if (!why && json_object_get_int(json_get(v, "schema")) != 1)
                why = "not schema 1";
        else if (!why && !(is(v, "block", json_type_object) && is(json_get(v, "block"), "disks", json_type_array)))
                why = "no block.disks";
        else if (!why && !(objects(json_get(v, "block"), "disks") && objects(json_get(v, "scsi"), "hosts") &&
                           objects(json_get(v, "scsi"), "devices") && objects(json_get(v, "device_mapper"), "devices")))
                why = "a list of devices holds something else";
        if (why) {
                snprintf(err, err_size, "%s", why);
                json_object_put(v);
                return NULL;
        }
        return v;
}

/* ---- the lines the rules read ---------------------------------------------------------------- */

static const char *s_or(json_object *o, const char *key, const char *dflt) {
        const char *s = json_str(o, key);
        return s && *s ? s : dflt;
}

static long long n_of(json_object *o, const char *key) {
        return json_object_get_int64(json_get(o, key));
}

static size_t count(json_object *o, const char *key) {
        json_object *a = json_get(o, key);
        return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* ", the oldest for 14.2 s" and whether that is stuck. */
static bool oldest(json_object *age, double stuck_after_s, char *buf, size_t size) {
        buf[0] = 0;
        if (!age || !(json_object_is_type(age, json_type_double) || json_object_is_type(age, json_type_int)))
                return false;
        double a = json_object_get_double(age);
        snprintf(buf, size, ", the oldest for %.1f s", a);
        return a >= stuck_after_s;
}

/* The order of the disks' lines: the devices under the others first, so that the first stuck
 * line names the one that holds the requests: 0 a disk of a driver (sda), 1 a request-based
 * device-mapper device (multipath), 2 a bio-based one (linear), which has no request ages. */
static int disk_rank(json_object *d) {
        if (!json_object_get_boolean(json_get(d, "blk_mq")))
                return 2;
        const char *drv = json_str(d, "driver");
        return drv && !strcmp(drv, "dm_mod") ? 1 : 0;
}

static void disk_lines(FILE *f, json_object *disks, int rank, double stuck_after_s) {
        for (size_t i = 0; i < json_object_array_length(disks); i++) {
                json_object *d = json_object_array_get_idx(disks, i);
                if (disk_rank(d) != rank)
                        continue;
                char age[64];
                bool stuck = oldest(json_get(d, "oldest_age_s"), stuck_after_s, age, sizeof age);
                fprintf(f, "%sdisk %s (%s): %lld request(s) in flight%s\n", stuck ? "stuck " : "", s_or(d, "name", "?"),
                        s_or(d, "driver", "?"), n_of(d, "in_flight"), age);
        }
}

char *storage_facts(json_object *view, double stuck_after_s, size_t *len) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f)
                return NULL;
        json_object *disks = json_get(json_get(view, "block"), "disks");
        if (disks && json_object_is_type(disks, json_type_array)) {
                /* the devices that take requests first: the first stuck line names the real one */
                for (int rank = 0; rank < 3; rank++)
                        disk_lines(f, disks, rank, stuck_after_s);
        }
        json_object *scsi = json_get(view, "scsi"), *a;
        if ((a = json_get(scsi, "hosts")))
                for (size_t i = 0; i < count(scsi, "hosts"); i++) {
                        json_object *h = json_object_array_get_idx(a, i);
                        fprintf(f, "scsi host %lld (%s): state %s, busy %lld, blocked %lld, failed %lld\n", n_of(h, "host_no"),
                                s_or(h, "driver", "?"), s_or(h, "state", "?"), n_of(h, "busy"), n_of(h, "blocked"),
                                n_of(h, "failed"));
                }
        if ((a = json_get(scsi, "devices")))
                for (size_t i = 0; i < count(scsi, "devices"); i++) {
                        json_object *d = json_object_array_get_idx(a, i), *cmds = json_get(d, "in_flight");
                        char age[64] = "";
                        bool stuck = count(d, "in_flight") &&
                                     oldest(json_get(json_object_array_get_idx(cmds, 0), "age_s"), stuck_after_s, age, sizeof age);
                        /* the list holds the oldest few; the count, all of them */
                        long long cmds_n = json_get(d, "in_flight_count") ? n_of(d, "in_flight_count") : (long long) count(d, "in_flight");
                        fprintf(f, "%sscsi device %s (%s %s): state %s, queue depth %lld, timeout %lld s, %lld command(s) in flight%s\n",
                                stuck ? "stuck " : "", s_or(d, "hctl", "?"), s_or(d, "vendor", "?"), s_or(d, "model", "?"),
                                s_or(d, "state", "?"), n_of(d, "queue_depth"), n_of(d, "timeout_s"), cmds_n, age);
                }
        json_object *dm = json_get(view, "device_mapper");
        if ((a = json_get(dm, "devices")))
                for (size_t i = 0; i < count(dm, "devices"); i++) {
                        json_object *d = json_object_array_get_idx(a, i), *t = json_get(d, "table");
                        const char *state = json_object_get_boolean(json_get(d, "suspended"))    ? "suspended"
                                            : json_object_get_boolean(json_get(d, "suspending")) ? "suspending"
                                                                                                 : "live";
                        fprintf(f, "dm %s (%s): %s, open %lld, %lld bio(s) waiting, table:", s_or(d, "name", "?"), s_or(d, "dm", "?"),
                                state, n_of(d, "open_count"), n_of(d, "deferred"));
                        for (size_t k = 0; k < count(d, "table"); k++) {
                                json_object *tg = json_object_array_get_idx(t, k);
                                fprintf(f, " %s %lld+%lld", s_or(tg, "type", "?"), n_of(tg, "start"), n_of(tg, "length"));
                                json_object *devs = json_get(tg, "devices");
                                for (size_t m = 0; m < count(tg, "devices"); m++)
                                        fprintf(f, "%s%s", m ? "," : " over ", json_object_get_string(json_object_array_get_idx(devs, m)));
                        }
                        fputc('\n', f);
                }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        *len = n;
        return buf;
}

/* ---- running it -------------------------------------------------------------------------- */

/* The module debug files found under the job's symbols (nftw passes no context: one job runs
 * per process). */
static struct {
        char **v;
        size_t n;
} found_modules;

/* The modules whose types the view reads; drgn indexes every file it is given, and a cache
 * entry may hold a whole debug package's. */
static bool module_wanted(const char *path) {
        static const char *const wanted[] = { "dm-mod.ko", "dm_mod.ko", "dm-multipath.ko", "dm_multipath.ko",
                                              "scsi_mod.ko", "scsi-mod.ko", "sd_mod.ko", "sd-mod.ko" };
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
                if (!strncmp(base, wanted[i], strlen(wanted[i])))
                        return true;
        return false;
}

static int add_module(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (type != FTW_F || !module_wanted(path) || found_modules.n >= MODULES_MAX)
                return 0;
        char **v = realloc(found_modules.v, (found_modules.n + 1) * sizeof *v);
        if (!v || !(v[found_modules.n] = strdup(path))) {
                found_modules.v = v ? v : found_modules.v;
                return -1;
        }
        found_modules.v = v;
        found_modules.n++;
        return 0;
}

static void modules_free(void) {
        for (size_t i = 0; i < found_modules.n; i++)
                free(found_modules.v[i]);
        free(found_modules.v);
        found_modules.v = NULL;
        found_modules.n = 0;
}

/* The last line of drgn's stderr (its error), clipped. */
static void last_line(const char *s, size_t len, char *buf, size_t size) {
        while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
                len--;
        size_t start = len;
        while (start && s[start - 1] != '\n')
                start--;
        snprintf(buf, size, "%.*s", (int) (len - start > 300 ? 300 : len - start), s + start);
}

static int record(struct job *j, json_object *storage, char *err, size_t err_size) {
        int r = storage ? job_set(j, JOB_STORAGE, storage) : -ENOMEM;
        if (r < 0)
                snprintf(err, err_size, "cannot record the storage view: %s", strerror(-r));
        return r;
}

static int unavailable(struct job *j, char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Records that there is no view, and why. */
static int unavailable(struct job *j, char *err, size_t err_size, const char *fmt, ...) {
        char why[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        job_log(j, "storage view: none: %s", why);
        json_object *none = json_object_new_object();
        if (none)
                json_object_object_add(none, "unavailable", json_object_new_string(why));
        return record(j, none, err, err_size);
}

int storage_run(struct job *j, const struct symbols_result *sym, char *err, size_t err_size) {
        const struct config *cfg = job_config(j);
        const char *drgn = config_string(cfg, CONF_STORAGE_DRGN), *script = config_string(cfg, CONF_STORAGE_SCRIPT);
        char dir[PATH_MAX], builtin[PATH_MAX + 32], vmcore[PATH_MAX];
        if (!*drgn)
                return unavailable(j, err, err_size, "storage.drgn is empty");
        snprintf(dir, sizeof dir, "%s/storage", job_dir(j));
        snprintf(vmcore, sizeof vmcore, "%s/vmcore", job_dir(j));
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return unavailable(j, err, err_size, "cannot make %s: %s", dir, strerror(errno));
        if (!*script) { /* the built-in one, kept beside its output: a person can run it again */
                int r = write_file_atomic(dir, "storage-view.py", storage_view_script, strlen(storage_view_script));
                if (r < 0)
                        return unavailable(j, err, err_size, "cannot write %s/storage-view.py: %s", dir, strerror(-r));
                snprintf(builtin, sizeof builtin, "%s/storage-view.py", dir);
                script = builtin;
        }
        struct stat st;
        /* no folder: no module has debug files (the view then reads what vmlinux knows) */
        if (sym->modules[0] && stat(sym->modules, &st) == 0 && nftw(sym->modules, add_module, 16, FTW_PHYS) < 0) {
                modules_free();
                return unavailable(j, err, err_size, "cannot list the module debug files in %s", sym->modules);
        }
        size_t argc = 0;
        const char **argv = calloc(found_modules.n * 2 + 10, sizeof *argv);
        if (!argv) {
                modules_free();
                return -ENOMEM;
        }
        argv[argc++] = drgn;
        argv[argc++] = "-q";
        argv[argc++] = "--no-default-symbols"; /* the job's debug files, never the host's or a server's */
        argv[argc++] = "-c";
        argv[argc++] = vmcore;
        argv[argc++] = "-s";
        argv[argc++] = sym->vmlinux;
        for (size_t i = 0; i < found_modules.n; i++) {
                argv[argc++] = "-s";
                argv[argc++] = found_modules.v[i];
        }
        argv[argc++] = script;
        job_log(j, "storage view: drgn with %zu module debug files", found_modules.n);
        static const char *const env[] = { "DEBUGINFOD_URLS=", NULL }; /* no download behind our back */
        struct subprocess_opts o = {
                .argv = argv,
                .env = env,
                .stdin_fd = -1,
                .stdout_fd = -1,
                .timeout_ms = config_u64(cfg, CONF_STORAGE_TIMEOUT) * 1000,
                .capture_max = (size_t) config_u64(cfg, CONF_STORAGE_MAX_OUTPUT),
        };
        struct subprocess_result res = { 0 };
        int r = job_run_command(j, &o, &res);
        free(argv);
        modules_free();
        if (r < 0) {
                subprocess_result_clear(&res);
                return unavailable(j, err, err_size, "cannot run %s: %s (storage.drgn)", drgn, strerror(-r));
        }
        /* what it said, whatever it was, in the case folder */
        (void) write_file_atomic(dir, "drgn.log", res.err ? res.err : "", res.err_len);
        (void) write_file_atomic(dir, "view.json", res.out ? res.out : "", res.out_len);
        char why[400] = "";
        bool see_log = true; /* drgn said more in storage/drgn.log */
        json_object *view = NULL;
        if (res.timed_out)
                snprintf(why, sizeof why, "drgn ran past storage.timeout (%llu s)", (unsigned long long) config_u64(cfg, CONF_STORAGE_TIMEOUT));
        else if (res.status == 127) { /* what exec said */
                char last[320];
                last_line(res.err ? res.err : "", res.err_len, last, sizeof last);
                snprintf(why, sizeof why, "%s (storage.drgn)", last);
                see_log = false;
        } else if (res.status != 0) {
                char last[320];
                last_line(res.err ? res.err : "", res.err_len, last, sizeof last);
                snprintf(why, sizeof why, "drgn exited with status %d: %s", res.status, last);
        } else if (res.dropped)
                snprintf(why, sizeof why, "the view is larger than storage.max_output (%llu bytes)",
                         (unsigned long long) config_u64(cfg, CONF_STORAGE_MAX_OUTPUT));
        else {
                char perr[128];
                view = storage_parse(res.out ? res.out : "", res.out_len, perr, sizeof perr);
                if (!view)
                        snprintf(why, sizeof why, "drgn's output is not a storage view: %s", perr);
        }
        subprocess_result_clear(&res);
        if (!view)
                return unavailable(j, err, err_size, "%s%s", why, see_log ? " (storage/drgn.log)" : "");
        job_log(j, "storage view: %zu disk(s), %zu SCSI device(s), %zu device-mapper device(s)",
                count(json_get(view, "block"), "disks"), count(json_get(view, "scsi"), "devices"),
                count(json_get(view, "device_mapper"), "devices"));
        json_object *got = json_object_new_object();
        if (got)
                json_object_object_add(got, "view", view);
        else
                json_object_put(view);
        return record(j, got, err, err_size);
}
