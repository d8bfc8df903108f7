/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump purge`: one pass of the retention the daemon runs on its schedule, for hosts that
 * run only the command (etc/systemd/hotkdump-purge.timer, or cron). */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "retention/purge.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: hotkdump purge [--dry-run] [--older-than DURATION] [OPTIONS]\n"
                     "\n"
                     "Removes the case folders under <root>/cases whose job ended longer ago than\n"
                     "purge.older_than (14d), and the debug symbols of the cache past symbols.cache_max_age\n"
                     "or symbols.cache_max_bytes. A NOPURGE file in a dump's folder keeps it; in a case's\n"
                     "folder, every dump of the case. A running job's folder is kept. Links are removed as\n"
                     "links, never followed. When less than purge.min_free is free on root's file system,\n"
                     "finished folders also go, oldest first, until that much is free.\n"
                     "\n"
                     "  --dry-run              say what would be removed, remove nothing\n"
                     "  --older-than DURATION  e.g. 30d, 12h, 0 (config key purge.older_than)\n"
                     "  --root DIR             where case folders live (config key root)\n"
                     "  --config FILE          read settings from FILE (default " HOTKDUMP_CONFDIR "/hotkdump.conf if present)\n"
                     "  --set KEY=VALUE        override one setting\n"
                     "\n"
                     "Exit status: 0 done; 2 usage; 6 the root cannot be read.\n");
}

static void say(void *userdata, const char *line) {
        (void) userdata;
        printf("%s\n", line);
}

int cli_purge(int argc, char **argv) {
        static const struct option opts[] = {
                { "dry-run", no_argument, NULL, 'n' },
                { "older-than", required_argument, NULL, 'o' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        bool dry_run = false;
        int c, done, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "hn", opts, NULL)) >= 0) {
                if (c == 'n')
                        dry_run = true;
                else if (c == 'o') {
                        if (settings_add(&settings, "purge.older_than", optarg) < 0)
                                goto out;
                } else if ((done = settings_option(&settings, c, optarg, usage)) >= 0) {
                        ret = done;
                        goto out;
                }
        }
        if (optind < argc) {
                log_error("purge: unexpected argument '%s'", argv[optind]);
                usage(stderr);
                goto out;
        }
        if (settings_load(&settings, "purge", &cfg) < 0)
                goto out;
        struct purge_opts o = { .dry_run = dry_run, .older_than = config_u64(cfg, CONF_PURGE_OLDER_THAN),
                                .want_free = config_u64(cfg, CONF_PURGE_MIN_FREE), .say = say };
        struct purge_result res;
        int r = purge_run(cfg, &o, &res);
        if (r < 0) {
                log_error("purge: %s: %s", config_string(cfg, CONF_ROOT), strerror(-r));
                ret = EXIT_INTERNAL;
                goto out;
        }
        printf("%s %u case folder(s)%s%u kernel(s)' symbols, %llu bytes%s; %u kept\n", dry_run ? "would remove" : "removed",
               res.removed, res.leftovers ? " (and what an interrupted purge left), " : " and ", res.symbols_removed,
               (unsigned long long) res.bytes_freed, dry_run ? " would be freed" : " freed", res.kept);
        ret = EXIT_OK;
out:
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}
