/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The processes of a job, whatever became of their parents: each carries the job's mark in its
 * environment (inherited through fork and exec, unlike a process group or a parent, which a
 * command that daemonizes leaves), and the mark finds them when the job ends or when a daemon
 * that was killed starts again. */
#pragma once

#include <stdbool.h>

#define LEFTOVERS_ENV "HOTKDUMP_JOB"

/* Marks this process, and so everything it starts from now on, with mark (a job's: the daemon's
 * root and the job's id). */
int leftovers_mark(const char *mark);

/* Kills (SIGKILL) every process but the caller whose mark is mark (or, with prefix, begins
 * with it: every job of a root), looking again until a look finds none (a process may fork
 * while it is being killed), at most a few times. Returns how many were killed. Only processes
 * whose environment the caller may read are seen: its own user's, or all for root. */
unsigned leftovers_kill(const char *mark, bool prefix);
