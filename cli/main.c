/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hotkdump: the command-line front end of the dump triage pipeline.
 * A thin dispatcher: every subcommand is a function that calls the library. */

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/settings.h"
#include "hooks/sink.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
} commands[] = {
        { "analyze", cli_analyze, "run the analysis of one upload in the foreground" },
        { "crash", cli_crash, "open crash on an analysed dump, symbols and all" },
        { "config", cli_config, "print every setting at its default" },
        { "rules", cli_rules, "list and check the triage rules" },
        { "info", cli_info, "identify dump files from their headers" },
        { "symbols", cli_symbols, "find, fetch, verify and cache a dump's debug symbols" },
        { "submit", cli_submit, "queue an upload's analysis on hotkdumpd" },
        { "status", cli_status, "list hotkdumpd's jobs, or show one" },
        { "purge", cli_purge, "remove old case folders and unused debug symbols (NOPURGE keeps them)" },
        { "outbox", cli_outbox, "list the posts of results not delivered yet, or send them now" },
};

static void usage(FILE *out) {
        fprintf(out, "Usage: hotkdump COMMAND [OPTIONS] …\n\nCommands:\n");
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
        fprintf(out, "\n`hotkdump COMMAND --help` tells more.\n");
}

int main(int argc, char **argv) {
        log_set_program("hotkdump");
        sink_take_env_secrets();
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
                printf("hotkdump %s\n", PACKAGE_VERSION);
                return EXIT_OK;
        }
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(argv[1], commands[i].name) == 0) {
                        /* getopt's messages and ours name the command: "hotkdump analyze: …" */
                        static char name[64];
                        snprintf(name, sizeof name, "hotkdump %s", commands[i].name);
                        settings_set_program(name);
                        argv[1] = name;
                        return commands[i].run(argc - 1, argv + 1);
                }
        log_error("unknown command '%s'", argv[1]);
        fprintf(stderr, "Try 'hotkdump --help' for the commands.\n");
        return EXIT_USAGE;
}
