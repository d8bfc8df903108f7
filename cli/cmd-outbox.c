/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `hotkdump outbox`: the posts that wait to be sent (or that were refused), and `outbox retry`
 * to send them now. Reads the outbox in <root> directly, with or without the daemon running. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/log.h"
#include "hooks/outbox.h"

static void usage(FILE *out) {
        fprintf(out, "Usage: hotkdump outbox [--json] [OPTIONS]\n"
                     "       hotkdump outbox retry [ID|CASE/N]... [OPTIONS]\n"
                     "\n"
                     "Lists the posts of job results (post.sinks: athena, webhook, exec) that have not been\n"
                     "delivered yet: waiting for their next try, or failed (refused, or given up after\n"
                     "post.give_up), with the last error. `retry` sends them now, failed ones too: all of\n"
                     "them, or those named by post id or by job (CASE/N).\n"
                     "\n"
                     "  --json                 the list as JSON\n"
                     "  --root DIR             where case folders and the outbox live (config key root)\n"
                     "  --config FILE          read settings from FILE (default " HOTKDUMP_CONFDIR "/hotkdump.conf if present)\n"
                     "  --set KEY=VALUE        override one setting\n"
                     "\n"
                     "Exit status: 0 nothing left to send (retry: all delivered); 1 posts still wait or\n"
                     "failed; 2 usage; 6 the outbox cannot be read.\n");
}

static void when(int64_t t, char *buf, size_t size) {
        if (t <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        time_t tt = (time_t) t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_list(json_object *a) {
        size_t n = json_object_array_length(a);
        if (!n) {
                printf("The outbox is empty: every post was delivered.\n");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                char next[32], created[32];
                when(json_int(e, "next_at", 0), next, sizeof next);
                when(json_int(e, "created", 0), created, sizeof created);
                printf("%s  %s/%" PRId64 "  %s to %s  %s\n", json_str_or(e, "id", ""), json_str_or(e, "case", ""), json_int(e, "number", 0), json_str_or(e, "kind", ""),
                       json_str_or(e, "sink", ""), json_str_or(e, "state", ""));
                printf("    queued %s, %" PRId64 " tr%s", created, json_int(e, "attempts", 0), json_int(e, "attempts", 0) == 1 ? "y" : "ies");
                if (json_int(e, "parts", 0) > 1)
                        printf(", %" PRId64 " of %" PRId64 " parts sent", json_int(e, "parts_sent", 0), json_int(e, "parts", 0));
                if (!strcmp(json_str_or(e, "state", ""), "waiting"))
                        printf(", next try %s", json_int(e, "next_at", 0) ? next : "now");
                putchar('\n');
                if (*json_str_or(e, "last_error", ""))
                        printf("    last error: %s\n", json_str_or(e, "last_error", ""));
        }
}

static void say(void *userdata, const char *line) {
        (void) userdata;
        printf("%s\n", line);
}

int cli_outbox(int argc, char **argv) {
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                SETTINGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct settings settings = { 0 };
        struct config *cfg = NULL;
        bool json = false, retry = false;
        int c, done, r, ret = EXIT_USAGE;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                if (c == 'j')
                        json = true;
                else if ((done = settings_option(&settings, c, optarg, usage)) >= 0) {
                        ret = done;
                        goto out;
                }
        }
        if (optind < argc && !strcmp(argv[optind], "retry")) {
                retry = true;
                optind++;
        } else if (optind < argc) {
                log_error("outbox: unknown command '%s' (retry)", argv[optind]);
                usage(stderr);
                goto out;
        }
        if (retry && json) {
                log_error("outbox: --json lists; it does not go with retry");
                goto out;
        }
        if (settings_load(&settings, "outbox", &cfg) < 0)
                goto out;
        if (retry) {
                unsigned delivered = 0, left = 0;
                for (int i = optind; i < argc || i == optind; i++) {
                        struct outbox_run run = { .force = true, .only = i < argc ? argv[i] : NULL, .say = say };
                        r = outbox_deliver(cfg, &run);
                        if (r < 0) {
                                log_error("outbox: cannot read the outbox: %s", strerror(-r));
                                ret = EXIT_INTERNAL;
                                goto out;
                        }
                        delivered += run.delivered;
                        left += run.retrying + run.failed + run.waiting;
                        if (i >= argc)
                                break;
                }
                printf("%u delivered, %u still in the outbox\n", delivered, left);
                ret = left ? 1 : EXIT_OK;
                goto out;
        }
        json_object *list = NULL;
        r = outbox_list(cfg, &list);
        if (r < 0) {
                log_error("outbox: cannot read the outbox: %s", strerror(-r));
                ret = EXIT_INTERNAL;
                goto out;
        }
        if (json)
                printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                print_list(list);
        ret = json_object_array_length(list) ? 1 : EXIT_OK;
        json_object_put(list);
out:
        settings_clear(&settings);
        config_free(cfg);
        return ret;
}
