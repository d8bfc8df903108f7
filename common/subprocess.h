/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Running external commands: an argv (never a shell string), captured output, a timeout the
 * parent enforces on the child's whole process group, and shell-style exit status. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct subprocess_opts {
        const char *const *argv;   /* argv[0] is looked up in PATH */
        const char *cwd;           /* NULL: ours */
        const char *const *env;    /* NAME=VALUE entries set for the command, on top of ours; or NULL */
        int stdin_fd;              /* -1: /dev/null */
        int stdout_fd;             /* -1: captured into the result */
        uint64_t timeout_ms;       /* 0: none; then SIGTERM to the group, SIGKILL after kill_grace_ms */
        uint64_t kill_grace_ms;    /* 0: 5000 */
        size_t capture_max;        /* bytes kept of each stream; 0: 1 MiB; the rest is counted, not kept */
        bool guard;                /* for a command that sets its own parent-death signal (crash): a
                                    * process of ours leads its group and kills it when we die */
};

struct subprocess_result {
        int status;       /* exit code, or 128 + signal number as a shell says */
        bool timed_out;
        char *out;        /* NUL-terminated captured stdout (when stdout_fd is -1), or NULL */
        size_t out_len;
        char *err;        /* NUL-terminated captured stderr */
        size_t err_len;
        size_t dropped;   /* bytes beyond capture_max, both streams */
};

/* Runs the command to completion. Returns 0 when it ran (whatever its exit status, which is
 * in ret), or -errno when it could not be started (-ENOENT: no such program). */
int subprocess_run(const struct subprocess_opts *opts, struct subprocess_result *ret);

void subprocess_result_clear(struct subprocess_result *r);

/* A command that keeps running while we talk to it (crash): its stdin is a pipe we write,
 * its stdout and stderr one pipe we read, in the order it wrote them. */
struct subprocess {
        pid_t pid;  /* the leader of its process group: the command, or its guard (opts->guard) */
        int pidfd;  /* readable once it exited; -1 on kernels without pidfd_open */
        int in_fd;  /* its stdin */
        int out_fd; /* its stdout and stderr */
};

/* Starts opts->argv (stdin_fd, stdout_fd, timeout_ms and capture_max are not used). */
int subprocess_spawn(const struct subprocess_opts *opts, struct subprocess *ret);
/* Signals the command's whole process group, unless it has been reaped. */
int subprocess_signal(struct subprocess *p, int sig);
/* Closes its stdin, gives it grace_ms to exit, then kills the group; reaps it and closes the
 * pipes. Returns the shell-style exit status, or -errno. */
int subprocess_finish(struct subprocess *p, uint64_t grace_ms);

/* On SIGTERM, SIGINT or SIGHUP, kills the process groups of the commands running now, then
 * dies of the signal as it would have: for a process that others stop (a daemon's worker, a
 * command line interrupted), so that nothing a command started outlives it. */
void subprocess_kill_on_signal(void);

/* Formats argv as one line a person could paste into a shell (quoted where needed). */
int subprocess_format_argv(const char *const *argv, char *buf, size_t size);
