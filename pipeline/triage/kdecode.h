/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Numbers and paths the kernel prints, in words: what a triage summary says instead of the
 * raw value. Each decoder writes one short phrase into buf and returns false when the value is
 * not of its kind (buf then holds the value as given). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* An x86 page fault error code ("0x0003", "0011"): "write to a present page that forbids it,
 * kernel mode". */
bool kdecode_pf_error(const char *value, char *buf, size_t size);

/* The exit code the kernel prints when init dies ("exitcode=0x0000000b"), a wait status:
 * "killed by signal 11 (SIGSEGV)", "exited with status 1". */
bool kdecode_exit_status(const char *value, char *buf, size_t size);

/* The kernel subsystem a source path belongs to ("mm/slub.c" → "memory management",
 * "fs/ext4/inode.c" → "file systems (ext4)"). */
bool kdecode_subsystem(const char *value, char *buf, size_t size);

/* The decoder of that name ("pf_error", "exit_status", "subsystem"), NULL when none. */
typedef bool (*kdecode_fn)(const char *value, char *buf, size_t size);
kdecode_fn kdecode_find(const char *name, size_t len);
