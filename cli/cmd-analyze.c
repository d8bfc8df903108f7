/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump analyze`: runs the pipeline in the foreground on one upload, exactly as the
 * daemon runs it, and prints where the results are and what was found. */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "hooks/outbox.h"
#include "pipeline/pipeline.h"
#include "pipeline/progress.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump analyze --case CASE [OPTIONS] SOURCE\n"
                "\n"
                "Fetches SOURCE (a path, or an http:// or https:// URL), unpacks it, finds the dump(s) in\n"
                "it, reads the kernel log, finds the debug symbols, runs crash's command set and writes\n"
                "the report (summary.json, report.html, comment.txt), in <root>/cases/CASE/<N>/.\n"
                "\n"
                "  --case CASE            the support case number\n"
                "  --stop-after STAGE     fetch, unpack, identify, first-look, symbols, crash, storage or report\n"
                "                         (the default: report, all of them)\n"
                "  --debug-file FILE      debug symbols to use: a vmlinux, or a .deb/.ddeb debug package\n"
                "  --root DIR             where case folders live (config key root)\n"
                "  --config FILE          read settings from FILE (default " HOTKDUMP_CONFDIR "/hotkdump.conf if present)\n"
                "  --set KEY=VALUE        override one setting\n"
                "  --filename NAME        the name to give the upload\n"
                "  --size BYTES           the upload's expected size\n"
                "  --sha256 HEX           the upload's expected SHA-256\n"
                "  --no-post              leave the posts (post.sinks) in the outbox instead of sending them\n"
                "                         now; the daemon or hotkdump outbox retry sends them\n"
                "\n"
                "Exit status: 0 done; 1 incomplete (the report was written, but crash could not\n"
                "analyse the dump: no symbols, crash missing or failing); 2 usage; 3 input refused (case number, URL, hostile or empty\n"
                "archive, no dump, over a limit); 4 damaged dump or archive, or a size or sha256 that\n"
                "does not match; 5 cannot read or download; 6 internal (disk full, …).\n");
}

static void enqueue(void *userdata, const char *dir, const char *kind) {
        char err[512] = "";
        if (outbox_enqueue(userdata, dir, kind, err, sizeof err) < 0)
                log_error("analyze: %s: the %s post is not in the outbox: %s", dir, kind, err);
}

static void say(void *userdata, const char *line) {
        (void) userdata;
        fprintf(stderr, "hotkdump: post %s\n", line);
}

int cli_analyze(int argc, char **argv) {
        static const struct option opts[] = {
                { "case", required_argument, NULL, 'c' },
                { "stop-after", required_argument, NULL, 's' },
                SETTINGS_OPTIONS,
                { "filename", required_argument, NULL, 'f' },
                { "size", required_argument, NULL, 'z' },
                { "sha256", required_argument, NULL, 'H' },
                { "debug-file", required_argument, NULL, 'd' },
                { "no-post", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct config *cfg = NULL;
        struct fetch_request req = { 0 };
        struct settings settings = { 0 };
        const char *case_id = NULL, *debug_file = NULL;
        enum job_stage stop_after = _STAGE_MAX - 1;
        bool send = true;
        int done, c, r, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        case_id = optarg;
                        break;
                case 's':
                        r = job_stage_from_string(optarg);
                        if (r < 0) {
                                log_error("analyze: --stop-after: unknown stage '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        stop_after = (enum job_stage) r;
                        break;
                case 'f':
                        req.filename = optarg;
                        break;
                case 'd':
                        debug_file = optarg;
                        break;
                case 'P':
                        send = false;
                        break;
                case 'z': {
                        char *end;
                        errno = 0;
                        req.expected_size = strtoull(optarg, &end, 10);
                        if (errno || *end || !*optarg) {
                                log_error("analyze: --size: '%s' is not a number of bytes", optarg);
                                goto out;
                        }
                        break;
                }
                case 'H':
                        if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64) {
                                log_error("analyze: --sha256: '%s' is not 64 hex digits", optarg);
                                goto out;
                        }
                        req.sha256 = optarg;
                        break;
                default:
                        if ((done = settings_option(&settings, c, optarg, usage)) < 0)
                                break;
                        ret = done;
                        goto out;
                }
        }
        if (!case_id || optind != argc - 1) {
                log_error("analyze: %s", !case_id ? "--case is required" : "give exactly one SOURCE");
                usage(stderr);
                goto out;
        }
        req.source = argv[optind];

        if (settings_load(&settings, "analyze", &cfg) < 0)
                goto out;
        char why[512];
        if (outbox_check_config(cfg, why, sizeof why) < 0 || fetch_check_config(cfg, why, sizeof why) < 0) {
                log_error("analyze: %s", why);
                goto out;
        }

        struct pipeline_result res;
        struct pipeline_request preq = { .case_id = case_id, .fetch = &req, .debug_file = debug_file,
                                         .stop_after = stop_after, .on_post = enqueue, .userdata = cfg };
        /* interrupted (^C, TERM, a closed terminal): crash's process group goes too */
        subprocess_kill_on_signal();
        /* downloads, unpacking, symbols and crash's commands show how far they are */
        progress_to_stderr(true);
        r = pipeline_run(cfg, &preq, &res);
        /* the posts go now; what cannot go stays in the outbox, and is said */
        for (size_t i = 0; send && i < res.n_dirs && *config_string(cfg, CONF_POST_SINKS); i++) {
                const char *slash = strrchr(res.dirs[i], '/'), *prev = slash;
                while (prev && prev > res.dirs[i] && prev[-1] != '/')
                        prev--;
                struct outbox_run run = { .force = true, .only = prev, .say = say };
                int d = prev ? outbox_deliver(cfg, &run) : -EINVAL;
                if (d < 0)
                        log_error("analyze: cannot read the outbox: %s", strerror(-d));
        }
        for (size_t i = 0; i < res.n_dirs; i++) {
                char path[4096];
                /* the comment says it all when there is one; else the first look's start */
                snprintf(path, sizeof path, "%s/comment.txt", res.dirs[i]);
                FILE *f = fopen(path, "re");
                unsigned lines = 40;
                if (!f) {
                        snprintf(path, sizeof path, "%s/first-look.txt", res.dirs[i]);
                        f = fopen(path, "re");
                        lines = 9;
                }
                printf("%s\n", res.dirs[i]);
                if (f) {
                        char line[4096];
                        putchar('\n');
                        for (unsigned n = 0; n < lines && fgets(line, sizeof line, f); n++)
                                printf("  %s", line);
                        fclose(f);
                        putchar('\n');
                }
        }
        if (r != 0) {
                log_error("%s: %s", req.source, res.error);
                ret = res.error_class ? res.error_class : EXIT_INTERNAL;
        } else
                ret = EXIT_OK;
        pipeline_result_clear(&res);
out:
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}

static void config_usage(FILE *out) {
        fprintf(out, "Usage: hotkdump config [--effective [--config FILE] [--root DIR] [--set KEY=VALUE]…]\n"
                     "\n"
                     "Prints every setting, commented out at its default: a settings file to start from.\n"
                     "\n"
                     "  --effective  the settings in force instead: the settings file (--config, else\n"
                     "               " HOTKDUMP_CONFDIR "/hotkdump.conf when there is one), then --root and\n"
                     "               --set, one \"key = value\" line each; one not at its default has the\n"
                     "               default on the line before (the output reads back as a settings file)\n");
}

int cli_config(int argc, char **argv) {
        static const struct option opts[] = {
                { "effective", no_argument, NULL, 'e' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        bool effective = false;
        int c, done, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                if (c == 'e') {
                        effective = true;
                        continue;
                }
                if ((done = settings_option(&settings, c, optarg, config_usage)) >= 0) {
                        ret = done;
                        goto out;
                }
        }
        if (optind != argc || (!effective && (settings.file || settings.n))) {
                log_error("config: %s", optind != argc ? "no arguments are taken" : "--config, --root and --set go with --effective");
                settings_option(&settings, '?', NULL, config_usage);
                goto out;
        }
        if (!effective) {
                config_write_defaults(stdout);
                ret = EXIT_OK;
                goto out;
        }
        if (settings_load(&settings, "config", &cfg) < 0)
                goto out;
        config_write(cfg, stdout);
        ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
out:
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}
