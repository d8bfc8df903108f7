/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hotkdumpd's entry point, called by its main() (and nothing else). */
#pragma once

#include "common/settings.h"
#include "common/config.h"

struct hotkdumpd_options {
        struct settings *settings; /* read again on SIGHUP */
        const char *port_file;         /* where to write the port listened on, or NULL */
};

/* Runs the daemon until SIGTERM or SIGINT. Takes cfg (and frees it, or its reloaded successor). */
int hotkdumpd_run(struct config *cfg, const struct hotkdumpd_options *opts);
