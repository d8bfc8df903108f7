/* `hotkdump analyze`: runs the pipeline in the foreground on one upload, exactly as the
 * daemon runs it, and prints where the results are and what the first look found. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "pipeline/pipeline.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdump analyze --case CASE [OPTIONS] SOURCE\n"
                "\n"
                "Fetches SOURCE (a path, or an http:// or https:// URL), unpacks it, finds the dump(s) in\n"
                "it, and reads the kernel log, in <root>/cases/CASE/<N>/.\n"
                "\n"
                "  --case CASE            the support case number\n"
                "  --stop-after STAGE     fetch, unpack, identify or first-look (the default: all)\n"
                "  --root DIR             where case folders live (config key root)\n"
                "  --config FILE          read settings from FILE (default /etc/hotkdump/hotkdump.conf if present)\n"
                "  --set KEY=VALUE        override one setting\n"
                "  --filename NAME        the name to give the upload\n"
                "  --size BYTES           the upload's expected size\n"
                "  --sha256 HEX           the upload's expected SHA-256\n"
                "\n"
                "Exit status: 0 done; 2 usage; 3 input refused (case number, URL, hostile or empty\n"
                "archive, no dump, over a limit); 4 damaged dump or archive, or a size or sha256 that\n"
                "does not match; 5 cannot read or download; 6 internal (disk full, …).\n");
}

int cli_analyze(int argc, char **argv) {
        static const struct option opts[] = {
                { "case", required_argument, NULL, 'c' },
                { "stop-after", required_argument, NULL, 's' },
                { "root", required_argument, NULL, 'r' },
                { "config", required_argument, NULL, 'C' },
                { "set", required_argument, NULL, 'S' },
                { "filename", required_argument, NULL, 'f' },
                { "size", required_argument, NULL, 'z' },
                { "sha256", required_argument, NULL, 'H' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct config *cfg = NULL;
        struct fetch_request req = { 0 };
        struct cli_settings settings = { 0 };
        const char *case_id = NULL;
        enum job_stage stop_after = _STAGE_MAX - 1;
        int c, r, ret = CLI_EXIT_USAGE;

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
                                return CLI_EXIT_USAGE;
                        }
                        stop_after = (enum job_stage) r;
                        break;
                case 'r':
                        if (cli_settings_add(&settings, "root", optarg) < 0)
                                goto out;
                        break;
                case 'S':
                        if (cli_settings_add(&settings, optarg, NULL) < 0)
                                goto out;
                        break;
                case 'C':
                        settings.file = optarg;
                        break;
                case 'f':
                        req.filename = optarg;
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
                case 'h':
                        usage(stdout);
                        ret = CLI_EXIT_OK;
                        goto out;
                default:
                        usage(stderr);
                        goto out;
                }
        }
        if (!case_id || optind != argc - 1) {
                log_error("analyze: %s", !case_id ? "--case is required" : "give exactly one SOURCE");
                usage(stderr);
                goto out;
        }
        req.source = argv[optind];

        if (cli_settings_load(&settings, "analyze", &cfg) < 0)
                goto out;

        struct pipeline_result res;
        r = pipeline_run(cfg, case_id, &req, stop_after, &res);
        for (size_t i = 0; i < res.n_dirs; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/first-look.txt", res.dirs[i]);
                printf("%s\n", res.dirs[i]);
                FILE *f = fopen(path, "re");
                if (f) {
                        char line[4096];
                        putchar('\n');
                        for (int n = 0; n < 9 && fgets(line, sizeof line, f); n++)
                                printf("  %s", line);
                        fclose(f);
                        putchar('\n');
                }
        }
        if (r < 0) {
                log_error("%s: %s", req.source, res.error);
                ret = res.error_class ? res.error_class : CLI_EXIT_INTERNAL;
        } else
                ret = CLI_EXIT_OK;
        pipeline_result_clear(&res);
out:
        cli_settings_clear(&settings);
        config_free(cfg);
        return ret;
}

int cli_config(int argc, char **argv) {
        (void) argv;
        if (argc > 1) {
                fprintf(stderr, "Usage: hotkdump config\n\nPrints every setting, commented out at its default.\n");
                return CLI_EXIT_USAGE;
        }
        config_write_defaults(stdout);
        return CLI_EXIT_OK;
}
