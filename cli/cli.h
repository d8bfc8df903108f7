/* The hotkdump command's subcommands: each parses its own options and calls the library. */
#pragma once

enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_INCOMPLETE = 1, /* identified, but the dump is not whole */
        CLI_EXIT_USAGE = 2,
        CLI_EXIT_NOT_DUMP = 3,
        CLI_EXIT_DAMAGED = 4,
        CLI_EXIT_UNREADABLE = 5,
        CLI_EXIT_INTERNAL = 6,   /* out of memory and the like */
};

#include <stddef.h>
#include <stdio.h>

#include "common/config.h"

/* --config, --root and --set, shared by the commands that read settings. */
struct cli_settings {
        const char *file;
        char *sets[64];
        size_t n;
};
int cli_settings_add(struct cli_settings *s, const char *key, const char *value);
/* Their getopt_long() table rows; cli_common_option() handles what getopt_long() returned for
 * them, for -h/--help and for an unknown option (printing usage): -1 to go on, else the exit
 * status to end with. */
enum { CLI_OPT_ROOT = 0x1000, CLI_OPT_CONFIG, CLI_OPT_SET };
#define CLI_SETTINGS_OPTIONS                                                                        \
        { "root", required_argument, NULL, CLI_OPT_ROOT }, { "config", required_argument, NULL, CLI_OPT_CONFIG }, \
        { "set", required_argument, NULL, CLI_OPT_SET }
int cli_common_option(struct cli_settings *s, int c, const char *arg, void (*usage)(FILE *out));
int cli_settings_load(struct cli_settings *s, const char *cmd, struct config **ret);
void cli_settings_clear(struct cli_settings *s);

int cli_info(int argc, char **argv);
int cli_analyze(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_symbols(int argc, char **argv);
int cli_crash(int argc, char **argv);
int cli_rules(int argc, char **argv);
int cli_submit(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_outbox(int argc, char **argv);
int cli_purge(int argc, char **argv);
