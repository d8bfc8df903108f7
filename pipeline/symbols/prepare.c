/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Preparing a vmlinux: `gdb -batch -ex "save gdb-index DIR"` writes the index, `objcopy` adds
 * it as .gdb_index and drops .rela*, the build-id is checked, the result is renamed over the
 * original. What the tools say is in the job's log. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "casefolder/job.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "pipeline/symbols/elfinfo.h"
#include "pipeline/symbols/prepare.h"

bool prepare_done(const char *path) {
        bool has = false;
        return elfinfo_has_section(path, ".gdb_index", &has) == 0 && has;
}

/* Runs a tool with its output in the job's log (or, without a job, kept quiet unless it fails). */
static int run_tool(struct job *log, const char *const *argv, uint64_t timeout_ms, char *err, size_t err_size) {
        struct subprocess_opts o = { .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .timeout_ms = timeout_ms,
                                     .capture_max = 64u << 10 };
        struct subprocess_result res = { 0 };
        int r = log ? job_run_command(log, &o, &res) : subprocess_run(&o, &res);
        if (r < 0) {
                subprocess_result_clear(&res);
                return log_reason(err, err_size, r, "cannot run %s: %s", argv[0], strerror(-r));
        }
        if (res.timed_out)
                r = log_reason(err, err_size, -ETIMEDOUT, "%s ran past symbols.prepare_timeout", argv[0]);
        else if (res.status != 0) {
                /* the last line of its stderr says the most */
                char last[256] = "";
                if (res.err) {
                        char *e = res.err + res.err_len;
                        while (e > res.err && (e[-1] == '\n' || e[-1] == ' '))
                                e--;
                        char *b = e;
                        while (b > res.err && b[-1] != '\n')
                                b--;
                        snprintf(last, sizeof last, ": %.*s", (int) (e - b), b);
                }
                r = log_reason(err, err_size, -EIO, "%s exited with %d%s", argv[0], res.status, last);
        }
        subprocess_result_clear(&res);
        return r;
}

int prepare_vmlinux(const struct config *cfg, struct job *log, const char *path, const char *build_id, char *err,
                    size_t err_size) {
        char want[129] = "", got[129] = "", dir[PATH_MAX], index[PATH_MAX + 64], out[PATH_MAX + 16], save[PATH_MAX + 32],
             add[PATH_MAX + 80];
        uint64_t timeout_ms = config_u64(cfg, CONF_SYMBOLS_PREPARE_TIMEOUT) * 1000;
        int r;

        if (prepare_done(path))
                return 1;
        if (build_id && build_id[0])
                snprintf(want, sizeof want, "%s", build_id);
        else if ((r = elfinfo_build_id(path, want, sizeof want)) < 0 && r != -ENODATA)
                return log_reason(err, err_size, r, "'%s' is not a readable ELF file: %s", path, strerror(-r));
        /* beside the file, so that the result is renamed, never copied, into place */
        if (snprintf(dir, sizeof dir, "%s.prepare-XXXXXX", path) >= (int) sizeof dir || !mkdtemp(dir))
                return log_reason(err, err_size, -errno, "cannot make a folder beside '%s': %s", path, strerror(errno));
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        snprintf(index, sizeof index, "%s/%s.gdb-index", dir, base);
        snprintf(out, sizeof out, "%s/vmlinux", dir);
        snprintf(save, sizeof save, "save gdb-index %s", dir);
        const char *gdb[] = { config_string(cfg, CONF_SYMBOLS_GDB), "-batch", "-nx", "-iex", "set auto-load no",
                              "-iex", "set debuginfod enabled off", "-ex", save, path, NULL };
        r = run_tool(log, gdb, timeout_ms, err, err_size);
        struct stat st;
        if (r == 0 && (stat(index, &st) < 0 || st.st_size == 0))
                r = log_reason(err, err_size, -ENODATA, "gdb wrote no index for '%s'", path);
        snprintf(add, sizeof add, ".gdb_index=%s", index);
        const char *objcopy[] = { config_string(cfg, CONF_SYMBOLS_OBJCOPY), "--add-section", add, "--set-section-flags",
                                  ".gdb_index=readonly", "--wildcard", "--remove-section=.rela*", path, out, NULL };
        if (r == 0)
                r = run_tool(log, objcopy, timeout_ms, err, err_size);
        if (r == 0) {
                int b = elfinfo_build_id(out, got, sizeof got);
                if ((b < 0 && want[0]) || strcmp(got, want) != 0)
                        r = log_reason(err, err_size, -EBADMSG, "the prepared file's build-id is %s, not %s: refused",
                                       got[0] ? got : "missing", want[0] ? want : "none");
        }
        if (r == 0 && !prepare_done(out))
                r = log_reason(err, err_size, -EBADMSG, "the prepared file has no .gdb_index: refused");
        if (r == 0) {
                int fd = open(out, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fsync(fd) < 0)
                        r = log_reason(err, err_size, -errno, "cannot write '%s': %s", out, strerror(errno));
                if (fd >= 0)
                        close(fd);
        }
        /* a crash that has the old file open goes on reading it: a rename replaces the name only */
        if (r == 0 && rename(out, path) < 0)
                r = log_reason(err, err_size, -errno, "cannot rename '%s' over '%s': %s", out, path, strerror(errno));
        remove_tree(dir);
        return r;
}
