/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the post-back sinks share: their secrets, read from a file or the environment and never
 * written to a log. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "hooks/sink.h"

static const char *const secret_vars[] = { "HOTKDUMP_ATHENA_PASSWORD", "HOTKDUMP_ATHENA_CLIENT_SECRET",
                                            "HOTKDUMP_ATHENA_TOKEN", "HOTKDUMP_WEBHOOK_SECRET" };
static char *taken[sizeof secret_vars / sizeof secret_vars[0]];
static bool taken_once;

void sink_take_env_secrets(void) {
        for (size_t i = 0; i < sizeof secret_vars / sizeof secret_vars[0]; i++) {
                const char *v = getenv(secret_vars[i]);
                if (v && *v && !taken[i])
                        taken[i] = strdup(v);
                unsetenv(secret_vars[i]);
        }
        taken_once = true;
}

static const char *env_secret(const char *name) {
        for (size_t i = 0; i < sizeof secret_vars / sizeof secret_vars[0]; i++)
                if (!strcmp(secret_vars[i], name))
                        return taken_once ? taken[i] : getenv(name);
        return getenv(name);
}

int sink_secret(const char *path, const char *env, char **ret, char *err, size_t err_size) {
        size_t len;
        *ret = NULL;
        if (path && *path) {
                int r = read_secret_file(path, ret, &len);
                if (r < 0)
                        snprintf(err, err_size, "cannot read the secret in '%s': %s", path,
                                 r == -ENODATA ? "its first line is empty or blank" : strerror(-r));
                return r;
        }
        const char *v = env ? env_secret(env) : NULL;
        if (v && *v && !(*ret = strdup(v)))
                return -ENOMEM;
        return 0;
}
