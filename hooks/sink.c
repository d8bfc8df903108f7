/* What the post-back sinks share: their secrets, read from a file or the environment and never
 * written to a log. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "hooks/sink.h"

int sink_secret(const char *path, const char *env, char **ret, char *err, size_t err_size) {
        size_t len;
        *ret = NULL;
        if (path && *path) {
                int r = read_secret_file(path, ret, &len);
                if (r < 0)
                        snprintf(err, err_size, "cannot read the secret in '%s': %s", path,
                                 r == -ENODATA ? "its first line is empty" : strerror(-r));
                return r;
        }
        const char *v = env ? getenv(env) : NULL;
        if (v && *v && !(*ret = strdup(v)))
                return -ENOMEM;
        return 0;
}
