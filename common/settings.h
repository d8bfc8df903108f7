/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Settings for both programs: the config file (explicit, or /etc/hotkdump/hotkdump.conf when
 * present), then --root and --set overrides, in the order given; and the exit statuses both
 * programs end with. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "common/config.h"

enum {
        EXIT_OK = 0,
        EXIT_INCOMPLETE = 1, /* identified, but the dump is not whole */
        EXIT_USAGE = 2,
        EXIT_NOT_DUMP = 3,
        EXIT_DAMAGED = 4,
        EXIT_UNREADABLE = 5,
        EXIT_INTERNAL = 6, /* out of memory and the like */
        EXIT_NO_SPACE = 7, /* the disk is full */
};

/* --config, --root and --set, as given. */
struct settings {
        const char *file;
        char *sets[64];
        size_t n;
};
int settings_add(struct settings *s, const char *key, const char *value);
/* Their getopt_long() table rows; settings_option() handles what getopt_long() returned for
 * them, for -h/--help and for an unknown option (printing usage): -1 to go on, else the exit
 * status to end with. */
enum { SETTINGS_OPT_ROOT = 0x1000, SETTINGS_OPT_CONFIG, SETTINGS_OPT_SET, SETTINGS_OPT_VERSION };
#define SETTINGS_OPTIONS                                                                                    \
        { "root", required_argument, NULL, SETTINGS_OPT_ROOT },                                             \
                { "config", required_argument, NULL, SETTINGS_OPT_CONFIG },                                 \
                { "set", required_argument, NULL, SETTINGS_OPT_SET },                                       \
                { "version", no_argument, NULL, SETTINGS_OPT_VERSION }
/* The program (and command) named by --version and in "Try '… --help'" after a usage error
 * (getopt_long() has already said what was wrong): "hotkdump analyze", "hotkdumpd". */
void settings_set_program(const char *name);
/* One option of SETTINGS_OPTIONS, or --help (c 'h': usage to stdout), or getopt's '?': -1 when
 * parsing goes on, else the exit status. */
int settings_option(struct settings *s, int c, const char *arg, void (*usage)(FILE *out));
/* The config: the file, then the overrides. who names the program or command in errors. */
int settings_load(struct settings *s, const char *who, struct config **ret);
void settings_clear(struct settings *s);
