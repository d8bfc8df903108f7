/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Hook scripts: found in hooks.dir, run through the one subprocess API with a timeout, and
 * their exit status turned into a delivery outcome. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/subprocess.h"
#include "hooks/scripts.h"
#include "casefolder/job.h"

#define EX_TEMPFAIL 75

static bool wanted(const char *dir, const char *name, void *userdata) {
        (void) userdata;
        size_t l = strlen(name);
        if (name[0] == '.' || name[l - 1] == '~' || strstr(name, ".dpkg-") || strstr(name, ".ucf-"))
                return false;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int scripts_list(const char *dir, char ***ret, size_t *ret_n) {
        return dir_list_sorted(dir, wanted, NULL, ret, ret_n);
}

/* The output, line by line, into the case log. */
static void log_output(const char *log_dir, const char *name, const char *stream, const char *text) {
        for (const char *p = text; p && *p;) {
                size_t l = strcspn(p, "\n");
                job_log_dir(log_dir, "hook %s %s: %.*s", name, stream, (int) (l < 2000 ? l : 2000), p);
                p += l + (p[l] == '\n');
        }
}

enum sink_outcome scripts_run(const struct config *cfg, const char *name, const char *const *env, const char *log_dir,
                              struct sink_result *res) {
        const char *dir = config_string(cfg, CONF_HOOKS_DIR);
        char path[PATH_MAX];
        unsigned timeout = (unsigned) config_u64(cfg, CONF_HOOKS_TIMEOUT);

        res->unclear = false;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (!wanted(dir, name, NULL)) {
                snprintf(res->error, sizeof res->error, "hook %s: '%s' is no longer an executable file", name, path);
                return res->outcome = SINK_REJECTED;
        }
        const char *argv[] = { path, NULL };
        struct subprocess_opts o = { .argv = argv, .env = env, .cwd = log_dir, .stdin_fd = -1, .stdout_fd = -1,
                                     .timeout_ms = (uint64_t) timeout * 1000, .kill_grace_ms = 2000,
                                     .capture_max = 64 * 1024 };
        struct subprocess_result sr;
        if (log_dir)
                job_log_dir(log_dir, "hook %s: running %s", name, path);
        int r = subprocess_run(&o, &sr);
        if (r < 0) {
                snprintf(res->error, sizeof res->error, "hook %s: cannot run '%s': %s", name, path, strerror(-r));
                return res->outcome = SINK_RETRY;
        }
        if (log_dir) {
                log_output(log_dir, name, "stdout", sr.out);
                log_output(log_dir, name, "stderr", sr.err);
        }
        /* the last line it wrote on stderr says best why it failed */
        char last[300] = "";
        if (sr.err && *sr.err) {
                size_t l = strlen(sr.err);
                while (l && sr.err[l - 1] == '\n')
                        l--;
                size_t s = l;
                while (s && sr.err[s - 1] != '\n')
                        s--;
                snprintf(last, sizeof last, ": %.*s", (int) (l - s), sr.err + s);
        }
        if (sr.timed_out) {
                snprintf(res->error, sizeof res->error, "hook %s: still running after %u s (hooks.timeout): killed", name,
                         timeout);
                res->outcome = SINK_RETRY;
        } else if (sr.status == 0)
                res->outcome = SINK_SENT;
        else if (sr.status == EX_TEMPFAIL) {
                snprintf(res->error, sizeof res->error, "hook %s: asked to be run again later (exit 75)%s", name, last);
                res->outcome = SINK_RETRY;
        } else {
                snprintf(res->error, sizeof res->error, "hook %s: failed with status %d%s", name, sr.status, last);
                res->outcome = SINK_REJECTED;
        }
        if (log_dir)
                job_log_dir(log_dir, "hook %s: %s", name, res->outcome == SINK_SENT ? "done" : res->error);
        subprocess_result_clear(&sr);
        return res->outcome;
}
