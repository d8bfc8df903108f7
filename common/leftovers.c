/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The processes of a job, found by the mark in their environment. */

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/leftovers.h"

int leftovers_mark(const char *mark) {
        assert(mark);
        return setenv(LEFTOVERS_ENV, mark, 1) < 0 ? -errno : 0;
}

/* Whether the environment of process pid holds "HOTKDUMP_JOB=<mark>" (or one that begins so). */
static bool marked(const char *pid, const char *want, size_t want_len, bool prefix) {
        char path[64], buf[64 * 1024];
        snprintf(path, sizeof path, "/proc/%s/environ", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        size_t n = 0;
        for (ssize_t r; n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0;)
                n += (size_t) r;
        close(fd);
        buf[n] = 0;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
                if (i + want_len <= n && !memcmp(buf + i, want, want_len + (prefix ? 0 : 1)))
                        return true;
        return false;
}

unsigned leftovers_kill(const char *mark, bool prefix) {
        assert(mark);
        char want[8192];
        int wl = snprintf(want, sizeof want, "%s=%s", LEFTOVERS_ENV, mark);
        if (wl < 0 || (size_t) wl >= sizeof want)
                return 0;
        unsigned killed = 0;
        pid_t self = getpid(), seen[256];
        for (int round = 0; round < 8; round++) {
                DIR *d = opendir("/proc");
                if (!d)
                        return killed;
                unsigned found = 0;
                for (struct dirent *e; (e = readdir(d));) {
                        if (!isdigit((unsigned char) e->d_name[0]))
                                continue;
                        pid_t pid = (pid_t) strtol(e->d_name, NULL, 10);
                        if (pid == self || !marked(e->d_name, want, (size_t) wl, prefix))
                                continue;
                        if (kill(pid, SIGKILL) < 0)
                                continue;
                        found++;
                        bool again = false; /* killed in an earlier look, and not gone yet */
                        for (unsigned k = 0; k < killed && k < 256; k++)
                                again |= seen[k] == pid;
                        if (!again && killed < 256)
                                seen[killed] = pid;
                        if (!again)
                                killed++;
                }
                closedir(d);
                if (!found)
                        break;
                struct timespec ts = { 0, 20 * 1000 * 1000 }; /* let the killed go before looking again */
                nanosleep(&ts, NULL);
        }
        return killed;
}
