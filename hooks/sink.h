/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What one delivery of a post came to, the same for every sink (Athena, webhook, scripts). */
#pragma once

#include <stdbool.h>

enum sink_outcome {
        SINK_SENT,     /* the far side took it */
        SINK_RETRY,    /* not now: no answer, 408, 429, 5xx, a script asking for later */
        SINK_REJECTED, /* refused for good (4xx, a failed script): a person must look */
};

struct sink_result {
        enum sink_outcome outcome;
        bool unclear;              /* the far side may have acted on it all the same (no answer came) */
        bool gone;                 /* the post left the outbox while it was sent (superseded, removed) */
        unsigned retry_after_s;    /* what the far side asked for, or 0 */
        char error[768];           /* one line naming the step and the reason */
};

/* Takes the secrets given in the environment (HOTKDUMP_ATHENA_PASSWORD, …) into this process
 * and removes them from its environment, so that no command it runs (crash, a hook script that
 * prints its environment) ever sees them. Call once at start. */
void sink_take_env_secrets(void);

/* A secret from its file, or when no file is configured from the environment variable env
 * (as sink_take_env_secrets() found it):
 * NULL in *ret when neither gives one. -errno with err naming the file. */
int sink_secret(const char *path, const char *env, char **ret, char *err, size_t err_size);
