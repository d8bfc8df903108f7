/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hotkdumpd: the daemon's main(). It reads the settings and hands over to the loop in
 * daemon.c; the HTTP API, the watcher and the queue are modules of their own. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/settings.h"
#include "common/log.h"
#include "hooks/sink.h"
#include "daemon/hotkdumpd.h"

static void usage(FILE *out) {
        fprintf(out,
                "Usage: hotkdumpd [OPTIONS]\n"
                "\n"
                "Takes dump uploads from its HTTP API (POST /analyze) and from the watched upload mirror\n"
                "(watch.dirs), keeps them in a durable queue under <root>/queue/ and analyses each in a\n"
                "worker process, as `hotkdump analyze` does. SIGHUP reloads the settings; SIGTERM stops it,\n"
                "and running jobs go on from their last finished stage at the next start.\n"
                "\n"
                "  --config FILE          read settings from FILE (default " HOTKDUMP_CONFDIR "/hotkdump.conf if present)\n"
                "  --root DIR             where case folders and the queue live (config key root)\n"
                "  --set KEY=VALUE        override one setting (daemon.listen=127.0.0.1:0, watch.dirs=…)\n"
                "  --port-file FILE       write the port listened on into FILE once ready\n"
                "  --verbose              log more\n"
                "  --version              print the version and exit\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                SETTINGS_OPTIONS,
                { "port-file", required_argument, NULL, 'p' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct hotkdumpd_options o = { .settings = &settings };
        struct config *cfg = NULL;

        sink_take_env_secrets();
        int c, done, r;

        log_set_program("hotkdumpd");
        settings_set_program("hotkdumpd");
        while ((c = getopt_long(argc, argv, "hv", opts, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        o.port_file = optarg;
                        break;
                case 'v':
                        log_set_level(LOG_DEBUG);
                        break;
                default:
                        if ((done = settings_option(&settings, c, optarg, usage)) < 0)
                                break;
                        settings_clear(&settings);
                        return done;
                }
        }
        if (optind != argc) {
                log_error("unexpected argument '%s'", argv[optind]);
                fprintf(stderr, "Try 'hotkdumpd --help' for more information.\n");
                settings_clear(&settings);
                return EXIT_USAGE;
        }
        if (settings_load(&settings, "hotkdumpd", &cfg) < 0) {
                settings_clear(&settings);
                return EXIT_USAGE;
        }
        r = hotkdumpd_run(cfg, &o);
        settings_clear(&settings);
        return r < 0 ? EXIT_INTERNAL : EXIT_OK;
}
