/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump symbols`: the verified debug symbols of a dump, fetched once per kernel, ever.
 * Also --explain: what would be tried, in order, without fetching anything. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "pipeline/progress.h"
#include "pipeline/identify/dumpfile.h"
#include "pipeline/symbols/symbols.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump symbols [OPTIONS] DUMP|CASE-FOLDER\n"
                "       hotkdump symbols [OPTIONS] --release R --uts-version V [--arch A] [--build-id B]\n"
                "\n"
                "Prints the path of a verified vmlinux with debug info (and the folder of module debug\n"
                "files) for the dump, fetching it into <root>/symbols/ the first time.\n"
                "\n"
                "  --explain            print the sources and files that would be tried, fetch nothing\n"
                "  --debug-file FILE    use FILE: a vmlinux, or a .ddeb/.deb debug package\n"
                "  --modules A,B,…      module debug files to extract too (a case folder's kernel log\n"
                "                       names the loaded modules already)\n"
                "  --release R --uts-version V --arch A --build-id B   the kernel, instead of a dump; A is\n"
                "                       the kernel's name (x86_64) or Debian's (amd64)\n"
                "  --root DIR, --config FILE, --set KEY=VALUE          settings, as for analyze\n"
                "\n"
                "Exit status: 0 found; 2 usage; 4 refused (the symbols are of another build); 5 not\n"
                "found in any source; 6 internal.\n");
}

static int query_from_dump(const char *file, struct symbols_query *q) {
        struct dump_info *info;
        char reason[256];
        int r = dumpfile_identify(file, NULL, &info, reason, sizeof reason);
        if (r < 0) {
                log_error("symbols: %s: %s", file, reason);
                return r;
        }
        snprintf(q->release, sizeof q->release, "%s", info->release);
        snprintf(q->version, sizeof q->version, "%s", info->version);
        snprintf(q->arch, sizeof q->arch, "%s", info->arch);
        snprintf(q->build_id, sizeof q->build_id, "%s", info->build_id);
        snprintf(q->vmcore, sizeof q->vmcore, "%s", file);
        dump_info_free(info);
        return 0;
}

static char **split_list(const char *s) {
        size_t n = 0;
        char **v = calloc(strlen(s) + 2, sizeof *v);
        char *copy = strdup(s), *save = NULL;
        if (!v || !copy) {
                free(v);
                free(copy);
                return NULL;
        }
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                v[n++] = strdup(t);
        free(copy);
        return v;
}

int cli_symbols(int argc, char **argv) {
        static const struct option opts[] = {
                { "explain", no_argument, NULL, 'e' },
                { "debug-file", required_argument, NULL, 'd' },
                { "modules", required_argument, NULL, 'm' },
                { "release", required_argument, NULL, 'R' },
                { "uts-version", required_argument, NULL, 'V' },
                { "arch", required_argument, NULL, 'A' },
                { "build-id", required_argument, NULL, 'B' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct symbols_query q = { 0 };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        const char *debug_file = NULL;
        bool explain = false;
        int done, c, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'e': explain = true; break;
                case 'd': debug_file = optarg; break;
                case 'm':
                        symbols_strv_free(q.modules);
                        q.modules = split_list(optarg);
                        break;
                case 'R': snprintf(q.release, sizeof q.release, "%s", optarg); break;
                case 'V': snprintf(q.version, sizeof q.version, "%s", optarg); break;
                case 'A':
                        if (!symbols_machine_arch(optarg)) {
                                log_error("symbols: --arch '%s' is not an architecture hotkdump knows: give the "
                                          "kernel's name (x86_64, aarch64, ppc64le, s390x, i686, riscv64) or "
                                          "Debian's (amd64, arm64, ppc64el, s390x, i386, riscv64)", optarg);
                                goto out;
                        }
                        snprintf(q.arch, sizeof q.arch, "%s", symbols_machine_arch(optarg));
                        break;
                case 'B': snprintf(q.build_id, sizeof q.build_id, "%s", optarg); break;
                default:
                        if ((done = settings_option(&settings, c, optarg, usage)) < 0)
                                break;
                        ret = done;
                        goto out;
                }
        }
        if (optind < argc - 1 || (optind == argc && !q.release[0])) {
                log_error("symbols: give one DUMP or CASE-FOLDER, or --release and --uts-version");
                usage(stderr);
                goto out;
        }
        if (optind == argc - 1) {
                struct stat st;
                const char *target = argv[optind];
                if (stat(target, &st) < 0) {
                        log_error("symbols: cannot read '%s': %m", target);
                        ret = EXIT_UNREADABLE;
                        goto out;
                }
                char qerr[512];
                int q_r = S_ISDIR(st.st_mode) ? symbols_query_from_case(target, &q, qerr, sizeof qerr) : query_from_dump(target, &q);
                if (q_r < 0 && S_ISDIR(st.st_mode))
                        log_error("symbols: %s", qerr);
                if (q_r < 0) {
                        ret = EXIT_UNREADABLE;
                        goto out;
                }
        }
        if (!q.arch[0])
                snprintf(q.arch, sizeof q.arch, "x86_64");
        if (settings_load(&settings, "symbols", &cfg) < 0)
                goto out;
        if (explain) {
                symbols_explain(cfg, &q, stdout);
                ret = EXIT_OK;
                goto out;
        }
        struct symbols_result res;
        char err[4096];
        progress_to_stderr(true);
        int r = symbols_find(cfg, &q, debug_file, NULL, &res, err, sizeof err);
        if (r < 0) {
                log_error("symbols: %s", err);
                ret = r == -EBADMSG ? EXIT_DAMAGED : r == -ENOENT ? EXIT_UNREADABLE : EXIT_INTERNAL;
                goto out;
        }
        printf("vmlinux: %s\nmodules: %s\nsource:  %s\n", res.vmlinux, res.modules, res.source);
        close(res.lock_fd);
        ret = EXIT_OK;
out:
        symbols_strv_free(q.modules);
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}
