/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The exec sink: the site's hook scripts, run one by one with the job's facts in HOTKDUMP_*
 * environment variables, each with a timeout, their output in the case folder's log. */
#pragma once

#include <stddef.h>

#include "common/config.h"
#include "hooks/sink.h"

/* The scripts in dir, in name order: executable regular files, but not dot-names, backups (~)
 * or package leftovers (.dpkg-*). A missing folder has none. Free with strv_free(). */
int scripts_list(const char *dir, char ***ret, size_t *ret_n);

/* Runs dir/name with env (NAME=VALUE, NULL-terminated) added; its command line and output go to
 * log_dir's hotkdump.log (when log_dir is not NULL). Exit 0: sent; 75 (EX_TEMPFAIL) or the
 * timeout: try again; any other status: rejected. */
enum sink_outcome scripts_run(const struct config *cfg, const char *name, const char *const *env, const char *log_dir,
                              struct sink_result *res);
