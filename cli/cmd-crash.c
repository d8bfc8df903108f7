/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump crash CASE[/N]`: crash, interactive, on a prepared case: the dump, its verified
 * symbols and module debug info, in the mode that opened it, from the case folder. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "casefolder/job.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "pipeline/crash/crash.h"
#include "pipeline/symbols/symbols.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump crash [OPTIONS] CASE[/N] [-- CRASH-OPTIONS…]\n"
                "\n"
                "Opens crash on dump N of CASE (the newest analysed dump when N is left out), with its\n"
                "debug symbols and module debug files loaded, in the mode that opened it during the\n"
                "analysis. crash runs in the case folder, so files it writes land there.\n"
                "\n"
                "  --print            print the crash command line instead of running it\n"
                "  --root DIR, --config FILE, --set KEY=VALUE   settings, as for analyze\n"
                "\n"
                "Exit status: crash's own; 2 usage; 5 no such case or dump, or no symbols for it.\n");
}

/* The newest dump folder of the case that has been identified. */
static int newest_job(const char *case_dir, unsigned *ret) {
        unsigned best = 0;
        for (unsigned n = 1; n < 100000; n++) {
                char path[PATH_MAX];
                struct stat st;
                snprintf(path, sizeof path, "%s/%u", case_dir, n);
                if (stat(path, &st) < 0)
                        break;
                snprintf(path, sizeof path, "%s/%u/summary.json", case_dir, n);
                if (stat(path, &st) == 0)
                        best = n;
        }
        if (!best)
                return -ENOENT;
        *ret = best;
        return 0;
}

/* What the job recorded of its crash run: KEY of the crash stage's record, "" when none. */
static void recorded(const char *dir, const char *key, char *buf, size_t size) {
        json_object *rec = NULL;
        buf[0] = 0;
        if (job_record_read(dir, &rec) < 0)
                return;
        const char *v = json_path_text(job_record_get(rec, JOB_CRASH), key);
        if (v)
                snprintf(buf, size, "%s", v);
        json_object_put(rec);
}

int cli_crash(int argc, char **argv) {
        static const struct option opts[] = {
                { "print", no_argument, NULL, 'p' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        struct symbols_query q = { 0 };
        bool print = false;
        char **builds = NULL;
        int done, c, ret = EXIT_USAGE;

        /* options after CASE are ours too (`hotkdump crash 00345677 --root /srv/hk`); crash's
         * own come after "--" */
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'p': print = true; break;
                default:
                        if ((done = settings_option(&settings, c, optarg, usage)) < 0)
                                break;
                        ret = done;
                        goto out;
                }
        }
        if (optind >= argc) {
                log_error("crash: give the case, as CASE or CASE/N");
                usage(stderr);
                goto out;
        }
        const char *target = argv[optind++];
        if (optind < argc && !strcmp(argv[optind], "--"))
                optind++;
        if (settings_load(&settings, "crash", &cfg) < 0)
                goto out;

        char case_id[128], err[4096], case_dir[PATH_MAX], dir[PATH_MAX];
        unsigned n = 0;
        const char *slash = strchr(target, '/');
        size_t cl = slash ? (size_t) (slash - target) : strlen(target);
        snprintf(case_id, sizeof case_id, "%.*s", (int) (cl < sizeof case_id ? cl : sizeof case_id - 1), target);
        if (job_case_valid(cfg, case_id, err, sizeof err) < 0) {
                log_error("crash: %s", err);
                goto out;
        }
        if (slash) {
                char *end;
                errno = 0;
                unsigned long v = strtoul(slash + 1, &end, 10);
                if (errno || *end || end == slash + 1 || v == 0 || v > 99999) {
                        log_error("crash: '%s': the dump number after '/' must be 1 to 99999", target);
                        goto out;
                }
                n = (unsigned) v;
        }
        snprintf(case_dir, sizeof case_dir, "%s/cases/%s", config_string(cfg, CONF_ROOT), case_id);
        if (!n && newest_job(case_dir, &n) < 0) {
                log_error("crash: case %s has no analysed dump in '%s'", case_id, case_dir);
                ret = EXIT_UNREADABLE;
                goto out;
        }
        snprintf(dir, sizeof dir, "%s/%u", case_dir, n);
        char vmcore[PATH_MAX + 8];
        snprintf(vmcore, sizeof vmcore, "%s/vmcore", dir);
        if (access(vmcore, R_OK) < 0) {
                int e = errno;
                log_error("crash: case %s dump %u: cannot read '%s': %s", case_id, n, vmcore, strerror(e));
                ret = EXIT_UNREADABLE;
                goto out;
        }
        if (symbols_query_from_case(dir, &q, err, sizeof err) < 0) {
                log_error("crash: %s", err);
                ret = EXIT_UNREADABLE;
                goto out;
        }
        /* from the cache as a rule; fetched again if the cache was purged since */
        struct symbols_result sym;
        if (symbols_find(cfg, &q, NULL, NULL, &sym, err, sizeof err) < 0) {
                log_error("crash: %s", err);
                ret = EXIT_UNREADABLE;
                goto out;
        }

        /* crash runs these first: module debug info, so that module frames resolve */
        char init[PATH_MAX + 32];
        snprintf(init, sizeof init, "%s/crash/interactive.init", dir);
        char init_text[PATH_MAX + 64] = "";
        if (sym.modules_found)
                snprintf(init_text, sizeof init_text, "mod -S %s\n", sym.modules);
        char crash_dir[PATH_MAX + 8];
        snprintf(crash_dir, sizeof crash_dir, "%s/crash", dir);
        if (mkdir_parents(crash_dir) < 0 || write_file_atomic(crash_dir, "interactive.init", init_text, strlen(init_text)) < 0) {
                log_error("crash: cannot write '%s': %m", init);
                ret = EXIT_INTERNAL;
                goto out;
        }

        /* the mode and the crash build the job's analysis used, when it still runs */
        char mode_name[32], used[PATH_MAX];
        recorded(dir, "mode", mode_name, sizeof mode_name);
        recorded(dir, "binary", used, sizeof used);
        const char *mode = crash_mode_option(mode_name);
        if (!(used[0] && access(used, X_OK) == 0) && crash_binaries(cfg, &builds, NULL) < 0) {
                log_error("crash: crash.binary names no crash build (%s)", config_string(cfg, CONF_CRASH_BINARY));
                ret = EXIT_UNREADABLE;
                goto out;
        }
        const char **av = calloc((size_t) (argc - optind) + 8, sizeof *av);
        if (!av) {
                ret = EXIT_INTERNAL;
                goto out;
        }
        size_t k = 0;
        av[k++] = builds ? builds[0] : used;
        if (mode)
                av[k++] = mode;
        av[k++] = "-i";
        av[k++] = init;
        for (int i = optind; i < argc; i++)
                av[k++] = argv[i];
        av[k++] = sym.vmlinux;
        av[k++] = vmcore;
        av[k] = NULL;
        char line[16384];
        subprocess_format_argv(av, line, sizeof line);
        if (print) {
                const char *cd[] = { "cd", dir, NULL };
                char cd_line[PATH_MAX * 4 + 8];
                subprocess_format_argv(cd, cd_line, sizeof cd_line);
                printf("%s && %s\n", cd_line, line);
                free(av);
                close(sym.lock_fd);
                ret = EXIT_OK;
                goto out;
        }
        fprintf(stderr, "hotkdump: case %s dump %u, symbols from %s\nhotkdump: %s\n", case_id, n, sym.source, line);
        /* the symbols stay locked against purging for as long as crash runs */
        fcntl(sym.lock_fd, F_SETFD, 0);
        if (chdir(dir) < 0) {
                log_error("crash: cannot enter '%s': %m", dir);
                free(av);
                ret = EXIT_UNREADABLE;
                goto out;
        }
        execvp(av[0], (char *const *) av);
        log_error("crash: cannot run '%s': %m", av[0]);
        free(av);
        ret = EXIT_UNREADABLE;
out:
        crash_binaries_free(builds);
        symbols_strv_free(q.modules);
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}
