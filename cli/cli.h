/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The hotkdump command's subcommands: each parses its own options and calls the library. */
#pragma once

#include "common/settings.h"

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
